//! The listing's pieces: a table with columns as wide as their cells, a value cut to a width
//! keeping both ends (a host's start and its port, a path's start and its file name), and text
//! wrapped under its label.

/// Between two columns.
const GAP: &str = "  ";

/// The table's lines, each column as wide as its widest cell.
pub fn lines<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> Vec<String> {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let padded: Vec<String> =
            cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join(GAP).trim_end().to_owned()
    };
    let mut lines = vec![line(header)];
    lines.extend(rows.iter().map(|row| line(row.each_ref().map(String::as_str))));
    lines
}

/// `text` in at most `width` characters: its start and end with `…` between when it is longer.
pub fn cut(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    let tail = width.saturating_sub(1) / 2;
    let head = width.saturating_sub(1) - tail;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// `text` after `first` (`  error: `), wrapped at `width` with its later lines under the text.
pub fn wrapped(first: &str, text: &str, width: Option<usize>) -> String {
    let Some(width) = width else { return format!("{first}{text}") };
    let indent = " ".repeat(first.chars().count());
    let options = textwrap::Options::new(width).initial_indent(first).subsequent_indent(&indent);
    textwrap::fill(text, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let rows = [["serena-direct".to_owned(), "x".to_owned()], ["r".to_owned(), "".to_owned()]];
        let lines = lines(["NAME", "ROUTE"], &rows);
        assert_eq!(lines, ["NAME           ROUTE", "serena-direct  x", "r"]);
    }

    #[test]
    fn a_cut_value_keeps_its_start_and_its_end() {
        let host = "k8s-mcp-mcpgatew-dae950c5b5-2f1dace9a3e601aa.elb.amazonaws.com:8443";
        assert_eq!(cut(host, 30), "k8s-mcp-mcpgate…onaws.com:8443");
        assert_eq!(cut("short", 30), "short");
    }

    #[test]
    fn an_error_wraps_under_its_text() {
        let text = wrapped("  error: ", "a b c d e f g h i j k l m n o p", Some(20));
        assert_eq!(text, "  error: a b c d e f\n         g h i j k l\n         m n o p");
    }
}
