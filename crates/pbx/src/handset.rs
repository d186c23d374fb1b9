//! A simulated uaCSTA SIP handset (Snom/Gigaset style), for tests, the demo and
//! benchmarks: it REGISTERs with a registrar (digest auth, 423 Min-Expires, refresh
//! before expiry) and lets a controller drive it with CSTA XML in SIP (ECMA TR/87).
//!
//! ```text
//! handset                                      registrar / controller
//!   REGISTER ──▶                                ◀── 401 (Digest challenge)
//!   REGISTER (Authorization) ──▶                ◀── 200 OK
//!            ◀── INVITE (<RequestSystemStatus/>, application/csta+xml)
//!   200 OK (<RequestSystemStatusResponse>normal) ──▶        ◀── ACK
//!            ◀── INFO (<MonitorStart>)
//!   200 OK (<MonitorStartResponse>…<monitorCrossRefID>1) ──▶
//!   INFO (<DeliveredEvent>… monitorCrossRefID 1) ──▶        ◀── 200 OK
//!            ◀── INFO (<MakeCall>) / re-INVITE (refresh) / INFO (<MonitorStop>) / BYE
//! ```
//! Answers are written in [`HandsetConfig::edition`] (ed5 by default, as Snom answers ed3
//! requests). Events go as INFO one at a time, in order, each retransmitted over UDP per
//! Timer E until a final response; a dialog whose INFO times out or gets 481 is dropped.
//! The call model (one line, no call waiting) is in `phone.rs`; its event sequences
//! follow [`crate::sim`] from the phone's own side, and refusals are [`SimError`]s.
//!
//! Handsets that share an [`Exchange`] call each other: a call to another handset's
//! number rings that handset, its answer connects the caller, and a hang-up on either side
//! ends the call for both (otherwise the far end of a call is simulated and answers after
//! [`HandsetConfig::answer_delay`]).
//!
//! Over TCP the handset keeps its registration connection open (the controller may send
//! on it) and also accepts connections on its contact address. [`SimHandset::reboot`]
//! forgets the dialog without a BYE and registers again with a new Call-ID.

mod agent;
mod dialog;
mod exchange;
mod phone;
mod register;
mod requests;
mod transport;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use csta::Edition;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::sim::SimError;
use agent::{Action, Agent, Command};
pub use exchange::Exchange;

/// The SIP transport the handset uses towards the registrar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// What the handset is and where it registers.
#[derive(Debug, Clone)]
pub struct HandsetConfig {
    pub registrar: SocketAddr,
    pub transport: Transport,
    pub username: String,
    pub password: String,
    /// The SIP domain: the address-of-record is `sip:username@domain`.
    pub domain: String,
    /// The phone's extension, its CSTA device id.
    pub number: String,
    /// Requested registration lifetime in seconds.
    pub expires: u32,
    /// The CSTA edition of everything the handset writes.
    pub edition: Edition,
    pub listen: SocketAddr,
    /// How long a far end takes to answer an outgoing call.
    pub answer_delay: Duration,
    /// How long a reboot takes before the handset registers again.
    pub reboot_delay: Duration,
    /// Other handsets this one can call (and be called by); none: every far end is
    /// simulated.
    pub exchange: Option<Exchange>,
}

impl HandsetConfig {
    /// Extension `number` registering as user `number` at `registrar` over UDP, with an
    /// empty password in domain `localhost`, for 3600 s, answering in ed5.
    pub fn new(registrar: SocketAddr, number: &str) -> HandsetConfig {
        HandsetConfig {
            registrar,
            transport: Transport::Udp,
            username: number.to_owned(),
            password: String::new(),
            domain: "localhost".to_owned(),
            number: number.to_owned(),
            expires: 3600,
            edition: Edition::Ed5,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            answer_delay: Duration::from_secs(1),
            reboot_delay: Duration::from_millis(500),
            exchange: None,
        }
    }
}

/// The handset's registration as it last learnt it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    Unregistered,
    Registering,
    /// The registrar granted `expires` seconds.
    Registered {
        expires: u32,
    },
    /// The last attempt failed with this status (408: no answer); it retries later.
    Failed {
        status: u16,
    },
}

