//! Registries of glue sockets (by socket ID) and AjaxSocket sessions (by uid): IDs drawn from
//! the caller's CSPRNG and unique among the entries currently registered.

use super::ids::random_id;
use crate::rand::Entropy;
use std::collections::HashMap;

/// Entries keyed by a random ID of fixed length.
#[derive(Debug)]
pub struct IdMap<T> {
    entries: HashMap<String, T>,
    id_len: usize,
}

impl<T> IdMap<T> {
    /// An empty map whose IDs have `id_len` characters (20 for sockets, 10 for Ajax uids).
    pub fn new(id_len: usize) -> Self {
        IdMap { entries: HashMap::new(), id_len }
    }

    /// Draws a fresh ID (redrawn on collision), stores `make(id)` under it, returns the ID.
    pub fn insert_new(
        &mut self,
        entropy: &mut dyn Entropy,
        make: impl FnOnce(&str) -> T,
    ) -> String {
        loop {
            let id = random_id(entropy, self.id_len);
            if !self.entries.contains_key(&id) {
                let value = make(&id);
                self.entries.insert(id.clone(), value);
                return id;
            }
        }
    }

    /// The entry for `id`.
    pub fn get(&self, id: &str) -> Option<&T> {
        self.entries.get(id)
    }

    /// The entry for `id`, mutably.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.entries.get_mut(id)
    }

    /// Removes and returns the entry for `id`.
    pub fn remove(&mut self, id: &str) -> Option<T> {
        self.entries.remove(id)
    }

    /// All entries.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::SeededEntropy;

    /// Repeats its first output once, to force a collision.
    struct Repeat(SeededEntropy, Option<Vec<u8>>, bool);
    impl Entropy for Repeat {
        fn fill(&mut self, dest: &mut [u8]) {
            match (&self.1, self.2) {
                (Some(first), false) => {
                    dest.copy_from_slice(&first[..dest.len()]);
                    self.2 = true;
                }
                _ => {
                    self.0.fill(dest);
                    if self.1.is_none() {
                        self.1 = Some(dest.to_vec());
                    }
                }
            }
        }
    }

    #[test]
    fn ids_are_unique_even_when_the_source_repeats() {
        let mut e = Repeat(SeededEntropy::new(1), None, false);
        let mut m = IdMap::new(20);
        let a = m.insert_new(&mut e, |id| id.len());
        let b = m.insert_new(&mut e, |id| id.len());
        assert_ne!(a, b);
        assert_eq!(m.len(), 2);
        assert_eq!(m.get(&a), Some(&20));
        assert_eq!(m.remove(&a), Some(20));
        assert!(m.get(&a).is_none());
    }
}
