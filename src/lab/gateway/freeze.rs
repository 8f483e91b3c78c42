//! A gateway frozen as `kill -STOP` freezes a process: its sockets stay open and connections
//! are still accepted (the kernel completes the handshake), but nothing is read or written
//! until it is thawed: no TLS handshake, no answer, no close. What a client sees of a hung
//! gateway or a network black hole.
//!
//! Every connection's TCP stream is wrapped in [`Frozen`], which parks its reads, writes,
//! flushes and shutdowns while the [`Freezer`] is on; thawing wakes them, and they go on where
//! they stopped (data sent meanwhile waits in the kernel's buffers, as it would).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// Whether a gateway's connections are frozen, and the tasks parked on them.
#[derive(Debug, Default)]
pub struct Freezer {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    frozen: bool,
    parked: Vec<Waker>,
}

impl Freezer {
    /// Parks every read and write on the connections, open and to come.
    pub fn freeze(&self) {
        self.lock().frozen = true;
    }

    /// Lets them go on.
    pub fn thaw(&self) {
        let parked = {
            let mut state = self.lock();
            state.frozen = false;
            std::mem::take(&mut state.parked)
        };
        parked.into_iter().for_each(Waker::wake);
    }

    pub fn is_frozen(&self) -> bool {
        self.lock().frozen
    }

    /// `Ready` when not frozen; else the task is parked until [`Freezer::thaw`].
    fn poll_thawed(&self, cx: &Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if !state.frozen {
            return Poll::Ready(());
        }
        if !state.parked.iter().any(|w| w.will_wake(cx.waker())) {
            state.parked.push(cx.waker().clone());
        }
        Poll::Pending
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A TCP stream that stands still while its freezer is on.
pub struct Frozen {
    inner: TcpStream,
    freezer: Arc<Freezer>,
}

impl AsyncRead for Frozen {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.freezer.poll_thawed(cx));
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Frozen {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.freezer.poll_thawed(cx));
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.freezer.poll_thawed(cx));
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.freezer.poll_thawed(cx));
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// Serves `app` on `listener` (HTTPS with `tls`, else plain HTTP) until `stopping` is
/// cancelled, every connection's stream under `freezer`. Ending the loop closes every
/// connection, frozen or not, as a killed process's would be.
pub(super) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    stopping: CancellationToken,
    freezer: Arc<Freezer>,
) {
    let wrap = move |tcp| Frozen { inner: tcp, freezer: freezer.clone() };
    crate::lab::mcp::serve::accept_loop_with(listener, tls, app, stopping, wrap).await;
}
