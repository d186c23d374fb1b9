//! The event sequences each monitor receives, call scenario by call scenario (the table
//! in the `pbx::sim` module docs).

use std::time::Duration;

use csta::Message;

use crate::client::*;

/// A simulator and a client monitoring `devices`.
async fn monitored(config: pbx::sim::SimConfig, devices: &[&str]) -> (pbx::sim::Simulator, Client) {
    let simulator = start(config).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    for device in devices {
        client.monitor(device).await;
    }
    (simulator, client)
}

fn make_call(from: &str, to: &str) -> Message {
    xml(&format!(
        "<MakeCall><callingDevice>{from}</callingDevice>\
         <calledDirectoryNumber>{to}</calledDirectoryNumber></MakeCall>"
    ))
}

fn with_connection(request: &str, tag: &str, call: &str, device: &str) -> Message {
    xml(&format!(
        "<{request}>{}</{request}>",
        connection_xml(tag, call, device)
    ))
}

/// 200 calls 201 and 201 answers (manually); the six events are taken.
async fn established(simulator: &pbx::sim::Simulator, client: &mut Client) -> String {
    let call = simulator.dial("200", "201").unwrap().to_string();
    simulator.answer("201").unwrap();
    client.events(6).await;
    call
}

#[tokio::test]
async fn basic_call() {
    let (_simulator, mut client) = monitored(config(), &["200", "201"]).await;
    let answer = client.request(make_call("200", "201")).await;
    let c = call_id(&answer);
    let seen = client.events_by_device(4).await;
    assert_eq!(
        seen["200"],
        [
            format!("ServiceInitiated {c}/200 initiated makeCall"),
            format!("Originated {c}/200 connected makeCall calling=200 called=201"),
            format!(
                "Delivered {c}/201 connected newCall alerting=201 calling=200 called=201 redirected=-"
            ),
        ]
    );
    assert_eq!(
        seen["201"],
        [format!(
            "Delivered {c}/201 alerting newCall alerting=201 calling=200 called=201 redirected=-"
        )]
    );

    let snapshot = client
        .request(xml(
            "<SnapshotDevice><snapshotObject>201</snapshotObject></SnapshotDevice>",
        ))
        .await;
    let Message::SnapshotDeviceResponse(snapshot) = snapshot else {
        panic!("{snapshot:?}")
    };
    let calls: Vec<_> = snapshot
        .calls()
        .iter()
        .map(|call| {
            let id = call.connection_identifier.call_id.clone().unwrap();
            (id, call.state().map(|s| s.as_str().to_string()))
        })
        .collect();
    assert_eq!(calls, [(c.clone(), Some("alerting".to_string()))]);

    let answer = client
        .request(with_connection("AnswerCall", "callToBeAnswered", &c, "201"))
        .await;
    assert_eq!(answer.name(), "AnswerCallResponse");
    let established =
        format!("Established {c}/201 connected newCall answering=201 calling=200 called=201");
    let seen = client.events_by_device(2).await;
    assert_eq!(seen["200"], [established.as_str()]);
    assert_eq!(seen["201"], [established]);

    let answer = client
        .request(with_connection(
            "ClearConnection",
            "connectionToBeCleared",
            &c,
            "200",
        ))
        .await;
    assert_eq!(answer.name(), "ClearConnectionResponse");
    let seen = client.events_by_device(3).await;
    assert_eq!(
        seen["200"],
        [format!("ConnectionCleared {c}/200 null normalClearing")]
    );
    assert_eq!(
        seen["201"],
        [
            format!("ConnectionCleared {c}/200 connected normalClearing"),
            format!("ConnectionCleared {c}/201 null normalClearing"),
        ]
    );
    client.no_more_events().await;
}

#[tokio::test]
async fn manual_actions_make_the_same_events() {
    let (simulator, mut client) = monitored(config(), &["200", "201"]).await;
    let c = simulator.dial("200", "201").unwrap();
    let seen = client.events_by_device(4).await;
    assert_eq!(
        seen["200"],
        [
            format!("ServiceInitiated {c}/200 initiated newCall"),
            format!("Originated {c}/200 connected newCall calling=200 called=201"),
            format!(
                "Delivered {c}/201 connected newCall alerting=201 calling=200 called=201 redirected=-"
            ),
        ]
    );
    assert_eq!(seen["201"].len(), 1);
    assert_eq!(
        simulator.answer("202"),
        Err(pbx::sim::SimError::NoCallToAnswer)
    );
    simulator.answer("201").unwrap();
    assert_eq!(client.events(2).await.len(), 2);
    simulator.hang_up("201").unwrap();
    let seen = client.events_by_device(3).await;
    assert_eq!(
        seen["200"],
        [
            format!("ConnectionCleared {c}/201 connected normalClearing"),
            format!("ConnectionCleared {c}/200 null normalClearing"),
        ]
    );
    assert_eq!(
        seen["201"],
        [format!("ConnectionCleared {c}/201 null normalClearing")]
    );
    assert_eq!(simulator.calls("200").unwrap(), []);
    client.no_more_events().await;
}

