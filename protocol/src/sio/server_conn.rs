//! The server side of one Socket.IO connection (one Engine.IO session): namespaces joined
//! in order, binary reconstruction across payloads and the upgrade, acks both ways with
//! deadlines, disconnects. It consumes the session's [`EioEvent`]s and produces packets to
//! send (through the session) and [`ConnEvent`]s for the application.
//!
//! Namespace admission is the application's call: a client CONNECT becomes
//! [`ConnEvent::ConnectRequest`], and nothing after it is processed until
//! [`accept`](SioServerConn::accept) or [`refuse`](SioServerConn::refuse) — so packets are
//! handled strictly in order.

use super::{is_reserved_server_event, Reconstructor, SioError, SioPacket, SioPacketType};
use crate::eio::session::{CloseReason, EioEvent, EncodedPacket};
use crate::eio::PacketData;
use bytes::Bytes;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per-connection limits.
#[derive(Debug, Clone)]
pub struct SioConnConfig {
    /// Most attachment bytes of one packet. Default 100 MB.
    pub max_attachment_bytes: usize,
    /// Most packets held while a namespace admission is pending. Default 1024.
    pub max_held_packets: usize,
    /// Most server→client acks waiting at once. Default 4096.
    pub max_pending_acks: usize,
}

impl Default for SioConnConfig {
    fn default() -> Self {
        SioConnConfig {
            max_attachment_bytes: 100 << 20,
            max_held_packets: 1024,
            max_pending_acks: 4096,
        }
    }
}

/// Why a namespace socket disconnected (socket.io's reason strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client sent DISCONNECT for the namespace.
    ClientNamespaceDisconnect,
    /// The server disconnected the namespace socket.
    ServerNamespaceDisconnect,
    /// The client broke the protocol; the connection was closed.
    ParseError,
    /// The Engine.IO session closed.
    Transport(CloseReason),
}

impl DisconnectReason {
    /// The reason string (`"transport close"`, `"client namespace disconnect"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::Transport(r) => r.as_str(),
        }
    }
}

/// Why a server→client ack will never come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckFailure {
    /// No answer within the deadline.
    Timeout,
    /// The namespace socket disconnected first.
    Disconnected,
}

/// What the connection reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnEvent {
    /// The client asks to join `nsp`: answer with `accept` or `refuse`.
    ConnectRequest {
        /// The namespace.
        nsp: String,
        /// The CONNECT's raw query, if any.
        query: Option<String>,
    },
    /// A namespace socket is connected (after `accept`, or `/` at open).
    Connected {
        /// The namespace.
        nsp: Arc<str>,
    },
    /// An event from the client.
    Event {
        /// The namespace.
        nsp: Arc<str>,
        /// The event name.
        name: String,
        /// The arguments after the name (binary values as placeholders).
        args: Vec<Value>,
        /// The attachments the placeholders name.
        attachments: Vec<Bytes>,
        /// The ack id, when the client wants an answer.
        ack: Option<u64>,
    },
    /// The client answered a server request (see [`SioServerConn::register_ack`]).
    Ack {
        /// The namespace.
        nsp: Arc<str>,
        /// The ack id.
        id: u64,
        /// The answer's arguments.
        args: Vec<Value>,
        /// Its attachments.
        attachments: Vec<Bytes>,
    },
    /// A server request will not be answered.
    AckFailed {
        /// The namespace.
        nsp: Arc<str>,
        /// The ack id.
        id: u64,
        /// Why.
        reason: AckFailure,
    },
    /// A namespace socket disconnected.
    Disconnected {
        /// The namespace.
        nsp: Arc<str>,
        /// Why.
        reason: DisconnectReason,
    },
    /// The client broke the protocol: close the Engine.IO session.
    ProtocolError(SioError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NsState {
    Pending,
    Connected,
}

#[derive(Debug)]
struct Ns {
    name: Arc<str>,
    state: NsState,
}

#[derive(Debug)]
struct PendingAck {
    nsp: Arc<str>,
    deadline: Option<Instant>,
}

/// Errors of the server-side calls (the caller's side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnUsageError {
    /// The namespace socket is not connected.
    #[error("namespace not connected")]
    NotConnected,
    /// Too many server→client acks are waiting.
    #[error("too many pending acks")]
    TooManyAcks,
}

