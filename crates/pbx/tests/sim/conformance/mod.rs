//! The event sequences each monitor receives, call scenario by call scenario (the table
//! in the `pbx::sim` module docs): basic calls here, features on calls in [`features`].

mod calls;
mod features;

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
