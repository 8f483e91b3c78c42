//! The UI's state machine, key by key and event by event: the commands keys send, and what
//! the engine's answers change.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyModifiers};

use super::fixtures::{self, DIR, ROUTE, app, ch, key, type_text};
use crate::clientconfig::Scope;
use crate::forward::ForwardEvent;
use crate::profile::{KubeName, Link, Port};
use crate::supervisor::hub::{Command, Event, Refused, RouteEvent, SavedProfile};
use crate::trouble::Trouble;
use crate::tui::panes::logs::{CAPACITY, STEP, Source, shown};
use crate::tui::popups::Popup;
use crate::tui::popups::edit::Field;
use crate::tui::popups::pin::Step as PinStep;
use crate::tui::popups::write_config::Step;
use crate::tui::route::Status;

fn write(dry_run: bool, force: bool) -> Command {
    let scope = Scope::Project { dir: PathBuf::from(DIR) };
    Command::WriteConfig { profile: ROUTE.to_owned(), scope, name: None, dry_run, force }
}

fn step(app: &super::App) -> Option<Step> {
    match app.popup() {
        Some(Popup::WriteConfig(w)) => Some(w.step.clone()),
        _ => None,
    }
}

#[test]
fn enter_activates_the_selected_route_and_j_k_move() {
    let mut app = app();
    assert_eq!(app.on_key(key(KeyCode::Enter)), [Command::Activate(ROUTE.to_owned())]);
    assert_eq!(app.active(), Some(ROUTE));
    app.on_key(ch('j'));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.selected(), Some("gateway-loadbalancer"));
    assert_eq!(app.on_key(key(KeyCode::Enter)), [Command::Activate("gateway-loadbalancer".into())]);
    for _ in 0..10 {
        app.on_key(ch('k'));
    }
    assert_eq!(app.selected(), Some(ROUTE));
    app.on_key(ch('G'));
    assert_eq!(app.selected(), Some("router"));
    assert_eq!(app.on_key(ch('s')), [Command::Stop("router".into())]);
    assert_eq!(app.on_key(ch('r')), [Command::Restart("router".into())]);
}

#[test]
fn events_drive_a_routes_state() {
    let mut app = app();
    let status = |app: &super::App| app.route(ROUTE).map(|r| Status::from(r.status.phase));
    assert_eq!(status(&app), Some(Status::Stopped));
    fixtures::starting().into_iter().for_each(|e| app.on_event(e));
    assert_eq!(status(&app), Some(Status::Waiting));
    fixtures::healthy().into_iter().for_each(|e| app.on_event(e));
    assert_eq!(status(&app), Some(Status::Serving));
    assert_eq!(
        app.route(ROUTE).and_then(|r| r.status.pod.as_deref()),
        Some("serena-mcp-7d9f6b5c4-x2x7q")
    );
    fixtures::down().into_iter().for_each(|e| app.on_event(e));
    assert_eq!(status(&app), Some(Status::Down));
    fixtures::failed().into_iter().for_each(|e| app.on_event(e));
    assert_eq!(status(&app), Some(Status::Failed));
    assert_eq!(app.on_key(ch('s')), [Command::Stop(ROUTE.into())]);
    assert_eq!(status(&app), Some(Status::Stopped), "s dismisses a failure");
}

#[test]
fn write_config_previews_then_writes() {
    let mut app = app();
    assert_eq!(app.on_key(ch('w')), []);
    assert_eq!(step(&app), Some(Step::Client));
    assert_eq!(app.on_key(key(KeyCode::Enter)), [], "Claude Code first: its scopes next");
    assert_eq!(step(&app), Some(Step::Choose));
    assert_eq!(app.on_key(key(KeyCode::Enter)), [write(true, false)]);
    assert_eq!(step(&app), Some(Step::Previewing));
    // Enter while waiting does nothing.
    assert_eq!(app.on_key(key(KeyCode::Enter)), []);
    let preview = fixtures::preview();
    app.on_event(Event::Config { profile: ROUTE.into(), result: Ok(preview.clone()) });
    assert_eq!(step(&app), Some(Step::Preview(preview.clone())));
    assert_eq!(app.on_key(key(KeyCode::Enter)), [write(false, false)]);
    let written = crate::supervisor::hub::ConfigWritten { dry_run: false, ..preview };
    app.on_event(Event::Config { profile: ROUTE.into(), result: Ok(written.clone()) });
    assert_eq!(step(&app), Some(Step::Written(written)));
    assert_eq!(app.on_key(key(KeyCode::Enter)), []);
    assert!(app.popup().is_none());
    let logged: Vec<_> = app.logs().visible().filter(|l| l.source == Source::Config).collect();
    assert!(logged.iter().any(|l| l.text.contains("claude mcp add")), "{logged:?}");
}

