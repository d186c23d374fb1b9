//! A WebSocket client for the event stream, as a test sees it.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestServer;

type Incoming = Box<
    dyn futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + Send
        + Unpin,
>;

pub struct Events {
    stream: Incoming,
    /// Everything received so far, in order.
    pub seen: Vec<Value>,
}

impl Events {
    pub async fn connect(server: &TestServer, token: &str) -> Events {
        let url = format!(
            "{}/api/v1/events?token={token}",
            server.base.replace("http://", "ws://")
        );
        let (stream, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("WebSocket connects");
        let mut events = Events {
            stream: Box::new(stream),
            seen: Vec::new(),
        };
        let snapshot = events.next_of("snapshot").await;
        assert!(snapshot["data"].is_object());
        events
    }

    /// A client on a stream the test made itself (no snapshot read yet).
    pub fn from_stream(
        stream: impl futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + Send
        + Unpin
        + 'static,
    ) -> Events {
        Events {
            stream: Box::new(stream),
            seen: Vec::new(),
        }
    }

    /// The next message, or `None` after `wait`. Panics when the server closed.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let message = match tokio::time::timeout(wait, self.stream.next()).await {
                Err(_) => return None,
                Ok(None) => panic!("the server closed the event stream"),
                Ok(Some(message)) => message.expect("a WebSocket message"),
            };
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).expect("JSON event");
                self.seen.push(value.clone());
                return Some(value);
            }
        }
    }

    /// Waits (up to 10 s) for the first message of type `kind` matching `predicate`.
    pub async fn wait_for(&mut self, kind: &str, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(message) = self.next(left).await else {
                panic!(
                    "no {kind} event matched within 10 s; seen: {:#?}",
                    self.seen
                );
            };
            if message["type"] == kind && predicate(&message["data"]) {
                return message;
            }
        }
    }

    /// Like [`Events::wait_for`], but also finds a matching event received earlier.
    pub async fn saw_or_wait(&mut self, kind: &str, predicate: impl Fn(&Value) -> bool) -> Value {
        if let Some(found) = self
            .seen
            .iter()
            .find(|m| m["type"] == kind && predicate(&m["data"]))
        {
            return found.clone();
        }
        self.wait_for(kind, predicate).await
    }

    pub async fn next_of(&mut self, kind: &str) -> Value {
        self.wait_for(kind, |_| true).await
    }

    /// Reads whatever arrives within `wait`.
    pub async fn drain(&mut self, wait: Duration) {
        while self.next(wait).await.is_some() {}
    }

    /// How the server closed the stream (code), reading until it does (up to `wait`).
    pub async fn closed_with(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return Some(1006),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Some(frame.map_or(1005, |f| f.code.into()));
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}
