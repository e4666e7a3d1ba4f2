//! Media files: reading back what a take really is, and playing takes in the player.

pub mod player;
pub mod probe;
