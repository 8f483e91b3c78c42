//! `/metrics`: Prometheus text (format 0.0.4), written by hand from a few atomic counters per
//! gateway; no metrics crate is needed for six families.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::pool::Shared;

/// How a request relayed to a gateway went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answered (2xx).
    Ok = 0,
    /// The gateway refused it with a 4xx, passed on to the client.
    Rejected = 1,
    /// No answer: connection error, 5xx, a broken stream. The gateway is marked down.
    Failed = 2,
    /// The gateway had forgotten the session (404): re-initialized and sent again.
    Expired = 3,
}

const OUTCOMES: [&str; 4] = ["ok", "rejected", "failed", "expired"];
/// Upper bounds of the latency histogram's buckets, in seconds (+Inf implied).
const BUCKETS: [f64; 12] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// One gateway's counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: [AtomicU64; 4],
    /// Per bucket (not cumulative); the last one is +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Counters {
    pub(crate) fn record(&self, outcome: Outcome) {
        self.requests[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The time a gateway took to start answering a request.
    pub(crate) fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = BUCKETS.iter().position(|&le| seconds <= le).unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }
}

/// The whole exposition.
pub(crate) fn render(shared: &Shared) -> String {
    let mut out = String::new();
    let sessions = shared.sessions.per_gateway();
    let gateways: Vec<_> = shared.gateways().collect();
    let label = |g: &super::gateway::Gateway| {
        format!("pool=\"{}\",gateway=\"{}\"", escape(&g.pool), escape(&g.label))
    };

    family(&mut out, "mcp_router_sessions", "gauge", "Open client sessions, per gateway.");
    for g in &gateways {
        let open = sessions.get(&g.label).copied().unwrap_or(0);
        let _ = writeln!(out, "mcp_router_sessions{{{}}} {open}", label(g));
    }
    family(&mut out, "mcp_router_gateway_up", "gauge", "1 while the gateway is healthy.");
    for g in &gateways {
        let _ = writeln!(out, "mcp_router_gateway_up{{{}}} {}", label(g), u8::from(g.is_healthy()));
    }
    let help = "Requests relayed, per gateway and outcome (ok, rejected, failed, expired).";
    family(&mut out, "mcp_router_requests_total", "counter", help);
    for g in &gateways {
        for (i, outcome) in OUTCOMES.iter().enumerate() {
            let n = g.counters.requests[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "mcp_router_requests_total{{{},outcome=\"{outcome}\"}} {n}",
                label(g)
            );
        }
    }
    let help = "Client sessions moved to another gateway because theirs failed.";
    family(&mut out, "mcp_router_failovers_total", "counter", help);
    let _ = writeln!(out, "mcp_router_failovers_total {}", shared.failovers());
    let name = "mcp_router_request_duration_seconds";
    let help = "Time from sending a request to a gateway to the start of its answer.";
    family(&mut out, name, "histogram", help);
    for g in &gateways {
        let counters = &g.counters;
        let mut cumulative = 0;
        for (i, count) in counters.buckets.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let le = BUCKETS.get(i).map_or("+Inf".to_owned(), |le| le.to_string());
            let _ = writeln!(out, "{name}_bucket{{{},le=\"{le}\"}} {cumulative}", label(g));
        }
        let sum = counters.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{}}} {sum}", label(g));
        let _ = writeln!(out, "{name}_count{{{}}} {cumulative}", label(g));
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_lands_in_its_bucket_and_labels_are_escaped() {
        let counters = Counters::default();
        counters.observe(Duration::from_micros(800));
        counters.observe(Duration::from_millis(30));
        counters.observe(Duration::from_secs(60));
        let counts: Vec<u64> = counters.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        assert_eq!((counts[0], counts[5], counts[12]), (1, 1, 1));
        counters.record(Outcome::Failed);
        assert_eq!(counters.requests[Outcome::Failed as usize].load(Ordering::Relaxed), 1);
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
