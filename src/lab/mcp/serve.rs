//! The accept loop. Connections are tasks of a `JoinSet` owned by the loop, so ending the loop
//! (cancel or abort) closes every open connection at once, as a stopped Serena would. With a
//! TLS acceptor each connection is a TLS handshake first; one that fails it is closed after
//! rustls's TLS alert, with nothing logged (a plain-HTTP client reads the alert as a malformed
//! answer).

use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// Serves `app` on `listener` (HTTP/1.1 and h2c, or HTTPS with `tls`) until `stopping` is
/// cancelled.
pub async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    stopping: CancellationToken,
) {
    accept_loop_with(listener, tls, app, stopping, |tcp| tcp).await;
}

/// [`accept_loop`], each accepted connection first wrapped by `wrap` (the gateway double's
/// freeze wraps its streams).
pub async fn accept_loop_with<S>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    stopping: CancellationToken,
    wrap: impl Fn(TcpStream) -> S,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopping.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    // Small JSON-RPC messages: do not wait to fill packets.
                    let _ = tcp.set_nodelay(true);
                    let stream = wrap(tcp);
                    let (tls, app) = (tls.clone(), app.clone());
                    connections.spawn(async move {
                        match tls {
                            None => serve_connection(stream, app).await,
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(stream).await {
                                    serve_connection(stream, app).await;
                                }
                            }
                        }
                    });
                }
                // Out of file descriptors and the like: let it pass.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// Serves `app` on one connection until the client closes it.
async fn serve_connection<S>(stream: S, app: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    let _ = Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .await;
}
