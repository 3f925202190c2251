//! Room membership of one namespace, and broadcast recipient planning.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Which sockets are in which rooms (one index per namespace). Every socket is in the room
/// named after its own id while it is connected ([`add_socket`](RoomIndex::add_socket)).
#[derive(Debug, Default)]
pub struct RoomIndex {
    rooms: HashMap<Arc<str>, HashSet<Arc<str>>>,
    of_socket: HashMap<Arc<str>, HashSet<Arc<str>>>,
}

impl RoomIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// A connected socket: it joins the room named after its id.
    pub fn add_socket(&mut self, socket: &Arc<str>) {
        self.join(socket, socket);
    }

    /// A socket left the namespace: it leaves every room.
    pub fn remove_socket(&mut self, socket: &str) {
        if let Some(rooms) = self.of_socket.remove(socket) {
            for r in rooms {
                self.drop_member(&r, socket);
            }
        }
    }

    /// `socket` joins `room` (idempotent).
    pub fn join(&mut self, socket: &Arc<str>, room: &str) {
        let room: Arc<str> = match self.rooms.get_key_value(room) {
            Some((k, _)) => k.clone(),
            None => room.into(),
        };
        self.rooms.entry(room.clone()).or_default().insert(socket.clone());
        self.of_socket.entry(socket.clone()).or_default().insert(room);
    }

    /// `socket` leaves `room` (idempotent).
    pub fn leave(&mut self, socket: &str, room: &str) {
        if let Some(rs) = self.of_socket.get_mut(socket) {
            rs.remove(room);
        }
        self.drop_member(room, socket);
    }

    /// `socket` leaves every room except its own-id room.
    pub fn leave_all(&mut self, socket: &str) {
        let Some(rs) = self.of_socket.get_mut(socket) else { return };
        let others: Vec<Arc<str>> = rs.iter().filter(|r| &***r != socket).cloned().collect();
        for r in others {
            self.leave(socket, &r);
        }
    }

    fn drop_member(&mut self, room: &str, socket: &str) {
        if let Some(members) = self.rooms.get_mut(room) {
            members.remove(socket);
            if members.is_empty() {
                self.rooms.remove(room);
            }
        }
    }

    /// The rooms `socket` is in (its own-id room included), sorted.
    pub fn rooms_of(&self, socket: &str) -> Vec<Arc<str>> {
        let mut v: Vec<Arc<str>> =
            self.of_socket.get(socket).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        v.sort();
        v
    }

    /// How many sockets are in `room`.
    pub fn room_len(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, HashSet::len)
    }

    /// Every room name (socket-id rooms included).
    pub fn all_rooms(&self) -> Vec<Arc<str>> {
        self.rooms.keys().cloned().collect()
    }

    /// Number of sockets.
    pub fn socket_count(&self) -> usize {
        self.of_socket.len()
    }

    /// The recipients of a broadcast: members of any of `rooms` (every socket when `rooms`
    /// is empty), each once, minus the sockets in `except` and the members of rooms named in
    /// `except` (socket ids are rooms too).
    pub fn recipients(&self, rooms: &[&str], except: &[&str]) -> Vec<Arc<str>> {
        let excluded = |s: &str| {
            except.iter().any(|e| *e == s || self.rooms.get(*e).is_some_and(|m| m.contains(s)))
        };
        if rooms.is_empty() {
            return self.of_socket.keys().filter(|s| !excluded(s)).cloned().collect();
        }
        if let [one] = rooms {
            return self
                .rooms
                .get(*one)
                .map(|m| m.iter().filter(|s| !excluded(s)).cloned().collect())
                .unwrap_or_default();
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for r in rooms {
            if let Some(m) = self.rooms.get(*r) {
                for s in m {
                    if !excluded(s) && seen.insert(s.clone()) {
                        out.push(s.clone());
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(mut v: Vec<Arc<str>>) -> Vec<String> {
        v.sort();
        v.into_iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rooms_and_recipients() {
        let mut r = RoomIndex::new();
        let (a, b, c): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "b".into(), "c".into());
        for s in [&a, &b, &c] {
            r.add_socket(s);
        }
        r.join(&a, "x");
        r.join(&b, "x");
        r.join(&b, "x");
        r.join(&c, "y");
        assert_eq!(ids(r.rooms_of("b")), vec!["b", "x"]);
        assert_eq!(ids(r.recipients(&["x"], &[])), vec!["a", "b"]);
        assert_eq!(ids(r.recipients(&["x"], &["a"])), vec!["b"]);
        assert_eq!(ids(r.recipients(&["x", "y", "b"], &[])), vec!["a", "b", "c"]);
        assert_eq!(ids(r.recipients(&[], &["c"])), vec!["a", "b"]);
        assert_eq!(ids(r.recipients(&[], &["x"])), vec!["c"]);
        r.leave_all("b");
        assert_eq!(ids(r.rooms_of("b")), vec!["b"]);
        r.remove_socket("a");
        assert_eq!(r.room_len("x"), 0);
        assert!(!r.all_rooms().iter().any(|x| &**x == "x"));
        assert_eq!(r.socket_count(), 2);
    }
}
