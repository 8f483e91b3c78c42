//! The state a forward reports, decided from what it knows: the pod watch, the last attempt to
//! open a stream ahead, and the pod it served last.

use super::event::ForwardState;
use super::explain::Explained;
use super::target::Tracking;

/// The watch's trouble first, then the loss of the pod, then a spare's trouble: a stream that
/// failed to open for a pod now gone must not hide that the pod is gone.
pub fn decide(
    tracking: Tracking,
    spare: Option<Explained>,
    last_pod: Option<&str>,
    url: &str,
    waiting: &ForwardState,
) -> ForwardState {
    match (tracking.trouble, tracking.target, spare) {
        (Some(t), _, _) | (None, Some(_), Some(t)) if !t.transient => {
            ForwardState::Failed(t.trouble)
        }
        (Some(t), _, _) | (None, Some(_), Some(t)) => {
            ForwardState::Reconnecting { why: t.trouble.cause }
        }
        (None, Some(target), None) => {
            ForwardState::Listening { url: url.to_owned(), pod: target.pod }
        }
        (None, None, _) => match last_pod {
            Some(pod) => ForwardState::Reconnecting {
                why: format!("pod {pod} is no longer Ready; waiting for another Ready pod"),
            },
            None => waiting.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::target::Target;

    const URL: &str = "http://127.0.0.1:8080/mcp";

    fn waiting() -> ForwardState {
        ForwardState::WaitingForPod {
            service: "serena-mcp".into(),
            namespace: "mcp".into(),
            selector: "app=serena-mcp".into(),
        }
    }

    fn trouble(cause: &str, transient: bool) -> Option<Explained> {
        Some(Explained::new(cause, "fix", transient))
    }

    fn on(pod: &str) -> Tracking {
        Tracking { target: Some(Target { pod: pod.into(), port: 8080 }), trouble: None }
    }

    #[test]
    fn a_lost_pod_is_reported_even_while_a_spare_for_it_was_failing() {
        // The spare for pod a failed (backend down), then pod a was deleted with none Ready:
        // the state must change, or the screen keeps showing a route it believes healthy.
        let before =
            decide(on("a"), trouble("connection refused", true), Some("a"), URL, &waiting());
        let after = decide(
            Tracking::default(),
            trouble("connection refused", true),
            Some("a"),
            URL,
            &waiting(),
        );
        assert_eq!(before, ForwardState::Reconnecting { why: "connection refused".into() });
        assert_eq!(
            after,
            ForwardState::Reconnecting {
                why: "pod a is no longer Ready; waiting for another Ready pod".into()
            }
        );
    }

    #[test]
    fn the_watch_s_trouble_comes_first_and_a_lasting_one_fails() {
        let watch = |transient| Tracking { target: None, trouble: trouble("forbidden", transient) };
        let failed = decide(watch(false), None, Some("a"), URL, &waiting());
        assert!(matches!(failed, ForwardState::Failed(t) if t.cause == "forbidden"));
        let retrying = decide(watch(true), None, Some("a"), URL, &waiting());
        assert_eq!(retrying, ForwardState::Reconnecting { why: "forbidden".into() });
        let spare = decide(on("a"), trouble("rbac", false), None, URL, &waiting());
        assert!(matches!(spare, ForwardState::Failed(t) if t.cause == "rbac"));
    }

    #[test]
    fn a_ready_pod_listens_and_none_yet_waits() {
        let listening = decide(on("b"), None, Some("a"), URL, &waiting());
        assert_eq!(listening, ForwardState::Listening { url: URL.into(), pod: "b".into() });
        assert_eq!(decide(Tracking::default(), None, None, URL, &waiting()), waiting());
    }
}