#[test]
fn another_clients_scope_is_chosen_after_the_client_and_its_file_is_written() {
    let mut app = app();
    app.client_homes = Some(crate::clientconfig::Homes::under(std::path::Path::new("/h")));
    app.on_key(ch('w'));
    // None installed: Claude Code, Claude Desktop, Cursor, VS Code…
    (0..3).for_each(|_| assert_eq!(app.on_key(key(KeyCode::Down)), []));
    assert_eq!(app.on_key(key(KeyCode::Enter)), []);
    assert_eq!(app.on_key(ch('l')), [], "VS Code has no local scope: nothing chosen");
    app.on_key(ch('u'));
    let client = crate::clientconfig::Client::VsCode;
    let expected = Command::WriteConfig {
        profile: ROUTE.into(),
        scope: Scope::Client { client, dir: None },
        name: None,
        dry_run: true,
        force: false,
    };
    assert_eq!(app.on_key(key(KeyCode::Enter)), [expected]);
    // `c` goes back to the clients, and p on Claude Code picks its project scope at once.
    app.on_event(Event::Config { profile: ROUTE.into(), result: Ok(fixtures::preview()) });
    app.on_key(ch('c'));
    assert_eq!(step(&app), Some(Step::Client));
    (0..3).for_each(|_| assert_eq!(app.on_key(key(KeyCode::Up)), []));
    app.on_key(ch('p'));
    assert_eq!(app.on_key(key(KeyCode::Enter)), [write(true, false)]);
}

#[test]
fn a_refusal_shows_and_f_forces_past_a_foreign_entry() {
    let mut app = app();
    app.on_key(ch('w'));
    app.on_key(ch('u'));
    let user = |dry_run, force| Command::WriteConfig {
        profile: ROUTE.into(),
        scope: Scope::User,
        name: None,
        dry_run,
        force,
    };
    assert_eq!(app.on_key(key(KeyCode::Enter)), [user(true, false)]);
    let refused = Refused {
        trouble: Trouble::new(
            "~/.claude.json already has an entry \"serena\" that mcp-connect did not write",
            "choose another name with --name, or pass --force to replace it",
        ),
        forcible: true,
    };
    app.on_event(Event::Config { profile: ROUTE.into(), result: Err(refused.clone()) });
    assert_eq!(step(&app), Some(Step::Refused(refused)));
    assert_eq!(app.on_key(ch('f')), [user(true, true)]);
    assert_eq!(app.on_key(key(KeyCode::Esc)), []);
    assert!(app.popup().is_none());
}

#[test]
fn quit_asks_the_engine_and_leaves_once_it_has_stopped() {
    let mut app = app();
    assert!(!app.should_quit());
    assert_eq!(app.on_key(ch('q')), [Command::Shutdown]);
    assert!(!app.should_quit(), "routes are still stopping");
    // Other keys do nothing while quitting.
    assert_eq!(app.on_key(key(KeyCode::Enter)), []);
    app.on_event(Event::ShutDown);
    assert!(app.should_quit());

    let mut impatient = fixtures::app();
    assert_eq!(impatient.on_key(KeyEventExt::ctrl('c')), [Command::Shutdown]);
    assert_eq!(impatient.on_key(ch('q')), []);
    assert!(impatient.should_quit(), "quit twice leaves without waiting");
}

struct KeyEventExt;
impl KeyEventExt {
    fn ctrl(c: char) -> crossterm::event::KeyEvent {
        crossterm::event::KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }
}

#[test]
fn slash_filters_the_logs_and_esc_clears_the_filter() {
    let mut app = app();
    fixtures::healthy().into_iter().for_each(|e| app.on_event(e));
    let all = app.logs().visible().count();
    assert_eq!(app.on_key(ch('/')), []);
    assert!(app.logs().editing);
    // Keys go into the filter, not to the keymap: `s` does not stop anything.
    type_text(&mut app, "post");
    assert_eq!(
        app.logs().visible().map(|l| l.text.as_str()).collect::<Vec<_>>(),
        ["INFO POST /mcp 200"]
    );
    app.on_key(key(KeyCode::Enter));
    assert!(!app.logs().editing);
    assert_eq!(app.logs().filter.value(), "post");
    app.on_key(ch('/'));
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.logs().visible().count(), all);
    app.on_key(ch('t'));
    assert!(app.logs().visible().all(|l| l.source == Source::Forward));
}

