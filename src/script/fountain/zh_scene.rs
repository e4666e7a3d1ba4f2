//! Chinese scene headings that open with the scene's number: `第一场 日 外 乡间公路`,
//! `第1场 夜 内 客厅`, `第十二场：外 码头 夜`, `场景一 内 客厅 夜`.
//!
//! Chinese scripts number their scenes in the heading, in words or digits, where Fountain puts
//! `#1#` at the end. `第` + numeral + `场`, or `场景` + numeral, followed by a separator (a space,
//! `：`, `:`, `、`, `·`, `.`) or by nothing, does not open ordinary prose: a sentence glues the
//! next word on (`第一场雪`, `场景一片狼藉`) or ends in punctuation, which such a heading never
//! holds. So, standing alone between blank lines like `INT`, such a line is a heading; the rest
//! of it is taken apart by `parse_heading` (`日 外 乡间公路`).
//!
//! Invariant: recognising never fails; a numeral that is not a plain number from 1 (digits, or
//! Chinese numerals up to 999 written the usual way) gives a heading without a number.

/// Characters a scene numeral is written in: digits (ASCII and full-width) and Chinese numerals.
fn is_numeral_char(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c) || "〇零一二三四五六七八九十百千两".contains(c)
}

/// Longest numeral read, in characters (`一百二十三`, `001234`).
const MAX_NUMERAL: usize = 8;

/// What may follow the `场` (or the numeral of `场景一`) before the rest of the heading.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '：' | ':' | '、' | '·' | '.' | '．')
}

/// Sentence punctuation: a line holding it is prose, not a heading.
const SENTENCE: &str = "，。！？；…,;!?";

/// `第十二场：外 码头 夜` → (`Some("12")`, `外 码头 夜`); `None` when `t` (trimmed) does not open
/// with a Chinese scene number. The number is `None` when the numeral is not a plain number.
pub(super) fn zh_scene_prefix(t: &str) -> Option<(Option<String>, &str)> {
    let (numeral, rest) = if let Some(after) = t.strip_prefix('第') {
        let end = after.find(|c| !is_numeral_char(c)).unwrap_or(after.len());
        let rest = after[end..].strip_prefix('场')?;
        (&after[..end], rest)
    } else {
        let after = t.strip_prefix("场景")?;
        let end = after.find(|c| !is_numeral_char(c)).unwrap_or(after.len());
        (&after[..end], &after[end..])
    };
    let count = numeral.chars().count();
    if count == 0 || count > MAX_NUMERAL {
        return None;
    }
    if rest.chars().next().is_some_and(|c| !is_separator(c))
        || rest.contains(|c| SENTENCE.contains(c))
    {
        return None;
    }
    let number = scene_number(numeral).map(|n| n.to_string());
    Some((number, rest.trim_start_matches(is_separator)))
}

/// `12`, `０１２`, `十二`, `一百零五` → the number; anything else (`零`, `一千`, `1十`) → `None`.
fn scene_number(numeral: &str) -> Option<u32> {
    let n = if numeral
        .chars()
        .all(|c| c.is_ascii_digit() || ('０'..='９').contains(&c))
    {
        numeral
            .chars()
            .filter_map(|c| c.to_digit(10).or_else(|| full_width_digit(c)))
            .try_fold(0u32, |n, d| n.checked_mul(10)?.checked_add(d))?
    } else {
        zh_numeral(numeral)?
    };
    (n > 0).then_some(n)
}

fn full_width_digit(c: char) -> Option<u32> {
    ('０'..='９')
        .contains(&c)
        .then(|| u32::from(c) - u32::from('０'))
}

fn zh_digit(c: char) -> Option<u32> {
    "一二三四五六七八九"
        .chars()
        .position(|d| d == c)
        .and_then(|p| u32::try_from(p + 1).ok())
        .or((c == '两').then_some(2))
}

/// Chinese numerals from 1 to 999 written the usual way: `九`, `十`, `十二`, `二十`, `二十三`,
/// `一百`, `一百零五`, `一百一十`, `一百十`, `九百九十九`. `一百五` (spoken for 150, read by some as
/// 105) and digit-by-digit forms (`一二`) are not plain numbers.
fn zh_numeral(numeral: &str) -> Option<u32> {
    let chars: Vec<char> = numeral.chars().collect();
    let mut i = 0;
    let mut total = 0;
    let hundreds = chars.get(1) == Some(&'百');
    if hundreds {
        total += zh_digit(chars[0])? * 100;
        i = 2;
        if chars.get(i) == Some(&'零') {
            total += zh_digit(*chars.get(i + 1)?)?;
            return (chars.len() == i + 2).then_some(total);
        }
    }
    if chars.get(i + 1) == Some(&'十') {
        total += zh_digit(chars[i])? * 10;
        i += 2;
    } else if chars.get(i) == Some(&'十') {
        total += 10;
        i += 1;
    } else if hundreds && i < chars.len() {
        return None;
    }
    if let Some(&c) = chars.get(i) {
        total += zh_digit(c)?;
        i += 1;
    }
    (i == chars.len() && total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scene_numerals_in_digits_and_chinese() {
        let cases: &[(&str, Option<u32>)] = &[
            ("1", Some(1)),
            ("12", Some(12)),
            ("012", Some(12)),
            ("１２", Some(12)),
            ("一", Some(1)),
            ("九", Some(9)),
            ("十", Some(10)),
            ("十二", Some(12)),
            ("二十", Some(20)),
            ("二十三", Some(23)),
            ("两百", Some(200)),
            ("一百", Some(100)),
            ("一百零五", Some(105)),
            ("一百一十", Some(110)),
            ("一百十", Some(110)),
            ("九百九十九", Some(999)),
            ("0", None),
            ("零", None),
            ("一千", None),
            ("一百五", None),
            ("一二", None),
            ("十十", None),
            ("1十", None),
            ("一百零", None),
            ("百", None),
            ("99999999999", None),
        ];
        for &(numeral, want) in cases {
            assert_eq!(scene_number(numeral), want, "{numeral:?}");
        }
    }

    #[test]
    fn what_opens_with_a_scene_number() {
        let some: &[(&str, Option<&str>, &str)] = &[
            ("第一场 日 外 乡间公路", Some("1"), "日 外 乡间公路"),
            ("第1场 夜 内 客厅", Some("1"), "夜 内 客厅"),
            ("第十二场：外 码头 夜", Some("12"), "外 码头 夜"),
            ("第12场:外 码头", Some("12"), "外 码头"),
            ("场景一 内 客厅 夜", Some("1"), "内 客厅 夜"),
            ("场景３　内　客厅", Some("3"), "内　客厅"),
            ("第二场", Some("2"), ""),
            ("第一千场 夜", None, "夜"),
            ("第一百五场 夜", None, "夜"),
        ];
        for &(text, number, rest) in some {
            assert_eq!(
                zh_scene_prefix(text),
                Some((number.map(String::from), rest)),
                "{text:?}"
            );
        }
        let none = [
            "第一场雪落了下来",
            "场景一片狼藉",
            "第一场 雪下了一夜。",
            "第一次 见面",
            "第场 夜",
            "场景 内 客厅",
            "第一二三四五六七八九场 夜",
            "一场 夜",
        ];
        for text in none {
            assert_eq!(zh_scene_prefix(text), None, "{text:?}");
        }
    }
}