/// A running simulated handset; dropping it stops it.
#[derive(Debug)]
pub struct SimHandset {
    commands: mpsc::Sender<Command>,
    registration: watch::Receiver<RegistrationState>,
    snapshots: watch::Receiver<u64>,
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SimHandset {
    /// Binds the SIP socket (and for TCP connects to the registrar) and starts
    /// registering.
    pub async fn start(config: HandsetConfig) -> io::Result<SimHandset> {
        let (commands, receiver) = mpsc::channel(64);
        let (state, registration) = watch::channel(RegistrationState::Registering);
        let (snapshot_count, snapshots) = watch::channel(0);
        let agent = Agent::open(config, state, snapshot_count).await?;
        let local_addr = agent.local_addr();
        let task = tokio::spawn(agent.run(receiver));
        Ok(SimHandset {
            commands,
            registration,
            snapshots,
            local_addr,
            task,
        })
    }

    /// The address the handset's SIP socket is bound to (its contact).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn registration(&self) -> RegistrationState {
        self.registration.borrow().clone()
    }

    /// Waits until the registration state satisfies `done`, at most `timeout`; whether
    /// it did.
    pub async fn wait_registration(
        &self,
        timeout: Duration,
        done: impl Fn(&RegistrationState) -> bool,
    ) -> bool {
        let mut watcher = self.registration.clone();
        tokio::time::timeout(timeout, watcher.wait_for(|state| done(state)))
            .await
            .is_ok_and(|changed| changed.is_ok())
    }

    /// How many `SnapshotDevice` requests the handset has answered: a controller opening
    /// a session monitors the phone and then takes a snapshot of it, so each new count
    /// is a session that is open.
    pub fn snapshots_answered(&self) -> u64 {
        *self.snapshots.borrow()
    }

    /// Waits until the handset has answered at least `count` `SnapshotDevice` requests,
    /// at most `timeout`; whether it did.
    pub async fn wait_snapshots(&self, timeout: Duration, count: u64) -> bool {
        let mut watcher = self.snapshots.clone();
        tokio::time::timeout(timeout, watcher.wait_for(|answered| *answered >= count))
            .await
            .is_ok_and(|changed| changed.is_ok())
    }

    /// Dials `number` from the keypad.
    pub async fn dial(&self, number: &str) -> Result<(), SimError> {
        self.act(Action::Dial(number.to_owned())).await
    }

    /// A call from `number` starts ringing.
    pub async fn ring_from(&self, number: &str) -> Result<(), SimError> {
        self.act(Action::RingFrom(number.to_owned())).await
    }

    pub async fn answer(&self) -> Result<(), SimError> {
        self.act(Action::Answer).await
    }

    pub async fn hang_up(&self) -> Result<(), SimError> {
        self.act(Action::HangUp).await
    }

    pub async fn hold(&self) -> Result<(), SimError> {
        self.act(Action::Hold).await
    }

    pub async fn retrieve(&self) -> Result<(), SimError> {
        self.act(Action::Retrieve).await
    }

    pub async fn set_do_not_disturb(&self, on: bool) -> Result<(), SimError> {
        self.act(Action::DoNotDisturb(on)).await
    }

    /// Drops the dialog and calls silently (no BYE) and registers again with a new
    /// Call-ID after [`HandsetConfig::reboot_delay`].
    pub async fn reboot(&self) {
        let _ = self.commands.send(Command::Reboot).await;
    }

    /// Removes the registration (`Expires: 0`) and stops refreshing it.
    pub async fn unregister(&self) {
        let _ = self.commands.send(Command::Unregister).await;
    }

    /// Stops the handset and waits for it.
    pub async fn shutdown(mut self) {
        let _ = self.commands.send(Command::Shutdown).await;
        // `Drop` aborts the agent if it has not ended by then.
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.task).await;
    }

    async fn act(&self, action: Action) -> Result<(), SimError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Act(action, reply))
            .await
            .map_err(|_| SimError::InvalidObjectState)?;
        answer.await.unwrap_or(Err(SimError::InvalidObjectState))
    }
}

impl Drop for SimHandset {
    fn drop(&mut self) {
        self.task.abort();
    }
}
