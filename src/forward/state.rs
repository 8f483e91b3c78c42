//! The state a forward reports, decided from what it knows: the pod watch, the last attempt to
//! open a stream ahead, and the pod it served last; and, with it, why a new connection cannot
//! be carried while the state is anything but `Listening`.

use super::event::ForwardState;
use super::explain::Explained;
use super::target::Tracking;
use crate::trouble::Trouble;

/// What the forward reports, and what a connection it cannot carry is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub state: ForwardState,
    /// Why a new connection cannot be carried now; `None` exactly while `Listening`.
    pub down: Option<Trouble>,
}

/// The watch's trouble first, then the loss of the pod, then a spare's trouble: a stream that
/// failed to open for a pod now gone must not hide that the pod is gone. Before the watch has
/// listed the pods, no pod is not yet "waiting": it is still starting.
pub fn decide(
    tracking: Tracking,
    spare: Option<Explained>,
    last_pod: Option<&str>,
    url: &str,
    waiting: &ForwardState,
) -> Decision {
    let down = |state: ForwardState, trouble: Trouble| Decision { state, down: Some(trouble) };
    match (tracking.trouble, tracking.target, spare) {
        (Some(t), _, _) | (None, Some(_), Some(t)) if !t.transient => {
            down(ForwardState::Failed(t.trouble.clone()), t.trouble)
        }
        (Some(t), _, _) | (None, Some(_), Some(t)) => {
            down(ForwardState::Reconnecting(t.trouble.clone()), t.trouble)
        }
        (None, Some(target), None) => Decision {
            state: ForwardState::Listening { url: url.to_owned(), pod: target.pod },
            down: None,
        },
        (None, None, _) if !tracking.listed => down(
            ForwardState::Starting,
            Trouble::new(
                "the forward is still looking for the Service's pods",
                "requests go through as soon as it has found a Ready one",
            ),
        ),
        (None, None, _) => match last_pod {
            Some(pod) => {
                let why = format!("pod {pod} is no longer Ready; waiting for another Ready pod");
                let fix = format!(
                    "nothing to do if a pod comes back: the forward follows it on its own{}",
                    check_pods(waiting)
                );
                let trouble = Trouble::new(why, fix);
                down(ForwardState::Reconnecting(trouble.clone()), trouble)
            }
            None => {
                let trouble = waiting.trouble().unwrap_or_else(|| {
                    Trouble::new(waiting.hint(), "requests go through as soon as a pod is Ready")
                });
                down(waiting.clone(), trouble)
            }
        },
    }
}

/// `; check `kubectl get pods -n NS -l SELECTOR``, when the Service's selector is known.
fn check_pods(waiting: &ForwardState) -> String {
    match waiting {
        ForwardState::WaitingForPod { namespace, selector, .. } => {
            format!("; check `kubectl get pods -n {namespace} -l {selector}`")
        }
        _ => String::new(),
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
        Tracking {
            target: Some(Target { pod: pod.into(), port: 8080 }),
            trouble: None,
            listed: true,
        }
    }

    #[test]
    fn a_lost_pod_is_reported_even_while_a_spare_for_it_was_failing() {
        // The spare for pod a failed (backend down), then pod a was deleted with none Ready:
        // the state must change, or the screen keeps showing a route it believes healthy.
        let before =
            decide(on("a"), trouble("connection refused", true), Some("a"), URL, &waiting()).state;
        let after = decide(
            Tracking { listed: true, ..Tracking::default() },
            trouble("connection refused", true),
            Some("a"),
            URL,
            &waiting(),
        )
        .state;
        let cause = |state: ForwardState| state.trouble().map(|t| t.cause);
        assert!(matches!(before, ForwardState::Reconnecting(_)));
        assert_eq!(cause(before).as_deref(), Some("connection refused"));
        assert!(matches!(after, ForwardState::Reconnecting(_)));
        assert_eq!(
            cause(after).as_deref(),
            Some("pod a is no longer Ready; waiting for another Ready pod")
        );
    }

    #[test]
    fn the_watch_s_trouble_comes_first_and_a_lasting_one_fails() {
        let watch = |transient| Tracking {
            target: None,
            trouble: trouble("forbidden", transient),
            listed: true,
        };
        let failed = decide(watch(false), None, Some("a"), URL, &waiting()).state;
        assert!(matches!(failed, ForwardState::Failed(t) if t.cause == "forbidden"));
        let retrying = decide(watch(true), None, Some("a"), URL, &waiting()).state;
        assert!(matches!(retrying, ForwardState::Reconnecting(t) if t.cause == "forbidden"));
        let spare = decide(on("a"), trouble("rbac", false), None, URL, &waiting()).state;
        assert!(matches!(spare, ForwardState::Failed(t) if t.cause == "rbac"));
    }

    #[test]
    fn a_ready_pod_listens_and_none_yet_waits() {
        let listening = decide(on("b"), None, Some("a"), URL, &waiting()).state;
        assert_eq!(listening, ForwardState::Listening { url: URL.into(), pod: "b".into() });
        let listed = || Tracking { listed: true, ..Tracking::default() };
        assert_eq!(decide(listed(), None, None, URL, &waiting()).state, waiting());
        // Before the pods are listed, no pod says nothing yet: the forward still starts.
        let unlisted = decide(Tracking::default(), None, None, URL, &waiting()).state;
        assert_eq!(unlisted, ForwardState::Starting);
    }

    #[test]
    fn only_a_listening_forward_carries_new_connections_the_others_say_why_not() {
        assert_eq!(decide(on("a"), None, None, URL, &waiting()).down, None);
        let troubled = decide(on("a"), trouble("connection refused", true), None, URL, &waiting());
        assert_eq!(troubled.down, Some(Trouble::new("connection refused", "fix")));
        let listed = Tracking { listed: true, ..Tracking::default() };
        let none_yet = decide(listed.clone(), None, None, URL, &waiting()).down.unwrap();
        assert_eq!(
            none_yet.cause,
            "waiting for a Ready pod of svc/serena-mcp in mcp (selector app=serena-mcp)"
        );
        assert!(none_yet.fix.ends_with("check `kubectl get pods -n mcp -l app=serena-mcp`"));
        let lost = decide(listed, None, Some("a"), URL, &waiting()).down.unwrap();
        assert_eq!(lost.cause, "pod a is no longer Ready; waiting for another Ready pod");
        assert!(lost.fix.contains("kubectl get pods -n mcp -l app=serena-mcp"), "{}", lost.fix);
    }
}
