//! Unit tests of the ComfyUI backend (pure parts).
