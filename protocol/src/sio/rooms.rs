//! Room membership of one namespace, and broadcast recipient planning.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Which sockets are in which rooms (one index per namespace). Every connected socket is in
/// the room named after its own id ([`add_socket`](RoomIndex::add_socket)); that room is
/// implicit, so an idle socket costs one set entry.
#[derive(Debug, Default)]
pub struct RoomIndex {
    sockets: HashSet<Arc<str>>,
    rooms: HashMap<Arc<str>, HashSet<Arc<str>>>,
    of_socket: HashMap<Arc<str>, Vec<Arc<str>>>,
}

impl RoomIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// A connected socket: it is in the room named after its id.
    pub fn add_socket(&mut self, socket: &Arc<str>) {
        self.sockets.insert(socket.clone());
    }

    /// A socket left the namespace: it leaves every room.
    pub fn remove_socket(&mut self, socket: &str) {
        self.sockets.remove(socket);
        if let Some(rooms) = self.of_socket.remove(socket) {
            for r in rooms {
                self.drop_member(&r, socket);
            }
        }
    }

    /// `socket` joins `room` (idempotent; its own-id room is always joined).
    pub fn join(&mut self, socket: &Arc<str>, room: &str) {
        if &**socket == room || !self.sockets.contains(socket) {
            return;
        }
        let room: Arc<str> = match self.rooms.get_key_value(room) {
            Some((k, _)) => k.clone(),
            None => room.into(),
        };
        if self.rooms.entry(room.clone()).or_default().insert(socket.clone()) {
            self.of_socket.entry(socket.clone()).or_default().push(room);
        }
    }

    /// `socket` leaves `room` (idempotent; its own-id room cannot be left).
    pub fn leave(&mut self, socket: &str, room: &str) {
        if let Some(rs) = self.of_socket.get_mut(socket) {
            rs.retain(|r| &**r != room);
            if rs.is_empty() {
                self.of_socket.remove(socket);
            }
        }
        self.drop_member(room, socket);
    }

    /// `socket` leaves every room except its own-id room.
    pub fn leave_all(&mut self, socket: &str) {
        if let Some(rooms) = self.of_socket.remove(socket) {
            for r in rooms {
                self.drop_member(&r, socket);
            }
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
        let Some(own) = self.sockets.get(socket) else { return Vec::new() };
        let mut v = vec![own.clone()];
        if let Some(rs) = self.of_socket.get(socket) {
            v.extend(rs.iter().cloned());
        }
        v.sort();
        v
    }

    /// How many sockets are in `room`.
    pub fn room_len(&self, room: &str) -> usize {
        match self.rooms.get(room) {
            Some(m) => m.len(),
            None => usize::from(self.sockets.contains(room)),
        }
    }

    /// Every room name (socket-id rooms included).
    pub fn all_rooms(&self) -> Vec<Arc<str>> {
        self.rooms.keys().chain(self.sockets.iter()).cloned().collect()
    }

    /// Number of sockets.
    pub fn socket_count(&self) -> usize {
        self.sockets.len()
    }

    fn in_room(&self, socket: &str, room: &str) -> bool {
        socket == room || self.rooms.get(room).is_some_and(|m| m.contains(socket))
    }

    /// The recipients of a broadcast: members of any of `rooms` (every socket when `rooms`
    /// is empty), each once, minus the members of the rooms in `except` (a socket id names
    /// that socket).
    pub fn recipients(&self, rooms: &[&str], except: &[&str]) -> Vec<Arc<str>> {
        let excluded = |s: &str| except.iter().any(|e| self.in_room(s, e));
        if rooms.is_empty() {
            return self.sockets.iter().filter(|s| !excluded(s)).cloned().collect();
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for r in rooms {
            let members: Box<dyn Iterator<Item = &Arc<str>>> = match self.rooms.get(*r) {
                Some(m) => Box::new(m.iter()),
                None => Box::new(self.sockets.get(*r).into_iter()),
            };
            for s in members {
                if !excluded(s) && (rooms.len() == 1 || seen.insert(s.clone())) {
                    out.push(s.clone());
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
        assert_eq!(ids(r.recipients(&["b"], &[])), vec!["b"]);
        assert_eq!(ids(r.recipients(&[], &["c"])), vec!["a", "b"]);
        assert_eq!(ids(r.recipients(&[], &["x"])), vec!["c"]);
        assert_eq!(r.room_len("x"), 2);
        assert_eq!(r.room_len("a"), 1);
        r.leave_all("b");
        assert_eq!(ids(r.rooms_of("b")), vec!["b"]);
        r.leave("a", "a"); // the own-id room cannot be left
        assert_eq!(ids(r.rooms_of("a")), vec!["a", "x"]);
        r.remove_socket("a");
        assert_eq!(r.room_len("x"), 0);
        assert!(!r.all_rooms().iter().any(|x| &**x == "x"));
        assert_eq!(r.socket_count(), 2);
        // Unknown sockets join nothing.
        r.join(&"zz".into(), "x");
        assert_eq!(r.room_len("x"), 0);
    }
}