#[test]
fn the_log_stays_bounded_after_a_flood() {
    let mut app = app();
    for n in 0..100_000 {
        let line = ForwardEvent::PodLog { pod: "p".into(), line: format!("line {n}") };
        app.on_event(fixtures::route(RouteEvent::Forward(line)));
    }
    assert_eq!(app.logs().len(), CAPACITY);
    assert_eq!(app.logs().visible().next().map(|l| l.text.as_str()), Some("line 99999"));
}

#[test]
fn x_switches_the_routes_context_for_the_session() {
    let mut app = app();
    app.on_key(ch('x'));
    assert!(matches!(app.popup(), Some(Popup::Contexts(_))));
    app.on_key(ch('j'));
    let context = Command::Override {
        profile: ROUTE.into(),
        context: Some("staging".into()),
        local_port: None,
    };
    assert_eq!(app.on_key(key(KeyCode::Enter)), [context]);
    // Choosing the context in use changes nothing.
    app.on_key(ch('x'));
    assert_eq!(app.on_key(key(KeyCode::Enter)), []);
}

/// Empties the focused field of the edit popup.
fn clear(app: &mut super::App) {
    for _ in 0..40 {
        assert_eq!(app.on_key(key(KeyCode::Backspace)), []);
    }
}

fn edit_error(app: &super::App) -> Option<String> {
    match app.popup() {
        Some(Popup::Edit(edit)) => edit.error.clone(),
        _ => None,
    }
}

#[test]
fn e_saves_the_changed_route_as_a_user_profile_and_takes_the_engine_s_answer() {
    let mut app = app();
    app.on_key(ch('e'));
    app.on_key(key(KeyCode::Tab));
    clear(&mut app);
    type_text(&mut app, "Team_A");
    assert_eq!(app.on_key(key(KeyCode::Enter)), [], "not a Kubernetes name");
    assert!(edit_error(&app).is_some_and(|e| e.contains("\"Team_A\"")), "{:?}", edit_error(&app));
    clear(&mut app);
    type_text(&mut app, "team-a");
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Tab));
    clear(&mut app);
    type_text(&mut app, "0");
    assert_eq!(app.on_key(key(KeyCode::Enter)), [], "port 0 is refused");
    clear(&mut app);
    type_text(&mut app, "18080");

    // The context shown is only the kubeconfig's current one: the profile keeps following it.
    let mut wanted = fixtures::profile(ROUTE);
    let Link::PortForward(pf) = &mut wanted.link else { panic!("route 1 is a forward") };
    pf.namespace = KubeName::try_from("team-a").unwrap();
    pf.local_port = Port::new(18080).unwrap();
    let save = Command::SaveProfile { profile: Box::new(wanted.clone()), from: None };
    assert_eq!(app.on_key(key(KeyCode::Enter)), std::slice::from_ref(&save));
    assert_eq!(app.on_key(key(KeyCode::Enter)), [], "one save at a time");

    let refused = Refused { trouble: Trouble::new("cannot write", "check"), forcible: false };
    app.on_event(Event::ProfileSaved { profile: ROUTE.into(), result: Err(refused) });
    assert_eq!(edit_error(&app).as_deref(), Some("cannot write; check"));
    assert_eq!(app.on_key(key(KeyCode::Enter)), [save]);

    let file = PathBuf::from("/home/u/.config/mcp-connect/profiles/serena-direct.yaml");
    let saved = SavedProfile {
        profile: Box::new(wanted.clone()),
        file: file.clone(),
        backup: None,
        replaces_overrides: true,
    };
    app.on_event(Event::ProfileSaved { profile: ROUTE.into(), result: Ok(saved) });
    assert!(app.popup().is_none());
    assert!(app.logs().visible().any(|l| l.text.contains("profile saved as /home/u/")));
    app.on_key(ch('e'));
    match app.popup() {
        Some(Popup::Edit(edit)) => {
            assert_eq!((&edit.original, edit.file.as_ref()), (&wanted, Some(&file)));
            assert_eq!(edit.value(Field::LocalPort), "18080");
        }
        other => panic!("the edit popup, not {other:?}"),
    }
    assert_eq!(app.on_key(key(KeyCode::Enter)), [], "nothing changed, nothing saved");
    assert!(app.popup().is_none());
}

