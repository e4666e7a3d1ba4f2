//! Terminal escape sequences that reach the user's terminal over SSH: notifications (OSC 9,
//! OSC 777), the bell, and clipboard copies (OSC 52), wrapped for tmux when inside it.
//!
//! Invariant: every byte of outside text in a sequence has been through the sanitiser (no
//! ESC, BEL or other control character can end or start a sequence early) and notification
//! fields hold no `;`, so a title can never spill into the body or a terminal command.

use base64::Engine as _;

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;

/// Which notification sequences to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Osc {
    pub nine: bool,
    pub seven: bool,
}

impl Osc {
    /// From `[notify] osc` and TERM / TERM_PROGRAM / LC_TERMINAL: a terminal that understands
    /// both sequences gets one of them, never two notifications.
    pub fn choose(setting: &str, env: &dyn Fn(&str) -> Option<String>) -> Self {
        const NINE: Osc = Osc {
            nine: true,
            seven: false,
        };
        const SEVEN: Osc = Osc {
            nine: false,
            seven: true,
        };
        const BOTH: Osc = Osc {
            nine: true,
            seven: true,
        };
        match setting {
            "9" => return NINE,
            "777" => return SEVEN,
            "both" => return BOTH,
            _ => {}
        }
        let term = env("TERM").unwrap_or_default();
        let program = env("TERM_PROGRAM").unwrap_or_default();
        let nine_terms = ["xterm-kitty", "xterm-ghostty", "wezterm"];
        if nine_terms.contains(&term.as_str())
            || ["iTerm.app", "WezTerm", "ghostty"].contains(&program.as_str())
            || env("LC_TERMINAL").as_deref() == Some("iTerm2")
            || env("KITTY_WINDOW_ID").is_some()
        {
            NINE
        } else if term.starts_with("foot")
            || term.starts_with("rxvt")
            || env("VTE_VERSION").is_some()
        {
            SEVEN
        } else {
            BOTH
        }
    }
}

/// One notification field: sanitised to one line, `;` (the OSC field separator) made `,`.
fn field(text: &str) -> String {
    crate::sanitize::line(text).replace(';', ",")
}

/// The bytes for a notification with `title` and `body`: the chosen OSC sequences, each in
/// its own tmux passthrough when `tmux`, and a plain BEL (which tmux shows as a window bell).
pub(crate) fn notification(title: &str, body: &str, osc: Osc, bell: bool, tmux: bool) -> Vec<u8> {
    let (title, body) = (field(title), field(body));
    let mut out = Vec::new();
    if osc.nine {
        let text = if body.is_empty() {
            title.clone()
        } else {
            format!("{title}: {body}")
        };
        out.extend(wrap(&sequence(&format!("9;{text}")), tmux));
    }
    if osc.seven {
        out.extend(wrap(&sequence(&format!("777;notify;{title};{body}")), tmux));
    }
    if bell {
        out.push(BEL);
    }
    out
}

/// `ESC ] 52 ; c ; BASE64 BEL`: asks the terminal to put `text` on the clipboard. Newlines
/// stay (a multi-line prompt copies as one); escape sequences and other controls do not.
pub fn osc52_copy(text: &str, tmux: bool) -> Vec<u8> {
    let clean = crate::sanitize::sanitize(text, true);
    let encoded = base64::engine::general_purpose::STANDARD.encode(clean.as_bytes());
    wrap(&sequence(&format!("52;c;{encoded}")), tmux)
}

/// `ESC ] payload BEL`.
fn sequence(payload: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 3);
    out.extend([ESC, b']']);
    out.extend(payload.as_bytes());
    out.push(BEL);
    out
}

