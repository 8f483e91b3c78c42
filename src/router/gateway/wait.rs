//! A request's wait on its gateway, bounded three ways, whichever comes first:
//!
//! - the gateway is judged down meanwhile, by a failed check or by another request that failed
//!   or outlived its deadline: every request open on it gives up at once (they all watch one
//!   counter, [`Gateway::downs`]), and the relay fails it over;
//! - while the request has waited [`STALL`] for its answer, its gateway's health watch is asked
//!   to check it (at most once per [`STALL`]): a gateway that stopped answering — a frozen
//!   process, a network black hole — fails that check within its timeout, and is judged down
//!   then rather than at the next interval;
//! - the request's own deadline, its pool's `request_timeout`. Past it, with checks on, the
//!   gateway is checked once more: if it answers, it is slow on this request alone
//!   ([`Interrupted::Late`] `alive`); if not, the failed check judges it down. With checks off
//!   (or no verdict in time), the deadline itself judges it down, with every request open on
//!   it.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::{Gateway, Judged};
use crate::trouble::Trouble;

/// How long a request waits for its answer before its gateway is checked; again each time as
/// long, while it waits.
pub(crate) const STALL: Duration = Duration::from_secs(1);

/// Past a check's timeout, how long a request past its deadline still waits for the check's
/// verdict (the health watch's own scheduling).
const VERDICT_SLACK: Duration = Duration::from_millis(500);

/// Why a wait ended without the work's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interrupted {
    /// The gateway was judged down while the work waited on it.
    Down,
    /// The request deadline passed. `alive`: a check passed after it, so the gateway is slow
    /// on this request, not gone.
    Late { alive: bool },
}

impl Gateway {
    /// Watches the times it is judged down. Taken before a request is sent (and before
    /// [`Gateway::serves`] is asked), so that no judgement in between goes unseen.
    pub(crate) fn downs(&self) -> watch::Receiver<u64> {
        self.downs.subscribe()
    }

    /// Runs `work` (an exchange with this gateway, the request `what`) until it ends, the
    /// gateway is judged down after `downs` was taken, or the request deadline passes; asks for
    /// checks while it waits (see the module's doc).
    pub(crate) async fn guard<T>(
        &self,
        what: &str,
        downs: &mut watch::Receiver<u64>,
        work: impl Future<Output = T>,
    ) -> Result<T, Interrupted> {
        // One timer for all three: the next check to ask for, the deadline, the verdict.
        let mut deadline = Instant::now() + self.request_timeout;
        let mut stall = Instant::now() + STALL;
        let timer = tokio::time::sleep_until(stall.min(deadline));
        let mut checks = self.checks.subscribe();
        let mut late = false;
        tokio::pin!(work, timer);
        loop {
            tokio::select! {
                biased;
                done = &mut work => return Ok(done),
                // The sender lives as long as the gateway: an error cannot happen; read as down.
                _ = downs.changed() => return Err(Interrupted::Down),
                _ = checks.changed(), if late => return Err(Interrupted::Late { alive: true }),
                () = &mut timer => {
                    let now = Instant::now();
                    if now >= deadline {
                        if late || !self.health.enabled {
                            let mute = Interrupted::Late { alive: false };
                            self.mark_down(&self.interrupted(mute, what), Judged::Deadline);
                            return Err(mute);
                        }
                        // A check that answers from now on says the gateway lives.
                        late = true;
                        checks.borrow_and_update();
                        deadline = now + STALL + self.health.timeout + VERDICT_SLACK;
                        stall = now;
                    }
                    if now >= stall {
                        self.suspect.notify_one();
                        stall = now + STALL;
                    }
                    timer.as_mut().reset(stall.min(deadline));
                }
            }
        }
    }

    /// [`Gateway::guard`] over work that fails with a [`Trouble`]: an interruption becomes one
    /// too. `what` names the request ("initialize").
    pub(crate) async fn bounded<T>(
        &self,
        what: &str,
        work: impl Future<Output = Result<T, Trouble>>,
    ) -> Result<T, Trouble> {
        let mut downs = self.downs();
        match self.guard(what, &mut downs, work).await {
            Ok(done) => done,
            Err(interrupted) => Err(self.interrupted(interrupted, what)),
        }
    }

    /// Why a request `what` was given up, as the gateway's failure: when it was judged down,
    /// the failure that judged it (so that recording it again changes nothing).
    pub(crate) fn interrupted(&self, interrupted: Interrupted, what: &str) -> Trouble {
        match interrupted {
            Interrupted::Down => {
                self.trouble().unwrap_or_else(|| self.place.other("it was found down"))
            }
            Interrupted::Late { alive } => {
                self.place.late(what, self.request_timeout, alive, &self.label)
            }
        }
    }

