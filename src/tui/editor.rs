//! `e`: a shot's field, or all its prompt fields as TOML, in the user's `$VISUAL`/`$EDITOR`
//! (run without a shell: the variable is split on spaces, the file is the last argument).

use crate::cli::Ctx;
use crate::engine::{Clock, SystemClock};
use crate::model::{Level, ShotSpec};

use super::msg::Msg;
use super::state::Field;

/// The editor command: `$VISUAL`, then `$EDITOR`, then `vi`.
pub fn command(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let text = env("VISUAL")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| env("EDITOR").filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_string());
    text.split_whitespace().map(str::to_string).collect()
}

/// Runs the editor on the field (or the whole spec) and stores the result; the answer is the
/// saved shot or a status line. Called with the terminal handed over.
pub fn edit(ctx: &Ctx, project: &str, code: &str, field: Option<Field>) -> Msg {
    match try_edit(ctx, project, code, field) {
        Ok(msg) => msg,
        Err(e) => Msg::Status(Level::Error, crate::sanitize::line(&e)),
    }
}

fn try_edit(ctx: &Ctx, project: &str, code: &str, field: Option<Field>) -> Result<Msg, String> {
    let mut shot = ctx
        .store
        .shot_by_code(project, code)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no shot {code}"))?;
    let text = match field {
        Some(f) => f.get(&shot.spec).to_string(),
        None => toml::to_string_pretty(&shot.spec).map_err(|e| e.to_string())?,
    };
    let dir = std::env::temp_dir().join(format!(
        "previs-edit-{}-{}",
        std::process::id(),
        SystemClock.now()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("a temporary file for the editor: {e}"))?;
    let _cleanup = RemoveDir(dir.clone());
    let name = match field {
        Some(f) => format!("{code}-{}.txt", f.label()),
        None => format!("{code}.toml"),
    };
    let path = dir.join(name.replace(['/', '\\'], "_"));
    std::fs::write(&path, &text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    let env = |k: &str| std::env::var(k).ok();
    let argv = command(&env);
    let (program, args) = argv.split_first().ok_or("no editor: set $EDITOR")?;
    let status = std::process::Command::new(program)
        .args(args)
        .arg(&path)
        .status()
        .map_err(|e| {
            format!("running the editor {program:?}: {e}; set $EDITOR to one that exists")
        })?;
    if !status.success() {
        return Err(format!("the editor exited with {status}; nothing changed"));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let edited = String::from_utf8(bytes)
        .map_err(|_| "the edited text is not UTF-8; nothing changed".to_string())?;
    match field {
        Some(f) => {
            let value = edited.trim().replace(['\n', '\r'], " ");
            if value == f.get(&shot.spec) {
                return Ok(Msg::Status(Level::Info, "no change".into()));
            }
            f.set(&mut shot.spec, value);
        }
        None => {
            let spec: ShotSpec = toml::from_str(&edited).map_err(|e| {
                format!(
                    "shot {code}: the edited TOML does not parse ({}); nothing changed",
                    e.message()
                )
            })?;
            if spec == shot.spec {
                return Ok(Msg::Status(Level::Info, "no change".into()));
            }
            shot.spec = spec;
        }
    }
    shot.updated_at = SystemClock.now();
    ctx.store.put_shot(&shot).map_err(|e| e.to_string())?;
    Ok(Msg::ShotSaved(Box::new(shot)))
}

/// Removes the editor's temporary directory however the edit ends.
struct RemoveDir(std::path::PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_comes_from_visual_then_editor_then_vi() {
        let env = |k: &str| match k {
            "EDITOR" => Some("nano -w".to_string()),
            _ => None,
        };
        assert_eq!(command(&env), vec!["nano", "-w"]);
        let env = |k: &str| match k {
            "VISUAL" => Some("code --wait".to_string()),
            "EDITOR" => Some("nano".to_string()),
            _ => None,
        };
        assert_eq!(command(&env), vec!["code", "--wait"]);
        assert_eq!(command(&|_| None), vec!["vi"]);
    }
}
