//! Media files: reading back what a take really is.

pub mod probe;
