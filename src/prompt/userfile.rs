//! What templates and style presets share: reading a user's TOML file next to config.toml,
//! naming the line of a TOML error, and merging user entries over built-in ones by name.

use std::path::Path;

/// The text of a user file; `None` when it does not exist (nothing to add).
pub fn read(path: &Path) -> Result<Option<String>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| format!("{} is not valid UTF-8; save it as UTF-8", path.display()))
}

/// Parses `text` as TOML; an error names `source:line` and where the format is described.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    source: &str,
    what: &str,
) -> Result<T, String> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        let place = match line {
            Some(l) => format!("{source}:{l}"),
            None => source.to_string(),
        };
        format!(
            "{place}: {}; see the {what} format in the README",
            e.message().lines().next().unwrap_or("invalid TOML")
        )
    })
}

/// Adds `new` to `list`; an entry with the name (case-insensitive) of an old one replaces it.
pub fn merge<T>(list: &mut Vec<T>, new: Vec<T>, name: impl Fn(&T) -> &str) {
    for n in new {
        match list
            .iter_mut()
            .find(|o| name(o).eq_ignore_ascii_case(name(&n)))
        {
            Some(old) => *old = n,
            None => list.push(n),
        }
    }
}