/// One Socket.IO connection, server side.
#[derive(Debug)]
pub struct SioServerConn {
    config: SioConnConfig,
    namespaces: Vec<Ns>,
    reconstructor: Reconstructor,
    /// Packets held while an admission is pending.
    held: VecDeque<SioPacket>,
    waiting_admission: bool,
    acks: HashMap<u64, PendingAck>,
    next_ack: u64,
    transmit: VecDeque<EncodedPacket>,
    events: VecDeque<ConnEvent>,
    closed: bool,
    failed: bool,
}

/// The Engine.IO packets of a Socket.IO packet: its header as a text message, then each
/// attachment as a binary message. Encode once, clone for every recipient.
pub fn encode_packet(packet: &SioPacket) -> Vec<EncodedPacket> {
    let mut out = Vec::with_capacity(1 + packet.attachments.len());
    out.push(EncodedPacket::message(&packet.encode()));
    for a in &packet.attachments {
        out.push(EncodedPacket::binary_message(a));
    }
    out
}

impl SioServerConn {
    /// A new connection. With `root_auto_connect` the `/` namespace is connected at once
    /// (the returned packets — `0` — follow Engine.IO's `open`); otherwise `/` is a
    /// [`ConnEvent::ConnectRequest`] like any other namespace.
    pub fn new(config: SioConnConfig, root_auto_connect: bool) -> (Self, Vec<EncodedPacket>) {
        let mut c = SioServerConn {
            reconstructor: Reconstructor::new(config.max_attachment_bytes),
            config,
            namespaces: Vec::new(),
            held: VecDeque::new(),
            waiting_admission: false,
            acks: HashMap::new(),
            next_ack: 0,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            closed: false,
            failed: false,
        };
        if root_auto_connect {
            let root: Arc<str> = "/".into();
            c.namespaces.push(Ns { name: root.clone(), state: NsState::Connected });
            c.events.push_back(ConnEvent::Connected { nsp: root });
            (c, encode_packet(&SioPacket::connect("/")))
        } else {
            c.waiting_admission = true;
            c.namespaces.push(Ns { name: "/".into(), state: NsState::Pending });
            c.events.push_back(ConnEvent::ConnectRequest { nsp: "/".into(), query: None });
            (c, Vec::new())
        }
    }

    /// Whether namespace `nsp` is connected.
    pub fn is_connected(&self, nsp: &str) -> bool {
        !self.closed && self.ns(nsp).is_some_and(|n| n.state == NsState::Connected)
    }

    /// The connected namespaces.
    pub fn connected(&self) -> impl Iterator<Item = &Arc<str>> {
        self.namespaces.iter().filter(|n| n.state == NsState::Connected).map(|n| &n.name)
    }

    fn ns(&self, nsp: &str) -> Option<&Ns> {
        self.namespaces.iter().find(|n| &*n.name == nsp)
    }

    /// Feeds an Engine.IO session event.
    pub fn handle_eio(&mut self, now: Instant, event: EioEvent) {
        match event {
            EioEvent::Message(data) => self.handle_message(now, data),
            EioEvent::Upgraded => {}
            EioEvent::Closed(reason) => {
                let r = if self.failed {
                    DisconnectReason::ParseError
                } else {
                    DisconnectReason::Transport(reason)
                };
                self.close_all(r);
            }
        }
    }

