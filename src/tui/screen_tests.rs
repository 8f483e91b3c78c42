//! The screen as a user sees it, as committed insta snapshots (ratatui's `TestBackend`): the
//! main screen in each route state, the help popup and the write-config popup, at 80×24 and
//! 120×40; the log pane's states and the popups that copy also at 100×30 and 200×60. Latency
//! figures and the clock are fixed by the fixtures, so nothing volatile reaches a snapshot.

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::App;
use super::fixtures::{self, ROUTE, app, ch, key};
use crate::supervisor::hub::Event;
use crate::tui::theme::Theme;

const SIZES: [(u16, u16); 4] = [(80, 24), (100, 30), (120, 40), (200, 60)];
/// The sizes of the log pane's and the copy popups' states.
const MORE_SIZES: [(u16, u16); 4] = SIZES;

fn terminal(app: &App, (width, height): (u16, u16)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal.draw(|frame| app.draw(frame)).expect("drawing into a test buffer");
    terminal
}

/// Snapshots `app` at each size as `NAME_WxH`.
fn snapshot(name: &str, app: &App) {
    snapshot_at(name, app, &SIZES);
}

fn snapshot_at(name: &str, app: &App, sizes: &[(u16, u16)]) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for &size in sizes {
            let terminal = terminal(app, size);
            insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), terminal.backend());
        }
    });
}

fn with_events(events: Vec<Event>) -> App {
    let mut app = app();
    fixtures::feed(&mut app, events);
    app
}

#[test]
fn main_screen_stopped() {
    snapshot("main_stopped", &app());
}

#[test]
fn main_screen_starting() {
    snapshot("main_starting", &with_events(fixtures::starting()));
}

#[test]
fn main_screen_healthy_with_latency() {
    let mut app = with_events(fixtures::healthy());
    app.on_key(key(KeyCode::Enter));
    snapshot("main_healthy", &app);
}

#[test]
fn main_screen_slow() {
    snapshot("main_slow", &with_events(fixtures::slow()));
}

#[test]
fn main_screen_down_with_cause_and_fix() {
    snapshot("main_down", &with_events(fixtures::down()));
}

#[test]
fn main_screen_failed() {
    snapshot("main_failed", &with_events(fixtures::failed()));
}

#[test]
fn main_screen_router_with_its_gateways() {
    let mut app = with_events(fixtures::router());
    for _ in 0..3 {
        app.on_key(ch('j'));
    }
    snapshot("main_router", &app);
}

#[test]
fn main_screen_with_a_long_tls_failure_shows_cause_and_fix() {
    let app = with_events(fixtures::tls_refused());
    snapshot("main_tls_refused", &app);
    // At 80×24 the fix is whole and the cause begins; the pane scrolls to the rest.
    let screen = terminal(&app, (80, 24)).backend().to_string();
    let health = pane_text(&screen, "┌ Health ");
    assert!(health.contains("fix press p (pin) (it shows the certificate"), "{screen}");
    assert!(health.contains("in profile serena-direct"), "{screen}");
    assert!(health.contains("cause TLS refused the certificate"), "{screen}");
}

#[test]
fn the_route_pane_focused_and_scrolled() {
    let mut app = with_events(fixtures::healthy());
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Tab));
    for _ in 0..6 {
        app.on_key(ch('j'));
    }
    snapshot("route_scrolled", &app);
}

#[test]
fn help_popup() {
    let mut app = app();
    app.on_key(ch('?'));
    snapshot("help", &app);
}

/// An app whose clients' files are under `home` (none installed unless made so).
fn app_with_clients(home: &std::path::Path) -> App {
    let mut app = app();
    app.client_homes = Some(crate::clientconfig::Homes::under(home));
    app
}

#[test]
fn write_config_popup_asks_the_client_first_installed_ones_on_top() {
    let home = tempfile::tempdir().unwrap();
    for dir in [".gemini", ".codex"] {
        std::fs::create_dir_all(home.path().join(dir)).unwrap();
    }
    let mut app = app_with_clients(home.path());
    app.on_key(ch('w'));
    app.on_key(key(KeyCode::Down));
    snapshot("write_config_clients", &app);
    // Codex CLI, installed, is second: its scopes come next.
    app.on_key(key(KeyCode::Enter));
    let Some(crate::tui::popups::Popup::WriteConfig(popup)) = app.popup() else { panic!("open") };
    assert_eq!(popup.chosen_client(), crate::clientconfig::Client::Codex);
    let names: Vec<_> = popup.scopes().iter().map(|s| s.name()).collect();
    assert_eq!(names, ["project", "user"]);
}

