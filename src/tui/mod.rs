//! The terminal face: the engine's events in, its commands out (`run`), and the screen's
//! state and drawing apart (`app`, `view`, one module per pane and popup, one keymap table).

pub mod app;
pub mod clipboard;
pub mod keymap;
pub mod panes;
pub mod popups;
pub mod route;
pub mod run;
pub mod text;
pub mod theme;
pub mod view;
