//! Quoted fields that never close. The CSV reader accepts them (the field runs to the end of the
//! text), so a missing `"` would turn every row below it into the text of one cell.
//!
//! Invariant: `unterminated_quote` reads quotes exactly as the reader does (RFC 4180): a `"`
//! opens a quoted field only as the first character of a field, `""` inside one is a quote, a
//! lone `"` closes it, and a `"` anywhere else is an ordinary character.

/// The 1-based line where a quoted field opens that `text` never closes, if there is one.
pub(super) fn unterminated_quote(text: &str, delimiter: u8) -> Option<u32> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        /// At the first character of a field.
        Start,
        /// In a field that is not quoted, or in the rest of one after its closing quote.
        Plain,
        Quoted,
        /// Right after a `"` inside a quoted field: a second `"` is an escaped quote.
        QuoteInQuoted,
    }
    let mut state = State::Start;
    let mut line: u32 = 1;
    let mut opened = 1;
    for &b in text.as_bytes() {
        let ends_field = b == delimiter || b == b'\n' || b == b'\r';
        state = match state {
            State::Start if b == b'"' => {
                opened = line;
                State::Quoted
            }
            State::Quoted if b == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == b'"' => State::Quoted,
            _ if ends_field => State::Start,
            _ => State::Plain,
        };
        if b == b'\n' {
            line = line.saturating_add(1);
        }
    }
    (state == State::Quoted).then_some(opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_that_never_close_are_found_where_they_open() {
        let cases: &[(&str, u8, Option<u32>)] = &[
            ("a,b\n1,\"open\n2,next\n", b',', Some(2)),
            ("a,b\n1,\"closed\"\n", b',', None),
            ("a,b\n1,\"two\nlines\"\n2,\"open\n", b',', Some(4)),
            ("a,b\n1,\"say \"\"hi\"\"\"\n", b',', None),
            ("a,b\n1,\"say \"\"hi\n", b',', Some(2)),
            ("a,b\n1,5\" monitor\n", b',', None),
            ("a,b\n1,\"a\"b\"\n", b',', None),
            ("a,b\n\"\"\n", b',', None),
            ("a;b\n1;\"x;y\n", b';', Some(2)),
            ("a\tb\r\n1\t\"x\r\n", b'\t', Some(2)),
            ("a,b\n1, \"not quoted\n", b',', None),
            ("\"header\nnever closes", b',', Some(1)),
        ];
        for &(text, delimiter, want) in cases {
            assert_eq!(unterminated_quote(text, delimiter), want, "{text:?}");
        }
    }
}
