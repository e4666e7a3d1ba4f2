//! Reconciles a freshly parsed script with the scenes and shots already stored.
//!
//! Invariant: nothing with takes is ever dropped. A shot whose text is unchanged keeps its id,
//! code, takes and the fields the user edited; a shot whose text was edited in place (same scene,
//! same position among the unmatched) is updated; a stored shot that left the script is marked
//! omitted when it has takes and removed otherwise. Scene numbers are locked once given: a new
//! scene between 3 and 4 becomes 3A, as on a locked production script.

use std::collections::{BTreeSet, HashMap};

use thiserror::Error;

use super::{ParsedScript, ParsedShot};
use crate::model::{Millis, Scene, Shot, ShotId, shot_code};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MergeError {
    #[error(
        "{file}:{line}: scene number {number} is used twice (first at line {first}); give each scene its own number"
    )]
    DuplicateScene {
        file: String,
        line: u32,
        number: String,
        first: u32,
    },
    #[error(
        "{file}:{line}: shot {code} is listed twice (first at line {first}); give each shot its own code"
    )]
    DuplicateShot {
        file: String,
        line: u32,
        code: String,
        first: u32,
    },
}

/// What an import changes; applied by the store in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergePlan {
    /// The project's scenes after the import, in script order.
    pub scenes: Vec<Scene>,
    /// Shots to write: every shot of the script, new or updated, plus newly omitted ones.
    pub shots: Vec<Shot>,
    /// Shots to delete (they had no takes).
    pub removed: Vec<ShotId>,
    pub summary: MergeSummary,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MergeSummary {
    pub scenes: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub omitted: usize,
    pub removed: usize,
}

/// What is already stored for the project.
pub struct Existing<'a> {
    pub scenes: &'a [Scene],
    pub shots: &'a [Shot],
    /// Whether a shot has takes (or jobs that will make takes).
    pub has_takes: &'a dyn Fn(ShotId) -> bool,
}

