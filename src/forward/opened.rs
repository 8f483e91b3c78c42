//! A port-forward stream opened to a pod, ready to carry one connection: a stream of the pod's
//! multiplexed tunnel, or a kube-rs WebSocket of its own (see [`super::mux`]). The forward keeps
//! one spare opened ahead, so that a new connection does not wait for the stream to open.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::Portforwarder;
use tokio::io::{AsyncRead, DuplexStream, ReadBuf};

use super::mux::Mux;
use super::target::Target;

/// A spare older than this is replaced rather than trusted.
const MAX_AGE: Duration = Duration::from_secs(60);

pub struct Opened {
    pub pod: String,
    /// The WebSocket's forwarder, when the stream has one of its own.
    forwarder: Option<Portforwarder>,
    pub stream: DuplexStream,
    /// Resolves with the message the pod's error channel carries, or `None` when the stream ends.
    pub error: BoxFuture<'static, Option<String>>,
    /// Bytes the pod sent before any connection used the stream.
    pub early: Vec<u8>,
    opened: Instant,
}

impl Opened {
    pub async fn open(pods: &Api<Pod>, target: &Target, mux: &Mux) -> Result<Opened, kube::Error> {
        if let Some(tunnelled) = mux.open(&target.pod, target.port).await {
            return Ok(Opened {
                pod: target.pod.clone(),
                forwarder: None,
                stream: tunnelled.stream,
                error: tunnelled.error,
                early: Vec::new(),
                opened: Instant::now(),
            });
        }
        let mut forwarder = pods.portforward(&target.pod, &[target.port]).await?;
        let lost =
            || kube::Error::Service(Box::new(std::io::Error::other("port-forward stream lost")));
        let stream = forwarder.take_stream(target.port).ok_or_else(lost)?;
        let error = forwarder.take_error(target.port).ok_or_else(lost)?.boxed();
        mux.per_connection_opened();
        Ok(Opened {
            pod: target.pod.clone(),
            forwarder: Some(forwarder),
            stream,
            error,
            early: Vec::new(),
            opened: Instant::now(),
        })
    }

    /// Whether the stream can still carry a connection: no error, not closed by the API
    /// server or the pod, and not too old. Never waits.
    pub fn usable(&mut self) -> bool {
        if self.opened.elapsed() > MAX_AGE || (&mut self.error).now_or_never().is_some() {
            return false;
        }
        let mut buf = [0u8; 4096];
        let mut read = ReadBuf::new(&mut buf);
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut self.stream).poll_read(&mut cx, &mut read) {
            Poll::Pending => true,
            Poll::Ready(Ok(())) if read.filled().is_empty() => false,
            Poll::Ready(Ok(())) => {
                self.early.extend_from_slice(read.filled());
                true
            }
            Poll::Ready(Err(_)) => false,
        }
    }

    /// Lets the forwarder's task finish on its own once the stream is dropped.
    pub fn into_parts(self) -> (DuplexStream, BoxFuture<'static, Option<String>>, Vec<u8>) {
        drop(self.forwarder);
        (self.stream, self.error, self.early)
    }
}