#[tokio::test]
async fn no_answer_clears_the_call() {
    let mut config = config();
    config.no_answer_timeout = Duration::from_millis(300);
    let (_simulator, mut client) = monitored(config, &["200", "201"]).await;
    let c = call_id(&client.request(make_call("200", "201")).await);
    client.events(4).await;
    let seen = client.events_by_device(3).await;
    assert_eq!(
        seen["200"],
        [
            format!("ConnectionCleared {c}/201 connected callNotAnswered"),
            format!("ConnectionCleared {c}/200 null callNotAnswered"),
        ]
    );
    assert_eq!(
        seen["201"],
        [format!("ConnectionCleared {c}/201 null callNotAnswered")]
    );
    client.no_more_events().await;
}

#[tokio::test]
async fn busy_device_and_busy_trunk() {
    let mut config = config();
    config.busy_tone_timeout = Duration::from_millis(300);
    let (simulator, mut client) = monitored(config, &["200", "201"]).await;
    simulator.dial("201", "202").unwrap();
    assert_eq!(client.events(3).await.len(), 3);

    let c = call_id(&client.request(make_call("200", "201")).await);
    let seen = client.events_by_device(3).await;
    assert_eq!(
        seen["200"],
        [
            format!("ServiceInitiated {c}/200 initiated makeCall"),
            format!("Originated {c}/200 connected makeCall calling=200 called=201"),
            format!("Failed {c}/201 fail busy calling=200 called=201"),
        ]
    );
    let cleared = client
        .request(with_connection(
            "ClearConnection",
            "connectionToBeCleared",
            &c,
            "200",
        ))
        .await;
    assert_eq!(cleared.name(), "ClearConnectionResponse");
    assert_eq!(
        client.events(1).await,
        [format!(
            "@200 ConnectionCleared {c}/200 null normalClearing"
        )]
    );

    // A trunk number ending in 0 is busy; the busy tone ends by itself.
    let c = call_id(&client.request(make_call("200", "0301234560")).await);
    let seen = client.events_by_device(4).await;
    assert_eq!(
        seen["200"],
        [
            format!("ServiceInitiated {c}/200 initiated makeCall"),
            format!("Originated {c}/200 connected makeCall calling=200 called=0301234560"),
            format!("Failed {c}/0301234560 fail busy calling=200 called=0301234560"),
            format!("ConnectionCleared {c}/200 null normalClearing"),
        ]
    );
    client.no_more_events().await;
}

#[tokio::test]
async fn hold_and_retrieve() {
    let (simulator, mut client) = monitored(config(), &["200", "201"]).await;
    let c = established(&simulator, &mut client).await;
    let held = client
        .request(with_connection("HoldCall", "callToBeHeld", &c, "200"))
        .await;
    assert_eq!(held.name(), "HoldCallResponse");
    let seen = client.events_by_device(2).await;
    assert_eq!(seen["200"], [format!("Held {c}/200 hold normal")]);
    assert_eq!(seen["201"], [format!("Held {c}/200 connected normal")]);
    let retrieved = client
        .request(with_connection(
            "RetrieveCall",
            "callToBeRetrieved",
            &c,
            "200",
        ))
        .await;
    assert_eq!(retrieved.name(), "RetrieveCallResponse");
    let seen = client.events_by_device(2).await;
    assert_eq!(seen["200"], [format!("Retrieved {c}/200 connected normal")]);
    assert_eq!(seen["201"], [format!("Retrieved {c}/200 connected normal")]);
    client.no_more_events().await;
}

