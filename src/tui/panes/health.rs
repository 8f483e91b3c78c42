//! The health pane: the route's state with cause and fix, who answers (server, version,
//! protocol, tools), latency last/p50/p95 and a sparkline of recent samples, and the last
//! diagnosis (`d`). Its state is how far it is scrolled; it draws the selected route's view.
//! Text is laid out for the pane's width; when cause and fix do not both fit, the fix comes
//! first (what to do, then why), and the pane scrolls to the rest.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use crate::trouble::Trouble;
use crate::tui::route::{Diagnosis, Row, Status, in_keys, millis};
use crate::tui::text;
use crate::tui::theme::Theme;

/// Rows the sparkline takes at most.
pub const SPARK_MOST: usize = SPARK_ROWS.1;
/// Rows the sparkline takes at least, when there is room, and at most.
const SPARK_ROWS: (usize, usize) = (3, 8);

/// How far the pane is scrolled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Health {
    pub scroll: u16,
}

/// `cause …` and `fix …` (the engine's fix, its command-line steps as this screen's keys), each
/// wrapped under its text; with `fix_first` the fix leads.
fn problem<'a>(
    lines: &mut Vec<Line<'a>>,
    problem: &'a Trouble,
    theme: &Theme,
    width: u16,
    fix_first: bool,
) {
    let cause = text::hanging(
        Span::styled("cause ", theme.label()),
        vec![Span::styled(problem.cause.as_str(), theme.error())],
        width,
    );
    let fix = text::hanging(
        Span::styled("fix   ", theme.label()),
        vec![Span::styled(in_keys(&problem.fix), theme.fix())],
        width,
    );
    let (first, second) = if fix_first { (fix, cause) } else { (cause, fix) };
    lines.extend(first);
    lines.extend(second);
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

fn diagnosis<'a>(lines: &mut Vec<Line<'a>>, diagnosis: &'a Diagnosis, theme: &Theme, width: u16) {
    let head = Span::styled("diagnose ", theme.label());
    let value = match diagnosis {
        Diagnosis::Pending => vec![Span::raw("running…")],
        Diagnosis::Healthy { url, server, took } => vec![
            Span::styled("healthy", theme.good()),
            Span::raw(format!(
                ": {} {}, {} tools, ping {} at {url}",
                server.name,
                server.version,
                server.tools,
                millis(*took)
            )),
        ],
        Diagnosis::Unhealthy { url, problem: p } => {
            let fails = vec![Span::styled(format!("{url} fails"), theme.error())];
            lines.extend(text::hanging(head, fails, width));
            return problem(lines, p, theme, width, false);
        }
        Diagnosis::Error(why) => vec![Span::styled(why.as_str(), theme.error())],
    };
    lines.extend(text::hanging(head, value, width));
}

/// Every text line of the pane for `row`, laid out for `width` columns; with `fix_first` the
/// route's fix comes before its cause.
pub fn lines<'a>(row: &'a Row, theme: &Theme, width: u16, fix_first: bool) -> Vec<Line<'a>> {
    let view = &row.view;
    let mut lines = text::wrapped(state_line(row, theme).spans, width);
    if let (false, Some(p)) = (row.status() == Status::Invalid, &view.status.trouble) {
        problem(&mut lines, p, theme, width, fix_first);
    }
    let label = |text: &'static str| Span::styled(text, theme.label());
    if let Some(server) = &view.status.server {
        let name = format!("{} {}", server.name, server.version);
        lines.extend(text::hanging(label("server "), vec![Span::raw(name)], width));
        let proto = format!("{} · {}", server.protocol, server.transport);
        lines.extend(text::hanging(label("proto  "), vec![Span::raw(proto)], width));
        lines.push(Line::from(vec![label("tools  "), Span::raw(server.tools.to_string())]));
        if let Some(note) = &server.note {
            let note = vec![Span::styled(note.as_str(), theme.fix())];
            lines.extend(text::hanging(label("note   "), note, width));
        }
    }
    let latency = &view.latency;
    if let Some(last) = latency.last {
        let figure = |d: Option<std::time::Duration>| d.map(millis).unwrap_or_default();
        lines.extend(text::wrapped(
            vec![
                label("last "),
                Span::raw(millis(last)),
                label("  p50 "),
                Span::raw(figure(latency.p50)),
                label("  p95 "),
                Span::raw(figure(latency.p95)),
            ],
            width,
        ));
    }
    if let Some(d) = &view.diagnosis {
        diagnosis(&mut lines, d, theme, width);
    }
    lines
}

/// The pane's lines for `row` in `area`: cause first when everything fits, else the fix first.
pub fn fitted<'a>(row: &'a Row, area: Rect, theme: &Theme) -> Vec<Line<'a>> {
    let block = super::block(" Health ", false, theme);
    let width = super::text_width(&block, area);
    let lines = lines(row, theme, width, false);
    if super::overflow(&block, area, lines.len()) > 0 && row.view.status.trouble.is_some() {
        return self::lines(row, theme, width, true);
    }
    lines
}

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    row: Option<&Row>,
    state: Health,
    focused: bool,
    theme: &Theme,
) {
    let block = super::block(" Health ", focused, theme);
    let Some(row) = row else { return frame.render_widget(block, area) };
    let text = fitted(row, area, theme);
    let inner = block.inner(area);
    let history = &row.view.latency.history_us;
    // The sparkline takes the rows the text leaves, when the text fits.
    let free = usize::from(inner.height).saturating_sub(text.len());
    let rows = (usize::from(inner.height) / 3).clamp(SPARK_ROWS.0, SPARK_ROWS.1);
    let spark = u16::try_from(free.min(rows)).unwrap_or(0);
    if history.is_empty() || spark == 0 || state.scroll > 0 {
        return super::scrolling(frame, area, block, text, state.scroll, theme);
    }
    frame.render_widget(block, area);
    let [text_area, spark_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(spark)]).areas(inner);
    frame.render_widget(Paragraph::new(text), text_area);
    // The newest samples that fit, oldest on the left.
    let shown = &history[history.len().saturating_sub(usize::from(spark_area.width))..];
    // Bars from half the fastest sample up, so that the differences show.
    let floor = shown.iter().min().copied().unwrap_or(0) / 2;
    let bars = shown.iter().map(|us| us - floor);
    let sparkline = Sparkline::default().data(bars).style(theme.sparkline());
    frame.render_widget(sparkline, spark_area);
}
