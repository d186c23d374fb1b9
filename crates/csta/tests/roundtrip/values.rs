//! Strategies for the value types messages are built from.

use csta::*;
use proptest::prelude::*;

pub type Boxed<T> = BoxedStrategy<T>;

/// Text with markup characters and non-ASCII, no whitespace at either end (the reader
/// trims values, as switches pad them).
pub fn text() -> Boxed<String> {
    "[A-Za-z0-9+*#<>&;:@'\"é]([A-Za-z0-9 +*#<>&;:@'\"é\t\n\r]{0,10}[A-Za-z0-9<>&é])?".boxed()
}

pub fn device_id() -> Boxed<DeviceId> {
    let raw = prop_oneof![
        text(),
        "[0-9]{3,12}".prop_map(|n| format!("N<{n}>;noa=nk")),
        "[0-9]{3,12}".prop_map(|n| format!("tel:+{n}")),
        "[0-9]{3}".prop_map(|n| format!("sip:{n}@pbx.example")),
    ];
    (raw, proptest::option::of("[a-zA-Z]{1,12}"))
        .prop_map(|(raw, type_of_number)| match type_of_number {
            Some(t) => DeviceId::new(raw).with_type_of_number(t),
            None => DeviceId::new(raw),
        })
        .boxed()
}

pub fn event_device() -> Boxed<EventDevice> {
    prop_oneof![
        4 => device_id().prop_map(EventDevice::Known),
        1 => Just(EventDevice::NotKnown),
        1 => Just(EventDevice::Restricted),
        1 => Just(EventDevice::NotRequired),
    ]
    .boxed()
}

pub fn connection() -> Boxed<ConnectionId> {
    (
        proptest::option::of(text()),
        proptest::option::of(device_id()),
    )
        .prop_map(|(call_id, device_id)| ConnectionId {
            call_id,
            device_id,
            extra: Extra::default(),
        })
        .boxed()
}

/// A known value or an unknown one (never spelled like a known one).
pub fn value<T: Clone + std::fmt::Debug + 'static>(
    known: &'static [T],
    other: fn(String) -> T,
) -> Boxed<T> {
    prop_oneof![
        3 => proptest::sample::select(known),
        1 => "zz[a-zA-Z]{1,8}".prop_map(other),
    ]
    .boxed()
}

pub fn raw_element() -> Boxed<String> {
    prop_oneof![
        "[a-z0-9]{0,6}".prop_map(|t| format!("<zzVendor>{t}</zzVendor>")),
        Just("<zz:flag xmlns:zz=\"urn:zz\" on=\"1\"/>".to_string()),
        "[a-z0-9]{0,6}".prop_map(|t| format!("<zzList><item>{t}</item><item/></zzList>")),
    ]
    .boxed()
}

pub fn extra() -> Boxed<Extra> {
    let extensions = "[a-z0-9]{0,6}".prop_map(|t| {
        format!("<extensions><privateData><private><scx:a xmlns:scx=\"urn:s\">{t}</scx:a></private></privateData></extensions>")
    });
    (
        proptest::option::of(extensions),
        proptest::collection::vec(raw_element(), 0..3),
    )
        .prop_map(|(extensions, unknown)| Extra {
            extensions,
            unknown,
        })
        .boxed()
}

pub fn raw_xml() -> Boxed<RawXml> {
    prop_oneof![
        "[a-z0-9]{0,6}".prop_map(RawXml),
        raw_element().prop_map(RawXml),
    ]
    .boxed()
}

pub fn opt<T: std::fmt::Debug + 'static>(strategy: Boxed<T>) -> Boxed<Option<T>> {
    proptest::option::of(strategy).boxed()
}

/// Boxed as in the messages.
pub fn call_linkage() -> Boxed<Box<CallLinkageData>> {
    let linkage_id = prop_oneof![
        text().prop_map(GlobalCallLinkageId::Global),
        text().prop_map(GlobalCallLinkageId::SubDomain),
    ];
    (
        opt((opt(text()), opt(linkage_id.boxed()))
            .prop_map(|(domain, id)| GlobalCallData {
                global_call_switching_sub_domain_name: domain,
                global_call_linkage_id: id,
                extra: Extra::default(),
            })
            .boxed()),
        opt(raw_xml()),
    )
        .prop_map(|(global_call_data, thread_data)| {
            Box::new(CallLinkageData {
                global_call_data,
                thread_data,
                extra: Extra::default(),
            })
        })
        .boxed()
}
