//! What each hosted Wan text-to-video model accepts and what it costs (protocol brief §1.4,
//! §1.10): sizes per resolution tier, durations, prompt limits, output frame rate, audio, and
//! per-second prices in CNY (Beijing) and USD (international).
//!
//! Invariant: a recipe that passes [`ModelSpec::check`] is one DashScope accepts as sent; nothing
//! is ever truncated or rounded here to make it fit (DashScope would cut an over-long prompt
//! silently, so previs refuses it instead).

use std::collections::BTreeMap;
use std::fmt;

use crate::config::SecondPrice;
use crate::model::{Cost, Recipe};

/// Largest seed DashScope accepts.
pub const MAX_SEED: u64 = 2_147_483_647;

/// Longest negative prompt, in characters (Unicode scalar values), for every model.
pub const NEGATIVE_MAX: usize = 500;

/// A resolution tier: what DashScope bills by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    P480,
    P720,
    P1080,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::P480, Tier::P720, Tier::P1080];

    /// The name used in `[backend.price] per_second` and in DashScope's docs.
    pub fn label(self) -> &'static str {
        match self {
            Self::P480 => "480P",
            Self::P720 => "720P",
            Self::P1080 => "1080P",
        }
    }

    /// The sizes (`W*H`) DashScope renders in this tier.
    pub fn sizes(self) -> &'static [(u32, u32)] {
        match self {
            Self::P480 => &[(832, 480), (480, 832), (624, 624)],
            Self::P720 => &[
                (1280, 720),
                (720, 1280),
                (960, 960),
                (1088, 832),
                (832, 1088),
            ],
            Self::P1080 => &[
                (1920, 1080),
                (1080, 1920),
                (1440, 1440),
                (1632, 1248),
                (1248, 1632),
            ],
        }
    }

    /// The tier a size belongs to, if DashScope renders it at all.
    pub fn of(width: u32, height: u32) -> Option<Tier> {
        Self::ALL
            .into_iter()
            .find(|t| t.sizes().contains(&(width, height)))
    }

    fn parse(label: &str) -> Option<Tier> {
        Self::ALL
            .into_iter()
            .find(|t| t.label().eq_ignore_ascii_case(label.trim()))
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Clip lengths a model renders, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durations {
    /// Always this long; the request carries no duration.
    Fixed(u32),
    /// Any whole number of seconds in the range.
    Range(u32, u32),
    /// One of these.
    OneOf(&'static [u32]),
}

impl Durations {
    fn allows(self, s: u32) -> bool {
        match self {
            Self::Fixed(d) => s == d,
            Self::Range(lo, hi) => (lo..=hi).contains(&s),
            Self::OneOf(set) => set.contains(&s),
        }
    }

    fn describe(self) -> String {
        match self {
            Self::Fixed(d) => format!("{d} s clips only"),
            Self::Range(lo, hi) => format!("whole seconds from {lo} to {hi}"),
            Self::OneOf(set) => {
                let v: Vec<String> = set.iter().map(u32::to_string).collect();
                format!("{} s clips", v.join(" or "))
            }
        }
    }
}

/// One hosted text-to-video model.
#[derive(Debug, PartialEq)]
pub struct ModelSpec {
    pub name: &'static str,
    pub tiers: &'static [Tier],
    pub durations: Durations,
    /// Longest prompt in characters.
    pub prompt_max: usize,
    /// Frame rate of the MP4 DashScope returns, whatever the recipe asked for.
    pub fps: u32,
    /// Whether the video has a soundtrack (generated when no audio is given).
    pub audio: bool,
    /// CNY per second by tier (Beijing).
    cny: &'static [(Tier, f64)],
    /// USD per second by tier (international).
    usd: &'static [(Tier, f64)],
}

use Tier::{P480, P720, P1080};

/// The models previs knows, newest first.
pub static MODELS: &[ModelSpec] = &[
    ModelSpec {
        name: "wan2.6-t2v",
        tiers: &[P720, P1080],
        durations: Durations::Range(2, 15),
        prompt_max: 1500,
        fps: 30,
        audio: true,
        cny: &[(P720, 0.6), (P1080, 1.0)],
        usd: &[(P720, 0.10), (P1080, 0.15)],
    },
    ModelSpec {
        name: "wan2.6-t2v-us",
        tiers: &[P720, P1080],
        durations: Durations::OneOf(&[5, 10]),
        prompt_max: 1500,
        // Not stated for the Virginia model; it is wan2.6, which renders 30 fps.
        fps: 30,
        audio: true,
        cny: &[],
        usd: &[],
    },
    ModelSpec {
        name: "wan2.5-t2v-preview",
        tiers: &[P480, P720, P1080],
        durations: Durations::OneOf(&[5, 10]),
        prompt_max: 1500,
        fps: 24,
        audio: true,
        cny: &[(P480, 0.30), (P720, 0.60), (P1080, 1.00)],
        usd: &[],
    },
    ModelSpec {
        name: "wan2.2-t2v-plus",
        tiers: &[P480, P1080],
        durations: Durations::Fixed(5),
        prompt_max: 800,
        fps: 30,
        audio: false,
        cny: &[(P480, 0.14), (P1080, 0.70)],
        usd: &[],
    },
    ModelSpec {
        name: "wanx2.1-t2v-turbo",
        tiers: &[P480, P720],
        durations: Durations::Fixed(5),
        prompt_max: 800,
        fps: 30,
        audio: false,
        cny: &[(P480, 0.24), (P720, 0.24)],
        usd: &[(P480, 0.036), (P720, 0.036)],
    },
    ModelSpec {
        name: "wanx2.1-t2v-plus",
        tiers: &[P720],
        durations: Durations::Fixed(5),
        prompt_max: 800,
        fps: 30,
        audio: false,
        cny: &[(P720, 0.70)],
        usd: &[(P720, 0.10)],
    },
];

/// The model called `name`. English docs spell the 2.1 models `wan2.1-…`; both spellings are
/// accepted and the configured one is what gets sent.
pub fn find(name: &str) -> Result<&'static ModelSpec, String> {
    let canonical = match name.strip_prefix("wan2.1-") {
        Some(rest) => format!("wanx2.1-{rest}"),
        None => name.to_string(),
    };
    MODELS.iter().find(|m| m.name == canonical).ok_or_else(|| {
        format!(
            "unknown DashScope model {:?}; previs knows {}",
            crate::sanitize::line(name),
            MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
        )
    })
}

impl ModelSpec {
    /// Whether the request carries `parameters.duration` (wan2.5 and 2.6).
    pub fn takes_duration(&self) -> bool {
        !matches!(self.durations, Durations::Fixed(_))
    }

    fn sizes(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.tiers.iter().flat_map(|t| t.sizes().iter().copied())
    }

    /// The tier of a size this model renders.
    pub fn tier(&self, width: u32, height: u32) -> Option<Tier> {
        Tier::of(width, height).filter(|t| self.tiers.contains(t))
    }

    /// The clip length in whole seconds, if `duration_s` is one this model renders.
    pub fn seconds(&self, duration_s: f64) -> Option<u32> {
        let rounded = duration_s.round();
        if (duration_s - rounded).abs() > 1e-6 || !(1.0..=60.0).contains(&rounded) {
            return None;
        }
        let s = rounded as u32;
        self.durations.allows(s).then_some(s)
    }

    /// Refuses what DashScope would refuse or silently change; the message names the value
    /// and what is allowed.
    pub fn check(&self, r: &Recipe) -> Result<(), String> {
        if self.tier(r.width, r.height).is_none() {
            let sizes: Vec<String> = self.sizes().map(|(w, h)| format!("{w}x{h}")).collect();
            return Err(format!(
                "{} renders {}; not {}x{}",
                self.name,
                sizes.join(", "),
                r.width,
                r.height
            ));
        }
        if self.seconds(r.duration_s).is_none() {
            return Err(format!(
                "{} renders {}; not {} s",
                self.name,
                self.durations.describe(),
                r.duration_s
            ));
        }
        let n = r.prompt.chars().count();
        if n > self.prompt_max {
            return Err(format!(
                "the prompt is {n} characters and {} takes at most {} (DashScope would cut the rest silently); shorten it",
                self.name, self.prompt_max
            ));
        }
        let n = r.negative.chars().count();
        if n > NEGATIVE_MAX {
            return Err(format!(
                "the negative prompt is {n} characters and DashScope takes at most {NEGATIVE_MAX} (it would cut the rest silently); shorten it"
            ));
        }
        if r.seed > MAX_SEED {
            return Err(format!(
                "seed {} is out of range: DashScope takes 0 to {MAX_SEED}",
                r.seed
            ));
        }
        Ok(())
    }

    fn builtin(&self, currency: &str) -> &'static [(Tier, f64)] {
        match currency {
            "CNY" => self.cny,
            "USD" => self.usd,
            _ => &[],
        }
    }
}

