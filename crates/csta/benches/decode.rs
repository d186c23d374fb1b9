//! CSTA codec throughput: `cargo bench -p csta`.
//!
//! Decodes a corpus of realistic framed events (OpenScape-style Delivered, Established
//! and ConnectionCleared with Siemens private data, 600–1100 bytes each) through
//! `FrameCodec` + `decode`, compares with a bare `quick_xml::Reader` pass over the same
//! XML, and encodes typical requests. Prints the median of several runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use csta::*;
use quick_xml::Reader;
use quick_xml::events::Event;

const RUNS: usize = 7;
const RUN_TIME: Duration = Duration::from_millis(300);

const DELIVERED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4">
  <monitorCrossRefID>{MON}</monitorCrossRefID>
  <connection><callID>FF0001000000000{CALL}4E5B2100</callID><deviceID>N&lt;30211884{EXT}&gt;</deviceID></connection>
  <alertingDevice><deviceIdentifier>N&lt;30211884{EXT}&gt;;displayNumber=Alice Example</deviceIdentifier></alertingDevice>
  <callingDevice><deviceIdentifier>N&lt;+4989700{EXT}&gt;;noa=nk</deviceIdentifier></callingDevice>
  <calledDevice><deviceIdentifier>N&lt;30211884{EXT}&gt;</deviceIdentifier></calledDevice>
  <lastRedirectionDevice><notRequired/></lastRedirectionDevice>
  <localConnectionInfo>alerting</localConnectionInfo>
  <cause>newCall</cause>
  <networkCallingDevice><deviceIdentifier>+4989700{EXT}</deviceIdentifier></networkCallingDevice>
  <extensions><privateData><private xmlns:scx="http://www.siemens.com/schema/csta">
    <scx:callingDeviceName>Bob Example</scx:callingDeviceName>
    <scx:globalCallID>{CALL}-2025-0001</scx:globalCallID>
  </private></privateData></extensions>
</DeliveredEvent>"#;

const ESTABLISHED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<EstablishedEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4">
  <monitorCrossRefID>{MON}</monitorCrossRefID>
  <establishedConnection><callID>FF0001000000000{CALL}4E5B2100</callID><deviceID>N&lt;30211884{EXT}&gt;</deviceID></establishedConnection>
  <answeringDevice><deviceIdentifier>N&lt;30211884{EXT}&gt;;displayNumber=Alice Example</deviceIdentifier></answeringDevice>
  <callingDevice><deviceIdentifier>N&lt;+4989700{EXT}&gt;;noa=nk</deviceIdentifier></callingDevice>
  <calledDevice><deviceIdentifier>N&lt;30211884{EXT}&gt;</deviceIdentifier></calledDevice>
  <lastRedirectionDevice><notRequired/></lastRedirectionDevice>
  <localConnectionInfo>connected</localConnectionInfo>
  <cause>normal</cause>
  <extensions><privateData><private xmlns:scx="http://www.siemens.com/schema/csta">
    <scx:globalCallID>{CALL}-2025-0001</scx:globalCallID>
  </private></privateData></extensions>
</EstablishedEvent>"#;

const CLEARED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ns3:ConnectionClearedEvent xmlns:ns3="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
  <ns3:monitorCrossRefID>{MON}</ns3:monitorCrossRefID>
  <ns3:droppedConnection><ns3:deviceID>N&lt;+4989700{EXT}&gt;</ns3:deviceID><ns3:callID>FF0001000000000{CALL}4E5B2100</ns3:callID></ns3:droppedConnection>
  <ns3:releasingDevice><ns3:deviceIdentifier>N&lt;+4989700{EXT}&gt;;noa=nk</ns3:deviceIdentifier></ns3:releasingDevice>
  <ns3:localConnectionInfo>null</ns3:localConnectionInfo>
  <ns3:cause>normalClearing</ns3:cause>
  <ns3:servicesPermitted><ns3:callControlServices><ns3:makeCall>true</ns3:makeCall></ns3:callControlServices></ns3:servicesPermitted>
</ns3:ConnectionClearedEvent>"#;

fn corpus() -> Vec<String> {
    (0..300)
        .map(|i| {
            let template = [DELIVERED, ESTABLISHED, CLEARED][i % 3];
            template
                .replace("{MON}", &(1000 + i % 17).to_string())
                .replace("{CALL}", &format!("{:05}", 31000 + i))
                .replace("{EXT}", &format!("{:04}", 100 + i % 50))
        })
        .collect()
}