    fn handle_message(&mut self, now: Instant, data: PacketData) {
        if self.closed || self.failed {
            return;
        }
        let decoded = match data {
            PacketData::Text(t) => self.reconstructor.handle_text(&t),
            PacketData::Binary(b) => self.reconstructor.handle_binary(b),
        };
        match decoded {
            Ok(None) => {}
            Ok(Some(packet)) => {
                if self.waiting_admission {
                    if self.held.len() >= self.config.max_held_packets {
                        self.fail(SioError::InvalidPayload);
                    } else {
                        self.held.push_back(packet);
                    }
                } else {
                    self.handle_packet(now, packet);
                }
            }
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, e: SioError) {
        if !self.failed {
            self.failed = true;
            self.held.clear();
            self.events.push_back(ConnEvent::ProtocolError(e));
        }
    }

    fn handle_packet(&mut self, _now: Instant, p: SioPacket) {
        match p.kind {
            SioPacketType::Connect => {
                if self.ns(&p.nsp).is_some() {
                    return; // already connected or pending: ignore the repeat
                }
                self.namespaces.push(Ns { name: p.nsp.as_str().into(), state: NsState::Pending });
                self.waiting_admission = true;
                self.events.push_back(ConnEvent::ConnectRequest { nsp: p.nsp, query: p.query });
            }
            SioPacketType::Disconnect => {
                if self.is_connected(&p.nsp) {
                    self.remove_ns(&p.nsp, DisconnectReason::ClientNamespaceDisconnect);
                }
            }
            SioPacketType::Event | SioPacketType::BinaryEvent => {
                let Some(ns) = self.ns(&p.nsp).filter(|n| n.state == NsState::Connected) else {
                    return; // a namespace the client has not joined: ignored
                };
                let nsp = ns.name.clone();
                let Some(name) = p.event_name().map(str::to_owned) else { return };
                if is_reserved_server_event(&name) {
                    return;
                }
                let args = match p.data {
                    Some(Value::Array(mut a)) => {
                        a.remove(0);
                        a
                    }
                    _ => Vec::new(),
                };
                self.events.push_back(ConnEvent::Event {
                    nsp,
                    name,
                    args,
                    attachments: p.attachments,
                    ack: p.id,
                });
            }
            SioPacketType::Ack | SioPacketType::BinaryAck => {
                let Some(id) = p.id else { return };
                let Some(pending) = self.acks.get(&id) else { return };
                if *pending.nsp != *p.nsp {
                    return;
                }
                let pending = self.acks.remove(&id).expect("present");
                let args = match p.data {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
                self.events.push_back(ConnEvent::Ack {
                    nsp: pending.nsp,
                    id,
                    args,
                    attachments: p.attachments,
                });
            }
            // A client has no business sending ERROR.
            SioPacketType::Error => {}
        }
    }

    /// Admits the pending namespace `nsp` (sends `0/nsp,`), then processes held packets.
    pub fn accept(&mut self, now: Instant, nsp: &str) {
        let Some(ns) = self.namespaces.iter_mut().find(|n| &*n.name == nsp) else { return };
        if ns.state != NsState::Pending || self.closed {
            return;
        }
        ns.state = NsState::Connected;
        let name = ns.name.clone();
        self.transmit.extend(encode_packet(&SioPacket::connect(nsp)));
        self.events.push_back(ConnEvent::Connected { nsp: name });
        self.resume(now);
    }

    /// Refuses the pending namespace `nsp` with an ERROR carrying `data` (a string or an
    /// object; anything else is sent as its JSON text), then processes held packets.
    pub fn refuse(&mut self, now: Instant, nsp: &str, data: Value) {
        let Some(i) = self.namespaces.iter().position(|n| &*n.name == nsp) else { return };
        if self.namespaces[i].state != NsState::Pending {
            return;
        }
        self.namespaces.remove(i);
        let data = match data {
            Value::String(_) | Value::Object(_) => data,
            other => Value::String(other.to_string()),
        };
        if let Ok(p) = SioPacket::error(nsp, data) {
            self.transmit.extend(encode_packet(&p));
        }
        self.resume(now);
    }

    fn resume(&mut self, now: Instant) {
        self.waiting_admission = self.namespaces.iter().any(|n| n.state == NsState::Pending);
        while !self.waiting_admission {
            let Some(p) = self.held.pop_front() else { break };
            self.handle_packet(now, p);
        }
    }

    /// Allocates an ack id for a server→client request on `nsp`; its answer arrives as
    /// [`ConnEvent::Ack`], or [`ConnEvent::AckFailed`] after `timeout`.
    pub fn register_ack(
        &mut self,
        now: Instant,
        nsp: &str,
        timeout: Option<Duration>,
    ) -> Result<u64, ConnUsageError> {
        let Some(ns) = self.ns(nsp).filter(|n| n.state == NsState::Connected && !self.closed)
        else {
            return Err(ConnUsageError::NotConnected);
        };
        if self.acks.len() >= self.config.max_pending_acks {
            return Err(ConnUsageError::TooManyAcks);
        }
        let nsp = ns.name.clone();
        let id = self.next_ack;
        self.next_ack = (self.next_ack + 1) % super::MAX_ID;
        self.acks.insert(id, PendingAck { nsp, deadline: timeout.map(|t| now + t) });
        Ok(id)
    }

    /// Forgets a registered ack (its packet could not be sent).
    pub fn cancel_ack(&mut self, id: u64) {
        self.acks.remove(&id);
    }

    /// Disconnects namespace socket `nsp` from the server side (sends `1/nsp,`).
    pub fn disconnect(&mut self, _now: Instant, nsp: &str) {
        if self.is_connected(nsp) {
            self.transmit.extend(encode_packet(&SioPacket::disconnect(nsp)));
            self.remove_ns(nsp, DisconnectReason::ServerNamespaceDisconnect);
        }
    }

    fn remove_ns(&mut self, nsp: &str, reason: DisconnectReason) {
        let Some(i) = self.namespaces.iter().position(|n| &*n.name == nsp) else { return };
        let ns = self.namespaces.remove(i);
        self.fail_acks(Some(&ns.name));
        if ns.state == NsState::Connected {
            self.events.push_back(ConnEvent::Disconnected { nsp: ns.name, reason });
        }
    }

    fn fail_acks(&mut self, nsp: Option<&Arc<str>>) {
        let ids: Vec<u64> = self
            .acks
            .iter()
            .filter(|(_, a)| nsp.is_none_or_eq(&a.nsp))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let a = self.acks.remove(&id).expect("listed");
            self.events.push_back(ConnEvent::AckFailed {
                nsp: a.nsp,
                id,
                reason: AckFailure::Disconnected,
            });
        }
    }

    fn close_all(&mut self, reason: DisconnectReason) {
        if self.closed {
            return;
        }
        self.fail_acks(None);
        let names: Vec<Arc<str>> = self.namespaces.iter().map(|n| n.name.clone()).collect();
        for n in names {
            self.remove_ns(&n, reason);
        }
        self.closed = true;
        self.held.clear();
        self.transmit.clear();
    }

    /// Runs ack deadlines.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<u64> = self
            .acks
            .iter()
            .filter(|(_, a)| a.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let a = self.acks.remove(&id).expect("listed");
            self.events.push_back(ConnEvent::AckFailed {
                nsp: a.nsp,
                id,
                reason: AckFailure::Timeout,
            });
        }
    }

