//! The prompt safety filter: what previs refuses to send to a video model.
//!
//! Two layers. The `Blocklist` (built-in rules in Chinese and English, plus user files) checks
//! the compiled prompt locally and deterministically: sexual content, any sexual content with
//! minors, real political leaders by name (deepfake risk), terrorist propaganda, gore beyond
//! film norms and self-harm instructions. Ordinary film violence and horror (a chase, a gunshot,
//! blood on a knife, a ghost, 恐怖, 追杀) pass. The optional `Classifier` hook asks an outside
//! command or HTTP service for a verdict; anything but a clear verdict is an error and the
//! caller fails closed.
//!
//! Matching works on a folded form of the text (`normalize`) that defeats the usual evasions:
//! case, full-width letters, characters spaced out with punctuation or zero-width characters,
//! traditional characters, leetspeak in Latin terms.
//!
//! Invariant: a refusal is one line in the prompt's language naming the rule (`category/term`)
//! and its source; it shows the matched span of the prompt and never more of it.

mod blocklist;
mod classifier;
mod message;
mod normalize;
mod parse;

pub use blocklist::Blocklist;
pub use classifier::{Classifier, ClassifierSpec};
pub use normalize::normalize;

/// A rule that refused a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// `category/term`; for a combination `category/a & b`.
    pub id: String,
    pub category: String,
    /// `built-in`, `path:line` of a user file, or the classifier's command or URL.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// A blocklist term matched.
    Term,
    /// The classifier hook said block.
    Classifier,
}

/// Why a prompt was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub rule: Rule,
    pub kind: BlockKind,
    /// One line, in Chinese if the prompt is Chinese, else English.
    pub message: String,
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod classifier_tests;
#[cfg(test)]
mod tests;