#[tokio::test]
async fn consultation_and_transfer() {
    let (simulator, mut client) = monitored(config(), &["200", "201", "202"]).await;
    let c1 = established(&simulator, &mut client).await;
    let answer = client
        .request(xml(&format!(
            "<ConsultationCall>{}<consultedDevice>202</consultedDevice></ConsultationCall>",
            connection_xml("existingCall", &c1, "200")
        )))
        .await;
    let c2 = call_id(&answer);
    let seen = client.events_by_device(6).await;
    assert_eq!(
        seen["200"],
        [
            format!("Held {c1}/200 hold consultation"),
            format!("ServiceInitiated {c2}/200 initiated consultation"),
            format!("Originated {c2}/200 connected consultation calling=200 called=202"),
            format!(
                "Delivered {c2}/202 connected consultation alerting=202 calling=200 called=202 redirected=-"
            ),
        ]
    );
    assert_eq!(
        seen["201"],
        [format!("Held {c1}/200 connected consultation")]
    );
    assert_eq!(
        seen["202"],
        [format!(
            "Delivered {c2}/202 alerting consultation alerting=202 calling=200 called=202 redirected=-"
        )]
    );
    simulator.answer("202").unwrap();
    let seen = client.events_by_device(2).await;
    let established =
        format!("Established {c2}/202 connected consultation answering=202 calling=200 called=202");
    assert_eq!(seen["200"], [established.as_str()]);
    assert_eq!(seen["202"], [established]);

    let answer = client
        .request(xml(&format!(
            "<TransferCall>{}{}</TransferCall>",
            connection_xml("heldCall", &c1, "200"),
            connection_xml("activeCall", &c2, "200")
        )))
        .await;
    let Message::TransferCallResponse(response) = &answer else {
        panic!("{answer:?}")
    };
    assert_eq!(
        response.transferred_call,
        csta::ConnectionId::new(c1.as_str(), "202")
    );
    let seen = client.events_by_device(3).await;
    let transferred = |state: &str| {
        format!(
            "Transferred {c1}/200 {state} transfer secondary={c2}/200 to=202 \
             connections={c1}/201<-{c1}/201,{c1}/202<-{c2}/202"
        )
    };
    assert_eq!(seen["200"], [transferred("null")]);
    assert_eq!(seen["201"], [transferred("connected")]);
    assert_eq!(seen["202"], [transferred("connected")]);
    assert_eq!(simulator.calls("200").unwrap(), []);

    simulator.hang_up("201").unwrap();
    let seen = client.events_by_device(3).await;
    assert_eq!(
        seen["201"],
        [format!("ConnectionCleared {c1}/201 null normalClearing")]
    );
    assert_eq!(
        seen["202"],
        [
            format!("ConnectionCleared {c1}/201 connected normalClearing"),
            format!("ConnectionCleared {c1}/202 null normalClearing"),
        ]
    );
    client.no_more_events().await;
}

#[tokio::test]
async fn single_step_transfer() {
    let (simulator, mut client) = monitored(config(), &["200", "201", "202"]).await;
    let c = established(&simulator, &mut client).await;
    let answer = client
        .request(xml(&format!(
            "<SingleStepTransferCall>{}<transferredTo>202</transferredTo></SingleStepTransferCall>",
            connection_xml("activeCall", &c, "200")
        )))
        .await;
    assert_eq!(answer.name(), "SingleStepTransferCallResponse");
    let seen = client.events_by_device(4).await;
    let transferred = |state: &str| {
        format!(
            "Transferred {c}/200 {state} singleStepTransfer secondary=- to=202 \
             connections={c}/201<-{c}/201"
        )
    };
    let delivered = |state: &str| {
        format!(
            "Delivered {c}/202 {state} singleStepTransfer alerting=202 calling=201 called=202 redirected=200"
        )
    };
    assert_eq!(seen["200"], [transferred("null")]);
    assert_eq!(
        seen["201"],
        [transferred("connected"), delivered("connected")]
    );
    assert_eq!(seen["202"], [delivered("alerting")]);
    simulator.answer("202").unwrap();
    let seen = client.events_by_device(2).await;
    let established = format!(
        "Established {c}/202 connected singleStepTransfer answering=202 calling=201 called=202"
    );
    assert_eq!(seen["201"], [established.as_str()]);
    assert_eq!(seen["202"], [established]);
    client.no_more_events().await;
}

