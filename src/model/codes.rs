//! Human codes for scenes, shots and takes, as a film crew writes them on a slate.
//!
//! Scene `12` → `SC012`; the first shot of scene 12 is `12A` (letters skip I and O, which read
//! as digits); take 3 of that shot is `SC012_SH12A_TK03`. Codes are also file names, so they only
//! ever contain ASCII letters, digits and `-`.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CodeError {
    #[error("empty code")]
    Empty,
}

/// Shot letters in slate order: A..Z without I and O.
const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";

/// The letter(s) of the `index`-th shot (0-based) of a scene: A, B, … Z, AA, AB, …
pub fn shot_letter(index: usize) -> String {
    let n = LETTERS.len();
    let mut out = Vec::new();
    let mut i = index;
    loop {
        out.push(LETTERS[i % n]);
        if i < n {
            break;
        }
        i = i / n - 1;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// Keeps only characters safe in a file name and a slate: ASCII alphanumerics and `-`,
/// uppercased; other characters are dropped (a `.` or space becomes nothing).
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The shot code of the `index`-th shot of scene `scene`: `12` + `A` → `12A`.
/// A scene number that already ends in a letter (`12A`) is joined with `-` (`12A-B`).
pub fn shot_code(scene: &str, index: usize) -> String {
    let scene = clean(scene);
    let letter = shot_letter(index);
    if scene
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphabetic())
    {
        format!("{scene}-{letter}")
    } else {
        format!("{scene}{letter}")
    }
}

/// `SC` + the scene number with its leading digits padded to three: `12` → `SC012`,
/// `12A` → `SC012A`, `I.1` → `SCI1`.
pub fn scene_code(scene: &str) -> Result<String, CodeError> {
    let scene = clean(scene);
    if scene.is_empty() {
        return Err(CodeError::Empty);
    }
    let digits: String = scene.chars().take_while(char::is_ascii_digit).collect();
    let rest = &scene[digits.len()..];
    if digits.is_empty() {
        Ok(format!("SC{rest}"))
    } else {
        let n = digits.trim_start_matches('0');
        let n = if n.is_empty() { "0" } else { n };
        Ok(format!("SC{n:0>3}{rest}"))
    }
}

/// `SC012_SH12A_TK03`. Take numbers are padded to two digits and grow past 99.
pub fn take_code(scene: &str, shot: &str, take: u32) -> Result<String, CodeError> {
    let shot = clean(shot);
    if shot.is_empty() {
        return Err(CodeError::Empty);
    }
    Ok(format!("{}_SH{shot}_TK{take:02}", scene_code(scene)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shot_letters_skip_i_and_o_and_roll_over() {
        let cases = [
            (0, "A"),
            (7, "H"),
            (8, "J"),
            (12, "N"),
            (13, "P"),
            (23, "Z"),
            (24, "AA"),
            (25, "AB"),
            (24 + 24, "BA"),
            (24 + 24 * 24, "AAA"),
        ];
        for (i, want) in cases {
            assert_eq!(shot_letter(i), want, "index {i}");
        }
    }

    #[test]
    fn shot_codes_follow_scene_numbers() {
        assert_eq!(shot_code("12", 0), "12A");
        assert_eq!(shot_code("12", 2), "12C");
        assert_eq!(shot_code("12A", 1), "12A-B");
        assert_eq!(shot_code("1.1", 0), "11A");
    }

    #[test]
    fn take_codes_pad_scene_and_take() {
        let cases = [
            ("12", "12A", 3, "SC012_SH12A_TK03"),
            ("1", "1A", 1, "SC001_SH1A_TK01"),
            ("012", "12B", 12, "SC012_SH12B_TK12"),
            ("12A", "12A-B", 120, "SC012A_SH12A-B_TK120"),
            ("1234", "1234A", 1, "SC1234_SH1234A_TK01"),
            ("I.1", "i1a", 2, "SCI1_SHI1A_TK02"),
            ("0", "0A", 1, "SC000_SH0A_TK01"),
        ];
        for (scene, shot, take, want) in cases {
            assert_eq!(take_code(scene, shot, take).unwrap(), want);
        }
    }

    #[test]
    fn codes_never_hold_path_characters() {
        let code = take_code("../7", "a/b c", 1).unwrap();
        assert_eq!(code, "SC007_SHABC_TK01");
        assert_eq!(take_code("", "A", 1), Err(CodeError::Empty));
        assert_eq!(take_code("1", "//", 1), Err(CodeError::Empty));
    }
}
