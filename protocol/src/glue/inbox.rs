//! Unread data of one glue socket: a bounded queue per channel, and the read policy.
//!
//! Policy (upstream glue blocks the whole socket when one channel's buffer is full, which
//! also starves keep-alive and kills the socket):
//!
//! * Only channels the application opened ([`Inbox::open`]; the main channel always is) take
//!   data. Data for other channels is dropped, as upstream does ([`DropReason::UnknownChannel`]).
//! * A channel with a handler ([`ReadMode::Handler`]) hands every message to the runtime
//!   ([`Inbox::poll_dispatch`]) in arrival order; nothing waits in its queue.
//! * A channel that is read ([`ReadMode::Read`], set by the first [`Inbox::pop`]) keeps up to
//!   [`InboxConfig::max_messages`] messages / [`InboxConfig::max_bytes`] bytes. When it is
//!   full the inbox is *backed up*: the runtime stops reading from the connection (TCP
//!   back-pressure) until the reader catches up. Nothing accepted is dropped.
//! * A named channel nobody reads ([`ReadMode::Unread`]: no handler, never read) keeps the
//!   same amount and then drops further data ([`DropReason::Full`]) instead of stalling the
//!   other channels; the drops are reported and counted. The main channel starts as a read
//!   channel (every application reads it, or calls `discard_read`), so a reader that starts
//!   late loses nothing.
//! * [`ReadMode::Discard`] drops everything (upstream's `DiscardRead`).

use std::collections::VecDeque;

use super::message::MAIN_CHANNEL;

/// Limits of each channel's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxConfig {
    /// Most messages waiting in one channel. Default 1024.
    pub max_messages: usize,
    /// Most bytes waiting in one channel. Default 4 MiB.
    pub max_bytes: usize,
}

impl Default for InboxConfig {
    fn default() -> Self {
        InboxConfig { max_messages: 1024, max_bytes: 4 << 20 }
    }
}

/// How a channel's data is consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Nobody reads yet: bounded queue, overflow dropped.
    Unread,
    /// Read by the application: bounded queue, overflow backs up the connection.
    Read,
    /// Every message is dispatched to a handler.
    Handler,
    /// Everything is dropped.
    Discard,
}

/// Why a message was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The application never opened this channel.
    UnknownChannel,
    /// The channel discards its data.
    Discarded,
    /// Nobody reads the channel and its queue is full.
    Full,
}

/// What [`Inbox::push`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Queued for [`Inbox::pop`].
    Queued,
    /// Queued for the handler ([`Inbox::poll_dispatch`]).
    Dispatch,
    /// Not kept.
    Dropped(DropReason),
}

#[derive(Debug)]
struct ChannelQueue {
    mode: ReadMode,
    queue: VecDeque<String>,
    bytes: usize,
    dropped: u64,
}

impl ChannelQueue {
    fn new() -> Self {
        ChannelQueue { mode: ReadMode::Unread, queue: VecDeque::new(), bytes: 0, dropped: 0 }
    }
}

/// The bounded unread data of one socket.
///
/// The main channel is held inline and named channels in a small vector (applications open
/// a handful), so a socket that uses only the main channel allocates nothing here.
#[derive(Debug)]
pub struct Inbox {
    config: InboxConfig,
    main: ChannelQueue,
    named: Vec<(String, ChannelQueue)>,
    dispatch: VecDeque<(String, String)>,
}

impl Inbox {
    /// An inbox with only the main channel open (as a read channel).
    pub fn new(config: InboxConfig) -> Self {
        let mut main = ChannelQueue::new();
        main.mode = ReadMode::Read;
        Inbox { config, main, named: Vec::new(), dispatch: VecDeque::new() }
    }

    fn get(&self, channel: &str) -> Option<&ChannelQueue> {
        if channel == MAIN_CHANNEL {
            return Some(&self.main);
        }
        self.named.iter().find(|(n, _)| n == channel).map(|(_, c)| c)
    }

    fn get_mut(&mut self, channel: &str) -> Option<&mut ChannelQueue> {
        find_mut(&mut self.main, &mut self.named, channel)
    }

