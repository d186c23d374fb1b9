//! A registrar's bindings (RFC 3261 §10.3): which contacts each address-of-record (AOR,
//! `user@domain`) can be reached at, until when.
//!
//! ```text
//! REGISTER  To: <sip:200@pbx.example>  Contact: <sip:200@192.0.2.7:5062>;expires=600
//!   → 200 OK  Contact: <sip:200@192.0.2.7:5062>;expires=600      + change: Added
//! REGISTER  Contact: *  Expires: 0
//!   → 200 OK                                                      + change: Removed
//! ```
//! [`Registrar::register`] takes a REGISTER the caller has already authenticated and
//! authorized for its AOR, applies it all-or-nothing, and returns the response to send
//! and the binding changes (so the server can open or close uaCSTA sessions).
//! [`Registrar::expire`] drops bindings whose time is up. Matching follows §10.3 step 7:
//! a contact with `+sip.instance` matches a binding of the same instance (a phone that
//! changed address replaces its old binding, RFC 5627 §7.1.2.1); otherwise contact URIs
//! compare by §19.1.4.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::message::{Method, Request, Response, StatusCode};
use crate::name_addr::{Contacts, NameAddr};
use crate::typed::parse_seconds;

/// The registrar's expiry policy and bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Used when neither the contact nor the request says. Default 3600 s.
    pub default_expires: u32,
    /// Shorter non-zero requests are refused with 423 and this Min-Expires. Default 60 s.
    pub min_expires: u32,
    /// Longer requests are shortened to this. Default 3600 s.
    pub max_expires: u32,
    /// Most contacts per AOR; more are refused with 503. Default 10.
    pub max_contacts: usize,
}

impl Default for RegistrarConfig {
    fn default() -> RegistrarConfig {
        RegistrarConfig {
            default_expires: 3600,
            min_expires: 60,
            max_expires: 3600,
            max_contacts: 10,
        }
    }
}

/// One contact of an AOR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The contact as registered, without its `expires` parameter.
    pub contact: NameAddr,
    /// The `+sip.instance` of the device (unquoted, e.g. `<urn:uuid:…>`), if it sent one.
    pub instance: Option<String>,
    /// The Call-ID and CSeq of the REGISTER that last set this binding.
    pub call_id: String,
    pub cseq: u32,
    /// When the binding lapses, in Unix seconds.
    pub expires_at: u64,
    /// Where that REGISTER came from (the NAT-side address to reach the device at).
    pub source: Option<SocketAddr>,
    pub user_agent: Option<String>,
}

impl Binding {
    /// Seconds left at `now`.
    pub fn remaining(&self, now: u64) -> u64 {
        self.expires_at.saturating_sub(now)
    }
}

/// How a binding changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    /// Re-registered: new expiry, and perhaps a new Call-ID, source or parameters.
    Refreshed,
    /// Removed by the device (expires 0 or `Contact: *`).
    Removed,
    /// Removed by [`Registrar::expire`].
    Expired,
}

/// A binding that was added, refreshed or removed; `binding` is its latest state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingChange {
    pub aor: String,
    pub kind: ChangeKind,
    pub binding: Binding,
}

/// What a REGISTER did: the response to send and the bindings it changed (none unless
/// the response is a 200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub response: Response,
    pub changes: Vec<BindingChange>,
}

/// Bindings of every AOR; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct Registrar {
    config: RegistrarConfig,
    bindings: HashMap<String, Vec<Binding>>,
}

/// The facts of one REGISTER that every contact shares.
struct Context<'a> {
    call_id: &'a str,
    cseq: u32,
    expires: Option<u32>,
    source: Option<SocketAddr>,
    user_agent: Option<&'a str>,
}

impl Registrar {
    pub fn new(config: RegistrarConfig) -> Registrar {
        Registrar {
            config,
            bindings: HashMap::new(),
        }
    }

    pub fn config(&self) -> &RegistrarConfig {
        &self.config
    }

    /// The current bindings of `aor` (`user@domain`, domain in lower case).
    pub fn bindings(&self, aor: &str) -> &[Binding] {
        self.bindings.get(aor).map_or(&[], Vec::as_slice)
    }

