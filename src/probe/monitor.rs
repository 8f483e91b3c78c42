//! Live health of a running route: one kept session, a `ping` every interval on a new
//! connection (so that a link that can no longer open one is seen), latency figures after each,
//! and the health state whenever it changes. Plain events out; no terminal.
//!
//! The era found by the first check is kept with the session: a 2026-07-28 server (no session,
//! no `ping`) is checked with `server/discover` and `tools/list` each interval; after a failure
//! the next check finds the era again. A 2025 session over streamable HTTP outlives a broken
//! link, as a client's does: the check after it tells whether the server still knows it (a
//! replaced pod does not: the session is initialized again, and [`SESSION_FORGOTTEN`] said).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::diagnose::{Hints, diagnose};
use super::failure::Failure;
use super::rpc::ServerInfo;
use super::session::{Era, Session, Wire};
use super::stats::{Latency, LatencySummary};
use crate::net::{Http, Target};
use crate::trouble::Trouble;

#[derive(Debug, Clone)]
pub struct MonitorOptions {
    pub interval: Duration,
    /// A ping slower than this makes the state Slow.
    pub slow_after: Duration,
    /// Samples the percentiles are taken over.
    pub window: usize,
    /// Samples kept for a sparkline.
    pub history: usize,
    pub hints: Hints,
    /// Notified when the caller learns of trouble (a forward lost its pod, a connection
    /// failed): the next check runs at once instead of at the end of the interval.
    pub check_now: Option<Arc<Notify>>,
    /// The era to speak on streamable HTTP; `None` (the default) finds it at each new session.
    pub era: Option<Era>,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        MonitorOptions {
            interval: Duration::from_secs(2),
            slow_after: Duration::from_millis(500),
            window: 30,
            history: 120,
            hints: Hints::default(),
            check_now: None,
            era: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Healthy { server: ServerInfo, wire: Wire, tools: usize },
    Slow { server: ServerInfo, wire: Wire, tools: usize, threshold: Duration },
    Down(Trouble),
}

/// The note of a check whose server had forgotten the session (it was initialized again).
pub const SESSION_FORGOTTEN: &str =
    "the server had forgotten the session; a new one was initialized";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeEvent {
    /// The state changed.
    Health(Health),
    /// After every sample.
    Latency(LatencySummary),
    /// Something worth a log line that is not a state change.
    Note(String),
}

/// Watches `target` until `cancel`; ends its session on the way out. Health is sent when it
/// changes, and after every check asked for through [`MonitorOptions::check_now`].
pub async fn monitor(
    target: Target,
    options: MonitorOptions,
    events: mpsc::Sender<ProbeEvent>,
    cancel: CancellationToken,
) {
    let http = match Http::fresh(&target) {
        Ok(http) => http,
        Err(cause) => {
            let fix = "check the TLS settings (CA file, pin) of the profile".to_owned();
            let _ = events.send(ProbeEvent::Health(Health::Down(Trouble { cause, fix }))).await;
            return;
        }
    };
    let latency = Latency::new(options.window, options.history);
    let mut watch = Watch { http, target, options, latency, session: None };
    let mut last: Option<Health> = None;
    // A check asked for through `check_now` is answered even when nothing changed: the caller
    // may have shown trouble of its own meanwhile.
    let mut asked = false;
    loop {
        let checked = tokio::select! {
            _ = cancel.cancelled() => break,
            checked = watch.check() => checked,
        };
        // A connection that broke or went quiet once is checked again at once: one dropped
        // connection (a pod switch, a proxy's idle cut) does not make the route down.
        let checked = match checked {
            (_, _, _, true) => tokio::select! {
                _ = cancel.cancelled() => break,
                checked = watch.check() => checked,
            },
            checked => checked,
        };
        let (health, sample, note, _) = checked;
        if let Some(note) = note {
            let _ = events.send(ProbeEvent::Note(note)).await;
        }
        if sample {
            let _ = events.send(ProbeEvent::Latency(watch.latency.summary())).await;
        }
        if asked || last.as_ref() != Some(&health) {
            let _ = events.send(ProbeEvent::Health(health.clone())).await;
            last = Some(health);
        }
        let poked = async {
            match &watch.options.check_now {
                Some(notify) => notify.notified().await,
                None => std::future::pending().await,
            }
        };
        asked = tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(watch.options.interval) => false,
            () = poked => true,
        };
    }
    if let Some((session, _)) = watch.session.take() {
        session.close().await;
    }
}