    /// The earliest ack deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.acks.values().filter_map(|a| a.deadline).min()
    }

    /// Gives back the capacity of drained queues (call before the connection sleeps).
    pub fn shrink_idle(&mut self) {
        use crate::eio::session::release_if_empty;
        release_if_empty(&mut self.events);
        release_if_empty(&mut self.transmit);
        release_if_empty(&mut self.held);
        if self.acks.is_empty() && self.acks.capacity() > 0 {
            self.acks = HashMap::new();
        }
    }

    /// The next packet to send through the Engine.IO session.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<EncodedPacket> {
        self.transmit.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ConnEvent> {
        self.events.pop_front()
    }
}

trait NoneOrEq {
    fn is_none_or_eq(&self, other: &Arc<str>) -> bool;
}

impl NoneOrEq for Option<&Arc<str>> {
    fn is_none_or_eq(&self, other: &Arc<str>) -> bool {
        match self {
            None => true,
            Some(x) => ***x == **other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sio::placeholder;
    use serde_json::json;

    fn text(s: &str) -> EioEvent {
        EioEvent::Message(PacketData::Text(s.into()))
    }

    fn events(c: &mut SioServerConn) -> Vec<ConnEvent> {
        std::iter::from_fn(|| c.poll_event()).collect()
    }

    fn sent(c: &mut SioServerConn) -> Vec<EncodedPacket> {
        std::iter::from_fn(|| c.poll_transmit()).collect()
    }

    #[test]
    fn root_connects_unprompted_and_events_flow() {
        let now = Instant::now();
        let (mut c, initial) = SioServerConn::new(SioConnConfig::default(), true);
        assert_eq!(initial, vec![EncodedPacket::message("0")]);
        assert_eq!(events(&mut c), vec![ConnEvent::Connected { nsp: "/".into() }]);
        c.handle_eio(now, text("21[\"hi\",\"é😀\"]"));
        assert_eq!(
            events(&mut c),
            vec![ConnEvent::Event {
                nsp: "/".into(),
                name: "hi".into(),
                args: vec![json!("é😀")],
                attachments: vec![],
                ack: Some(1)
            }]
        );
        // Reserved names and unknown namespaces are ignored.
        c.handle_eio(now, text("2[\"disconnect\",\"fake\"]"));
        c.handle_eio(now, text("2/x,[\"a\"]"));
        assert!(events(&mut c).is_empty());
    }

    #[test]
    fn namespace_admission_holds_later_packets_in_order() {
        let now = Instant::now();
        let (mut c, _) = SioServerConn::new(SioConnConfig::default(), true);
        let _ = events(&mut c);
        c.handle_eio(now, text("0/custom?token=1,"));
        c.handle_eio(now, text("2/custom,[\"a\"]"));
        assert_eq!(
            events(&mut c),
            vec![ConnEvent::ConnectRequest {
                nsp: "/custom".into(),
                query: Some("token=1".into())
            }]
        );
        c.accept(now, "/custom");
        assert_eq!(sent(&mut c), vec![EncodedPacket::message("0/custom,")]);
        let ev = events(&mut c);
        assert_eq!(ev[0], ConnEvent::Connected { nsp: "/custom".into() });
        assert!(matches!(&ev[1], ConnEvent::Event { name, .. } if name == "a"));
        // A refused namespace gets an ERROR with its nsp.
        c.handle_eio(now, text("0/nope,"));
        let _ = events(&mut c);
        c.refuse(now, "/nope", json!("Invalid namespace"));
        assert_eq!(sent(&mut c), vec![EncodedPacket::message("4/nope,\"Invalid namespace\"")]);
        assert!(!c.is_connected("/nope"));
    }

    #[test]
    fn binary_events_reassemble_across_messages() {
        let now = Instant::now();
        let (mut c, _) = SioServerConn::new(SioConnConfig::default(), true);
        let _ = events(&mut c);
        c.handle_eio(now, text("51-0[\"echo\",{\"_placeholder\":true,\"num\":0}]"));
        assert!(events(&mut c).is_empty());
        c.handle_eio(now, EioEvent::Message(PacketData::Binary(Bytes::from_static(&[1, 2]))));
        assert_eq!(
            events(&mut c),
            vec![ConnEvent::Event {
                nsp: "/".into(),
                name: "echo".into(),
                args: vec![placeholder(0)],
                attachments: vec![Bytes::from_static(&[1, 2])],
                ack: Some(0)
            }]
        );
    }

    #[test]
    fn acks_answer_time_out_or_fail_on_disconnect() {
        let t0 = Instant::now();
        let (mut c, _) = SioServerConn::new(SioConnConfig::default(), true);
        let _ = events(&mut c);
        let a = c.register_ack(t0, "/", Some(Duration::from_millis(200))).unwrap();
        let b = c.register_ack(t0, "/", Some(Duration::from_millis(200))).unwrap();
        c.handle_eio(t0, text(&format!("3{a}[1]")));
        assert_eq!(
            events(&mut c),
            vec![ConnEvent::Ack {
                nsp: "/".into(),
                id: a,
                args: vec![json!(1)],
                attachments: vec![]
            }]
        );
        c.handle_eio(t0, text(&format!("3{a}[1]"))); // a second answer is ignored
        assert!(events(&mut c).is_empty());
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_millis(200)));
        c.handle_timeout(t0 + Duration::from_millis(200));
        assert_eq!(
            events(&mut c),
            vec![ConnEvent::AckFailed { nsp: "/".into(), id: b, reason: AckFailure::Timeout }]
        );
        let d = c.register_ack(t0, "/", None).unwrap();
        c.handle_eio(t0, EioEvent::Closed(CloseReason::TransportClose));
        assert_eq!(
            events(&mut c),
            vec![
                ConnEvent::AckFailed { nsp: "/".into(), id: d, reason: AckFailure::Disconnected },
                ConnEvent::Disconnected {
                    nsp: "/".into(),
                    reason: DisconnectReason::Transport(CloseReason::TransportClose)
                }
            ]
        );
        assert_eq!(c.register_ack(t0, "/", None), Err(ConnUsageError::NotConnected));
    }

