//! Desktop notifications over the freedesktop session bus (notify-rust, zbus on tokio).
//!
//! Invariant: the caller is never held longer than [`WAIT`]; the send finishes (or fails
//! into the log) on its own thread with its own small runtime, so it works whether or not the
//! caller runs inside tokio.

use std::sync::mpsc;
use std::time::Duration;

use thiserror::Error;

/// How long the caller waits to learn whether the notification went out.
const WAIT: Duration = Duration::from_millis(250);
/// How long the sending thread waits for the bus before giving up.
const GIVE_UP: Duration = Duration::from_secs(5);

#[derive(Debug, Error)]
pub(crate) enum DesktopError {
    #[error("no async runtime for the session bus: {0}")]
    Runtime(std::io::Error),
    #[error("the session bus refused the notification: {0}")]
    Bus(notify_rust::error::Error),
    #[error("the session bus did not answer within {0:?}")]
    Timeout(Duration),
}

/// What the caller knows after [`send`] returns.
#[derive(Debug)]
pub(crate) enum Sent {
    /// The notification server took it.
    Shown,
    /// Still in flight after [`WAIT`]; a failure will only be logged.
    Pending,
    Failed(DesktopError),
}

/// Sends a notification (title and body already sanitised); `critical` for failures.
pub(crate) fn send(title: String, body: String, critical: bool) -> Sent {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = show(&title, &body, critical);
        if let Err(e) = &r {
            tracing::warn!(error = %e, "desktop notification failed");
        }
        let _ = tx.send(r);
    });
    match rx.recv_timeout(WAIT) {
        Ok(Ok(())) => Sent::Shown,
        Ok(Err(e)) => Sent::Failed(e),
        Err(_) => Sent::Pending,
    }
}

fn show(title: &str, body: &str, critical: bool) -> Result<(), DesktopError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DesktopError::Runtime)?;
    let mut note = notify_rust::Notification::new();
    note.appname("previs").summary(title).body(body);
    if critical {
        note.urgency(notify_rust::Urgency::Critical);
    }
    rt.block_on(async {
        match tokio::time::timeout(GIVE_UP, note.show_async()).await {
            Ok(Ok(_handle)) => Ok(()),
            Ok(Err(e)) => Err(DesktopError::Bus(e)),
            Err(_) => Err(DesktopError::Timeout(GIVE_UP)),
        }
    })
}
