//! The registrar's sockets: UDP and TCP on one port, several readers on the UDP socket,
//! and the background work (expiry, session refreshes, the store's writes and reads).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pbx::link::uacsta::Flow;
use sip::{Message, Method, Request, Response, StatusCode};
use tokio::net::{TcpListener, UdpSocket};

use super::{SipService, lock, unix_now};
use crate::cti::Cti;

/// UDP and TCP on the same port. For port 0 the kernel picks a free UDP port that may be
/// taken for TCP: try again with another.
async fn bind_pair(address: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    let mut attempts = if address.port() == 0 { 20 } else { 1 };
    loop {
        attempts -= 1;
        let udp = UdpSocket::bind(address).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) if attempts == 0 => return Err(error),
            Err(_) => continue,
        }
    }
}

impl SipService {
    /// Serves UDP and TCP on `address` (the same port for both), expires bindings,
    /// refreshes sessions, forgets stale login failures, and starts the store's writer and
    /// reader (`stored`).
    pub async fn listen(
        self: Arc<Self>,
        address: SocketAddr,
        cti: Arc<Cti>,
    ) -> std::io::Result<SocketAddr> {
        let (udp, tcp) = bind_pair(address).await?;
        let udp = Arc::new(udp);
        let bound = udp.local_addr()?;
        tracing::info!(%bound, "SIP registrar listening (UDP and TCP)");
        self.controller.set_socket(udp.clone(), bound);
        // Several readers on the one UDP socket, so requests use every core.
        let readers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, 8);
        for _ in 0..readers {
            let (service, events, udp) = (self.clone(), cti.clone(), udp.clone());
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65_535];
                loop {
                    let Ok((length, source)) = udp.recv_from(&mut buffer).await else {
                        continue;
                    };
                    let Some(datagram) = buffer.get(..length) else {
                        continue;
                    };
                    let answer = match sip::parse_datagram(datagram, &service.limits) {
                        Ok(Some(Message::Request(request))) => match request.method {
                            Method::Register | Method::Options => {
                                let answer = service.answer(
                                    &request,
                                    source,
                                    bound,
                                    &Flow::Udp(source),
                                    events.bus.as_ref(),
                                );
                                let _ = udp.send_to(&answer.response.to_bytes(), source).await;
                                service.after(answer);
                                continue;
                            }
                            Method::Ack => continue,
                            _ => match service.in_dialog(&request) {
                                Some(response) => response.to_bytes(),
                                None => continue,
                            },
                        },
                        Ok(Some(Message::Response(response))) => {
                            service.controller.on_response(&response);
                            continue;
                        }
                        Ok(None) => continue,
                        Err(error) => {
                            metrics::counter!("ucplus_sip_malformed_total").increment(1);
                            tracing::debug!(%source, code = error.code(), "malformed SIP datagram");
                            continue;
                        }
                    };
                    let _ = udp.send_to(&answer, source).await;
                }
            });
        }
        let (service, events) = (self.clone(), cti.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, source)) = tcp.accept().await else {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                // Over a limit the connection is closed at once.
                let Ok(slot) = service.tcp.connections.admit(source.ip()) else {
                    continue;
                };
                let (service, events) = (service.clone(), events.clone());
                tokio::spawn(async move {
                    service
                        .serve_tcp(stream, source, events.bus.as_ref(), None)
                        .await;
                    drop(slot);
                });
            }
        });
        tokio::spawn(self.clone().write_stored(cti.bus.clone()));
        tokio::spawn(self.clone().follow_store(cti.bus.clone()));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                self.expire(cti.bus.as_ref());
                self.controller.refresh_due();
                self.failures.prune(Instant::now());
                lock(&self.nonce_uses).prune(unix_now());
            }
        });
        Ok(bound)
    }

    /// The answer to a request within a uaCSTA session (INFO, BYE, a re-INVITE): none at
    /// all once this node's lease lapsed (it talks to handsets no more); 481 for a session
    /// this node does not have.
    pub(super) fn in_dialog(&self, request: &Request) -> Option<Response> {
        if !self.controller.may_talk() {
            return None;
        }
        Some(
            self.controller
                .on_request(request)
                .unwrap_or_else(|| Response::for_request(request, StatusCode::CALL_DOES_NOT_EXIST)),
        )
    }
}
