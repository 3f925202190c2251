//! The one generic driver: moves bytes between a stream and any [`Machine`].

use glue_protocol::{Machine, Outbox};
use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

const READ_BUF: usize = 64 * 1024;

thread_local! {
    /// One read buffer per worker thread: an idle connection holds none.
    static READ_BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; READ_BUF].into_boxed_slice());
}

/// What woke the driver up.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake<C> {
    /// Input was fed to the machine (data, EOF, or a deadline).
    Machine,
    /// A command arrived from another task.
    Command(C),
    /// The command channel closed (all senders dropped).
    CommandsClosed,
}

/// Drives a sans-IO [`Machine`] over an async byte stream.
///
/// Owned by the connection's task; there is no other task and no per-connection timer task.
#[derive(Debug)]
pub struct Driver<M, S> {
    /// The state machine.
    pub machine: M,
    stream: S,
    sleep: Option<Pin<Box<Sleep>>>,
    outbox: Outbox,
    eof: bool,
    shut_down: bool,
}

impl<M: Machine, S: AsyncRead + AsyncWrite + Unpin> Driver<M, S> {
    /// Wraps a machine and its stream.
    pub fn new(machine: M, stream: S) -> Self {
        Driver { machine, stream, sleep: None, outbox: Outbox::new(), eof: false, shut_down: false }
    }

    /// The stream.
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// Writes everything the machine wants written (vectored: a header and its shared payload
    /// go out in one system call); shuts the stream down once the machine is terminated.
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// Poll form of [`flush`](Self::flush).
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            self.outbox.fill(&mut self.machine);
            if self.outbox.is_empty() {
                break;
            }
            if self.shut_down {
                self.outbox.clear();
                continue;
            }
            let slices = self.outbox.io_slices();
            let stream = Pin::new(&mut self.stream);
            let written = match self.outbox.chunks() {
                1 => stream.poll_write(cx, &slices[0]),
                n => stream.poll_write_vectored(cx, &slices[..n]),
            };
            match written {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(self.write_failed(io::ErrorKind::WriteZero.into())))
                }
                Poll::Ready(Ok(n)) => self.outbox.advance(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.write_failed(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        // A TLS stream may keep encrypted bytes back (its socket was full): push them out.
        if !self.shut_down {
            match Pin::new(&mut self.stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.write_failed(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.machine.is_terminated() && !self.shut_down {
            if Pin::new(&mut self.stream).poll_shutdown(cx).is_pending() {
                return Poll::Pending;
            }
            self.shut_down = true;
        }
        Poll::Ready(Ok(()))
    }

    fn write_failed(&mut self, e: io::Error) -> io::Error {
        self.shut_down = true;
        self.outbox.clear();
        self.machine.handle_eof(Instant::now());
        e
    }

    /// Whether the stream has been shut down (nothing more will happen).
    pub fn is_shut_down(&self) -> bool {
        self.shut_down
    }

    /// Waits for input (bytes, EOF, a deadline) or a command from `commands`, feeds input to
    /// the machine, and returns what happened. Call [`flush`](Self::flush) and drain events
    /// afterwards.
    pub async fn wait<C>(
        &mut self,
        mut commands: Option<&mut tokio::sync::mpsc::Receiver<C>>,
    ) -> Wake<C> {
        poll_fn(|cx| self.poll_wait(cx, commands.as_deref_mut())).await
    }

    /// Like [`wait`](Self::wait), with any future as the command source (e.g. a
    /// `Notify::notified()`, which needs no allocation, unlike a channel).
    pub async fn wait_or<F: Future>(&mut self, other: F) -> Wake<F::Output> {
        let mut other = std::pin::pin!(other);
        poll_fn(|cx| {
            if let Poll::Ready(w) = self.poll_deadline(cx) {
                return Poll::Ready(w);
            }
            if let Poll::Ready(c) = other.as_mut().poll(cx) {
                return Poll::Ready(Wake::Command(c));
            }
            self.poll_input(cx)
        })
        .await
    }

    fn poll_wait<C>(
        &mut self,
        cx: &mut Context<'_>,
        commands: Option<&mut tokio::sync::mpsc::Receiver<C>>,
    ) -> Poll<Wake<C>> {
        if let Poll::Ready(w) = self.poll_deadline(cx) {
            return Poll::Ready(w);
        }
        // Commands.
        if let Some(rx) = commands {
            match rx.poll_recv(cx) {
                Poll::Ready(Some(c)) => return Poll::Ready(Wake::Command(c)),
                Poll::Ready(None) => return Poll::Ready(Wake::CommandsClosed),
                Poll::Pending => {}
            }
        }
        self.poll_input(cx)
    }

    fn poll_deadline<C>(&mut self, cx: &mut Context<'_>) -> Poll<Wake<C>> {
        // Deadline.
        match self.machine.poll_timeout() {
            Some(deadline) => {
                let deadline = tokio::time::Instant::from_std(deadline);
                match &mut self.sleep {
                    Some(s) if s.deadline() == deadline => {}
                    Some(s) => s.as_mut().reset(deadline),
                    None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
                }
                if let Some(s) = &mut self.sleep {
                    if s.as_mut().poll(cx).is_ready() {
                        self.sleep = None;
                        self.machine.handle_timeout(Instant::now());
                        return Poll::Ready(Wake::Machine);
                    }
                }
            }
            None => self.sleep = None,
        }
        Poll::Pending
    }

    fn poll_input<C>(&mut self, cx: &mut Context<'_>) -> Poll<Wake<C>> {
        // Input.
        if self.eof || self.shut_down || !self.machine.wants_read() {
            return Poll::Pending;
        }
        let stream = Pin::new(&mut self.stream);
        let machine = &mut self.machine;
        let result = READ_BUFFER.with(|buf| {
            let mut buf = buf.borrow_mut();
            let mut rb = ReadBuf::new(&mut buf[..]);
            match stream.poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n == 0 {
                        Poll::Ready(false)
                    } else {
                        machine.handle_data(Instant::now(), rb.filled());
                        Poll::Ready(true)
                    }
                }
                Poll::Ready(Err(_)) => Poll::Ready(false),
                Poll::Pending => Poll::Pending,
            }
        });
        match result {
            Poll::Ready(true) => Poll::Ready(Wake::Machine),
            Poll::Ready(false) => {
                self.eof = true;
                self.machine.handle_eof(Instant::now());
                Poll::Ready(Wake::Machine)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