    /// Why a request open on it was given up when it was judged down, as its client is told.
    pub(crate) fn found_down(&self) -> Trouble {
        match self.trouble() {
            Some(trouble) => Trouble::new(
                format!("it was found down while the request was open: {}", trouble.cause),
                trouble.fix,
            ),
            None => self.place.other("it was found down while the request was open"),
        }
    }

    /// Resolves when a request that waits asks for a check (at once, if one asked since the
    /// last call).
    pub(crate) async fn suspected(&self) {
        self.suspect.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::router::settings::{GatewaySettings, HealthSettings, Origin, PoolSettings};

    fn gateway(checks: bool, request_timeout: Duration) -> Arc<Gateway> {
        let settings = GatewaySettings {
            url: "http://127.0.0.1:1/mcp".parse().unwrap(),
            weight: 1,
            tokens: None,
            own_auth: false,
            tls: Default::default(),
        };
        let health = HealthSettings { enabled: checks, ..Default::default() };
        let pool = PoolSettings { name: "p".into(), gateways: Vec::new(), health, request_timeout };
        Arc::new(Gateway::new(&settings, &pool, &Origin::Unnamed).unwrap())
    }

    /// Answers the checks asked of `gateway`: fails (ignores) the first `from - 1`, passes the
    /// rest.
    async fn checker(gateway: Arc<Gateway>, from: usize) -> usize {
        let mut asked = 0;
        loop {
            gateway.suspected().await;
            asked += 1;
            if asked >= from {
                gateway.check_ok(Duration::from_millis(1));
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_waiting_request_gives_up_when_the_gateway_is_judged_down() {
        let gateway = gateway(true, Duration::from_secs(300));
        let waits: Vec<_> = (0..3)
            .map(|_| {
                let gateway = gateway.clone();
                let mut downs = gateway.downs();
                tokio::spawn(async move {
                    gateway.guard("ping", &mut downs, std::future::pending::<()>()).await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let trouble = Trouble::new("no answer to the health check", "look");
        gateway.mark_down(&trouble, Judged::Check);
        for wait in waits {
            assert_eq!(wait.await.unwrap(), Err(Interrupted::Down));
        }
        assert_eq!(
            gateway.found_down().cause,
            "it was found down while the request was open: no answer to the health check"
        );
    }

    /// An `initialize` given up when a check judged the gateway down fails with that check's
    /// own cause: recording it again leaves the gateway's cause as the check found it.
    #[tokio::test(start_paused = true)]
    async fn work_given_up_fails_with_the_cause_that_judged_the_gateway() {
        let gateway = gateway(true, Duration::from_secs(300));
        let check = Trouble::new("no answer to the health check within 3s", "look");
        let judge = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            gateway.mark_down(&check, Judged::Check);
        };
        let work = gateway.bounded("initialize", std::future::pending::<Result<(), Trouble>>());
        let ((), failed) = tokio::join!(judge, work);
        let failed = failed.unwrap_err();
        assert_eq!(failed, check);
        gateway.mark_down(&failed, Judged::Request);
        assert_eq!(gateway.trouble(), Some(check));
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_request_asks_for_a_check_every_second() {
        let gateway = gateway(true, Duration::from_secs(300));
        let mut downs = gateway.downs();
        let asked = async {
            for _ in 0..3 {
                gateway.suspected().await;
            }
            tokio::time::Instant::now()
        };
        let started = tokio::time::Instant::now();
        let waited = gateway.guard("ping", &mut downs, asked).await.unwrap();
        assert_eq!(waited - started, 3 * STALL);
        // Work that ends in time is its own answer.
        assert_eq!(gateway.guard("ping", &mut downs, async { 7 }).await, Ok(7));
    }

    #[tokio::test(start_paused = true)]
    async fn past_its_deadline_a_request_is_late_on_a_live_gateway_and_ends_a_mute_one() {
        // Checks on, the gateway answers the check asked for at the deadline: alive.
        let live = gateway(true, Duration::from_millis(2500));
        // The checks asked for at 1 s and 2 s are not answered; the one at the deadline is.
        tokio::spawn(checker(live.clone(), 3));
        let mut downs = live.downs();
        let waited = live.guard("ping", &mut downs, std::future::pending::<()>()).await;
        assert_eq!(waited, Err(Interrupted::Late { alive: true }));
        // No check answers after the deadline: not alive.
        let mute = gateway(true, Duration::from_millis(2500));
        let mut downs = mute.downs();
        let waited = mute.guard("ping", &mut downs, std::future::pending::<()>()).await;
        assert_eq!(waited, Err(Interrupted::Late { alive: false }));
        // Checks off: the deadline alone decides.
        let unchecked = gateway(false, Duration::from_millis(2500));
        let started = tokio::time::Instant::now();
        let mut downs = unchecked.downs();
        let waited = unchecked.guard("ping", &mut downs, std::future::pending::<()>()).await;
        assert_eq!(waited, Err(Interrupted::Late { alive: false }));
        assert_eq!(started.elapsed(), Duration::from_millis(2500));
    }
}