#[cfg(target_os = "linux")]
#[test]
fn write_config_popup_names_another_clients_files() {
    let mut app = app_with_clients(std::path::Path::new("/home/me"));
    app.on_key(ch('w'));
    (0..3).for_each(|_| {
        app.on_key(key(KeyCode::Down));
    });
    app.on_key(key(KeyCode::Enter));
    snapshot("write_config_vscode_scopes", &app);
}

#[test]
fn write_config_popup_with_diff() {
    let mut app = app_with_clients(std::path::Path::new("/nonexistent"));
    app.on_key(ch('w'));
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Enter));
    app.on_event(Event::Config { profile: ROUTE.into(), result: Ok(fixtures::preview()) });
    snapshot("write_config_preview", &app);
}

#[test]
fn edit_popup_with_a_refused_value() {
    let mut app = app();
    app.on_key(ch('e'));
    app.on_key(key(KeyCode::Tab));
    app.on_key(ch('_'));
    app.on_key(key(KeyCode::Enter));
    snapshot("edit_refused", &app);
}

#[test]
fn pin_popup_showing_a_self_signed_certificate() {
    let mut app = app();
    app.on_key(ch('j'));
    app.on_key(ch('p'));
    let cert = fixtures::certificate(Some("no CA this machine trusts signed it"));
    let profile = "gateway-port-forward".into();
    app.on_event(Event::Certificate { profile, result: Ok(cert) });
    snapshot("pin_shown", &app);
}

/// Route 1 serving, its entry written (the log then says the `claude mcp add` command, the
/// longest line), the logs focused.
fn logs_focused() -> App {
    let mut events = fixtures::healthy();
    let written = crate::supervisor::hub::ConfigWritten { dry_run: false, ..fixtures::preview() };
    events.push(Event::Config { profile: ROUTE.into(), result: Ok(written) });
    let mut app = with_events(events);
    app.on_key(key(KeyCode::BackTab));
    app
}

#[test]
fn logs_wrapped() {
    let mut app = logs_focused();
    app.on_key(ch('W'));
    snapshot_at("logs_wrapped", &app, &MORE_SIZES);
}

#[test]
fn logs_scrolled_sideways() {
    let mut app = logs_focused();
    app.on_key(ch('l'));
    app.on_key(key(KeyCode::Right));
    snapshot_at("logs_sideways", &app, &MORE_SIZES);
}

#[test]
fn a_log_line_opened_whole() {
    let mut app = logs_focused();
    app.on_key(key(KeyCode::Enter));
    snapshot_at("log_line_popup", &app, &MORE_SIZES);
}

#[test]
fn the_claude_popup_offers_to_copy() {
    let mut app = with_events(fixtures::healthy());
    app.on_key(ch('c'));
    snapshot_at("claude_popup", &app, &MORE_SIZES);
}

#[test]
fn the_selected_log_line_is_shown_reversed_while_the_logs_have_the_focus() {
    use ratatui::style::Modifier;
    let reversed_rows = |app: &App| {
        let terminal = terminal(app, (80, 24));
        let buffer = terminal.backend().buffer().clone();
        let rows: Vec<String> = (0..buffer.area.height)
            .filter(|&y| {
                (0..buffer.area.width).any(|x| buffer[(x, y)].modifier.contains(Modifier::REVERSED))
            })
            .map(|y| (0..buffer.area.width).map(|x| buffer[(x, y)].symbol()).collect())
            .collect();
        rows
    };
    let mut app = logs_focused();
    app.on_key(ch('k'));
    let rows = reversed_rows(&app);
    let selected = rows.iter().filter(|r| r.starts_with("│12:35")).collect::<Vec<_>>();
    assert_eq!(selected.len(), 1, "{rows:#?}");
    assert!(selected[0].contains("/demo/project/.mcp.json: added"), "{rows:#?}");
    app.on_key(key(KeyCode::Tab));
    assert!(!reversed_rows(&app).iter().any(|r| r.starts_with("│12:35")), "not without the focus");
}

#[test]
fn no_color_draws_no_colour_and_the_colour_theme_does() {
    let colours = |theme: Theme| {
        let mut app = with_events(fixtures::down());
        app.theme = theme;
        let terminal = terminal(&app, (80, 24));
        let cells = terminal.backend().buffer().content().to_vec();
        cells.iter().filter(|c| c.fg != Color::Reset || c.bg != Color::Reset).count()
    };
    assert_eq!(colours(Theme::plain()), 0);
    assert!(colours(Theme::colored()) > 0);
}