#[test]
fn a_context_typed_in_e_is_saved_when_the_kubeconfig_has_it() {
    let mut app = app();
    app.on_key(ch('e'));
    clear(&mut app);
    type_text(&mut app, "prod");
    assert_eq!(app.on_key(key(KeyCode::Enter)), []);
    assert!(edit_error(&app).is_some_and(|e| e.contains("no context \"prod\"")));
    clear(&mut app);
    type_text(&mut app, "staging");
    let sent = app.on_key(key(KeyCode::Enter));
    let [Command::SaveProfile { profile, from: None }] = sent.as_slice() else {
        panic!("a save, not {sent:?}")
    };
    assert_eq!(profile.context(), Some("staging"));
}

#[test]
fn d_diagnoses_and_an_invalid_or_direct_route_refuses_what_it_cannot_do() {
    let mut app = app();
    assert_eq!(app.on_key(ch('d')), [Command::Diagnose(ROUTE.into())]);
    app.on_key(ch('j'));
    app.on_key(ch('j'));
    assert_eq!(app.on_key(ch('x')), [], "a direct route uses no context");
    assert!(app.popup().is_none());
    let mut broken = super::App::new(
        Vec::new(),
        vec![("mine".into(), "mine.yaml:3:1: unknown field `lnk`".into())],
        super::Header::default(),
        PathBuf::from(DIR),
        crate::tui::theme::Theme::plain(),
    );
    assert_eq!(broken.on_key(key(KeyCode::Enter)), []);
}

#[test]
fn dirty_is_taken_once_and_set_by_keys_and_events() {
    let mut app = app();
    assert!(app.dirty(), "the first frame");
    assert!(!app.dirty(), "idle: nothing to draw");
    app.on_key(ch('j'));
    assert!(app.dirty());
    app.on_event(Event::ShutDown);
    assert!(app.dirty_peek() && app.dirty() && !app.dirty_peek());
    app.on_tick();
    assert!(!app.dirty());
}

#[test]
fn help_opens_and_closes() {
    let mut app = app();
    app.on_key(ch('?'));
    assert!(matches!(app.popup(), Some(Popup::Help(_))));
    assert_eq!(app.on_key(ch('q')), [], "q closes a popup rather than quitting");
    assert!(app.popup().is_none());
}

fn pin_step(app: &super::App) -> Option<PinStep> {
    match app.popup() {
        Some(Popup::Pin(pin)) => Some(pin.step.clone()),
        _ => None,
    }
}

#[test]
fn p_shows_the_certificate_and_enter_pins_exactly_the_one_shown() {
    let mut app = app();
    assert_eq!(app.on_key(ch('p')), [], "plain HTTP has no certificate");
    assert!(app.popup().is_none());
    app.on_key(ch('j'));
    let gateway = "gateway-port-forward";
    assert_eq!(app.on_key(ch('p')), [Command::Inspect(gateway.into())]);
    assert_eq!(pin_step(&app), Some(PinStep::Fetching));
    assert_eq!(app.on_key(key(KeyCode::Enter)), [], "nothing to pin before it is shown");
    let shown = fixtures::certificate(Some("no CA this machine trusts signed it"));
    app.on_event(Event::Certificate { profile: gateway.into(), result: Ok(shown.clone()) });
    let pin =
        Command::Pin { profile: gateway.into(), sha256: shown.cert.sha256.clone(), from: None };
    assert_eq!(app.on_key(key(KeyCode::Enter)), [pin]);
    assert_eq!(pin_step(&app), Some(PinStep::Pinning(shown)));

    let refused = Refused { trouble: Trouble::new("another certificate", "look"), forcible: false };
    app.on_event(Event::ProfileSaved { profile: gateway.into(), result: Err(refused) });
    assert!(matches!(pin_step(&app), Some(PinStep::Failed { .. })));
    app.on_key(key(KeyCode::Esc));

    app.on_key(ch('p'));
    let mut profile = fixtures::profile(gateway);
    let sha = crate::profile::Sha256Pin::try_from("ab".repeat(32).as_str()).unwrap();
    profile.tls.as_mut().unwrap().pin_sha256 = Some(sha);
    let file = PathBuf::from("/u/profiles/gateway-port-forward.yaml");
    let saved = SavedProfile {
        profile: Box::new(profile.clone()),
        file: file.clone(),
        backup: None,
        replaces_overrides: false,
    };
    app.on_event(Event::ProfileSaved { profile: gateway.into(), result: Ok(saved) });
    assert!(app.popup().is_none(), "pinned: the popup closes");
    assert!(app.logs().visible().any(|l| l.text.contains("profile saved as /u/profiles/")));
}

