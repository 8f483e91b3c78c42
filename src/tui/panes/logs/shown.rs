//! How one log line is shown: a head that stays put (time, source, route) and a body that
//! scrolls sideways or wraps (the pod, the text), and how many rows it takes. Both the pane's
//! drawing and its scrolling count rows here, so that they agree.

use std::borrow::Cow;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use textwrap::core::display_width;

use super::LogLine;

/// Columns of `HH:MM:SS `.
pub const TIME: usize = 9;
/// Columns of the source tag, `forward `.
pub const TAG: usize = 8;

/// The text area of the pane, in cells, and whether its lines wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pane {
    pub width: usize,
    pub height: usize,
    pub wrap: bool,
}

/// `12:34:56`, in `zone`.
pub fn clock(at: Timestamp, zone: &TimeZone) -> String {
    let t = zone.to_datetime(at);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

/// `2026-03-04 12:34:56.789 +01:00`, in `zone`.
pub fn when(at: Timestamp, zone: &TimeZone) -> String {
    let t = zone.to_datetime(at);
    let offset = zone.to_offset(at).seconds();
    let sign = if offset < 0 { '-' } else { '+' };
    let (hours, minutes) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
    let ms = t.millisecond();
    format!("{} {}.{ms:03} {sign}{hours:02}:{minutes:02}", t.date(), clock(at, zone))
}

/// `serena-direct: `, or nothing for a line about no route.
pub fn route(line: &LogLine) -> String {
    line.profile.as_deref().map(|p| format!("{p}: ")).unwrap_or_default()
}

/// Columns of the head: time, tag and route.
pub fn head_width(line: &LogLine) -> usize {
    TIME + TAG + display_width(&route(line))
}

/// `[pod] text` for a pod's line, the text otherwise.
pub fn body(line: &LogLine) -> Cow<'_, str> {
    match &line.pod {
        Some(pod) => Cow::Owned(format!("[{pod}] {}", line.text)),
        None => Cow::Borrowed(&line.text),
    }
}

/// Columns of the whole line, head and body, unwrapped.
pub fn width(line: &LogLine) -> usize {
    head_width(line) + display_width(&body(line))
}

/// Where the rows after a wrapped line's first start: under its body, unless the head takes
/// more than half the pane.
pub fn indent(line: &LogLine, pane: Pane) -> usize {
    head_width(line).min(pane.width / 2)
}

/// The body's pieces, one per row: the first beside the head, the others after
/// [`indent`]. One piece when the pane does not wrap.
pub fn pieces(line: &LogLine, pane: Pane) -> Vec<String> {
    let body = body(line);
    let head = head_width(line);
    if !pane.wrap || head + display_width(&body) <= pane.width || pane.width <= head {
        return vec![body.into_owned()];
    }
    let first = " ".repeat(head);
    let rest = " ".repeat(indent(line, pane));
    let options = textwrap::Options::new(pane.width)
        .initial_indent(&first)
        .subsequent_indent(&rest)
        .break_words(true);
    textwrap::wrap(&body, options)
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let skip = if i == 0 { head } else { rest.len() };
            row.get(skip..).unwrap_or_default().to_owned()
        })
        .collect()
}

/// Rows the line takes in `pane`.
pub fn rows(line: &LogLine, pane: Pane) -> usize {
    if !pane.wrap || width(line) <= pane.width || pane.width <= head_width(line) {
        return 1;
    }
    pieces(line, pane).len().max(1)
}

#[cfg(test)]
mod tests {
    use super::super::Source;
    use super::*;

    fn pane(width: usize, wrap: bool) -> Pane {
        Pane { width, height: 10, wrap }
    }

    #[test]
    fn a_long_line_wraps_under_its_body_and_keeps_every_word() {
        let text = "same with the claude CLI: cd /demo/project && claude mcp add --scope project";
        let line = LogLine::new(Source::Config, Some("serena-direct"), text);
        assert_eq!(head_width(&line), 9 + 8 + 15);
        assert_eq!(rows(&line, pane(60, false)), 1);
        let pieces = pieces(&line, pane(60, true));
        // 28 columns beside the head, then 30 under it (the head takes more than half).
        let expected =
            ["same with the claude CLI: cd", "/demo/project && claude mcp", "add --scope project"];
        assert_eq!(pieces, expected);
        assert_eq!(rows(&line, pane(60, true)), 3);
        assert_eq!(pieces.join(" "), text);
    }

    #[test]
    fn a_pods_line_shows_its_pod_once_in_its_body() {
        let line = LogLine::new(Source::Pod, Some("serena-direct"), "INFO POST /mcp 200")
            .from_pod("serena-mcp-1");
        assert_eq!(body(&line), "[serena-mcp-1] INFO POST /mcp 200");
    }

    #[test]
    fn times_are_shown_in_the_zone_given() {
        let at: Timestamp = "2026-03-04T05:06:07.891Z".parse().unwrap();
        let paris = TimeZone::fixed(jiff::tz::offset(1));
        assert_eq!(clock(at, &TimeZone::UTC), "05:06:07");
        assert_eq!(clock(at, &paris), "06:06:07");
        assert_eq!(when(at, &paris), "2026-03-04 06:06:07.891 +01:00");
    }
}