    fn all(&self) -> impl Iterator<Item = &ChannelQueue> {
        std::iter::once(&self.main).chain(self.named.iter().map(|(_, c)| c))
    }

    /// Opens a channel (idempotent).
    pub fn open(&mut self, channel: &str) {
        if self.get(channel).is_none() {
            self.named.reserve_exact(1);
            self.named.push((channel.to_owned(), ChannelQueue::new()));
        }
    }

    /// Whether the application opened `channel`.
    pub fn is_open(&self, channel: &str) -> bool {
        self.get(channel).is_some()
    }

    /// The channel's read mode (`None` if not open).
    pub fn mode(&self, channel: &str) -> Option<ReadMode> {
        self.get(channel).map(|c| c.mode)
    }

    /// Releases the capacity of empty queues.
    pub fn shrink_idle(&mut self) {
        if self.dispatch.is_empty() && self.dispatch.capacity() > 0 {
            self.dispatch = VecDeque::new();
        }
        for c in std::iter::once(&mut self.main).chain(self.named.iter_mut().map(|(_, c)| c)) {
            if c.queue.is_empty() && c.queue.capacity() > 0 {
                c.queue = VecDeque::new();
            }
        }
    }

    /// Sets how `channel` is consumed (opening it). Switching to [`ReadMode::Handler`] moves
    /// the waiting messages to the dispatch queue; [`ReadMode::Discard`] drops them.
    pub fn set_mode(&mut self, channel: &str, mode: ReadMode) {
        self.open(channel);
        let c = find_mut(&mut self.main, &mut self.named, channel).expect("opened");
        c.mode = mode;
        match mode {
            ReadMode::Handler => {
                for data in c.queue.drain(..) {
                    self.dispatch.push_back((channel.to_owned(), data));
                }
                c.bytes = 0;
            }
            ReadMode::Discard => {
                c.dropped += c.queue.len() as u64;
                c.queue.clear();
                c.bytes = 0;
            }
            ReadMode::Unread | ReadMode::Read => {}
        }
    }

    /// A message arrived on `channel`.
    pub fn push(&mut self, channel: &str, data: String) -> Delivery {
        let config = self.config;
        let Some(c) = find_mut(&mut self.main, &mut self.named, channel) else {
            return Delivery::Dropped(DropReason::UnknownChannel);
        };
        match c.mode {
            ReadMode::Discard => {
                c.dropped += 1;
                Delivery::Dropped(DropReason::Discarded)
            }
            ReadMode::Handler => {
                self.dispatch.push_back((channel.to_owned(), data));
                Delivery::Dispatch
            }
            ReadMode::Unread if is_full(&config, c) => {
                c.dropped += 1;
                Delivery::Dropped(DropReason::Full)
            }
            ReadMode::Unread | ReadMode::Read => {
                c.bytes += data.len();
                c.queue.push_back(data);
                Delivery::Queued
            }
        }
    }

    /// Takes the oldest message of `channel`; marks the channel as read.
    pub fn pop(&mut self, channel: &str) -> Option<String> {
        let c = self.get_mut(channel)?;
        if c.mode == ReadMode::Unread {
            c.mode = ReadMode::Read;
        }
        let data = c.queue.pop_front()?;
        c.bytes -= data.len();
        Some(data)
    }

    /// Messages waiting in `channel`.
    pub fn len(&self, channel: &str) -> usize {
        self.get(channel).map_or(0, |c| c.queue.len())
    }

    /// Messages dropped on `channel` so far.
    pub fn dropped(&self, channel: &str) -> u64 {
        self.get(channel).map_or(0, |c| c.dropped)
    }

    /// The next message for a handler, in arrival order across channels.
    #[must_use]
    pub fn poll_dispatch(&mut self) -> Option<(String, String)> {
        self.dispatch.pop_front()
    }

    /// Whether a read channel is full: stop reading the connection until this turns false.
    /// (The dispatch queue is drained by the runtime after every input and is not counted.)
    pub fn is_backed_up(&self) -> bool {
        self.all().any(|c| c.mode == ReadMode::Read && is_full(&self.config, c))
    }

