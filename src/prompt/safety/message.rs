//! The words of a refusal: one line, in Chinese when the prompt is Chinese, naming the rule and
//! showing only the matched span of the prompt (with invisible characters removed), never the
//! rest of it.

use super::blocklist::BUILT_IN;
use super::normalize::is_invisible;
use super::{BlockKind, Blocked, Rule};
use crate::prompt::is_chinese;

/// A shown span or classifier reason is cut to this many characters.
const SPAN_CHARS: usize = 40;
const REASON_CHARS: usize = 200;

/// A refusal by a blocklist rule; `spans` are byte ranges of `text`, one per part.
pub(super) fn term_blocked(rule: &Rule, text: &str, spans: &[(usize, usize)]) -> Blocked {
    let zh = is_chinese(text);
    let shown: Vec<String> = spans
        .iter()
        .map(|&(s, e)| one_line(text.get(s..e).unwrap_or(""), SPAN_CHARS))
        .collect();
    let id = one_line(&rule.id, REASON_CHARS);
    let source = one_line(&rule.source, REASON_CHARS);
    let reason = reason(&rule.category, zh);
    let message = if zh {
        let hits: String = shown.iter().map(|s| format!("“{s}”")).collect();
        let source = if rule.source == BUILT_IN {
            "内置".to_string()
        } else {
            source
        };
        format!("被规则 {id}（{source}）拦截，命中{hits}：{reason}；请改写镜头描述")
    } else {
        let hits: Vec<String> = shown.iter().map(|s| format!("\"{s}\"")).collect();
        format!(
            "blocked by rule {id} ({source}) at {}: {reason}; rephrase the shot",
            hits.join(" + ")
        )
    };
    Blocked {
        rule: rule.clone(),
        kind: BlockKind::Term,
        message,
    }
}

/// A refusal by the classifier hook. `rule` and `reason` come from the classifier and are
/// untrusted: they are cleaned and cut.
pub(super) fn classifier_blocked(
    rule: Option<&str>,
    reason: Option<&str>,
    source: &str,
    zh: bool,
) -> Blocked {
    let rule = rule
        .map(|r| one_line(r, SPAN_CHARS))
        .filter(|r| !r.is_empty());
    let (id, category) = match rule {
        Some(r) => match r.split_once('/') {
            Some((cat, _)) if !cat.is_empty() => (r.clone(), cat.to_string()),
            _ => (format!("classifier/{r}"), "classifier".to_string()),
        },
        None => ("classifier/block".to_string(), "classifier".to_string()),
    };
    let reason = reason
        .map(|r| one_line(r, REASON_CHARS))
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| match category.as_str() {
            "classifier" if zh => "分类器拒绝了该提示词".to_string(),
            "classifier" => "the classifier refused the prompt".to_string(),
            other => self::reason(other, zh).to_string(),
        });
    let message = if zh {
        format!("被分类器规则 {id}（{source}）拦截：{reason}；请改写镜头描述")
    } else {
        format!("blocked by classifier rule {id} ({source}): {reason}; rephrase the shot")
    };
    Blocked {
        rule: Rule {
            id,
            category,
            source: source.to_string(),
        },
        kind: BlockKind::Classifier,
        message,
    }
}

/// What a category means, in the prompt's language.
fn reason(category: &str, zh: bool) -> &'static str {
    match (category, zh) {
        ("sexual", false) => "the prompt asks for sexual content",
        ("sexual", true) => "提示词涉及色情内容",
        ("minors", false) => "the prompt puts minors in a sexual context",
        ("minors", true) => "提示词涉及未成年人与性内容",
        ("leader", false) => "the prompt names a real political leader (deepfake risk)",
        ("leader", true) => "提示词点名真实政治人物（有深度伪造风险）",
        ("terror", false) => "the prompt asks for terrorist propaganda",
        ("terror", true) => "提示词涉及恐怖主义宣传",
        ("gore", false) => "the prompt asks for gore beyond film norms",
        ("gore", true) => "提示词涉及超出影视尺度的血腥内容",
        ("self-harm", false) => "the prompt asks for self-harm instructions",
        ("self-harm", true) => "提示词涉及自残或自杀方法",
        (_, false) => "the prompt contains a blocked term",
        (_, true) => "提示词包含被禁止的词语",
    }
}

/// Text from a prompt or a classifier as one short line: no control, format or invisible
/// characters, whitespace runs as one space, at most `max` characters.
pub(super) fn one_line(text: &str, max: usize) -> String {
    let clean = crate::sanitize::line(text);
    let visible: String = clean
        .chars()
        .filter(|&c| !is_invisible(c))
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if visible.chars().count() <= max {
        return visible;
    }
    let mut cut: String = visible.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_cleans_and_cuts() {
        assert_eq!(one_line("a\u{1b}[31mb\n c\u{200b}d", 40), "ab cd");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("", 4), "");
    }

    #[test]
    fn classifier_rule_names() {
        let b = classifier_blocked(Some("sexual/nude"), None, "x", false);
        assert_eq!(b.rule.id, "sexual/nude");
        assert_eq!(b.rule.category, "sexual");
        assert!(b.message.contains("sexual content"), "{}", b.message);
        let b = classifier_blocked(Some("nsfw"), Some("too much skin"), "x", true);
        assert_eq!(b.rule.id, "classifier/nsfw");
        assert_eq!(
            b.message,
            "被分类器规则 classifier/nsfw（x）拦截：too much skin；请改写镜头描述"
        );
        let b = classifier_blocked(None, None, "hook", false);
        assert_eq!(
            b.message,
            "blocked by classifier rule classifier/block (hook): the classifier refused the prompt; rephrase the shot"
        );
    }
}