    #[test]
    fn malformed_packets_are_protocol_errors() {
        let now = Instant::now();
        for bad in ["2\"str\"", "2[]", "5-[\"x\"]", "", "9"] {
            let (mut c, _) = SioServerConn::new(SioConnConfig::default(), true);
            let _ = events(&mut c);
            c.handle_eio(now, text(bad));
            assert!(matches!(events(&mut c).as_slice(), [ConnEvent::ProtocolError(_)]), "{bad:?}");
            c.handle_eio(now, EioEvent::Closed(CloseReason::ForcedClose));
            assert_eq!(
                events(&mut c),
                vec![ConnEvent::Disconnected {
                    nsp: "/".into(),
                    reason: DisconnectReason::ParseError
                }]
            );
        }
        // A binary message when no packet waits for attachments.
        let (mut c, _) = SioServerConn::new(SioConnConfig::default(), true);
        let _ = events(&mut c);
        c.handle_eio(now, EioEvent::Message(PacketData::Binary(Bytes::from_static(&[1]))));
        assert!(matches!(events(&mut c).as_slice(), [ConnEvent::ProtocolError(_)]));
    }

    #[test]
    fn client_and_server_disconnects() {
        let now = Instant::now();
        let (mut c, _) = SioServerConn::new(SioConnConfig::default(), true);
        let _ = events(&mut c);
        c.handle_eio(now, text("0/a,"));
        let _ = events(&mut c);
        c.accept(now, "/a");
        let _ = (events(&mut c), sent(&mut c));
        c.handle_eio(now, text("1/a,"));
        assert_eq!(
            events(&mut c),
            vec![ConnEvent::Disconnected {
                nsp: "/a".into(),
                reason: DisconnectReason::ClientNamespaceDisconnect
            }]
        );
        c.disconnect(now, "/");
        assert_eq!(sent(&mut c), vec![EncodedPacket::message("1")]);
        assert_eq!(
            events(&mut c),
            vec![ConnEvent::Disconnected {
                nsp: "/".into(),
                reason: DisconnectReason::ServerNamespaceDisconnect
            }]
        );
    }
}
