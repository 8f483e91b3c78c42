//! The health pane: the route's state with cause and fix, who answers (server, version,
//! protocol, tools), latency last/p50/p95 and a sparkline of recent samples, and the last
//! diagnosis (`d`). It has no state of its own: it draws the selected route's view.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Wrap};

use crate::trouble::Trouble;
use crate::tui::route::{Diagnosis, Row, Status, in_keys, millis};
use crate::tui::theme::Theme;

/// Rows the sparkline takes at least, when there is room, and at most.
const SPARK_ROWS: (usize, usize) = (3, 8);

fn problem<'a>(lines: &mut Vec<Line<'a>>, problem: &'a Trouble, theme: &Theme) {
    lines.push(Line::from(vec![
        Span::styled("cause ", theme.label()),
        Span::styled(problem.cause.as_str(), theme.error()),
    ]));
    // The engine's fix, with its command-line steps as this screen's keys.
    lines.push(Line::from(vec![
        Span::styled("fix   ", theme.label()),
        Span::styled(in_keys(&problem.fix), theme.fix()),
    ]));
}

fn state_line<'a>(row: &'a Row, theme: &Theme) -> Line<'a> {
    let status = row.status();
    let mut spans =
        vec![Span::styled(format!("{} {}", status.glyph(), status.label()), theme.status(status))];
    let note = match status {
        Status::Stopped => Some("enter starts it, d probes it".to_owned()),
        Status::Invalid => None,
        // Cause and fix follow; what the phase rests on is said when nothing is wrong.
        _ if row.view.status.trouble.is_some() => None,
        _ => Some(row.view.status.evidence.clone()),
    };
    if let Some(note) = note {
        spans.push(Span::styled(format!(" — {note}"), theme.dim()));
    }
    Line::from(spans)
}

fn diagnosis<'a>(lines: &mut Vec<Line<'a>>, diagnosis: &'a Diagnosis, theme: &Theme) {
    let head = Span::styled("diagnose ", theme.label());
    match diagnosis {
        Diagnosis::Pending => lines.push(Line::from(vec![head, Span::raw("running…")])),
        Diagnosis::Healthy { url, server, took } => lines.push(Line::from(vec![
            head,
            Span::styled("healthy", theme.good()),
            Span::raw(format!(
                ": {} {}, {} tools, ping {} at {url}",
                server.name,
                server.version,
                server.tools,
                millis(*took)
            )),
        ])),
        Diagnosis::Unhealthy { url, problem: p } => {
            lines.push(Line::from(vec![head, Span::styled(format!("{url} fails"), theme.error())]));
            problem(lines, p, theme);
        }
        Diagnosis::Error(why) => {
            lines.push(Line::from(vec![head, Span::styled(why.as_str(), theme.error())]));
        }
    }
}

/// Every text line of the pane for `row`.
pub fn lines<'a>(row: &'a Row, theme: &Theme) -> Vec<Line<'a>> {
    let view = &row.view;
    let mut lines = vec![state_line(row, theme)];
    if let (false, Some(p)) = (row.status() == Status::Invalid, &view.status.trouble) {
        problem(&mut lines, p, theme);
    }
    let label = |text: &'static str| Span::styled(text, theme.label());
    if let Some(server) = &view.status.server {
        lines.push(Line::from(vec![
            label("server "),
            Span::raw(format!("{} {}", server.name, server.version)),
        ]));
        lines.push(Line::from(vec![
            label("proto  "),
            Span::raw(format!("{} · {}", server.protocol, server.transport)),
        ]));
        lines.push(Line::from(vec![label("tools  "), Span::raw(server.tools.to_string())]));
    }
    let latency = &view.latency;
    if let Some(last) = latency.last {
        let figure = |d: Option<std::time::Duration>| d.map(millis).unwrap_or_default();
        lines.push(Line::from(vec![
            label("last "),
            Span::raw(millis(last)),
            label("  p50 "),
            Span::raw(figure(latency.p50)),
            label("  p95 "),
            Span::raw(figure(latency.p95)),
        ]));
    }
    if let Some(d) = &view.diagnosis {
        diagnosis(&mut lines, d, theme);
    }
    lines
}

pub fn draw(frame: &mut Frame, area: Rect, row: Option<&Row>, focused: bool, theme: &Theme) {
    let block = super::block(" Health ", focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(row) = row else { return };
    let text = lines(row, theme);
    let history = &row.view.latency.history_us;
    // Rows the text takes once wrapped (about: words may wrap a little earlier).
    let width = usize::from(inner.width.max(1));
    let used: usize = text.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
    let free = usize::from(inner.height).saturating_sub(used);
    let rows = (usize::from(inner.height) / 3).clamp(SPARK_ROWS.0, SPARK_ROWS.1);
    let spark = u16::try_from(free.min(rows)).unwrap_or(0);
    let [text_area, spark_area] = if history.is_empty() || spark == 0 {
        [inner, Rect::default()]
    } else {
        Layout::vertical([Constraint::Fill(1), Constraint::Length(spark)]).areas(inner)
    };
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), text_area);
    if spark_area.height > 0 {
        // The newest samples that fit, oldest on the left.
        let shown = &history[history.len().saturating_sub(usize::from(spark_area.width))..];
        // Bars from half the fastest sample up, so that the differences show.
        let floor = shown.iter().min().copied().unwrap_or(0) / 2;
        let bars = shown.iter().map(|us| us - floor);
        let sparkline = Sparkline::default().data(bars).style(theme.sparkline());
        frame.render_widget(sparkline, spark_area);
    }
}
