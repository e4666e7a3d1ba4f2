//! The blocklist line syntax, shared by the built-in list and user files.
//!
//! ```text
//! # comment                     only at the start of a line
//! term                          category "user"
//! category: term                `：` works too; the rule id is `category/term`
//! a | b & c                     `&` joins parts that must all appear, `|` lists alternatives
//! "word"                        a Latin term that must match as a whole word
//! ! phrase | phrase             allowed phrases: a match inside one does not count
//! ```
//!
//! Errors are one line without the place (the caller adds `path:line`) and end with the fix.

/// One term as written, before normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Term {
    pub written: String,
    pub whole_word: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Line {
    /// Every part must match; each part is a list of alternatives.
    Rule {
        category: String,
        parts: Vec<Vec<Term>>,
    },
    Allow(Vec<Term>),
}

/// The category of a term written without one.
pub(super) const DEFAULT_CATEGORY: &str = "user";

/// Parses one line; blank lines and comments are `None`.
pub(super) fn parse_line(raw: &str) -> Result<Option<Line>, String> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    if line.contains('#') {
        return Err(
            "'#' starts a comment only at the beginning of a line; move the comment to its own line"
                .into(),
        );
    }
    if let Some(rest) = line.strip_prefix('!') {
        if rest.contains('&') {
            return Err(
                "an allowed phrase (`!`) cannot join parts with '&'; list phrases with '|'".into(),
            );
        }
        return alternatives(rest).map(|a| Some(Line::Allow(a)));
    }
    let (category, body) = split_category(line)?;
    let parts = body
        .split('&')
        .map(alternatives)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Line::Rule { category, parts }))
}

fn split_category(line: &str) -> Result<(String, &str), String> {
    let Some((at, sep)) = line.char_indices().find(|&(_, c)| c == ':' || c == '：') else {
        return Ok((DEFAULT_CATEGORY.to_string(), line));
    };
    let category = line[..at].trim();
    if category.is_empty() {
        return Err("nothing before ':'; write `category: term`, or drop the ':'".into());
    }
    if !category
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{category:?} before ':' is not a category (letters, digits, '-' and '_'); write `category: term`, or drop the ':'"
        ));
    }
    Ok((category.to_string(), &line[at + sep.len_utf8()..]))
}

fn alternatives(part: &str) -> Result<Vec<Term>, String> {
    part.split('|').map(|t| term(t.trim())).collect()
}

fn term(text: &str) -> Result<Term, String> {
    if text.is_empty() {
        return Err(
            "an empty term (after ':' or next to '&' or '|'); write `term`, `a & b` or `a | b`"
                .into(),
        );
    }
    let quoted = text.starts_with('"');
    let written = if quoted {
        match text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .map(str::trim)
        {
            Some(inner) if !inner.is_empty() && !inner.contains('"') => inner,
            _ => {
                return Err(format!(
                    "unbalanced or empty quotes in {text:?}; write a whole word as \"word\""
                ));
            }
        }
    } else {
        text
    };
    Ok(Term {
        written: written.to_string(),
        whole_word: quoted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(w: &str) -> Term {
        Term {
            written: w.into(),
            whole_word: false,
        }
    }

    #[test]
    fn lines() {
        assert_eq!(parse_line("   "), Ok(None));
        assert_eq!(parse_line("  # note"), Ok(None));
        assert_eq!(
            parse_line("nude"),
            Ok(Some(Line::Rule {
                category: "user".into(),
                parts: vec![vec![t("nude")]]
            }))
        );
        assert_eq!(
            parse_line("色情：a | b & 裸"),
            Ok(Some(Line::Rule {
                category: "色情".into(),
                parts: vec![vec![t("a"), t("b")], vec![t("裸")]]
            }))
        );
        assert_eq!(
            parse_line("leader: \"trump\""),
            Ok(Some(Line::Rule {
                category: "leader".into(),
                parts: vec![vec![Term {
                    written: "trump".into(),
                    whole_word: true
                }]]
            }))
        );
        assert_eq!(
            parse_line("! naked eye | 裸眼"),
            Ok(Some(Line::Allow(vec![t("naked eye"), t("裸眼")])))
        );
    }

    #[test]
    fn bad_lines_say_how_to_fix_them() {
        for (line, says) in [
            (": nude", "nothing before ':'"),
            ("my cat: nude", "is not a category"),
            ("sexual:", "an empty term"),
            ("child & ", "an empty term"),
            ("a || b", "an empty term"),
            ("\"trump", "unbalanced"),
            ("\"\"", "unbalanced or empty"),
            ("nude # explicit", "'#' starts a comment"),
            ("! a & b", "cannot join parts"),
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(says), "{line:?}: {err}");
            assert!(err.contains(';') && !err.contains('\n'), "{err}");
        }
    }
}