/// The currency DashScope bills in for a base URL: yuan in Beijing, dollars elsewhere.
pub fn region_currency(base_url: &str) -> &'static str {
    let host = reqwest::Url::parse(base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    if host == "dashscope.aliyuncs.com" || host.ends_with(".cn-beijing.maas.aliyuncs.com") {
        "CNY"
    } else {
        "USD"
    }
}

/// Per-second prices of one model in one currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Pricing {
    pub currency: String,
    per_second: BTreeMap<Tier, f64>,
    /// The configuration's override rather than the built-in table.
    pub configured: bool,
}

impl Pricing {
    /// `[backend.price]` when given (its tier names are checked), else the built-in table for
    /// the currency of the region.
    pub fn new(
        model: &ModelSpec,
        base_url: &str,
        over: Option<&SecondPrice>,
    ) -> Result<Self, String> {
        if let Some(p) = over {
            let mut per_second = BTreeMap::new();
            for (label, price) in &p.per_second {
                let tier = Tier::parse(label).ok_or_else(|| {
                    format!(
                        "price.per_second: unknown tier {:?}; use \"480P\", \"720P\" or \"1080P\"",
                        crate::sanitize::line(label)
                    )
                })?;
                if !(price.is_finite() && *price >= 0.0) {
                    return Err(format!(
                        "price.per_second.{label}: give a price of zero or more"
                    ));
                }
                per_second.insert(tier, *price);
            }
            let currency = p.currency.trim().to_ascii_uppercase();
            if currency.is_empty() {
                return Err("price.currency is empty; give e.g. \"USD\" or \"CNY\"".into());
            }
            return Ok(Self {
                currency,
                per_second,
                configured: true,
            });
        }
        let currency = region_currency(base_url);
        Ok(Self {
            currency: currency.to_string(),
            per_second: model.builtin(currency).iter().copied().collect(),
            configured: false,
        })
    }