struct Watch {
    http: Http,
    target: Target,
    options: MonitorOptions,
    latency: Latency,
    session: Option<(Session, usize)>,
}

impl Watch {
    /// One check: a ping on the kept session, or a fresh handshake when there is none.
    /// Answers the health, whether a latency sample was taken, a note, and whether it failed
    /// on a connection that broke (worth checking again at once).
    async fn check(&mut self) -> (Health, bool, Option<String>, bool) {
        if let Err(diagnosis) = self.authorize().await {
            return (Health::Down(diagnosis), false, None, false);
        }
        let result = match self.session.as_mut() {
            Some((session, tools)) if session.era() == Era::Modern => {
                match modern_check(session).await {
                    Ok((took, count)) => {
                        *tools = count;
                        Ok((took, count, None, session.handshake.clone()))
                    }
                    Err(failure) => Err(failure),
                }
            }
            Some((session, tools)) => {
                let before = session.reinitialized;
                session.ping().await.map(|took| {
                    let note =
                        (session.reinitialized > before).then(|| SESSION_FORGOTTEN.to_owned());
                    (took, *tools, note, session.handshake.clone())
                })
            }
            None => match open(&self.http, &self.target, self.options.era).await {
                Ok((session, tools, took)) => {
                    let handshake = session.handshake.clone();
                    self.session = Some((session, tools));
                    Ok((took, tools, None, handshake))
                }
                Err(failure) => Err(failure),
            },
        };
        match result {
            Ok((took, tools, note, handshake)) => {
                self.latency.record(took);
                let (server, wire) = (handshake.server, handshake.wire);
                let health = if took > self.options.slow_after {
                    Health::Slow { server, wire, tools, threshold: self.options.slow_after }
                } else {
                    Health::Healthy { server, wire, tools }
                };
                (health, true, note, false)
            }
            Err(failure) => {
                // Nothing answered, or only the link in front of the server (a forward waiting
                // for a pod answers 503): the session may live on behind it, and the next check
                // asks the server (a 2025 session over streamable HTTP only; the others are
                // bound to their connection).
                let link_only = matches!(
                    failure,
                    Failure::Connect { .. }
                        | Failure::Dropped { .. }
                        | Failure::Timeout { .. }
                        | Failure::Status { status: 502..=504, .. }
                );
                let kept = self.session.as_ref().is_some_and(|(session, _)| {
                    link_only
                        && session.era() == Era::Initialize
                        && session.handshake.wire == Wire::StreamableHttp
                });
                if !kept && let Some((session, _)) = self.session.take() {
                    session.close().await;
                }
                // Refused credentials: the next check runs with a token minted now.
                if let (Failure::Status { status: 401, .. }, Some(tokens)) =
                    (&failure, &self.target.auth)
                {
                    let _ = tokens.refresh().await;
                }
                let transient = failure.is_transient();
                let diagnosis =
                    diagnose(&self.http, &self.target, &failure, &self.options.hints).await;
                (Health::Down(diagnosis), false, None, transient)
            }
        }
    }
}

impl Watch {
    /// Sends the current token; a new one (renewed before it expires, or after a 401) gets a
    /// new client and session, so a long watch never runs on an expired token.
    async fn authorize(&mut self) -> Result<(), Trouble> {
        let changed = self.target.authorize().await?;
        if changed {
            self.http = Http::fresh(&self.target).map_err(|cause| Trouble {
                cause,
                fix: "check the TLS settings (CA file, pin) of the profile".to_owned(),
            })?;
            if let Some((session, _)) = self.session.take() {
                session.close().await;
            }
        }
        Ok(())
    }
}

/// A 2026 check: `server/discover` (the sample) and `tools/list`.
async fn modern_check(session: &mut Session) -> Result<(Duration, usize), Failure> {
    let took = session.ping().await?;
    let (tools, _) = session.tool_count().await?;
    Ok((took, tools))
}

/// A handshake and a tools/list; the sample is the tools/list round trip.
async fn open(
    http: &Http,
    target: &Target,
    era: Option<Era>,
) -> Result<(Session, usize, Duration), Failure> {
    let mut session = Session::open_in(http, target, era).await?;
    match session.tool_count().await {
        Ok((tools, took)) => Ok((session, tools, took)),
        Err(failure) => {
            session.close().await;
            Err(failure)
        }
    }
}
