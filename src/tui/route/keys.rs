//! The engine's fixes name the command line (`mcp-connect trust NAME`, `--local-port N`,
//! `--context NAME`); on the screen the same fix names the key that does it. The cause and the
//! rest of the fix are the engine's, word for word.

use crate::tui::keymap::{Action, Context, first_key};

/// `fix` with its command-line steps told as the keys of the main screen.
pub fn in_keys(fix: &str) -> String {
    let mut text = fix.to_owned();
    // `mcp-connect trust NAME` (with or without flags): the pin popup.
    while let Some(start) = text.find("`mcp-connect trust ") {
        let Some(len) = text[start + 1..].find('`') else { break };
        let end = start + 1 + len + 1;
        // "run `mcp-connect trust NAME`" reads "press p (pin)", not "run press p".
        let start = if text[..start].ends_with("run ") { start - 4 } else { start };
        text.replace_range(start..end, &format!("press {} (pin)", key(Action::Pin)));
    }
    let words =
        [("--local-port", Action::Edit, "local port"), ("--context", Action::Contexts, "context")];
    for (flag, action, what) in words {
        // Flags inside a quoted command are that command's (`kubectl --context lab …`).
        let outside = |text: &str, at: usize| text[..at].matches('`').count().is_multiple_of(2);
        while let Some(start) =
            text.match_indices(flag).map(|(at, _)| at).find(|&at| outside(&text, at))
        {
            let after = start + flag.len();
            let value_start = if text[after..].starts_with(' ') { after + 1 } else { after };
            let value_end = text[value_start..]
                .find(|c: char| c.is_whitespace() || c == ')' || c == ',' || c == '`')
                .map_or(text.len(), |i| value_start + i);
            let value = text[value_start..value_end].to_owned();
            // "use --local-port 8081" reads "press e and set the local port 8081"; a flag
            // without a value ("choose another --local-port") names the key after the word.
            let (start, with) = match (value.is_empty(), text[..start].ends_with("use ")) {
                (true, _) => (start, format!("{what} ({} edits it)", key(action))),
                (false, true) => {
                    (start - 4, format!("press {} and set the {what} {value}", key(action)))
                }
                (false, false) => (start, format!("{what} {value} ({})", key(action))),
            };
            text.replace_range(start..value_end, &with);
        }
    }
    text
}

/// The first key of `action` on the main screen.
fn key(action: Action) -> String {
    first_key(Context::Main, action).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::in_keys;

    #[test]
    fn a_trust_command_becomes_the_pin_key() {
        assert_eq!(
            in_keys("pin it: `mcp-connect trust gateway-port-forward`, after checking it"),
            "pin it: press p (pin), after checking it"
        );
    }

    #[test]
    fn flags_become_the_keys_that_set_them() {
        assert_eq!(
            in_keys("stop that process, or use --local-port 8081 (the next free port)"),
            "stop that process, or press e and set the local port 8081 (the next free port)"
        );
        assert_eq!(
            in_keys("stop its holder, or choose another --local-port"),
            "stop its holder, or choose another local port (e edits it)"
        );
        assert_eq!(in_keys("use --context staging"), "press x and set the context staging");
        let kubectl = "check `kubectl --context lab cluster-info`";
        assert_eq!(in_keys(kubectl), kubectl, "another command's flags stay");
    }

    #[test]
    fn a_fix_without_commands_is_unchanged() {
        let fix = "check `kubectl get pods -n mcp -l app=serena-mcp`";
        assert_eq!(in_keys(fix), fix);
    }
}
