//! RFC 3261 transaction timers (§17, Table 4), for the caller that runs transactions.
//! Values are for UDP; over TCP and TLS the retransmission timers (A, E, G) are not used
//! and the wait timers D, I, J, K are zero.

use std::time::Duration;

/// Round-trip time estimate.
pub const T1: Duration = Duration::from_millis(500);
/// Longest retransmission interval for non-INVITE requests and INVITE responses.
pub const T2: Duration = Duration::from_secs(4);
/// Longest time a message stays in the network.
pub const T4: Duration = Duration::from_secs(5);
/// INVITE retransmission: starts at T1, doubles each time.
pub const TIMER_A: Duration = T1;
/// INVITE transaction timeout: 64·T1.
pub const TIMER_B: Duration = Duration::from_millis(32_000);
/// Wait for response retransmissions after a final response to an INVITE (UDP).
pub const TIMER_D: Duration = Duration::from_secs(32);
/// Non-INVITE retransmission: starts at T1, doubles up to T2.
pub const TIMER_E: Duration = T1;
/// Non-INVITE transaction timeout: 64·T1.
pub const TIMER_F: Duration = Duration::from_millis(32_000);
/// INVITE final response retransmission (server side): starts at T1, doubles up to T2.
pub const TIMER_G: Duration = T1;
/// Wait for the ACK of a final response to an INVITE: 64·T1.
pub const TIMER_H: Duration = Duration::from_millis(32_000);
/// Wait for ACK retransmissions (server side).
pub const TIMER_I: Duration = T4;
/// Wait for non-INVITE request retransmissions (server side): 64·T1.
pub const TIMER_J: Duration = Duration::from_millis(32_000);
/// Wait for response retransmissions after a non-INVITE transaction (client side).
pub const TIMER_K: Duration = T4;

/// How long to wait before retransmission number `sent + 1` of a request sent `sent`
/// times already over UDP: T1·2^(sent-1), capped at T2 except for INVITE (Timers A, E).
pub fn retransmit_after(sent: u32, invite: bool) -> Duration {
    let doubled = T1.saturating_mul(1u32 << sent.saturating_sub(1).min(16));
    match invite {
        true => doubled,
        false => doubled.min(T2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_follow_table_4() {
        assert_eq!(TIMER_B, T1 * 64);
        assert_eq!(TIMER_F, T1 * 64);
        let invite: Vec<_> = (1..=4)
            .map(|n| retransmit_after(n, true).as_millis())
            .collect();
        assert_eq!(invite, [500, 1000, 2000, 4000]);
        let other: Vec<_> = (1..=6)
            .map(|n| retransmit_after(n, false).as_millis())
            .collect();
        assert_eq!(other, [500, 1000, 2000, 4000, 4000, 4000]);
        assert_eq!(retransmit_after(0, false), T1);
        assert!(retransmit_after(u32::MAX, true) > TIMER_B);
    }
}