/// tmux passes a sequence on to the outer terminal only inside `ESC P tmux; … ESC \`, with
/// every ESC of the sequence doubled (tmux needs `set -g allow-passthrough on`).
fn wrap(seq: &[u8], tmux: bool) -> Vec<u8> {
    if !tmux {
        return seq.to_vec();
    }
    let mut out = Vec::with_capacity(seq.len() + 10);
    out.extend([ESC, b'P']);
    out.extend(b"tmux;");
    for &b in seq {
        if b == ESC {
            out.push(ESC);
        }
        out.push(b);
    }
    out.extend([ESC, b'\\']);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Title, body, sequences, bell, tmux → the exact bytes.
    type Case = (&'static str, &'static str, Osc, bool, bool, &'static [u8]);
    /// Environment variables, name and value.
    type Vars = &'static [(&'static str, &'static str)];

    const BOTH: Osc = Osc {
        nine: true,
        seven: true,
    };

    #[test]
    fn notifications_are_exact_osc_sequences() {
        let cases: [Case; 6] = [
            (
                "previs",
                "batch done",
                BOTH,
                false,
                false,
                b"\x1b]9;previs: batch done\x07\x1b]777;notify;previs;batch done\x07",
            ),
            (
                "previs",
                "",
                Osc {
                    nine: true,
                    seven: false,
                },
                true,
                false,
                b"\x1b]9;previs\x07\x07",
            ),
            (
                "t",
                "b",
                Osc {
                    nine: false,
                    seven: true,
                },
                true,
                true,
                b"\x1bPtmux;\x1b\x1b]777;notify;t;b\x07\x1b\\\x07",
            ),
            (
                "t",
                "b",
                BOTH,
                false,
                true,
                b"\x1bPtmux;\x1b\x1b]9;t: b\x07\x1b\\\x1bPtmux;\x1b\x1b]777;notify;t;b\x07\x1b\\",
            ),
            // Outside text cannot end the sequence or start another one.
            (
                "evil\x07\x1b]0;owned\x07",
                "x\x1b[2Jy\x1b\\z\u{9d}8;;http://e\x07",
                BOTH,
                false,
                false,
                b"\x1b]9;evil: xyz\x07\x1b]777;notify;evil;xyz\x07",
            ),
            // `;` never splits a field.
            (
                "SC001;done",
                "a;b;c",
                BOTH,
                false,
                false,
                b"\x1b]9;SC001,done: a,b,c\x07\x1b]777;notify;SC001,done;a,b,c\x07",
            ),
        ];
        for (title, body, osc, bell, tmux, want) in cases {
            let got = notification(title, body, osc, bell, tmux);
            assert_eq!(
                got.escape_ascii().to_string(),
                want.escape_ascii().to_string(),
                "{title:?} {body:?}"
            );
        }
    }

    #[test]
    fn clipboard_copies_are_base64_and_clean() {
        assert_eq!(osc52_copy("hello", false), b"\x1b]52;c;aGVsbG8=\x07");
        assert_eq!(
            osc52_copy("hello", true),
            b"\x1bPtmux;\x1b\x1b]52;c;aGVsbG8=\x07\x1b\\"
        );
        // "a\x1b[31mb\nc" loses its colour escape, keeps its newline: "ab\nc".
        assert_eq!(
            osc52_copy("a\x1b[31mb\nc", false),
            b"\x1b]52;c;YWIKYw==\x07"
        );
        assert_eq!(
            osc52_copy("夜 市", false),
            format!(
                "\x1b]52;c;{}\x07",
                base64::engine::general_purpose::STANDARD.encode("夜 市")
            )
            .into_bytes()
        );
    }

    #[test]
    fn auto_sends_one_sequence_to_terminals_that_know_both() {
        let nine = Osc {
            nine: true,
            seven: false,
        };
        let seven = Osc {
            nine: false,
            seven: true,
        };
        let table: [(&str, Vars, Osc); 10] = [
            ("auto", &[("TERM", "xterm-kitty")], nine),
            ("auto", &[("TERM", "xterm-ghostty")], nine),
            ("auto", &[("TERM_PROGRAM", "WezTerm")], nine),
            ("auto", &[("LC_TERMINAL", "iTerm2")], nine),
            ("auto", &[("TERM", "foot")], seven),
            ("auto", &[("TERM", "rxvt-unicode-256color")], seven),
            (
                "auto",
                &[("TERM", "xterm-256color"), ("VTE_VERSION", "7600")],
                seven,
            ),
            ("auto", &[("TERM", "xterm-256color")], BOTH),
            ("777", &[("TERM", "xterm-kitty")], seven),
            ("both", &[("TERM", "foot")], BOTH),
        ];
        for (setting, vars, want) in table {
            let env = |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            };
            assert_eq!(Osc::choose(setting, &env), want, "{setting} {vars:?}");
        }
    }
}
