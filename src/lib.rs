//! previs: a keyboard-driven terminal workstation for AI film previsualization.
//!
//! Module map (see ARCHITECTURE.md): `model` is plain data; `script` turns Fountain and CSV into
//! shots; `prompt` compiles a shot's structured prompt; `store` is the only code that touches
//! sled; `backend` renders takes; `engine` schedules jobs; `cli` is the headless front end.

pub mod model;
