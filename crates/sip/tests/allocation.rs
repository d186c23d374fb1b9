//! Whatever the input, parsing never holds more memory than a small multiple of the
//! message size limit: a counting allocator measures the peak during each parse.
//! (Its own test binary with a single test, so no other thread allocates meanwhile.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BytesMut;
use proptest::prelude::*;
use sip::{Limits, StreamFramer, parse_datagram};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(pointer, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns the most memory it held at once, including what it returns.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (out, peak)
}

const LIMITS: Limits = Limits {
    max_message: 4096,
    max_headers: 32,
    max_line: 512,
};
/// The body copy, the header values, the header table and a line being unfolded.
const BOUND: usize = 3 * LIMITS.max_message + 4 * 1024;

/// Random bytes, or SIP-looking heads with many short (list) header lines.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..10_000),
        (
            prop::sample::select(&["SIP/2.0 200 OK", "REGISTER sip:a SIP/2.0"][..]),
            prop::collection::vec("(Allow|v|m|Contact|X|l): [a-z,\"<> \t]{0,60}", 0..200),
            "(\r\n)?(\r\n)?",
            prop::collection::vec(any::<u8>(), 0..5_000),
        )
            .prop_map(|(start, lines, end, body)| {
                let mut bytes = start.as_bytes().to_vec();
                for line in lines {
                    bytes.extend_from_slice(b"\r\n");
                    bytes.extend_from_slice(line.as_bytes());
                }
                bytes.extend_from_slice(end.as_bytes());
                bytes.extend_from_slice(&body);
                bytes
            }),
    ]
}

proptest! {
    #[test]
    fn parsing_stays_within_the_memory_bound(bytes in input(), split in any::<prop::sample::Index>()) {
        // The counter counts (a guard against a test that cannot fail).
        let (held, peak) = peak_during(|| vec![0u8; 1000]);
        prop_assert!(peak >= held.len());
        drop(held);

        let (parsed, peak) = peak_during(|| parse_datagram(&bytes, &LIMITS));
        prop_assert!(peak <= BOUND, "datagram parse held {peak} bytes: {parsed:?}");
        drop(parsed);

        let mut framer = StreamFramer::new(LIMITS);
        let (first, second) = bytes.split_at(split.index(bytes.len() + 1));
        let mut src = BytesMut::with_capacity(bytes.len());
        src.extend_from_slice(first);
        let mut rest = Some(second);
        loop {
            let (item, peak) = peak_during(|| framer.decode(&mut src));
            prop_assert!(peak <= BOUND, "framer held {peak} bytes");
            match item {
                Ok(Some(_)) => {}
                Ok(None) => match rest.take() {
                    Some(piece) => src.extend_from_slice(piece),
                    None => break,
                },
                Err(_) => break,
            }
        }
    }
}