#[tokio::test]
async fn conference() {
    let (simulator, mut client) = monitored(config(), &["200", "201", "202"]).await;
    let c1 = established(&simulator, &mut client).await;
    let c2 = simulator.consult("200", "202").unwrap().to_string();
    simulator.answer("202").unwrap();
    client.events(8).await;
    let answer = client
        .request(xml(&format!(
            "<ConferenceCall>{}{}</ConferenceCall>",
            connection_xml("heldCall", &c1, "200"),
            connection_xml("activeCall", &c2, "200")
        )))
        .await;
    let Message::ConferenceCallResponse(response) = &answer else {
        panic!("{answer:?}")
    };
    assert_eq!(
        response.conferenced_call,
        csta::ConnectionId::new(c1.as_str(), "200")
    );
    let conferenced = format!(
        "Conferenced {c1}/200 connected conference secondary={c2}/200 added=202 \
         connections={c1}/200<-{c1}/200,{c1}/201<-{c1}/201,{c1}/202<-{c2}/202"
    );
    let seen = client.events_by_device(3).await;
    for device in ["200", "201", "202"] {
        assert_eq!(seen[device], [conferenced.as_str()], "{device}");
    }

    simulator.hang_up("200").unwrap();
    let seen = client.events_by_device(3).await;
    assert_eq!(
        seen["200"],
        [format!("ConnectionCleared {c1}/200 null normalClearing")]
    );
    assert_eq!(
        seen["201"],
        [format!(
            "ConnectionCleared {c1}/200 connected normalClearing"
        )]
    );
    assert_eq!(
        seen["202"],
        [format!(
            "ConnectionCleared {c1}/200 connected normalClearing"
        )]
    );
    let connected = csta::LocalConnectionState::Connected;
    let call = pbx::sim::CallId(c1.parse().unwrap());
    assert_eq!(simulator.calls("201").unwrap(), [(call, connected.clone())]);
    assert_eq!(simulator.calls("202").unwrap(), [(call, connected)]);
    client.no_more_events().await;
}

#[tokio::test]
async fn deflect_a_ringing_call() {
    let (_simulator, mut client) = monitored(config(), &["200", "201", "203"]).await;
    let c = call_id(&client.request(make_call("200", "201")).await);
    client.events(4).await;
    let answer = client
        .request(xml(&format!(
            "<DeflectCall>{}<newDestination>203</newDestination></DeflectCall>",
            connection_xml("callToBeDiverted", &c, "201")
        )))
        .await;
    assert_eq!(answer.name(), "DeflectCallResponse");
    let seen = client.events_by_device(4).await;
    let delivered = |state: &str| {
        format!(
            "Delivered {c}/203 {state} redirected alerting=203 calling=200 called=201 redirected=201"
        )
    };
    assert_eq!(
        seen["200"],
        [
            format!("Diverted {c}/201 connected redirected to=203 redirected=201"),
            delivered("connected"),
        ]
    );
    assert_eq!(
        seen["201"],
        [format!(
            "Diverted {c}/201 null redirected to=203 redirected=201"
        )]
    );
    assert_eq!(seen["203"], [delivered("alerting")]);
    client.no_more_events().await;
}

#[tokio::test]
async fn do_not_disturb() {
    let (_simulator, mut client) = monitored(config(), &["200", "201"]).await;
    let set = |on: bool| {
        xml(&format!(
            "<SetDoNotDisturb><device>201</device><doNotDisturbOn>{on}</doNotDisturbOn></SetDoNotDisturb>"
        ))
    };
    assert_eq!(
        client.request(set(true)).await.name(),
        "SetDoNotDisturbResponse"
    );
    assert_eq!(client.events(1).await, ["@201 DoNotDisturb 201 on=true"]);
    assert_eq!(
        client.request(set(true)).await.name(),
        "SetDoNotDisturbResponse"
    );

    let c = call_id(&client.request(make_call("200", "201")).await);
    let seen = client.events_by_device(3).await;
    assert_eq!(
        seen["200"][2],
        format!("Failed {c}/201 fail doNotDisturb calling=200 called=201")
    );
    assert!(!seen.contains_key("201"));
    client
        .request(with_connection(
            "ClearConnection",
            "connectionToBeCleared",
            &c,
            "200",
        ))
        .await;
    client.events(1).await;

    client.request(set(false)).await;
    assert_eq!(client.events(1).await, ["@201 DoNotDisturb 201 on=false"]);
    client.no_more_events().await;
}