    pub fn per_second(&self, tier: Tier) -> Option<f64> {
        self.per_second.get(&tier).copied()
    }

    /// `seconds` of video in `tier`; zero when no price is known (`health` says so).
    pub fn cost(&self, tier: Option<Tier>, seconds: f64) -> Cost {
        let amount = tier
            .and_then(|t| self.per_second(t))
            .map_or(0.0, |p| p * seconds.max(0.0));
        Cost {
            amount: (amount * 1e6).round() / 1e6,
            currency: self.currency.clone(),
        }
    }

    /// The model's tiers this price list does not cover.
    pub fn missing(&self, model: &ModelSpec) -> Vec<Tier> {
        model
            .tiers
            .iter()
            .copied()
            .filter(|t| !self.per_second.contains_key(t))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ShotSpec;

    fn recipe(w: u32, h: u32, d: f64, prompt: &str) -> Recipe {
        Recipe {
            prompt: prompt.into(),
            negative: String::new(),
            seed: 7,
            backend: "wan-cloud".into(),
            model: "m".into(),
            width: w,
            height: h,
            fps: 24,
            duration_s: d,
            frames: 120,
            style: None,
            variant: BTreeMap::new(),
            spec: ShotSpec::default(),
            params: BTreeMap::new(),
        }
    }

    /// Model, width, height, seconds, and the expected verdict.
    type Case<'a> = (&'a str, u32, u32, f64, Result<(), &'a str>);

    #[test]
    fn sizes_and_durations_follow_the_matrix() {
        let cases: &[Case] = &[
            ("wan2.2-t2v-plus", 832, 480, 5.0, Ok(())),
            ("wan2.2-t2v-plus", 1632, 1248, 5.0, Ok(())),
            (
                "wan2.2-t2v-plus",
                1280,
                720,
                5.0,
                Err(
                    "wan2.2-t2v-plus renders 832x480, 480x832, 624x624, 1920x1080, 1080x1920, 1440x1440, 1632x1248, 1248x1632; not 1280x720",
                ),
            ),
            (
                "wan2.2-t2v-plus",
                832,
                480,
                3.0,
                Err("wan2.2-t2v-plus renders 5 s clips only; not 3 s"),
            ),
            ("wan2.6-t2v", 1280, 720, 2.0, Ok(())),
            ("wan2.6-t2v", 1080, 1920, 15.0, Ok(())),
            (
                "wan2.6-t2v",
                1280,
                720,
                2.5,
                Err("wan2.6-t2v renders whole seconds from 2 to 15; not 2.5 s"),
            ),
            (
                "wan2.6-t2v",
                832,
                480,
                5.0,
                Err(
                    "wan2.6-t2v renders 1280x720, 720x1280, 960x960, 1088x832, 832x1088, 1920x1080, 1080x1920, 1440x1440, 1632x1248, 1248x1632; not 832x480",
                ),
            ),
            ("wan2.5-t2v-preview", 624, 624, 10.0, Ok(())),
            (
                "wan2.5-t2v-preview",
                624,
                624,
                7.0,
                Err("wan2.5-t2v-preview renders 5 or 10 s clips; not 7 s"),
            ),
            ("wan2.6-t2v-us", 1920, 1080, 10.0, Ok(())),
            ("wanx2.1-t2v-turbo", 1088, 832, 5.0, Ok(())),
            ("wanx2.1-t2v-plus", 960, 960, 5.0, Ok(())),
            (
                "wanx2.1-t2v-plus",
                832,
                480,
                5.0,
                Err(
                    "wanx2.1-t2v-plus renders 1280x720, 720x1280, 960x960, 1088x832, 832x1088; not 832x480",
                ),
            ),
        ];
        for (model, w, h, d, want) in cases {
            let got = find(model).unwrap().check(&recipe(*w, *h, *d, "a cat"));
            assert_eq!(got, want.map_err(str::to_string), "{model} {w}x{h} {d}");
        }
    }

    #[test]
    fn prompts_are_counted_in_characters_and_never_cut() {
        let m = find("wan2.2-t2v-plus").unwrap();
        // 800 Han characters are 2400 bytes: still within the limit.
        assert_eq!(m.check(&recipe(832, 480, 5.0, &"猫".repeat(800))), Ok(()));
        let err = m
            .check(&recipe(832, 480, 5.0, &"猫".repeat(801)))
            .unwrap_err();
        assert!(
            err.starts_with("the prompt is 801 characters and wan2.2-t2v-plus takes at most 800"),
            "{err}"
        );
        let m26 = find("wan2.6-t2v").unwrap();
        assert_eq!(
            m26.check(&recipe(1280, 720, 5.0, &"a".repeat(1500))),
            Ok(())
        );
        assert!(
            m26.check(&recipe(1280, 720, 5.0, &"a".repeat(1501)))
                .is_err()
        );
        let mut r = recipe(832, 480, 5.0, "x");
        r.negative = "糊".repeat(501);
        let err = m.check(&r).unwrap_err();
        assert!(
            err.contains("501 characters") && err.contains("500"),
            "{err}"
        );
        r.negative = "糊".repeat(500);
        r.seed = MAX_SEED + 1;
        assert!(m.check(&r).unwrap_err().contains("seed"));
    }

    #[test]
    fn unknown_models_list_the_known_ones_and_2_1_has_two_spellings() {
        let err = find("wan9-t2v").unwrap_err();
        assert_eq!(
            err,
            "unknown DashScope model \"wan9-t2v\"; previs knows wan2.6-t2v, wan2.6-t2v-us, wan2.5-t2v-preview, wan2.2-t2v-plus, wanx2.1-t2v-turbo, wanx2.1-t2v-plus"
        );
        assert_eq!(find("wan2.1-t2v-turbo").unwrap().name, "wanx2.1-t2v-turbo");
        assert!(find("wan2.6-t2v").unwrap().takes_duration());
        assert!(!find("wan2.2-t2v-plus").unwrap().takes_duration());
        assert_eq!(find("wan2.5-t2v-preview").unwrap().fps, 24);
    }

    #[test]
    fn prices_follow_the_region_unless_configured() {
        let cases: &[(&str, &str, u32, u32, f64, f64, &str)] = &[
            (
                "wan2.2-t2v-plus",
                "https://dashscope.aliyuncs.com",
                832,
                480,
                5.0,
                0.70,
                "CNY",
            ),
            (
                "wan2.2-t2v-plus",
                "https://dashscope.aliyuncs.com",
                1920,
                1080,
                5.0,
                3.50,
                "CNY",
            ),
            (
                "wan2.5-t2v-preview",
                "https://dashscope.aliyuncs.com",
                1280,
                720,
                10.0,
                6.0,
                "CNY",
            ),
            (
                "wanx2.1-t2v-turbo",
                "https://dashscope-intl.aliyuncs.com",
                832,
                480,
                5.0,
                0.18,
                "USD",
            ),
            (
                "wan2.6-t2v",
                "https://dashscope-intl.aliyuncs.com",
                1920,
                1080,
                10.0,
                1.5,
                "USD",
            ),
            // No international price is published for wan2.2: zero, and health says so.
            (
                "wan2.2-t2v-plus",
                "https://dashscope-intl.aliyuncs.com",
                832,
                480,
                5.0,
                0.0,
                "USD",
            ),
        ];
        for (model, base, w, h, secs, amount, currency) in cases {
            let m = find(model).unwrap();
            let p = Pricing::new(m, base, None).unwrap();
            let c = p.cost(m.tier(*w, *h), *secs);
            assert_eq!(
                (c.amount, c.currency.as_str()),
                (*amount, *currency),
                "{model} {base}"
            );
        }
        let m = find("wan2.2-t2v-plus").unwrap();
        let intl = Pricing::new(m, "https://dashscope-intl.aliyuncs.com", None).unwrap();
        assert_eq!(intl.missing(m), vec![Tier::P480, Tier::P1080]);
        let over = SecondPrice {
            currency: "usd".into(),
            per_second: [("480p".to_string(), 0.05)].into_iter().collect(),
        };
        let p = Pricing::new(m, "http://127.0.0.1:1", Some(&over)).unwrap();
        assert_eq!(p.cost(Some(Tier::P480), 5.0).amount, 0.25);
        assert_eq!(p.currency, "USD");
        assert_eq!(p.missing(m), vec![Tier::P1080]);
        let bad = SecondPrice {
            currency: "USD".into(),
            per_second: [("4K".to_string(), 1.0)].into_iter().collect(),
        };
        assert!(Pricing::new(m, "x", Some(&bad)).unwrap_err().contains("4K"));
    }
}
