//! Logs go to a file (stdout and stderr belong to the user); `PREVIS_LOG` sets the filter.

use std::path::Path;

/// Starts logging to `dir/previs.log`. Failing to log is not a reason to fail a command, so
/// errors here only disable logging.
pub fn init(dir: &Path) {
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("previs.log"))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PREVIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init();
}