    /// Every AOR with at least one binding.
    pub fn aors(&self) -> impl Iterator<Item = &str> {
        self.bindings.keys().map(String::as_str)
    }

    /// The earliest time a binding lapses: when to call [`Registrar::expire`] next.
    pub fn next_expiry(&self) -> Option<u64> {
        self.bindings.values().flatten().map(|b| b.expires_at).min()
    }

    /// Removes the bindings that have lapsed at `now` and reports them.
    pub fn expire(&mut self, now: u64) -> Vec<BindingChange> {
        let mut changes = Vec::new();
        self.bindings.retain(|aor, bindings| {
            bindings.retain(|binding| {
                let keep = binding.expires_at > now;
                if !keep {
                    changes.push(BindingChange {
                        aor: aor.clone(),
                        kind: ChangeKind::Expired,
                        binding: binding.clone(),
                    });
                }
                keep
            });
            !bindings.is_empty()
        });
        changes
    }

    /// Applies an authenticated REGISTER received from `source` at `now` (Unix seconds).
    /// The caller has checked the Request-URI's domain and that the authenticated user
    /// may register the To address-of-record.
    pub fn register(
        &mut self,
        request: &Request,
        source: Option<SocketAddr>,
        now: u64,
    ) -> Registration {
        match self.try_register(request, source, now) {
            Ok(registration) => registration,
            Err(Refusal { status, reason }) => {
                let mut response = Response::for_request(request, status);
                response.reason = reason.to_owned();
                if status == StatusCode::INTERVAL_TOO_BRIEF {
                    response
                        .headers
                        .push("Min-Expires", self.config.min_expires.to_string());
                }
                Registration {
                    response,
                    changes: Vec::new(),
                }
            }
        }
    }

    fn try_register(
        &mut self,
        request: &Request,
        source: Option<SocketAddr>,
        now: u64,
    ) -> Result<Registration, Refusal> {
        if request.method != Method::Register {
            return Err(Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Only REGISTER",
            ));
        }
        let headers = &request.headers;
        let to = headers.to().map_err(|_| Refusal::bad("Bad To header"))?;
        let aor = to
            .uri
            .as_sip()
            .and_then(|uri| uri.address_of_record())
            .ok_or(Refusal::new(StatusCode::NOT_FOUND, "Not a user address"))?;
        let call_id = headers.call_id().map_err(|_| Refusal::bad("Bad Call-ID"))?;
        let cseq = headers.cseq().map_err(|_| Refusal::bad("Bad CSeq"))?;
        if cseq.method != Method::Register {
            return Err(Refusal::bad("CSeq method is not REGISTER"));
        }
        let context = Context {
            call_id,
            cseq: cseq.seq,
            expires: headers.expires().map_err(|_| Refusal::bad("Bad Expires"))?,
            source,
            user_agent: headers.user_agent(),
        };
        let contacts = headers
            .contacts()
            .map_err(|_| Refusal::bad("Bad Contact"))?;

