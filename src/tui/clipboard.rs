//! Copy to the clipboard through the terminal: the OSC 52 escape sequence, which the terminal
//! itself acts on, so that it works over SSH and inside tmux (with `set-clipboard on`, tmux
//! keeps the text as a paste buffer and passes it on to the terminal outside).
//!
//! The App never writes to the terminal: a key that copies leaves a [`Copy`] for the event
//! loop, which writes [`osc52`] of it and tells the App how that went.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A text to copy, and what it is (for the status bar: "copied the log line").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub what: String,
    pub text: String,
}

impl Copy {
    pub fn new(what: impl Into<String>, text: impl Into<String>) -> Copy {
        Copy { what: what.into(), text: text.into() }
    }

    /// The status bar's note once the sequence was written, or why it was not.
    pub fn note(&self, written: &std::io::Result<()>) -> String {
        match written {
            Ok(()) => format!("copied {} ({} characters)", self.what, self.text.chars().count()),
            Err(error) => format!("could not copy {}: {error}", self.what),
        }
    }
}

/// `ESC ] 52 ; c ; BASE64 BEL`: sets the clipboard (`c`) to `text`.
///
/// Plain, never wrapped in tmux's passthrough (`ESC P tmux; …`): tmux with `set-clipboard on`
/// takes the plain sequence itself, makes it a paste buffer and sets the outer terminal's
/// clipboard, while passthrough needs `allow-passthrough` and skips tmux's buffers.
pub fn osc52(text: &str) -> String {
    format!("\u{1b}]52;c;{}\u{7}", STANDARD.encode(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_is_esc_bracket_52_c_base64_bel() {
        assert_eq!(osc52("hello"), "\u{1b}]52;c;aGVsbG8=\u{7}");
        let entry = r#"{"type":"http","url":"http://127.0.0.1:8080/mcp"}"#;
        let sequence = osc52(entry);
        let payload = sequence
            .strip_prefix("\u{1b}]52;c;")
            .and_then(|s| s.strip_suffix('\u{7}'))
            .expect("ESC ] 52 ; c ; … BEL");
        assert!(!payload.contains(['\u{1b}', '\u{7}', '\n']), "one sequence, nothing to break it");
        assert_eq!(STANDARD.decode(payload).unwrap(), entry.as_bytes());
        assert_eq!(osc52("é…"), format!("\u{1b}]52;c;{}\u{7}", "w6nigKY="), "UTF-8 bytes");
    }

    #[test]
    fn the_note_says_what_was_copied_or_why_not() {
        let copy = Copy::new("the log line", "naïve");
        assert_eq!(copy.note(&Ok(())), "copied the log line (5 characters)");
        let gone = std::io::Error::from_raw_os_error(libc::EIO);
        assert!(copy.note(&Err(gone)).starts_with("could not copy the log line: "));
    }
}
