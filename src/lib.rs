//! previs: a keyboard-driven terminal workstation for AI film previsualization.
//!
//! Module map (see ARCHITECTURE.md): `model` is plain data; `script` turns Fountain and CSV into
//! shots; `prompt` compiles a shot's structured prompt; `store` is the only code that touches
//! sled; `backend` renders takes; `engine` schedules jobs; `cli` is the headless front end.

pub mod backend;
pub mod cli;
pub mod config;
pub mod engine;
pub mod logging;
pub mod media;
pub mod model;
pub mod notify;
pub mod prompt;
pub mod sanitize;
pub mod script;
pub mod store;
pub mod tui;