/// Plans the import of `parsed` into `project`. `full_spec`: the source carries every prompt
/// field (CSV), so it replaces the stored spec; otherwise (Fountain) only the script's own
/// fields (action, environment derived from the heading, dialogue, notes) are updated.
pub fn plan(
    project: &str,
    file: &str,
    parsed: &ParsedScript,
    existing: &Existing<'_>,
    full_spec: bool,
    now: Millis,
    next_id: &mut dyn FnMut() -> ShotId,
) -> Result<MergePlan, MergeError> {
    let parsed = &with_scene_codes(parsed);
    let scenes = number_scenes(file, parsed, existing.scenes)?;
    let old_scenes: HashMap<&str, &Scene> = existing
        .scenes
        .iter()
        .map(|s| (s.number.as_str(), s))
        .collect();

    // Pass 1: match parsed shots to stored shots by explicit code, then by unchanged text.
    let mut matched: Vec<Option<usize>> = vec![None; count_shots(parsed)];
    let mut used = vec![false; existing.shots.len()];
    let flat: Vec<(usize, &ParsedShot)> = parsed
        .scenes
        .iter()
        .enumerate()
        .flat_map(|(si, s)| s.shots.iter().map(move |p| (si, p)))
        .collect();
    let mut seen_codes: HashMap<String, u32> = HashMap::new();
    for (i, (_, p)) in flat.iter().enumerate() {
        let Some(code) = &p.code else { continue };
        let key = code.to_uppercase();
        if let Some(first) = seen_codes.insert(key.clone(), p.line) {
            return Err(MergeError::DuplicateShot {
                file: file.to_string(),
                line: p.line,
                code: code.clone(),
                first,
            });
        }
        if let Some(j) = (0..existing.shots.len())
            .find(|&j| !used[j] && existing.shots[j].code.eq_ignore_ascii_case(code))
        {
            used[j] = true;
            matched[i] = Some(j);
        }
    }
    for (i, (_, p)) in flat.iter().enumerate() {
        if matched[i].is_some() || p.source_text.is_empty() || p.code.is_some() {
            continue;
        }
        if let Some(j) = (0..existing.shots.len())
            .find(|&j| !used[j] && existing.shots[j].source_text == p.source_text)
        {
            used[j] = true;
            matched[i] = Some(j);
        }
    }
    // Pass 2: an edited shot keeps its place: pair the leftovers of each scene in order. A shot
    // with takes only pairs with text that is recognisably its own (a fix, not a new beat), so
    // takes never end up under unrelated action.
    for (i, (si, p)) in flat.iter().enumerate() {
        if matched[i].is_some() || p.code.is_some() {
            continue;
        }
        let number = &scenes[*si].number;
        if let Some(j) = (0..existing.shots.len()).find(|&j| {
            let old = &existing.shots[j];
            !used[j]
                && !old.omitted
                && &old.scene == number
                && (!(existing.has_takes)(old.id) || similar(&old.source_text, &p.source_text))
        }) {
            used[j] = true;
            matched[i] = Some(j);
        }
    }

    // Codes taken by shots that stay (matched ones keep theirs unless they changed scene).
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (i, (si, p)) in flat.iter().enumerate() {
        if let Some(code) = &p.code {
            taken.insert(code.to_uppercase());
        } else if let Some(j) = matched[i] {
            if existing.shots[j].scene == scenes[*si].number {
                taken.insert(existing.shots[j].code.to_uppercase());
            }
        }
    }
    for (j, s) in existing.shots.iter().enumerate() {
        if !used[j] && (existing.has_takes)(s.id) {
            taken.insert(s.code.to_uppercase());
        }
    }

    let mut out = MergePlan {
        scenes: scenes.clone(),
        ..MergePlan::default()
    };
    let mut next_letter: HashMap<String, usize> = HashMap::new();
    for (i, (si, p)) in flat.iter().enumerate() {
        let scene = &scenes[*si];
        let order = u32::try_from(i).unwrap_or(u32::MAX);
        let keep_code = matched[i]
            .map(|j| &existing.shots[j])
            .filter(|old| old.scene == scene.number)
            .map(|old| old.code.clone());
        let code = match (&p.code, keep_code) {
            (Some(c), _) => c.clone(),
            (None, Some(c)) => c,
            (None, None) => {
                let n = next_letter.entry(scene.number.clone()).or_insert(0);
                loop {
                    let c = shot_code(&scene.number, *n);
                    *n += 1;
                    if taken.insert(c.to_uppercase()) {
                        break c;
                    }
                }
            }
        };
        match matched[i] {
            Some(j) => {
                let old = &existing.shots[j];
                let mut shot = old.clone();
                shot.code = code;
                shot.scene = scene.number.clone();
                shot.order = order;
                shot.source_line = Some(p.line);
                shot.source_text = p.source_text.clone();
                shot.dialogue = p.dialogue.clone();
                shot.notes = p.notes.clone();
                shot.omitted = false;
                if full_spec {
                    shot.spec = p.spec.clone();
                } else {
                    shot.spec.action = p.spec.action.clone();
                    let derived_before = old_scenes
                        .get(old.scene.as_str())
                        .map(|s| s.environment())
                        .unwrap_or_default();
                    if old.spec.environment.is_empty() || old.spec.environment == derived_before {
                        shot.spec.environment = p.spec.environment.clone();
                    }
                }
                let same = shot.code == old.code
                    && shot.scene == old.scene
                    && shot.spec == old.spec
                    && shot.dialogue == old.dialogue
                    && shot.notes == old.notes
                    && shot.omitted == old.omitted;
                if same {
                    out.summary.unchanged += 1;
                } else {
                    shot.updated_at = now;
                    out.summary.updated += 1;
                }
                out.shots.push(shot);
            }
            None => {
                out.summary.added += 1;
                let mut shot = Shot::new(
                    next_id(),
                    project,
                    &code,
                    &scene.number,
                    order,
                    p.spec.clone(),
                    now,
                );
                shot.dialogue = p.dialogue.clone();
                shot.notes = p.notes.clone();
                shot.source_line = Some(p.line);
                shot.source_text = p.source_text.clone();
                out.shots.push(shot);
            }
        }
    }
    for (j, s) in existing.shots.iter().enumerate() {
        if used[j] {
            continue;
        }
        if (existing.has_takes)(s.id) {
            if !s.omitted {
                let mut kept = s.clone();
                kept.omitted = true;
                kept.updated_at = now;
                out.summary.omitted += 1;
                out.shots.push(kept);
            }
        } else {
            out.summary.removed += 1;
            out.removed.push(s.id);
        }
    }
    // Omitted scenes stay listed while they hold omitted shots, so their headings stay known.
    for s in &out.shots {
        if s.omitted && !out.scenes.iter().any(|sc| sc.number == s.scene) {
            if let Some(old) = old_scenes.get(s.scene.as_str()) {
                out.scenes.push((*old).clone());
            }
        }
    }
    out.summary.scenes = scenes.len();
    Ok(out)
}

