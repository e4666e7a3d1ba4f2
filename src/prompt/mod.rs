//! The prompt workbench: everything between a shot's structured fields and the text a backend
//! receives.
//!
//! Module map: `compile` (fields → prompt in Wan's order, zh or en), `vocab` (bilingual camera
//! and lighting terms), `suggest` (camera language from heading, action and mood words; rules
//! are data), `lint` (what makes a prompt vague or contradictory), `templates` (shot templates
//! that fill empty fields), `styles` (presets: prompt text, negative, parameters), `vary`
//! (variation axes → the cartesian product of specs), `safety` (blocklist and classifier hook).
//!
//! Everything here is pure and deterministic except loading user files and the classifier.

mod compile;
pub mod lint;
pub mod safety;
pub mod styles;
pub mod suggest;
pub mod templates;
mod userfile;
pub mod vary;
pub mod vocab;
mod workbench;

pub use compile::{Compiled, compile, compile_in, is_chinese, spec_lang};
pub use workbench::Workbench;
