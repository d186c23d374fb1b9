//! Writes finished calls to the call log off the engines' path: an engine hands each entry
//! to one writer task and goes on with the next report; the writer stores them in batches
//! (one transaction per tenant and batch). Entries wait in a bounded queue; only when the
//! database falls that far behind does an engine wait for it — nothing is dropped.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use ucplus_core::{CallLogEntry, Store, TenantId};

/// Entries queued for writing before engines wait.
const QUEUE: usize = 65_536;
/// Entries written in one go at most.
const BATCH: usize = 512;

enum Message {
    Entry(Box<CallLogEntry>),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

pub struct CallLogWriter {
    sender: mpsc::Sender<Message>,
}

impl CallLogWriter {
    /// Starts the writer task.
    pub fn start(store: Arc<dyn Store>) -> CallLogWriter {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, receiver));
        CallLogWriter { sender }
    }

    /// Queues an entry.
    pub async fn write(&self, entry: CallLogEntry) {
        if self
            .sender
            .send(Message::Entry(Box::new(entry)))
            .await
            .is_err()
        {
            tracing::error!("the call log writer has stopped");
        }
    }

    /// Waits until everything queued so far is written (at shutdown, and for tests).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn run(store: Arc<dyn Store>, mut receiver: mpsc::Receiver<Message>) {
    let mut messages = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut messages, BATCH).await > 0 {
        let mut by_tenant: HashMap<TenantId, Vec<CallLogEntry>> = HashMap::new();
        let mut flushes = Vec::new();
        for message in messages.drain(..) {
            match message {
                Message::Entry(entry) => by_tenant.entry(entry.tenant_id).or_default().push(*entry),
                Message::Flush(done) => flushes.push(done),
            }
        }
        for (tenant, entries) in by_tenant {
            if let Err(error) = store.tenant(tenant).call_log().insert(&entries).await {
                tracing::error!(%error, entries = entries.len(), "could not write the call log");
                metrics::counter!("ucplus_call_log_write_failures_total")
                    .increment(entries.len() as u64);
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
