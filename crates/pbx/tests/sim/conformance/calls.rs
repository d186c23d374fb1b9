//! Basic calls: set-up, answer, clearing, no answer, busy, the trunk, several monitors.

use std::time::Duration;

use csta::Message;

use super::*;
use crate::client::*;

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
