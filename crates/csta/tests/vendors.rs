//! Golden tests per vendor shape: each `tests/fixtures/vendors/*.xml` (written for ucplus
//! from public documentation of the shape, never a copied capture) decodes to exactly the
//! message in the `.json` next to it, and that message survives encode → decode in every
//! edition. The tests below the first pin what each vendor shape is about.
//!
//! After a deliberate change of the decoded form, `UPDATE_GOLDEN=1 cargo test -p csta
//! --test vendors` rewrites the `.json` files; review the diff before committing it.

use std::path::{Path, PathBuf};

use csta::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vendors")
}

fn fixture(name: &str) -> Message {
    let path = fixtures().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e} ({})", e.code()))
}

#[test]
fn every_vendor_fixture_decodes_to_its_golden_json_and_round_trips() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .expect("the fixture directory")
        .map(|entry| entry.expect("a directory entry").file_name())
        .filter_map(|name| name.to_str().map(str::to_string))
        .filter(|name| name.ends_with(".xml"))
        .collect();
    names.sort();
    assert!(names.len() >= 12, "{names:?}");
    for name in &names {
        let message = fixture(name);
        assert_ne!(message.kind(), MessageKind::Unknown, "{name}");
        let json = serde_json::to_string_pretty(&message).expect("JSON") + "\n";
        let golden = fixtures().join(name.replace(".xml", ".json"));
        if update {
            std::fs::write(&golden, &json).expect("write the golden file");
        }
        let expected = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        assert_eq!(json, expected, "{name}");
        for edition in Edition::ALL {
            let xml = encode(&message, edition);
            assert_eq!(
                decode(xml.as_bytes()).as_ref(),
                Ok(&message),
                "{name}: {xml}"
            );
        }
    }
}

fn number(device: Option<&EventDevice>) -> Option<&str> {
    device
        .and_then(EventDevice::device_id)
        .map(DeviceId::number)
}

#[test]
fn avaya_dmcc_devices_are_extensions_and_the_ucid_is_the_call_linkage_id() {
    let Message::DeliveredEvent(event) = fixture("avaya-dmcc-delivered.xml") else {
        panic!("not a DeliveredEvent")
    };
    assert_eq!(number(event.alerting_device.as_ref()), Some("5001"));
    assert_eq!(number(event.calling_device.as_ref()), Some("4155550123"));
    assert_eq!(
        event.connection.device_id.as_ref().map(DeviceId::raw),
        Some("5001:CM1:192.0.2.10:0")
    );
    let linkage = event.call_linkage_data.as_deref();
    assert_eq!(
        linkage.and_then(CallLinkageData::call_linkage_id),
        Some("00001008171700000001")
    );
    // Avaya's private data stays available, verbatim.
    let extensions = event.extra.extensions.as_deref().unwrap_or_default();
    assert!(extensions.contains("<av:ucid>00001008171700000001</av:ucid>"));

    let Message::RouteRequest(request) = fixture("avaya-dmcc-route-request.xml") else {
        panic!("not a RouteRequest")
    };
    assert_eq!(request.route_register_req_id.as_deref(), Some("3"));
    assert_eq!(request.routeing_cross_ref_id, "1187");
    assert_eq!(number(Some(&request.current_route)), Some("5500"));
    assert_eq!(
        request
            .routed_call
            .as_ref()
            .and_then(|c| c.call_id.as_deref()),
        Some("822")
    );
}

#[test]
fn lync_rcc_tel_uris_and_the_forwarding_list() {
    let Message::EstablishedEvent(event) = fixture("lync-rcc-established.xml") else {
        panic!("not an EstablishedEvent")
    };
    assert_eq!(
        number(event.answering_device.as_ref()),
        Some("+14255550101")
    );
    assert_eq!(number(event.calling_device.as_ref()), Some("+14155550123"));
    let Message::GetForwardingResponse(response) = fixture("lync-rcc-get-forwarding-response.xml")
    else {
        panic!("not a GetForwardingResponse")
    };
    let active: Vec<_> = response
        .forwardings()
        .iter()
        .filter(|item| item.forward_status)
        .map(|item| {
            (
                item.forwarding_type.clone(),
                item.forward_dn.as_ref().map(DeviceId::number),
                item.ring_count,
            )
        })
        .collect();
    assert_eq!(
        active,
        vec![(
            Some(ForwardingType::NoAnswer),
            Some("+14255550199"),
            Some(4)
        )]
    );
}