#[test]
fn a_certificate_this_machine_trusts_is_not_pinned() {
    let mut app = app();
    app.on_key(ch('j'));
    app.on_key(ch('p'));
    let trusted = fixtures::certificate(None);
    app.on_event(Event::Certificate {
        profile: "gateway-port-forward".into(),
        result: Ok(trusted),
    });
    assert_eq!(app.on_key(key(KeyCode::Enter)), []);
    assert!(app.popup().is_none());
    assert!(app.logs().visible().any(|l| l.text.contains("trusted by this machine")));
}

#[test]
fn the_health_pane_takes_the_focus_and_scrolls_within_its_text() {
    let mut app = app();
    for event in fixtures::tls_refused() {
        app.on_event(event);
    }
    app.on_resize(ratatui::layout::Size::new(80, 24));
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.focus(), super::Focus::Health);
    app.on_key(ch('G'));
    let (overflow, _) = crate::tui::view::overflow(&app, app.screen());
    assert!(overflow > 0, "a long failure does not fit at 80×24");
    assert_eq!(app.health.scroll, overflow, "G: its last line, no further");
    app.on_key(ch('j'));
    assert_eq!(app.health.scroll, overflow);
    app.on_key(ch('k'));
    assert_eq!(app.health.scroll, overflow - 1);
    app.on_key(ch('g'));
    assert_eq!(app.health.scroll, 0);
}

fn copied(app: &mut super::App) -> Option<(String, String)> {
    let copy = app.take_copy()?;
    app.copied(&copy, &Ok(()));
    Some((copy.what, copy.text))
}

#[test]
fn y_copies_the_selected_routes_claude_code_entry_once_and_the_status_bar_says_so() {
    let mut app = app();
    let entry = "{\n  \"type\": \"http\",\n  \"url\": \"http://127.0.0.1:8080/mcp\"\n}";
    assert_eq!(app.on_key(ch('y')), []);
    let what = "serena-direct's Claude Code entry".to_owned();
    assert_eq!(copied(&mut app), Some((what.clone(), entry.to_owned())));
    assert_eq!(
        app.note.as_deref(),
        Some("copied serena-direct's Claude Code entry (58 characters)")
    );
    assert_eq!(app.take_copy(), None, "taken once");
    // The Route pane focused: the same entry, the one it shows.
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.focus(), super::Focus::Detail);
    app.on_key(ch('y'));
    assert_eq!(copied(&mut app), Some((what, entry.to_owned())));
    let screen = pane_lines(&app).join("\n");
    let shown = entry.lines().all(|line| screen.contains(line));
    assert!(shown, "the pane shows what y copies, line by line:\n{screen}");

    let gone = std::io::Error::from_raw_os_error(libc::EIO);
    app.on_key(ch('y'));
    let copy = app.take_copy().expect("a copy");
    app.copied(&copy, &Err(gone));
    assert!(app.note.as_deref().is_some_and(|n| n.starts_with("could not copy serena-direct's")));
}

/// The screen at 120×40, one string per row.
fn pane_lines(app: &super::App) -> Vec<String> {
    let backend = ratatui::backend::TestBackend::new(120, 40);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    terminal.draw(|frame| app.draw(frame)).unwrap();
    terminal.backend().to_string().lines().map(str::to_owned).collect()
}

#[test]
fn a_route_that_does_not_load_has_no_entry_to_copy() {
    let mut broken = super::App::new(
        Vec::new(),
        vec![("mine".into(), "mine.yaml:3:1: unknown field `lnk`".into())],
        super::Header::default(),
        PathBuf::from(DIR),
        crate::tui::theme::Theme::plain(),
    );
    broken.on_key(ch('y'));
    assert_eq!(broken.take_copy(), None);
    assert_eq!(broken.note.as_deref(), Some("mine does not load; see its error"));
}

#[test]
fn the_claude_popup_copies_its_command_with_y_and_closes_with_enter() {
    let mut app = app();
    app.on_key(ch('c'));
    let command = match app.popup() {
        Some(Popup::Claude(claude)) => claude.command.clone().expect("a command"),
        other => panic!("the claude popup, not {other:?}"),
    };
    assert!(command.starts_with("cd /demo/project && claude mcp add --scope project"), "{command}");
    app.on_key(ch('y'));
    assert_eq!(copied(&mut app), Some(("the claude mcp add command".to_owned(), command)));
    assert!(app.popup().is_some(), "y leaves it open");
    app.on_key(key(KeyCode::Enter));
    assert!(app.popup().is_none());
}