    /// Drops everything (the socket closed).
    pub fn clear(&mut self) {
        for c in std::iter::once(&mut self.main).chain(self.named.iter_mut().map(|(_, c)| c)) {
            c.queue.clear();
            c.bytes = 0;
        }
        self.dispatch.clear();
    }
}

fn find_mut<'a>(
    main: &'a mut ChannelQueue,
    named: &'a mut [(String, ChannelQueue)],
    channel: &str,
) -> Option<&'a mut ChannelQueue> {
    if channel == MAIN_CHANNEL {
        return Some(main);
    }
    named.iter_mut().find(|(n, _)| n == channel).map(|(_, c)| c)
}

fn is_full(config: &InboxConfig, c: &ChannelQueue) -> bool {
    c.queue.len() >= config.max_messages || c.bytes >= config.max_bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Inbox {
        Inbox::new(InboxConfig { max_messages: 2, max_bytes: 100 })
    }

    #[test]
    fn unknown_channels_are_dropped_and_main_is_open() {
        let mut i = small();
        assert_eq!(i.push("x", "a".into()), Delivery::Dropped(DropReason::UnknownChannel));
        assert_eq!(i.push("m", "a".into()), Delivery::Queued);
        assert_eq!(i.pop("m").as_deref(), Some("a"));
        assert!(!i.is_open("x"));
    }

    #[test]
    fn unread_channel_drops_overflow_without_backing_up() {
        let mut i = small();
        i.open("c");
        assert_eq!(i.push("c", "1".into()), Delivery::Queued);
        assert_eq!(i.push("c", "2".into()), Delivery::Queued);
        assert_eq!(i.push("c", "3".into()), Delivery::Dropped(DropReason::Full));
        assert!(!i.is_backed_up());
        assert_eq!(i.dropped("c"), 1);
        assert_eq!(i.len("c"), 2);
    }

    #[test]
    fn read_channel_backs_up_instead_of_dropping() {
        let mut i = small();
        i.open("c");
        assert_eq!(i.pop("c"), None); // a reader exists now
        assert_eq!(i.mode("c"), Some(ReadMode::Read));
        i.push("c", "1".into());
        assert!(!i.is_backed_up());
        i.push("c", "2".into());
        assert!(i.is_backed_up());
        // Already-accepted data beyond the cap (a chunk in flight) is still kept.
        assert_eq!(i.push("c", "3".into()), Delivery::Queued);
        assert_eq!(i.pop("c").as_deref(), Some("1"));
        assert_eq!(i.pop("c").as_deref(), Some("2"));
        assert!(!i.is_backed_up());
        assert_eq!(i.pop("c").as_deref(), Some("3"));
    }

    #[test]
    fn byte_cap_counts() {
        let mut i = small();
        i.pop("m");
        i.push("m", "x".repeat(100));
        assert!(i.is_backed_up());
    }

    #[test]
    fn handler_mode_dispatches_in_order_and_takes_the_backlog() {
        let mut i = small();
        i.open("a");
        i.push("a", "1".into());
        i.push("m", "2".into());
        i.set_mode("a", ReadMode::Handler);
        i.set_mode("m", ReadMode::Handler);
        assert_eq!(i.push("a", "3".into()), Delivery::Dispatch);
        let got: Vec<_> = std::iter::from_fn(|| i.poll_dispatch()).collect();
        assert_eq!(
            got,
            [("a".into(), "1".into()), ("m".into(), "2".into()), ("a".into(), "3".into())]
        );
    }

    #[test]
    fn discard_mode_drops_backlog_and_new_data() {
        let mut i = small();
        i.push("m", "1".into());
        i.set_mode("m", ReadMode::Discard);
        assert_eq!(i.len("m"), 0);
        assert_eq!(i.push("m", "2".into()), Delivery::Dropped(DropReason::Discarded));
        assert_eq!(i.dropped("m"), 2);
    }
}