/// Shot lists often number shots within each scene (`1, 2, 3` or `A, B`): those become codes of
/// the scene (`12` + `2` → `12B`, `12` + `B` → `12B`), as previs codes its own shots, so they are
/// unique in the project. A code that already starts with its scene number (`12A`, `12.1`) or
/// any other code is kept as written.
pub fn scene_shot_code(scene: &str, cell: &str) -> String {
    let cell = cell.trim();
    if !cell.is_empty() && cell.chars().all(|c| c.is_ascii_digit()) {
        if let Ok(n) = cell.parse::<usize>() {
            if n >= 1 {
                return shot_code(scene, n - 1);
            }
        }
    }
    if !cell.is_empty() && cell.len() <= 3 && cell.chars().all(|c| c.is_ascii_alphabetic()) {
        let sep = if scene
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphabetic())
        {
            "-"
        } else {
            ""
        };
        return format!("{scene}{sep}{}", cell.to_ascii_uppercase());
    }
    cell.to_string()
}

fn with_scene_codes(parsed: &ParsedScript) -> ParsedScript {
    let mut out = parsed.clone();
    for scene in &mut out.scenes {
        let Some(number) = scene.number.clone() else {
            continue;
        };
        for shot in &mut scene.shots {
            if let Some(code) = &shot.code {
                shot.code = Some(scene_shot_code(&number, code));
            }
        }
    }
    out
}

/// Whether two texts are versions of one another: at least half of their character pairs are
/// shared (Dice coefficient of bigrams), which survives typo fixes and small rewrites in any
/// script but not a different beat.
fn similar(a: &str, b: &str) -> bool {
    fn bigrams(s: &str) -> Vec<(char, char)> {
        let chars: Vec<char> = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        let mut v: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
        v.sort_unstable();
        v
    }
    let (x, y) = (bigrams(a), bigrams(b));
    if x.is_empty() || y.is_empty() {
        return a.trim() == b.trim();
    }
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2 * common >= (x.len() + y.len()) / 2
}

fn count_shots(parsed: &ParsedScript) -> usize {
    parsed.scenes.iter().map(|s| s.shots.len()).sum()
}

/// Gives every parsed scene its number: the script's own, else the stored number of the scene
/// with the same heading, else the next number after the previous scene (or that number with a
/// letter when it is taken: 3A, 3B …).
fn number_scenes(
    file: &str,
    parsed: &ParsedScript,
    old: &[Scene],
) -> Result<Vec<Scene>, MergeError> {
    let mut numbers: Vec<Option<String>> = parsed.scenes.iter().map(|s| s.number.clone()).collect();
    let mut used_old = vec![false; old.len()];
    let explicit: BTreeSet<String> = numbers.iter().flatten().cloned().collect();
    for (i, s) in parsed.scenes.iter().enumerate() {
        if numbers[i].is_some() || s.heading.is_empty() {
            continue;
        }
        if let Some(j) = (0..old.len()).find(|&j| {
            !used_old[j] && old[j].heading == s.heading && !explicit.contains(&old[j].number)
        }) {
            used_old[j] = true;
            numbers[i] = Some(old[j].number.clone());
        }
    }
    let mut taken: BTreeSet<String> = numbers.iter().flatten().cloned().collect();
    for (j, s) in old.iter().enumerate() {
        if used_old[j] {
            taken.insert(s.number.clone());
        }
    }
    let mut prev: Option<String> = None;
    for n in &mut numbers {
        if n.is_none() {
            // The number after the previous scene's (12A → 13), or, when that is taken, the
            // previous number with a letter (12B).
            let digits: String = prev
                .as_deref()
                .unwrap_or("")
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let next = match digits.parse::<u64>() {
                Ok(p) => (p + 1).to_string(),
                Err(_) if prev.is_none() => "1".to_string(),
                Err(_) => String::new(),
            };
            let candidate = if !next.is_empty() && !taken.contains(&next) {
                next
            } else {
                let base = if digits.is_empty() {
                    prev.clone().unwrap_or_else(|| "0".to_string())
                } else {
                    digits.clone()
                };
                let mut k = 0;
                loop {
                    let c = format!("{base}{}", crate::model::shot_letter(k));
                    k += 1;
                    if !taken.contains(&c) {
                        break c;
                    }
                }
            };
            taken.insert(candidate.clone());
            *n = Some(candidate);
        }
        prev = n.clone();
    }
    let mut first_line: HashMap<String, u32> = HashMap::new();
    let mut scenes = Vec::with_capacity(parsed.scenes.len());
    for (s, n) in parsed.scenes.iter().zip(numbers) {
        let number = n.unwrap_or_default();
        if let Some(first) = first_line.insert(number.clone(), s.line) {
            return Err(MergeError::DuplicateScene {
                file: file.to_string(),
                line: s.line,
                number,
                first,
            });
        }
        scenes.push(Scene {
            number,
            heading: s.heading.clone(),
            int_ext: s.int_ext,
            location: s.location.clone(),
            time_of_day: s.time_of_day.clone(),
            line: s.line,
            synopses: s.synopses.clone(),
        });
    }
    Ok(scenes)
}

#[cfg(test)]
mod tests;