/// Route 1 serving, the logs focused on a 80×24 terminal.
fn logs_focused() -> super::App {
    let mut app = app();
    app.on_resize(ratatui::layout::Size::new(80, 24));
    fixtures::feed(&mut app, fixtures::healthy());
    app.on_key(key(KeyCode::BackTab));
    assert_eq!(app.focus(), super::Focus::Logs);
    app
}

fn selected_text(app: &super::App) -> Option<String> {
    app.logs().selected().map(|l| l.text.clone())
}

#[test]
fn on_the_logs_enter_opens_the_selected_line_whole_and_y_copies_it() {
    let mut app = logs_focused();
    assert_eq!(
        selected_text(&app).as_deref(),
        Some("serving: mcp-connect-lab 0.1.0 at http://127.0.0.1:8080/mcp")
    );
    app.on_key(ch('k'));
    app.on_key(ch('k'));
    let line = app.logs().selected().cloned().expect("a line");
    assert_eq!(
        (line.text.as_str(), line.pod.as_deref()),
        ("container serena started, serving mcp:8080", Some("serena-mcp-7d9f6b5c4-x2x7q"))
    );
    assert_eq!(app.on_key(key(KeyCode::Enter)), [], "enter on the logs starts nothing");
    match app.popup() {
        Some(Popup::LogLine(popup)) => {
            assert_eq!(popup.line, line);
            assert_eq!(
                popup.when.as_deref(),
                Some("2026-03-04 12:30:01.123 +00:00"),
                "the pod's own time"
            );
        }
        other => panic!("the log line popup, not {other:?}"),
    }
    app.on_key(ch('y'));
    assert_eq!(copied(&mut app), Some(("the log line".to_owned(), line.text.clone())));
    assert_eq!(app.note.as_deref(), Some("copied the log line (42 characters)"));
    app.on_key(key(KeyCode::Esc));
    assert!(app.popup().is_none());
    // y on the logs copies the selected line without the popup.
    app.on_key(ch('j'));
    app.on_key(ch('y'));
    assert_eq!(copied(&mut app).map(|c| c.1).as_deref(), Some("INFO POST /mcp 200"));
    // Elsewhere, enter still starts the route.
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.on_key(key(KeyCode::Enter)), [Command::Activate(ROUTE.into())]);
}

#[test]
fn w_wraps_the_logs_and_h_l_scroll_them_sideways_as_far_as_a_line_goes() {
    let mut app = logs_focused();
    app.on_key(ch('l'));
    assert_eq!(app.logs().column(), STEP);
    for _ in 0..20 {
        app.on_key(key(KeyCode::Right));
    }
    // As far as the widest line in view goes: it then ends at the pane's right edge, 78
    // columns inside an 80-column terminal.
    let widest = app.logs().in_view(app.logs_pane()).iter().map(|l| shown::width(l)).max();
    let most = widest.expect("lines in view") - 78;
    assert_eq!(app.logs().column(), most);
    app.on_key(ch('h'));
    assert_eq!(app.logs().column(), most.saturating_sub(STEP));
    app.on_key(key(KeyCode::Left));
    assert_eq!(app.logs().column(), most.saturating_sub(2 * STEP));
    app.on_key(ch('W'));
    assert!(app.logs().wrap);
    assert_eq!(app.logs().column(), 0, "wrapped lines are not scrolled");
    app.on_key(ch('l'));
    assert!(app.note.as_deref().is_some_and(|n| n.contains("W cuts them again")), "{:?}", app.note);
    app.on_key(ch('W'));
    assert!(!app.logs().wrap);
}

#[test]
fn log_lines_are_stamped_with_the_loops_clock_and_a_pod_line_keeps_its_own_time() {
    let mut app = app();
    let at: jiff::Timestamp = "2026-03-04T20:00:00Z".parse().unwrap();
    app.clock(at);
    app.on_event(Event::ShutDown);
    assert_eq!(app.logs().visible().next().and_then(|l| l.at), Some(at));
    let line = "2026-03-04T19:59:58.5Z INFO POST /mcp 200".to_owned();
    let pod = ForwardEvent::PodLog { pod: "p".into(), line };
    app.on_event(fixtures::route(RouteEvent::Forward(pod)));
    let newest = app.logs().visible().next().cloned().unwrap();
    assert_eq!(newest.at, "2026-03-04T19:59:58.5Z".parse().ok());
    assert_eq!(newest.text, "INFO POST /mcp 200");
}