#[tokio::test]
async fn immediate_forwarding() {
    let (simulator, mut client) = monitored(config(), &["200", "201", "205"]).await;
    let answer = client
        .request(xml(
            "<SetForwarding><device>201</device><forwardingType>forwardImmediate</forwardingType>\
             <activateForward>true</activateForward><forwardDN>205</forwardDN></SetForwarding>",
        ))
        .await;
    assert_eq!(answer.name(), "SetForwardingResponse");
    assert_eq!(
        client.events(1).await,
        ["@201 Forwarding 201 forwardImmediate on=true to=205"]
    );

    let c = call_id(&client.request(make_call("200", "201")).await);
    let seen = client.events_by_device(6).await;
    let delivered = |state: &str| {
        format!(
            "Delivered {c}/205 {state} callForwardImmediate alerting=205 calling=200 called=201 redirected=201"
        )
    };
    assert_eq!(
        seen["200"][2..],
        [
            format!("Diverted {c}/201 connected callForwardImmediate to=205 redirected=201"),
            delivered("connected"),
        ]
    );
    assert_eq!(
        seen["201"],
        [format!(
            "Diverted {c}/201 null callForwardImmediate to=205 redirected=201"
        )]
    );
    assert_eq!(seen["205"], [delivered("alerting")]);

    simulator.set_forwarding("201", None).unwrap();
    assert_eq!(
        client.events(1).await,
        ["@201 Forwarding 201 forwardImmediate on=false to=-"]
    );
    client.no_more_events().await;
}

#[tokio::test]
async fn trunk_calls_out_and_in() {
    let (simulator, mut client) = monitored(config(), &["200", "201"]).await;
    let c = call_id(&client.request(make_call("200", "0301234561")).await);
    let seen = client.events_by_device(4).await;
    assert_eq!(
        seen["200"][2..],
        [
            format!(
                "Delivered {c}/0301234561 connected newCall alerting=0301234561 calling=200 \
                 called=0301234561 redirected=-"
            ),
            format!(
                "Established {c}/0301234561 connected newCall answering=0301234561 calling=200 \
                 called=0301234561"
            ),
        ]
    );

    let c = simulator.incoming_external("+4930123", "201").unwrap();
    assert_eq!(
        client.events(1).await,
        [format!(
            "@201 Delivered {c}/201 alerting newCall alerting=201 calling=+4930123 called=201 redirected=-"
        )]
    );
    simulator.answer("201").unwrap();
    assert_eq!(
        client.events(1).await,
        [format!(
            "@201 Established {c}/201 connected newCall answering=201 calling=+4930123 called=201"
        )]
    );
    simulator.hang_up("201").unwrap();
    assert_eq!(
        client.events(1).await,
        [format!(
            "@201 ConnectionCleared {c}/201 null normalClearing"
        )]
    );
    client.no_more_events().await;
}

#[tokio::test]
async fn clear_call_clears_every_connection() {
    let (simulator, mut client) = monitored(config(), &["200", "201"]).await;
    let c = established(&simulator, &mut client).await;
    let answer = client
        .request(with_connection("ClearCall", "callToBeCleared", &c, "200"))
        .await;
    assert_eq!(answer.name(), "ClearCallResponse");
    let seen = client.events_by_device(3).await;
    assert_eq!(
        seen["200"],
        [format!("ConnectionCleared {c}/200 null normalClearing")]
    );
    assert_eq!(
        seen["201"],
        [
            format!("ConnectionCleared {c}/200 connected normalClearing"),
            format!("ConnectionCleared {c}/201 null normalClearing"),
        ]
    );
    client.no_more_events().await;
}

#[tokio::test]
async fn every_monitor_of_a_device_gets_the_events() {
    let simulator = start(config()).await;
    let mut first = Client::connect(simulator.local_addr()).await;
    let mut second = Client::connect(simulator.local_addr()).await;
    let first_ref = first.monitor("200").await;
    let second_ref = second.monitor("200").await;
    assert_ne!(first_ref, second_ref);
    let c = call_id(&first.request(make_call("200", "209")).await);
    let expected = [
        format!("@200 ServiceInitiated {c}/200 initiated makeCall"),
        format!("@200 Originated {c}/200 connected makeCall calling=200 called=209"),
        format!(
            "@200 Delivered {c}/209 connected newCall alerting=209 calling=200 called=209 redirected=-"
        ),
    ];
    assert_eq!(first.events(3).await, expected);
    assert_eq!(second.events(3).await, expected);

    let stop = xml(&format!(
        "<MonitorStop><monitorCrossRefID>{second_ref}</monitorCrossRefID></MonitorStop>"
    ));
    assert_eq!(second.request(stop).await.name(), "MonitorStopResponse");
    simulator.hang_up("200").unwrap();
    assert_eq!(first.events(1).await.len(), 1);
    second.no_more_events().await;
}