#[test]
fn a_profile_that_does_not_load_is_listed_with_its_error() {
    let header = super::Header::default();
    let broken = vec![("mine".to_owned(), "mine.yaml:3:1: unknown field `lnk`".to_owned())];
    let app = App::new(Vec::new(), broken, header, fixtures::DIR.into(), Theme::plain());
    let screen = terminal(&app, (80, 24)).backend().to_string();
    assert!(screen.contains("! mine"), "{screen}");
    assert!(screen.contains("mine.yaml:3:1: unknown field"), "{screen}");
    assert!(screen.contains("kubeconfig none found  context none"), "{screen}");
}

#[test]
fn a_profile_file_that_cannot_be_read_is_listed_as_one_that_does_not_load() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(dir.path().join("x.yaml")).unwrap();
    symlink("nowhere.yaml", dir.path().join("gone.yaml")).unwrap();
    let user = crate::profile::UserDir::Explicit(dir.path().to_owned());
    let catalog = crate::profile::Catalog::load(&user).expect("the directory loads");
    let mut app = App::from_catalog(&catalog, super::Header::default(), "/".into(), Theme::plain());
    for _ in 0..4 {
        app.on_key(key(KeyCode::Down));
    }
    let screen = terminal(&app, (120, 40)).backend().to_string();
    assert!(screen.contains("! gone") && screen.contains("! x"), "{screen}");
    let detail = pane_text(&screen, "┌ Route ");
    let path = dir.path().join("gone.yaml");
    let says = format!(
        "gone does not load {}: cannot read the file: it is a symbolic link to nowhere.yaml, \
         which does not exist",
        path.display()
    );
    assert!(detail.starts_with(&says), "{detail}");
}

/// The text inside the pane whose top border starts with `title`, its lines joined by a space.
fn pane_text(screen: &str, title: &str) -> String {
    let lines: Vec<Vec<char>> =
        screen.lines().map(|l| l.trim_matches('"').chars().collect()).collect();
    let (top, left) = lines
        .iter()
        .enumerate()
        .find_map(|(y, line)| {
            let text: String = line.iter().collect();
            let at = text.find(title)?;
            Some((y, text[..at].chars().count()))
        })
        .unwrap_or_else(|| panic!("no pane `{title}` in {screen}"));
    // The pane ends at its top border's corner (its right border may carry a scrollbar).
    let right = left + lines[top][left..].iter().position(|c| *c == '┐').expect("a corner");
    let inside = lines[top + 1..].iter().take_while(|l| l.get(left) == Some(&'│'));
    let text: Vec<String> = inside.map(|l| l[left + 1..right].iter().collect()).collect();
    text.join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_popup_draws_at_any_size() {
    let mut app = with_events(fixtures::healthy());
    for size in [(1, 1), (20, 5), (40, 10), (80, 3), (80, 24), (200, 60)] {
        terminal(&app, size);
        for popup in ['?', 'w', 'x', 'e', 'c'] {
            app.on_key(ch(popup));
            assert!(app.popup().is_some(), "{popup} opens a popup");
            terminal(&app, size);
            app.on_key(key(KeyCode::Esc));
        }
        app.on_key(ch('/'));
        terminal(&app, size);
        app.on_key(key(KeyCode::Esc));
        // A log line, whole.
        app.on_key(key(KeyCode::BackTab));
        app.on_key(key(KeyCode::Enter));
        assert!(app.popup().is_some(), "enter on the logs opens a line");
        terminal(&app, size);
        app.on_key(key(KeyCode::Esc));
        app.on_key(key(KeyCode::Tab));
        // The certificate popup, on the https route below.
        app.on_key(ch('j'));
        app.on_key(ch('p'));
        assert!(app.popup().is_some(), "p opens a popup on an https route");
        terminal(&app, size);
        app.on_key(key(KeyCode::Esc));
        app.on_key(ch('k'));
    }
}

#[test]
fn a_list_longer_than_its_pane_shows_a_scrollbar() {
    let rows = (0..12).map(|i| (format!("route-{i:02}"), "broken".to_owned())).collect();
    let header = super::Header::default();
    let app = App::new(Vec::new(), rows, header, fixtures::DIR.into(), Theme::plain());
    let screen = terminal(&app, (80, 24)).backend().to_string();
    let lines: Vec<&str> = screen.lines().map(|l| l.trim_matches('"')).collect();
    let list = lines.iter().skip(2).take_while(|l| !l.starts_with('└'));
    let border: String = list.filter_map(|l| l.chars().last()).collect();
    assert!(border.starts_with('▲') && border.contains('█'), "{screen}");
}