        let mut bindings = self.bindings.get(&aor).cloned().unwrap_or_default();
        let mut changes = Vec::new();
        match contacts {
            Contacts::Wildcard => {
                if context.expires != Some(0) {
                    return Err(Refusal::bad("Contact * needs Expires: 0"));
                }
                for binding in &bindings {
                    if stale_request(binding, context.call_id, context.cseq)? {
                        // A retransmission of the REGISTER that set this binding.
                        return Ok(self.answer(request, &aor, Vec::new(), now));
                    }
                }
                changes.extend(
                    bindings
                        .drain(..)
                        .map(|binding| (ChangeKind::Removed, binding)),
                );
            }
            Contacts::List(contacts) => {
                for contact in contacts {
                    let (expires, binding) = self.new_binding(contact, &context, now)?;
                    apply(&mut bindings, &mut changes, binding, expires == 0)?;
                }
                if bindings.len() > self.config.max_contacts {
                    return Err(Refusal::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Too many registered contacts",
                    ));
                }
            }
        }
        if bindings.is_empty() {
            self.bindings.remove(&aor);
        } else {
            self.bindings.insert(aor.clone(), bindings);
        }
        let changes = changes
            .into_iter()
            .map(|(kind, binding)| BindingChange {
                aor: aor.clone(),
                kind,
                binding,
            })
            .collect();
        Ok(self.answer(request, &aor, changes, now))
    }

    /// The binding one contact asks for, and its granted expiry in seconds.
    fn new_binding(
        &self,
        mut contact: NameAddr,
        context: &Context<'_>,
        now: u64,
    ) -> Result<(u32, Binding), Refusal> {
        let requested = match contact.params.value("expires") {
            Some(value) => parse_seconds(value).ok_or(Refusal::bad("Bad Contact expires"))?,
            None => context.expires.unwrap_or(self.config.default_expires),
        };
        if requested != 0 && requested < self.config.min_expires {
            return Err(Refusal::new(
                StatusCode::INTERVAL_TOO_BRIEF,
                "Interval Too Brief",
            ));
        }
        if contact.params.value("q").is_some_and(|q| !valid_q(q)) {
            return Err(Refusal::bad("Bad Contact q"));
        }
        let expires = requested.min(self.config.max_expires);
        contact.params.remove("expires");
        let instance = contact.params.unquoted("+sip.instance");
        let binding = Binding {
            contact,
            instance,
            call_id: context.call_id.to_owned(),
            cseq: context.cseq,
            expires_at: now.saturating_add(u64::from(expires)),
            source: context.source,
            user_agent: context.user_agent.map(str::to_owned),
        };
        Ok((expires, binding))
    }

    /// The 200 OK listing every current binding of `aor` with its remaining seconds.
    fn answer(
        &self,
        request: &Request,
        aor: &str,
        changes: Vec<BindingChange>,
        now: u64,
    ) -> Registration {
        let mut response = Response::for_request(request, StatusCode::OK);
        for binding in self.bindings(aor) {
            let mut contact = binding.contact.clone();
            contact
                .params
                .set("expires", Some(&binding.remaining(now).to_string()));
            response.headers.push("Contact", contact.to_string());
        }
        Registration { response, changes }
    }
}

/// Why a REGISTER is refused: the status and reason phrase to answer with.
struct Refusal {
    status: StatusCode,
    reason: &'static str,
}

impl Refusal {
    fn new(status: StatusCode, reason: &'static str) -> Refusal {
        Refusal { status, reason }
    }

    fn bad(reason: &'static str) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, reason)
    }
}

/// Whether a request from the binding's own registration series is not newer than the
/// binding: `Ok(true)` for the same CSeq (a retransmission), an error for an older one
/// (out of order, RFC 3261 §10.3 step 7: the update is aborted).
fn stale_request(binding: &Binding, call_id: &str, cseq: u32) -> Result<bool, Refusal> {
    if binding.call_id != call_id || cseq > binding.cseq {
        return Ok(false);
    }
    if cseq == binding.cseq {
        return Ok(true);
    }
    Err(Refusal::bad("Out of order CSeq"))
}

/// Adds, refreshes or removes the binding for `new`'s contact.
fn apply(
    bindings: &mut Vec<Binding>,
    changes: &mut Vec<(ChangeKind, Binding)>,
    new: Binding,
    remove: bool,
) -> Result<(), Refusal> {
    let existing = bindings
        .iter()
        .position(|old| match (&old.instance, &new.instance) {
            (Some(a), Some(b)) => a == b,
            _ => old.contact.uri.matches(&new.contact.uri),
        });
    let Some(index) = existing else {
        if !remove {
            bindings.push(new.clone());
            changes.push((ChangeKind::Added, new));
        }
        return Ok(());
    };
    let Some(old) = bindings.get(index) else {
        return Ok(());
    };
    if stale_request(old, &new.call_id, new.cseq)? {
        return Ok(());
    }
    if remove {
        let old = bindings.remove(index);
        changes.push((ChangeKind::Removed, old));
    } else if let Some(slot) = bindings.get_mut(index) {
        *slot = new.clone();
        changes.push((ChangeKind::Refreshed, new));
    }
    Ok(())
}

/// `qvalue`: `0`, `1`, `0.` or `1.` followed by up to three digits, at most 1.
fn valid_q(q: &str) -> bool {
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    let digits = fraction.len() <= 3 && fraction.bytes().all(|b| b.is_ascii_digit());
    match whole {
        "0" => digits,
        "1" => digits && fraction.bytes().all(|b| b == b'0'),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
