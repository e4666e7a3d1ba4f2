//! Logs go to a file (stdout and stderr belong to the user); `PREVIS_LOG` sets the filter.

use std::path::Path;

/// The log file, whose write errors (a full disk) are dropped: a log line that cannot be
/// written must never reach the user's terminal or fail a command.
struct Quiet(std::fs::File);

impl std::io::Write for Quiet {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

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
        .with_writer(std::sync::Mutex::new(Quiet(file)))
        .with_ansi(false)
        .try_init();
}
