//! A small client for the NATS *core* protocol, on tokio, for live messages between ucplus
//! nodes.
//!
//! # What it implements
//!
//! - The text protocol ([`codec`]): server operations `INFO`, `MSG`, `HMSG`, `PING`, `PONG`,
//!   `+OK`, `-ERR` parsed incrementally from a byte buffer under a control-line limit and the
//!   server's `max_payload`; client operations `CONNECT`, `PUB`, `SUB`, `UNSUB`, `PING`, `PONG`
//!   encoded with the subjects checked.
//! - [`Client`]: publish, subscribe (plain and queue groups), request-reply through one shared
//!   inbox subscription (`_INBOX.<random>.*`) and a map of pending replies, flush, close.
//!   "No responders" is reported at once ([`Error::NoResponders`]), a silent responder by
//!   the request's timeout ([`Error::Timeout`]).
//! - Subscriptions are bounded: a subscriber that falls behind loses the oldest queued
//!   messages and is told with [`Event::Lagged`]; nothing is buffered without bound.
//! - Automatic reconnect with growing, jittered delays. Subscriptions are sent again on the
//!   new connection and every subscription then receives [`Event::Reconnected`], since
//!   messages published meanwhile are lost (core NATS is at-most-once): mirrors of remote
//!   state resynchronize on either event.
//! - Keep-alive: the server's PINGs are answered; the client PINGs every
//!   [`Options::ping_interval`] and treats [`Options::max_pings_outstanding`] unanswered PINGs
//!   (or a write that cannot complete in that time) as a dead connection.
//! - All writes go through one writer per connection that gathers whatever is queued and
//!   writes it at once.
//! - Plain TCP, with no authentication or `user:pass@` in the URL (sent in CONNECT).
//!
//! # What it does not implement
//!
//! No JetStream, KV or object store; no TLS; no token, NKey or JWT authentication; no
//! message headers for the application (the server's header messages are accepted, their
//! payload delivered and their headers read only for the no-responders status); no
//! server-pool discovery from INFO (`connect_urls`): one URL, reconnected to.

pub mod codec;

mod client;

pub use client::{Client, Error, Event, Message, Options, Subscription};
