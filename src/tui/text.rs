//! Text laid out for a width before it is drawn: a labelled value whose wrapped lines hang under
//! the value, not under the label, and the exact number of rows a pane's text takes, so that
//! panes know when they scroll.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// `label` then `value`, wrapped at `width` columns, every later line indented under the value.
/// Words are kept whole unless one alone is wider than the room; styles are kept.
pub fn hanging<'a>(label: Span<'a>, value: Vec<Span<'a>>, width: u16) -> Vec<Line<'a>> {
    let indent = label.width();
    let room = usize::from(width).saturating_sub(indent).max(1);
    let mut lines: Vec<Vec<Span<'a>>> = vec![Vec::new()];
    let mut used = 0;
    for (word, style) in words(&value) {
        let blank = word.trim().is_empty();
        let w = word.width();
        if used + w > room && used > 0 {
            if blank {
                continue;
            }
            lines.push(Vec::new());
            used = 0;
        }
        if blank && used == 0 && lines.len() > 1 {
            continue;
        }
        // A word wider than the room is cut where the room ends.
        let mut rest = word.as_str();
        while used + rest.width() > room {
            let (head, tail) = split_at_width(rest, room - used);
            if head.is_empty() {
                break;
            }
            push(lines.last_mut().expect("one line at least"), head, style);
            lines.push(Vec::new());
            used = 0;
            rest = tail;
        }
        push(lines.last_mut().expect("one line at least"), rest, style);
        used += rest.width();
    }
    let pad = " ".repeat(indent);
    lines
        .into_iter()
        .enumerate()
        .map(|(i, mut spans)| {
            // A line ends at its last word, not at the space before the next one.
            if let Some(last) = spans.last_mut() {
                let kept = last.content.trim_end().len();
                last.content.to_mut().truncate(kept);
            }
            let lead = if i == 0 { label.clone() } else { Span::raw(pad.clone()) };
            spans.insert(0, lead);
            Line::from(spans)
        })
        .collect()
}

/// A line of plain spans, wrapped at `width` with no indent.
pub fn wrapped<'a>(value: Vec<Span<'a>>, width: u16) -> Vec<Line<'a>> {
    hanging(Span::raw(""), value, width)
}

/// Each word of `spans` with its trailing run of spaces as its own "word", styles kept.
fn words(spans: &[Span<'_>]) -> Vec<(String, Style)> {
    let mut out = Vec::new();
    for span in spans {
        let mut current = String::new();
        let mut in_space = None;
        for c in span.content.chars() {
            let space = c == ' ';
            if in_space.is_some_and(|s| s != space) {
                out.push((std::mem::take(&mut current), span.style));
            }
            in_space = Some(space);
            current.push(c);
        }
        if !current.is_empty() {
            out.push((current, span.style));
        }
    }
    out
}

fn push<'a>(line: &mut Vec<Span<'a>>, text: &str, style: Style) {
    if text.is_empty() {
        return;
    }
    match line.last_mut() {
        Some(last) if last.style == style => last.content.to_mut().push_str(text),
        _ => line.push(Span::styled(text.to_owned(), style)),
    }
}

/// `text` split where its first `width` columns end.
fn split_at_width(text: &str, width: usize) -> (&str, &str) {
    let mut used = 0;
    for (at, c) in text.char_indices() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width {
            return text.split_at(at);
        }
        used += w;
    }
    (text, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect()
    }

    #[test]
    fn a_wrapped_value_hangs_under_the_value_column() {
        let value = vec![Span::raw("Anyone who can reach the local port can use Serena")];
        let lines = hanging(Span::raw("Bad      "), value, 30);
        assert_eq!(
            plain(&lines),
            ["Bad      Anyone who can reach", "         the local port can", "         use Serena"]
        );
    }

    #[test]
    fn a_word_wider_than_the_room_is_cut_where_the_room_ends() {
        let value = vec![Span::raw("http://127.0.0.1:41234/mcp")];
        let lines = hanging(Span::raw("Local    "), value, 20);
        assert_eq!(
            plain(&lines),
            ["Local    http://127.", "         0.0.1:41234", "         /mcp"]
        );
    }

    #[test]
    fn a_value_that_fits_whole_stays_on_the_labels_line() {
        let value = vec![Span::raw("mcp/svc/serena-mcp:8080")];
        let lines = hanging(Span::raw("Target   "), value, 40);
        assert_eq!(plain(&lines), ["Target   mcp/svc/serena-mcp:8080"]);
    }

    #[test]
    fn styles_are_kept_across_the_wrap() {
        let bold = Style::default().add_modifier(ratatui::style::Modifier::BOLD);
        let value = vec![Span::raw("plain words "), Span::styled("bold words here", bold)];
        let lines = wrapped(value, 16);
        assert_eq!(plain(&lines), ["plain words bold", "words here"]);
        assert_eq!(lines[1].spans[1].style, bold);
    }
}
