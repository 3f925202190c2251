//! A map for a handful of entries (a client's namespaces, a socket's event handlers): a
//! vector searched linearly, so an idle connection pays for its entries and nothing more.

use std::borrow::Borrow;

/// A small vector-backed map (insertion order; linear lookup).
#[derive(Debug)]
pub(crate) struct SmallMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap(Vec::new())
    }
}

impl<K: Eq, V> SmallMap<K, V> {
    pub(crate) fn get<Q: Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.0.iter().find(|(k, _)| k.borrow() == key).map(|(_, v)| v)
    }

    pub(crate) fn get_mut<Q: Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.0.iter_mut().find(|(k, _)| (*k).borrow() == key).map(|(_, v)| v)
    }

    /// Inserts or replaces; the vector grows by one entry at a time.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => {
                self.0.reserve_exact(1);
                self.0.push((key, value));
            }
        }
    }

    pub(crate) fn remove<Q: Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.0.iter().position(|(k, _)| k.borrow() == key)?;
        let (_, v) = self.0.swap_remove(i);
        if self.0.is_empty() {
            self.0 = Vec::new();
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::SmallMap;

    #[test]
    fn insert_get_replace_remove() {
        let mut m: SmallMap<String, u32> = SmallMap::default();
        m.insert("a".into(), 1);
        m.insert("b".into(), 2);
        m.insert("a".into(), 3);
        assert_eq!(m.get("a"), Some(&3));
        *m.get_mut("b").unwrap() += 1;
        assert_eq!(m.remove("b"), Some(3));
        assert_eq!(m.remove("b"), None);
        assert_eq!(m.get("b"), None);
        assert_eq!(m.remove("a"), Some(3));
        assert_eq!(m.0.capacity(), 0);
    }
}
