//! A kubeconfig's credential plugin (`users[].user.exec`: how EKS, GKE and AKS log in) that is
//! missing or fails, explained: the command by name, the last line it wrote to stderr, and the
//! login to run. kube-rs reports these as its `AuthError`, whose text is a debug dump of the
//! process's output.

use kube::client::AuthError;
use kube::config::ExecConfig;

use crate::trouble::Trouble;

/// The trouble a failing credential plugin makes, or `None` when `error` is not the plugin's.
/// `exec` is the kubeconfig's plugin entry, when known: it names the command best.
pub fn explain(error: &AuthError, exec: Option<&ExecConfig>) -> Option<Trouble> {
    let named = exec.and_then(command_line);
    match error {
        AuthError::AuthExecStart(io) => {
            let command = named.unwrap_or_else(|| "the credential plugin".to_owned());
            let program = exec.and_then(|e| e.command.clone()).unwrap_or_default();
            let hint = exec.and_then(|e| e.install_hint.as_deref()).map(|h| h.trim().to_owned());
            let (cause, fix) = match io.kind() {
                std::io::ErrorKind::NotFound => (
                    format!(
                        "the kubeconfig's credential plugin `{command}` is not installed \
                         (not on PATH)"
                    ),
                    hint.unwrap_or_else(|| {
                        format!("install `{program}` or put it on PATH, then start the route again")
                    }),
                ),
                _ => (
                    format!("the kubeconfig's credential plugin `{command}` does not start: {io}"),
                    format!("check that `{program}` is executable, then start the route again"),
                ),
            };
            Some(Trouble::new(cause, fix))
        }
        AuthError::AuthExecRun { cmd, out } => {
            let command = named.unwrap_or_else(|| from_debug(cmd));
            let said = last_line(&out.stderr)
                .or_else(|| last_line(&out.stdout))
                .map(|line| format!(": {line}"))
                .unwrap_or_default();
            let cause = format!(
                "the kubeconfig's credential plugin `{command}` failed ({}){said}",
                out.status
            );
            Some(Trouble::new(cause, login_fix(&command)))
        }
        AuthError::AuthExecParse(why) => {
            let command = named.unwrap_or_else(|| "the credential plugin".to_owned());
            let cause = format!(
                "the kubeconfig's credential plugin `{command}` printed no ExecCredential: {why}"
            );
            let fix = format!("run `{command}` yourself: it must print an ExecCredential (JSON)");
            Some(Trouble::new(cause, fix))
        }
        AuthError::MissingCommand => Some(Trouble::new(
            "the kubeconfig's user has an `exec` credential plugin with no command",
            "set `exec.command` for that user (`kubectl config view` shows it)",
        )),
        _ => None,
    }
}

/// The credential plugin's error in `error`, whether kube-rs reports it as such (building a
/// client) or inside the service error of a request (a token renewed mid-run).
pub fn cause_in(error: &kube::Error) -> Option<&AuthError> {
    if let kube::Error::Auth(auth) = error {
        return Some(auth);
    }
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if let Some(auth) = inner.downcast_ref::<AuthError>() {
            return Some(auth);
        }
        source = inner.source();
    }
    None
}

/// The plugin's command line as a user would type it.
fn command_line(exec: &ExecConfig) -> Option<String> {
    let mut words = vec![exec.command.clone()?];
    words.extend(exec.args.iter().flatten().cloned());
    Some(shell_words::join(words))
}

/// The command line out of the `Debug` text of a `std::process::Command` (`KEY="…" "prog"
/// "arg"`), without the environment it sets.
fn from_debug(debug: &str) -> String {
    match shell_words::split(debug) {
        Ok(words) => {
            let is_env = |w: &String| {
                w.split_once('=').is_some_and(|(name, _)| {
                    !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                })
            };
            let command: Vec<String> = words.into_iter().skip_while(is_env).collect();
            shell_words::join(command)
        }
        Err(_) => debug.to_owned(),
    }
}

/// The last line that says something, at most 300 characters.
fn last_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    Some(match line.char_indices().nth(300) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_owned(),
    })
}

/// How to get new credentials, for the plugins of the big clouds; otherwise run it by hand.
fn login_fix(command: &str) -> String {
    let program = command.split_whitespace().next().unwrap_or(command);
    let program = program.rsplit('/').next().unwrap_or(program);
    let login = match program {
        "aws" | "aws-iam-authenticator" => {
            Some("`aws sso login` (or refresh your AWS credentials)")
        }
        "gke-gcloud-auth-plugin" | "gcloud" => Some("`gcloud auth login`"),
        "kubelogin" => Some("`az login` (kubelogin reuses it)"),
        _ => None,
    };
    match login {
        Some(login) => {
            format!("log in again with {login}, check with `{command}`, then start the route again")
        }
        None => format!(
            "run `{command}` yourself to see why, log in again as your cluster requires, then \
             start the route again"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_read_out_of_its_debug_text_without_its_environment() {
        let debug =
            r#"KUBERNETES_EXEC_INFO="{\"kind\":\"ExecCredential\"}" "aws" "eks" "get-token""#;
        assert_eq!(from_debug(debug), "aws eks get-token");
        assert_eq!(from_debug(r#""/opt/bin/login" "--x=1""#), "/opt/bin/login '--x=1'");
    }

    #[test]
    fn the_last_line_said_is_kept_and_the_cloud_login_named() {
        assert_eq!(
            last_line(b"warming up\nerror: token expired\n\n").as_deref(),
            Some("error: token expired")
        );
        assert_eq!(last_line(b" \n"), None);
        assert!(login_fix("aws eks get-token").contains("aws sso login"));
        assert!(login_fix("/usr/bin/gke-gcloud-auth-plugin").contains("gcloud auth login"));
        assert!(login_fix("my-login").starts_with("run `my-login` yourself"));
    }
}