#[test]
fn broadworks_feature_events_come_without_a_monitor() {
    let Message::ForwardingEvent(forwarding) = fixture("broadworks-forwarding-event.xml") else {
        panic!("not a ForwardingEvent")
    };
    assert_eq!(forwarding.monitor_cross_ref_id, None);
    assert_eq!(number(Some(&forwarding.device)), Some("alice"));
    assert_eq!(forwarding.ring_count, Some(3));
    let Message::DoNotDisturbEvent(dnd) = fixture("broadworks-do-not-disturb-event.xml") else {
        panic!("not a DoNotDisturbEvent")
    };
    assert_eq!(dnd.monitor_cross_ref_id, None);
    assert!(dnd.do_not_disturb_on);
    assert_eq!(dnd.extra.unknown, vec!["<ringSplash>false</ringSplash>"]);
}

#[test]
fn sip_identifiers_with_display_names_normalise_and_keep_their_raw_form() {
    let Message::DeliveredEvent(event) = fixture("yealink-delivered.xml") else {
        panic!("not a DeliveredEvent")
    };
    let calling = event
        .calling_device
        .as_ref()
        .and_then(EventDevice::device_id);
    assert_eq!(calling.map(DeviceId::number), Some("+14155550101"));
    assert_eq!(
        calling.map(DeviceId::raw),
        Some("N</sip:+14155550101>Alice Example")
    );
    assert_eq!(number(event.called_device.as_ref()), Some("201"));
    assert_eq!(number(event.alerting_device.as_ref()), Some("201"));
}

#[test]
fn openscape_business_queued_call() {
    let Message::QueuedEvent(event) = fixture("openscape-business-queued.xml") else {
        panic!("not a QueuedEvent")
    };
    assert_eq!(number(event.queue.as_ref()), Some("350"));
    assert_eq!(number(event.calling_device.as_ref()), Some("+498970012345"));
    assert_eq!(
        (event.number_queued, event.calls_in_front),
        (Some(2), Some(1))
    );
    assert_eq!(
        event.local_connection_info,
        Some(LocalConnectionState::Queued)
    );
    assert_eq!(event.cause, Some(EventCause::EnteringDistribution));
}

#[test]
fn aeonix_agent_states() {
    let Message::AgentLoggedOnEvent(on) = fixture("aeonix-agent-logged-on.xml") else {
        panic!("not an AgentLoggedOnEvent")
    };
    assert_eq!(on.monitor_cross_ref_id.as_deref(), Some("5"));
    assert_eq!(number(Some(&on.agent_device)), Some("2104"));
    assert_eq!(on.agent_id.as_deref(), Some("9104"));
    assert_eq!(on.acd_group.as_ref().map(DeviceId::number), Some("600"));
    let Message::AgentBusyEvent(busy) = fixture("aeonix-agent-busy.xml") else {
        panic!("not an AgentBusyEvent")
    };
    assert_eq!(busy.pending_flag, Some(true));
}

#[test]
fn ecma_annex_shapes() {
    let Message::NetworkReachedEvent(reached) = fixture("ecma-network-reached.xml") else {
        panic!("not a NetworkReachedEvent")
    };
    assert_eq!(number(reached.network_interface_used.as_ref()), Some("T9"));
    let global = reached
        .call_linkage_data
        .as_deref()
        .and_then(|linkage| linkage.global_call_data.as_ref());
    assert_eq!(
        global.and_then(|data| data.global_call_linkage_id.clone()),
        Some(GlobalCallLinkageId::SubDomain("0005".into()))
    );
    let Message::DigitsGeneratedEvent(digits) = fixture("ecma-digits-generated.xml") else {
        panic!("not a DigitsGeneratedEvent")
    };
    assert_eq!(digits.digit_generated_list.as_deref(), Some("1234#"));
    let Message::SnapshotDeviceResponse(snapshot) = fixture("ecma-snapshot-device-response.xml")
    else {
        panic!("not a SnapshotDeviceResponse")
    };
    // The endpoint is read in both forms: wrapped and plain.
    let endpoints: Vec<_> = snapshot
        .calls()
        .iter()
        .map(|call| (number(call.endpoint_device.as_ref()), call.state().cloned()))
        .collect();
    assert_eq!(
        endpoints,
        vec![
            (Some("2000"), Some(LocalConnectionState::Hold)),
            (Some("2000"), Some(LocalConnectionState::Connected)),
        ]
    );
    let Message::RouteSelect(select) = fixture("ecma-route-select.xml") else {
        panic!("not a RouteSelect")
    };
    assert_eq!(select.route_selected.number(), "201");
    assert_eq!(select.route_used_req, Some(true));
}