fn requests() -> Vec<Message> {
    let connection = ConnectionId::new("FF000100000000031000", "N<302118840101>");
    vec![
        MakeCall {
            calling_device: DeviceId::new("302118840101"),
            called_directory_number: DeviceId::new("+498970012345"),
            auto_originate: Some(AutoOriginate::DoNotPrompt),
            extra: Extra::default(),
        }
        .into(),
        AnswerCall {
            call_to_be_answered: connection.clone(),
            extra: Extra::default(),
        }
        .into(),
        ClearConnection {
            connection_to_be_cleared: connection.clone(),
            reason: None,
            extra: Extra::default(),
        }
        .into(),
        SingleStepTransferCall {
            active_call: connection,
            transferred_to: DeviceId::new("302118840102"),
            extra: Extra::default(),
        }
        .into(),
        MonitorStart {
            monitor_object: MonitorObject::device(DeviceId::new("302118840101")),
            requested_monitor_filter: None,
            monitor_type: None,
            extra: Extra::default(),
        }
        .into(),
    ]
}

/// Runs `pass` (which handles `per_pass` items) for about RUN_TIME; items per second.
fn rate(per_pass: usize, mut pass: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut passes = 0usize;
    while start.elapsed() < RUN_TIME {
        pass();
        passes += 1;
    }
    (passes * per_pass) as f64 / start.elapsed().as_secs_f64()
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let documents = corpus();
    let sizes: Vec<usize> = documents.iter().map(String::len).collect();
    let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    let average = sizes.iter().sum::<usize>() / sizes.len();
    assert!(
        *min >= 600 && *max <= 1100,
        "corpus frames are {min}..{max} bytes"
    );

    let mut codec = FrameCodec::new(Framing::Header);
    let mut wire = BytesMut::new();
    for (i, xml) in documents.iter().enumerate() {
        let id = if i % 2 == 0 {
            InvokeId::EVENT
        } else {
            InvokeId::new(1).unwrap()
        };
        codec
            .encode(Frame::new(Some(id), xml.clone().into_bytes()), &mut wire)
            .unwrap();
    }
    for xml in &documents {
        assert!(matches!(decode(xml.as_bytes()), Ok(m) if m.kind() == MessageKind::Event));
    }
    let requests = requests();

    let mut decode_rates = Vec::new();
    let mut bare_rates = Vec::new();
    let mut encode_rates = Vec::new();
    for _ in 0..RUNS {
        decode_rates.push(rate(documents.len(), || {
            let mut src = wire.clone();
            while let Ok(Some(frame)) = codec.decode(&mut src) {
                black_box(decode(&frame.xml).ok());
            }
        }));
        bare_rates.push(rate(documents.len(), || {
            for xml in &documents {
                let text = std::str::from_utf8(black_box(xml.as_bytes())).unwrap();
                let mut reader = Reader::from_str(text);
                while !matches!(black_box(reader.read_event()), Ok(Event::Eof) | Err(_)) {}
            }
        }));
        encode_rates.push(rate(requests.len(), || {
            for request in &requests {
                black_box(encode(black_box(request), Edition::Ed3));
            }
        }));
    }
    let ratios: Vec<f64> = decode_rates
        .iter()
        .zip(&bare_rates)
        .map(|(decode, bare)| decode / bare)
        .collect();

    println!("CSTA codec, median of {RUNS} runs of {RUN_TIME:?} each");
    println!(
        "corpus: {} framed events, {min}..{max} bytes (average {average})",
        documents.len()
    );
    println!("{:<44} {:>14}", "metric", "median");
    println!(
        "{:<44} {:>14.0}",
        "decode events/s (frame + XML → Message)",
        median(decode_rates)
    );
    println!(
        "{:<44} {:>14.0}",
        "bare quick-xml tokenization docs/s",
        median(bare_rates)
    );
    println!(
        "{:<44} {:>13.0}%",
        "decode / bare quick-xml",
        100.0 * median(ratios)
    );
    println!(
        "{:<44} {:>14.0}",
        "encode requests/s (Message → XML)",
        median(encode_rates)
    );
}
