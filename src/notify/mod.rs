//! Telling the user that a batch finished or a job failed: a desktop notification when the
//! user sits at this machine's display, otherwise terminal sequences that travel over SSH
//! (OSC 9 / OSC 777, the bell); also OSC 52 clipboard copies.
//!
//! Invariant: `[notify]` decides what is sent and nothing else does; text from outside reaches
//! the terminal or the bus only sanitised; the caller is never blocked for more than a moment.

mod desktop;
mod terminal;

pub use terminal::osc52_copy;

use crate::config::NotifyConfig;
use terminal::Osc;

/// Something worth telling the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub title: String,
    pub body: String,
    /// A job failed (sent as critical); otherwise a batch finished.
    pub failure: bool,
}

/// Decides, from `[notify]` and the environment read once at start, how notes are sent.
#[derive(Debug, Clone)]
pub struct Notifier {
    cfg: NotifyConfig,
    /// A session bus on the display the user sits at (not a bus reached over SSH).
    bus: bool,
    /// Inside tmux: terminal sequences need its passthrough.
    tmux: bool,
    osc: Osc,
}

impl Notifier {
    /// `env` reads an environment variable.
    pub fn new(cfg: &NotifyConfig, env: &dyn Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
        // An SSH login often has a user bus too, but its notifications would pop up on a
        // screen far from the user.
        let bus = set("DBUS_SESSION_BUS_ADDRESS")
            && (set("DISPLAY") || set("WAYLAND_DISPLAY"))
            && !set("SSH_CONNECTION")
            && !set("SSH_TTY");
        Self {
            cfg: cfg.clone(),
            bus,
            tmux: set("TMUX"),
            osc: Osc::choose(&cfg.osc, env),
        }
    }

    /// Whether `[notify]` asks for this kind of note at all.
    pub fn wants(&self, note: &Note) -> bool {
        if note.failure {
            self.cfg.on_failure
        } else {
            self.cfg.on_batch_done
        }
    }

    /// Inside tmux (for [`osc52_copy`]).
    pub fn tmux(&self) -> bool {
        self.tmux
    }

    /// Sends a desktop notification when possible and returns the terminal bytes to write:
    /// empty when the desktop took the note or nothing is enabled. A desktop failure noticed
    /// within a moment falls back to the terminal; a later one is only logged.
    pub fn notify(&self, note: &Note) -> Vec<u8> {
        if !self.wants(note) {
            return Vec::new();
        }
        let title = crate::sanitize::line(&note.title);
        let body = crate::sanitize::line(&note.body);
        if self.cfg.desktop && self.bus {
            match desktop::send(title.clone(), body.clone(), note.failure) {
                desktop::Sent::Shown | desktop::Sent::Pending => return Vec::new(),
                desktop::Sent::Failed(e) => {
                    tracing::info!(error = %e, "falling back to a terminal notification");
                }
            }
        }
        self.terminal(&title, &body)
    }

    /// The terminal bytes alone: the OSC sequences when `terminal`, the bell when `bell`.
    fn terminal(&self, title: &str, body: &str) -> Vec<u8> {
        let osc = if self.cfg.terminal {
            self.osc
        } else {
            Osc {
                nine: false,
                seven: false,
            }
        };
        terminal::notification(title, body, osc, self.cfg.bell, self.tmux)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(failure: bool) -> Note {
        Note {
            title: "previs".into(),
            body: if failure {
                "SC001_SH1A_TK02 failed"
            } else {
                "6 takes done"
            }
            .into(),
            failure,
        }
    }

    fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    const XTERM: &[(&str, &str)] = &[("TERM", "xterm-256color")];

    #[test]
    fn config_decides_what_is_sent() {
        let base = NotifyConfig::default();
        let cases: [(NotifyConfig, bool, &[u8]); 6] = [
            (
                base.clone(),
                false,
                b"\x1b]9;previs: 6 takes done\x07\x1b]777;notify;previs;6 takes done\x07\x07",
            ),
            (
                NotifyConfig {
                    on_batch_done: false,
                    ..base.clone()
                },
                false,
                b"",
            ),
            (
                NotifyConfig {
                    on_failure: false,
                    ..base.clone()
                },
                true,
                b"",
            ),
            (
                NotifyConfig {
                    terminal: false,
                    bell: false,
                    ..base.clone()
                },
                true,
                b"",
            ),
            (
                NotifyConfig {
                    terminal: false,
                    ..base.clone()
                },
                true,
                b"\x07",
            ),
            (
                NotifyConfig {
                    bell: false,
                    osc: "9".into(),
                    ..base.clone()
                },
                true,
                b"\x1b]9;previs: SC001_SH1A_TK02 failed\x07",
            ),
        ];
        for (cfg, failure, want) in cases {
            let n = Notifier::new(&cfg, &env_of(XTERM));
            assert_eq!(
                n.notify(&note(failure)).escape_ascii().to_string(),
                want.escape_ascii().to_string(),
                "{cfg:?}"
            );
        }
    }

    #[test]
    fn the_desktop_is_used_only_at_a_local_display_with_a_bus() {
        let bus = ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus");
        let table: [(&[(&str, &str)], bool); 6] = [
            (&[bus, ("DISPLAY", ":0")], true),
            (&[bus, ("WAYLAND_DISPLAY", "wayland-0")], true),
            (&[bus], false),
            (&[("DISPLAY", ":0")], false),
            (
                &[
                    bus,
                    ("DISPLAY", "localhost:10.0"),
                    ("SSH_CONNECTION", "1 2 3 4"),
                ],
                false,
            ),
            (&[bus, ("DISPLAY", ":0"), ("SSH_TTY", "/dev/pts/1")], false),
        ];
        for (vars, want) in table {
            assert_eq!(
                Notifier::new(&NotifyConfig::default(), &env_of(vars)).bus,
                want,
                "{vars:?}"
            );
        }
    }

    #[test]
    fn inside_tmux_sequences_are_wrapped_and_text_is_sanitised() {
        let cfg = NotifyConfig {
            bell: false,
            osc: "777".into(),
            ..NotifyConfig::default()
        };
        let n = Notifier::new(&cfg, &env_of(&[("TMUX", "/tmp/tmux-0/default,1,0")]));
        assert!(n.tmux());
        let evil = Note {
            title: "done\x1b]52;c;cHduZWQ=\x07".into(),
            body: "ok;\x1b[31mred".into(),
            failure: false,
        };
        assert_eq!(
            n.notify(&evil).escape_ascii().to_string(),
            b"\x1bPtmux;\x1b\x1b]777;notify;done;ok,red\x07\x1b\\"
                .escape_ascii()
                .to_string()
        );
    }
}
