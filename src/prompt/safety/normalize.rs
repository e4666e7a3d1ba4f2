//! Folding a prompt to the form the safety filter matches on.
//!
//! Folding a character: full width → ASCII (and styled letters such as 𝐧 or ⓝ → n), lower
//! case, Latin diacritics and Cyrillic look-alikes → plain Latin letters, traditional →
//! simplified Chinese, and only letters and digits are kept: whitespace, punctuation (ASCII and
//! CJK), symbols, zero-width and format characters and combining marks all disappear, so
//! `n.u.d.e`, `裸 体` and `裸\u{200b}体` fold like `nude` and `裸体`. Leetspeak (`0`→o, `1`→i,
//! `3`→e, `4`→a, `5`→s, `7`→t, `@`→a, `$`→s) is undone only in the form used for Latin terms,
//! since digits carry meaning next to Chinese.
//!
//! Invariants: `normalize` is idempotent; every folded character remembers the byte range of the
//! original character it came from, so a match is reported by its own span and nothing more.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The text as the blocklist sees it (without the leetspeak folding of Latin terms).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        fold_char(c, false, &mut |f| out.push(f));
    }
    out
}

/// Folded text with the way back to the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Folded {
    pub text: String,
    /// For each folded character, in order: its byte offset in `text` and the byte range of
    /// the original character that produced it.
    origin: Vec<(usize, usize, usize)>,
}

impl Folded {
    pub fn new(original: &str, leet: bool) -> Folded {
        let mut text = String::with_capacity(original.len());
        let mut origin = Vec::with_capacity(original.len());
        for (at, c) in original.char_indices() {
            let end = at + c.len_utf8();
            fold_char(c, leet, &mut |f| {
                origin.push((text.len(), at, end));
                text.push(f);
            });
        }
        Folded { text, origin }
    }

    /// The original byte range behind folded bytes `start..start + len` (both on character
    /// boundaries of `text`, `len > 0`).
    pub fn original_span(&self, start: usize, len: usize) -> Option<(usize, usize)> {
        let first = self.origin.binary_search_by_key(&start, |o| o.0).ok()?;
        let last = match self.origin.binary_search_by_key(&(start + len), |o| o.0) {
            Ok(i) | Err(i) => i.checked_sub(1)?,
        };
        Some((self.origin.get(first)?.1, self.origin.get(last)?.2))
    }
}

/// Folds one character, handing each resulting character (none, one or more) to `emit`.
pub(super) fn fold_char(c: char, leet: bool, emit: &mut impl FnMut(char)) {
    for l in compat(c).to_lowercase() {
        let l = if leet { unleet(l) } else { l };
        let l = simplify(latin(l));
        if l.is_alphanumeric() && !is_invisible(l) {
            emit(l);
        }
    }
}

/// Whether `c` counts as part of a Latin word when deciding word boundaries: a letter or
/// digit that is not Chinese, Japanese or Korean (those are written without spaces).
pub(super) fn is_word_char(c: char) -> bool {
    let mut word = false;
    fold_char(c, true, &mut |f| word |= !is_cjk(f));
    word
}

/// Chinese, Japanese and Korean characters, which are written without spaces.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{1100}'..='\u{11ff}'
        | '\u{2e80}'..='\u{9fff}'
        | '\u{a960}'..='\u{a97f}'
        | '\u{ac00}'..='\u{d7ff}'
        | '\u{f900}'..='\u{faff}'
        | '\u{ff66}'..='\u{ff9f}'
        | '\u{20000}'..='\u{3ffff}')
}

/// Characters that are letters or marks but show nothing of their own: combining marks,
/// variation selectors, Hangul fillers, zero-width and format characters. Obfuscation hides
/// in them.
pub(super) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}'
        | '\u{0300}'..='\u{036f}'
        | '\u{0483}'..='\u{0489}'
        | '\u{115f}'..='\u{1160}'
        | '\u{17b4}'..='\u{17b5}'
        | '\u{180b}'..='\u{180f}'
        | '\u{1ab0}'..='\u{1aff}'
        | '\u{1dc0}'..='\u{1dff}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2060}'..='\u{2064}'
        | '\u{20d0}'..='\u{20ff}'
        | '\u{3099}'..='\u{309a}'
        | '\u{3164}'
        | '\u{fe00}'..='\u{fe0f}'
        | '\u{fe20}'..='\u{fe2f}'
        | '\u{feff}'
        | '\u{ffa0}'
        | '\u{e0000}'..='\u{e01ef}')
}

/// Full-width forms and styled Latin letters (mathematical, circled, squared) → ASCII.
fn compat(c: char) -> char {
    let u = u32::from(c);
    let letter = |i: u32| char::from_u32(u32::from('a') + i % 26).unwrap_or(c);
    match u {
        0xff01..=0xff5e => char::from_u32(u - 0xfee0).unwrap_or(c),
        0x3000 => ' ',
        // Circled and parenthesised letters.
        0x24b6..=0x24cf => letter(u - 0x24b6),
        0x24d0..=0x24e9 => letter(u - 0x24d0),
        0x249c..=0x24b5 => letter(u - 0x249c),
        // Squared, negative circled and negative squared capitals.
        0x1f130..=0x1f149 => letter(u - 0x1f130),
        0x1f150..=0x1f169 => letter(u - 0x1f150),
        0x1f170..=0x1f189 => letter(u - 0x1f170),
        // Mathematical alphanumerics: runs of 26 capitals then 26 small letters; digits in runs
        // of ten.
        0x1d400..=0x1d6a3 => letter((u - 0x1d400) % 52),
        0x1d7ce..=0x1d7ff => char::from_u32(u32::from('0') + (u - 0x1d7ce) % 10).unwrap_or(c),
        _ => c,
    }
}

