//! The terminal and the event loop: keys, engine events and a low tick in one `select!`; a
//! frame only when something changed, at most one per [`FRAME`]; nothing in here awaits the
//! network. The loop reads the clock for the App (log lines are stamped with it) and writes
//! what a key asked to copy to the terminal, as OSC 52. The terminal is restored on quit, on
//! panic (ratatui's hook), and on SIGTERM, SIGHUP and SIGINT.

use std::io::{self, Write};
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::app::App;
use super::clipboard::{self, Copy};
use crate::supervisor::hub::{Command, Event};

/// The shortest time between two frames (~60 per second at most).
const FRAME: Duration = Duration::from_millis(16);
/// How often the UI wakes with nothing else happening (clocks, spinners).
const TICK: Duration = Duration::from_secs(1);
/// How long quitting waits for the engine to stop every route.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(6);

/// Runs the UI until the user quits or a signal ends it; the terminal is restored either way.
pub async fn run(
    app: App,
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
) -> io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, app, commands, events).await;
    let restored = ratatui::try_restore();
    if [&result, &restored].into_iter().any(|r| r.as_ref().is_err_and(terminal_gone)) {
        // The terminal closed under us (its window shut, the SSH link dropped). Every later
        // write to it fails, and a failed `eprintln!` panics — in the terminal's own drop, say,
        // before the demo's lab is removed; so later output goes nowhere, and this is a quit.
        tracing::info!("the terminal closed; stopped");
        detach_from_terminal();
        return Ok(());
    }
    drop(terminal);
    result.and(restored)
}

/// A write to a terminal that was hung up fails with EIO (or ENXIO once the pty is gone).
fn terminal_gone(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EIO | libc::ENXIO))
}

/// Points standard input, output and error at `/dev/null`.
fn detach_from_terminal() {
    let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") else {
        return;
    };
    for fd in [libc::STDIN_FILENO, libc::STDOUT_FILENO, libc::STDERR_FILENO] {
        // SAFETY: dup2 on two open descriptors; `null` outlives the call and fds 0-2 are
        // replaced atomically, never closed in between.
        unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fd) };
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut app: App,
    commands: mpsc::Sender<Command>,
    mut events: mpsc::Receiver<Event>,
) -> io::Result<()> {
    let mut keys = EventStream::new();
    let mut signals = Signals::new()?;
    let mut tick = tokio::time::interval(TICK);
    let mut quitting: Option<Instant> = None;
    let mut next_frame = Instant::now();
    app.set_time_zone(TimeZone::system());
    app.on_resize(terminal.size()?);
    terminal.draw(|frame| app.draw(frame))?;
    loop {
        let frame_due = app.dirty_peek().then_some(next_frame);
        tokio::select! {
            key = keys.next() => match key {
                Some(Ok(TermEvent::Key(key))) if key.kind == KeyEventKind::Press => {
                    app.clock(Timestamp::now());
                    for command in app.on_key(key) {
                        if command == Command::Shutdown {
                            quitting.get_or_insert_with(Instant::now);
                        }
                        send(&commands, command);
                    }
                    if let Some(copy) = app.take_copy() {
                        let written = write_copy(terminal, &copy);
                        app.copied(&copy, &written);
                    }
                }
                Some(Ok(TermEvent::Resize(width, height))) => {
                    app.on_resize(ratatui::layout::Size::new(width, height));
                }
                Some(Ok(_)) => {}
                // The terminal is gone: stop as for a signal.
                Some(Err(_)) | None => {
                    quitting.get_or_insert_with(Instant::now);
                    send(&commands, Command::Shutdown);
                }
            },
            event = events.recv() => match event {
                Some(Event::ShutDown) | None => break,
                Some(event) => {
                    app.clock(Timestamp::now());
                    app.on_event(event);
                    // Take what else is waiting, so a burst costs one frame, not one each.
                    for _ in 0..4096 {
                        match events.try_recv() {
                            Ok(Event::ShutDown) => return Ok(()),
                            Ok(event) => app.on_event(event),
                            Err(_) => break,
                        }
                    }
                }
            },
            _ = tick.tick() => app.on_tick(),
            () = signals.recv() => {
                quitting.get_or_insert_with(Instant::now);
                send(&commands, Command::Shutdown);
            }
            () = sleep_until(frame_due.unwrap_or_else(far_future)), if frame_due.is_some() => {}
        }
        if app.should_quit() || quitting.is_some_and(|at| at.elapsed() > SHUTDOWN_GRACE) {
            break;
        }
        if app.dirty_peek() && Instant::now() >= next_frame {
            app.dirty();
            terminal.draw(|frame| app.draw(frame))?;
            next_frame = Instant::now() + FRAME;
        }
    }
    Ok(())
}

/// Writes `copy` to the terminal as OSC 52, at once: the terminal (or tmux) sets its
/// clipboard. Nothing moves on screen, so ratatui's idea of it stays true.
fn write_copy(terminal: &mut ratatui::DefaultTerminal, copy: &Copy) -> io::Result<()> {
    let backend = terminal.backend_mut();
    backend.write_all(clipboard::osc52(&copy.text).as_bytes())?;
    backend.flush()
}

/// The signals that end the UI as `q` does: SIGTERM, SIGHUP (the terminal closed) and SIGINT
/// (`kill -INT`; Ctrl-C at the keyboard is a key in raw mode).
struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolves when one comes.
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// Hands a command to the engine without waiting: the engine drains its queue quickly, and a
/// full queue means the user is pressing faster than anything can happen.
fn send(commands: &mpsc::Sender<Command>, command: Command) {
    if let Err(error) = commands.try_send(command) {
        tracing::warn!(%error, "engine busy; command dropped");
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}
