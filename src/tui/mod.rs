//! The full-screen workstation. Module map so far: `theme` (semantic roles → styles, built-in
//! and user themes, colour depth).

pub mod theme;