fn unleet(c: char) -> char {
    match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        _ => c,
    }
}

/// Lower-case Latin letters with diacritics (Latin-1, Latin Extended-A, pinyin tones) and
/// Cyrillic and Greek look-alikes → plain ASCII letters.
fn latin(c: char) -> char {
    match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' | 'ǎ' | 'а' | 'α' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' | 'с' => 'c',
        'ď' | 'đ' | 'ԁ' => 'd',
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'е' | 'ε' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ĥ' | 'ħ' | 'һ' => 'h',
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'ǐ' | 'і' | 'ι' => 'i',
        'ĵ' | 'ј' => 'j',
        'ķ' | 'κ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' | 'ӏ' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'ǒ' | 'о' | 'ο' => 'o',
        'р' | 'ρ' => 'p',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' | 'ѕ' => 's',
        'ţ' | 'ť' | 'ŧ' => 't',
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ǔ' | 'ǖ' | 'ǘ' | 'ǚ' | 'ǜ' => {
            'u'
        }
        'ν' => 'v',
        'ŵ' => 'w',
        'х' | 'χ' => 'x',
        'ý' | 'ÿ' | 'ŷ' | 'у' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        _ => c,
    }
}

/// Traditional → simplified, from `t2s.txt`.
fn simplify(c: char) -> char {
    if u32::from(c) < 0x3400 {
        return c;
    }
    t2s().get(&c).copied().unwrap_or(c)
}

fn t2s() -> &'static HashMap<char, char> {
    static TABLE: OnceLock<HashMap<char, char>> = OnceLock::new();
    TABLE.get_or_init(|| t2s_pairs().collect())
}

/// The pairs of `t2s.txt`; a malformed token is skipped (a test keeps the file clean).
fn t2s_pairs() -> impl Iterator<Item = (char, char)> {
    include_str!("t2s.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(str::split_whitespace)
        .filter_map(|pair| {
            let mut chars = pair.chars();
            match (chars.next(), chars.next(), chars.next()) {
                (Some(t), Some(s), None) => Some((t, s)),
                _ => None,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_t2s_table_is_clean_and_never_chains() {
        let tokens: Vec<&str> = include_str!("t2s.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .flat_map(str::split_whitespace)
            .collect();
        assert!(tokens.len() > 300, "{} pairs", tokens.len());
        for t in &tokens {
            assert_eq!(t.chars().count(), 2, "token {t:?}");
        }
        let pairs: Vec<(char, char)> = t2s_pairs().collect();
        assert_eq!(pairs.len(), tokens.len());
        let table = t2s();
        assert_eq!(
            table.len(),
            pairs.len(),
            "a traditional character is listed twice"
        );
        for (t, s) in pairs {
            assert_ne!(t, s);
            assert!(
                !table.contains_key(&s),
                "{s} is both simplified and traditional"
            );
        }
    }

    #[test]
    fn folding_examples() {
        let cases = [
            ("NUDE", "nude"),
            ("ｎｕｄｅ", "nude"),
            ("Ｎ　Ｕ", "nu"),
            ("n.u.d.e", "nude"),
            ("n-u_d*e/\\|", "nude"),
            (
                "n\u{200b}u\u{200c}d\u{200d}e\u{2060}\u{feff}\u{00ad}",
                "nude",
            ),
            ("n\u{0301}u\u{0308}d\u{0336}e\u{20e3}", "nude"),
            ("nüdé", "nude"),
            ("𝐧𝐮𝐝𝐞", "nude"),
            ("ⓝⓤⓓⓔ", "nude"),
            ("Хі Jіnріng", "xijinping"),
            ("Xí Jìnpíng", "xijinping"),
            ("裸 体", "裸体"),
            ("裸\u{200b}体", "裸体"),
            ("裸體", "裸体"),
            ("屍，殺。習、腦；體：頭！兒？", "尸杀习脑体头儿"),
            ("「恐怖」『爆彈』（槍）《童》·…—", "恐怖爆弹枪童"),
            ("s3x", "s3x"),
            ("", ""),
        ];
        for (text, want) in cases {
            assert_eq!(normalize(text), want, "{text:?}");
        }
    }

    #[test]
    fn leetspeak_is_undone_only_in_the_latin_form() {
        assert_eq!(
            Folded::new("s3x p0rn @$$ 4 5 7 1", true).text,
            "sexpornassasti"
        );
        assert_eq!(Folded::new("s3x", false).text, "s3x");
    }

    #[test]
    fn folded_characters_map_back_to_their_original_span() {
        let text = "a ｎ.ｕ\u{200b}ｄｅ b";
        let f = Folded::new(text, false);
        let at = f.text.find("nude").unwrap();
        let (s, e) = f.original_span(at, 4).unwrap();
        assert_eq!(&text[s..e], "ｎ.ｕ\u{200b}ｄｅ");
        // Several folded characters from one original (İ → i + a combining dot, dropped).
        let f = Folded::new("xİy", false);
        assert_eq!(f.text, "xiy");
        assert_eq!(f.original_span(1, 1), Some((1, 3)));
    }

    #[test]
    fn word_characters() {
        for c in ['a', 'Z', 'ｓ', '5', 'é', 'д'] {
            assert!(is_word_char(c), "{c:?}");
        }
        for c in [' ', '.', '中', 'か', '한', '\u{200b}', '，', '\u{301}'] {
            assert!(!is_word_char(c), "{c:?}");
        }
    }
}
