//! Features on calls: hold, consultation, transfer, conference, deflection, do-not-disturb,
//! forwarding.

use csta::Message;

use super::*;
use crate::client::*;

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
