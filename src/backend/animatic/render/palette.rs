//! Colour palettes of the animatic, chosen from the free-text lighting of a shot.
//!
//! Invariant: a palette is decided by the lighting text alone (lowercased substring match,
//! English and Chinese, first listed mood wins), its colours are converted from RGB to
//! BT.601 limited-range YUV once when it is built, and the per-frame flicker of firelight is a
//! pure function of (seed, frame) so renders stay deterministic.

use super::frame::Yuv;

/// The lighting moods the animatic can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mood {
    Day,
    Dusk,
    Dawn,
    Night,
    Neon,
    Fire,
    Overcast,
    Fluorescent,
    Neutral,
}

impl Mood {
    /// Reads a lighting description. More specific moods are tried first, so "neon night"
    /// is neon and "candlelit night" is firelight.
    pub fn parse(lighting: &str) -> Self {
        const WORDS: &[(Mood, &[&str])] = &[
            (Mood::Neon, &["neon", "cyberpunk", "赛博", "霓虹"]),
            (
                Mood::Fire,
                &[
                    "firelight",
                    "fire light",
                    "candle",
                    "torch",
                    "bonfire",
                    "火光",
                    "烛光",
                    "篝火",
                    "火把",
                ],
            ),
            (Mood::Fluorescent, &["fluorescent", "荧光", "日光灯"]),
            (
                Mood::Dusk,
                &[
                    "dusk",
                    "sunset",
                    "golden hour",
                    "magic hour",
                    "黄昏",
                    "傍晚",
                    "夕阳",
                    "日落",
                ],
            ),
            (
                Mood::Dawn,
                &["dawn", "sunrise", "daybreak", "晨", "黎明", "拂晓", "日出"],
            ),
            (
                Mood::Night,
                &[
                    "night",
                    "moonlight",
                    "moonlit",
                    "midnight",
                    "夜",
                    "月光",
                    "月色",
                ],
            ),
            (
                Mood::Overcast,
                &[
                    "overcast", "rain", "cloudy", "fog", "mist", "grey", "gray", "阴", "雨", "雾",
                ],
            ),
            (
                Mood::Day,
                &[
                    "daylight",
                    "day",
                    "sunny",
                    "sunlight",
                    "noon",
                    "morning",
                    "afternoon",
                    "日",
                    "白天",
                    "阳光",
                    "正午",
                ],
            ),
        ];
        let text = lighting.to_lowercase();
        WORDS
            .iter()
            .find(|(_, words)| words.iter().any(|w| text.contains(w)))
            .map_or(Mood::Neutral, |(mood, _)| *mood)
    }
}

/// The colours of one mood. Sky bands run from the top of the sky down to the horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Palette {
    pub mood: Mood,
    pub sky: [Yuv; 4],
    /// Ground bands from the horizon towards the camera, alternating shades.
    pub ground: [Yuv; 2],
    pub far: Yuv,
    pub mid: Yuv,
    pub near: Yuv,
    /// Lit windows, signs and trims.
    pub accent: Yuv,
    /// Whether building windows are lit (night-time moods).
    pub lit_windows: bool,
    pub subject: Yuv,
    pub second: Yuv,
    /// The edge of a figure that faces the key light.
    pub rim: Yuv,
    pub flicker: bool,
}

type Rgb = (u8, u8, u8);

struct Recipe {
    sky: [Rgb; 4],
    ground: [Rgb; 2],
    far: Rgb,
    mid: Rgb,
    near: Rgb,
    accent: Rgb,
    lit_windows: bool,
    subject: Rgb,
    second: Rgb,
    rim: Rgb,
}

fn recipe(mood: Mood) -> Recipe {
    match mood {
        Mood::Day => Recipe {
            sky: [
                (74, 132, 206),
                (104, 158, 222),
                (140, 186, 232),
                (186, 214, 238),
            ],
            ground: [(168, 140, 98), (154, 126, 86)],
            far: (150, 170, 190),
            mid: (118, 112, 104),
            near: (82, 70, 58),
            accent: (70, 96, 128),
            lit_windows: false,
            subject: (44, 48, 60),
            second: (96, 60, 52),
            rim: (250, 236, 200),
        },
        Mood::Dusk => Recipe {
            sky: [
                (70, 52, 110),
                (150, 74, 110),
                (230, 120, 80),
                (252, 178, 96),
            ],
            ground: [(96, 64, 66), (82, 54, 58)],
            far: (128, 84, 110),
            mid: (78, 52, 74),
            near: (44, 30, 42),
            accent: (255, 196, 120),
            lit_windows: true,
            subject: (30, 20, 30),
            second: (60, 34, 44),
            rim: (255, 170, 90),
        },
        Mood::Dawn => Recipe {
            sky: [
                (150, 176, 214),
                (196, 196, 222),
                (238, 196, 206),
                (250, 218, 200),
            ],
            ground: [(150, 140, 146), (136, 126, 134)],
            far: (182, 176, 200),
            mid: (132, 124, 146),
            near: (88, 80, 98),
            accent: (255, 228, 200),
            lit_windows: false,
            subject: (60, 54, 72),
            second: (104, 80, 96),
            rim: (255, 220, 214),
        },
        Mood::Night => Recipe {
            sky: [(6, 10, 26), (12, 18, 42), (20, 30, 62), (34, 46, 84)],
            ground: [(22, 26, 40), (18, 22, 34)],
            far: (30, 38, 64),
            mid: (22, 28, 48),
            near: (12, 14, 24),
            accent: (236, 206, 120),
            lit_windows: true,
            subject: (8, 10, 18),
            second: (26, 28, 44),
            rim: (150, 176, 230),
        },
        Mood::Neon => Recipe {
            sky: [(10, 6, 24), (24, 10, 46), (46, 16, 72), (70, 24, 92)],
            ground: [(26, 20, 44), (16, 30, 46)],
            far: (36, 26, 70),
            mid: (26, 20, 52),
            near: (12, 10, 26),
            accent: (255, 40, 200),
            lit_windows: true,
            subject: (10, 8, 20),
            second: (20, 56, 70),
            rim: (40, 240, 255),
        },
        Mood::Fire => Recipe {
            sky: [(16, 6, 4), (40, 12, 6), (86, 26, 10), (150, 56, 16)],
            ground: [(110, 50, 20), (92, 40, 16)],
            far: (70, 26, 12),
            mid: (52, 20, 10),
            near: (26, 10, 6),
            accent: (255, 170, 60),
            lit_windows: true,
            subject: (20, 8, 4),
            second: (64, 22, 10),
            rim: (255, 150, 50),
        },
        Mood::Overcast => Recipe {
            sky: [
                (120, 126, 132),
                (140, 146, 150),
                (160, 164, 168),
                (178, 182, 184),
            ],
            ground: [(104, 106, 104), (94, 96, 94)],
            far: (142, 146, 150),
            mid: (104, 108, 112),
            near: (66, 68, 72),
            accent: (190, 196, 200),
            lit_windows: false,
            subject: (46, 50, 56),
            second: (80, 76, 74),
            rim: (210, 214, 218),
        },
        Mood::Fluorescent => Recipe {
            sky: [
                (70, 84, 74),
                (88, 104, 90),
                (110, 126, 108),
                (132, 148, 128),
            ],
            ground: [(96, 108, 92), (86, 98, 84)],
            far: (120, 136, 120),
            mid: (84, 98, 86),
            near: (50, 60, 52),
            accent: (214, 250, 214),
            lit_windows: true,
            subject: (34, 42, 38),
            second: (70, 70, 60),
            rim: (220, 255, 220),
        },
        Mood::Neutral => Recipe {
            sky: [
                (88, 100, 120),
                (108, 120, 138),
                (130, 140, 156),
                (152, 160, 172),
            ],
            ground: [(112, 112, 116), (100, 100, 106)],
            far: (136, 144, 158),
            mid: (98, 104, 118),
            near: (62, 66, 78),
            accent: (200, 210, 226),
            lit_windows: false,
            subject: (40, 44, 56),
            second: (82, 74, 80),
            rim: (226, 230, 240),
        },
    }
}

/// A colour grade from a style preset's `grade` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grade {
    #[default]
    None,
    /// Black and white (noir, ink wash, storyboard).
    Mono,
    Warm,
    Cool,
    /// Saturated and a little darker.
    Neon,
    /// Lifted blacks, washed-out colour (documentary, found footage).
    Faded,
    Vivid,
}

impl Grade {
    /// `mono`, `warm`, `cool`, `neon`, `faded`, `vivid`; anything else grades nothing.
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "mono" | "monochrome" | "bw" | "black-and-white" => Self::Mono,
            "warm" => Self::Warm,
            "cool" | "cold" => Self::Cool,
            "neon" => Self::Neon,
            "faded" | "washed" => Self::Faded,
            "vivid" | "saturated" => Self::Vivid,
            _ => Self::None,
        }
    }

    pub fn apply(self, c: Yuv) -> Yuv {
        let chroma = |c: Yuv, k: f32, du: f32, dv: f32| Yuv {
            y: c.y,
            u: to_byte(128.0 + (f32::from(c.u) - 128.0) * k + du),
            v: to_byte(128.0 + (f32::from(c.v) - 128.0) * k + dv),
        };
        match self {
            Self::None => c,
            Self::Mono => Yuv {
                u: 128,
                v: 128,
                ..c
            },
            Self::Warm => chroma(c, 1.0, -10.0, 10.0),
            Self::Cool => chroma(c, 1.0, 12.0, -8.0),
            Self::Neon => Yuv {
                y: to_byte(16.0 + (f32::from(c.y) - 16.0) * 0.9),
                ..chroma(c, 1.4, 0.0, 0.0)
            },
            Self::Faded => Yuv {
                y: to_byte(40.0 + f32::from(c.y) * 0.75),
                ..chroma(c, 0.6, 0.0, 0.0)
            },
            Self::Vivid => chroma(c, 1.3, 0.0, 0.0),
        }
    }
}

fn to_byte(x: f32) -> u8 {
    x.round().clamp(16.0, 240.0) as u8
}

impl Palette {
    pub fn from_lighting(lighting: &str) -> Self {
        Self::for_mood(Mood::parse(lighting))
    }

    /// Every colour of the palette through `grade`.
    pub fn graded(self, grade: Grade) -> Self {
        let g = |c: Yuv| grade.apply(c);
        Self {
            sky: self.sky.map(g),
            ground: self.ground.map(g),
            far: g(self.far),
            mid: g(self.mid),
            near: g(self.near),
            accent: g(self.accent),
            subject: g(self.subject),
            second: g(self.second),
            rim: g(self.rim),
            ..self
        }
    }

    pub fn for_mood(mood: Mood) -> Self {
        let r = recipe(mood);
        let c = |(r, g, b): Rgb| Yuv::from_rgb(r, g, b);
        Self {
            mood,
            sky: r.sky.map(c),
            ground: r.ground.map(c),
            far: c(r.far),
            mid: c(r.mid),
            near: c(r.near),
            accent: c(r.accent),
            lit_windows: r.lit_windows,
            subject: c(r.subject),
            second: c(r.second),
            rim: c(r.rim),
            flicker: mood == Mood::Fire,
        }
    }

    /// The palette as lit on frame `frame`. Firelight flickers (a deterministic noise of seed
    /// and frame, within ±15 %) on what a fire near the camera lights: the ground, the
    /// foreground, the rims of the figures and lit windows; the sky and the distant set hold
    /// still, which also keeps the encoder from re-coding the whole picture every frame.
    /// Every other mood is returned unchanged.
    pub fn at(&self, seed: u64, frame: u32) -> Self {
        if !self.flicker {
            return *self;
        }
        // Each level holds two frames: still a lively flicker, half the re-coding.
        let gain = 1.0 + 0.15 * flicker(seed, frame / 2);
        let lit = |c: Yuv| c.lit(gain);
        Self {
            ground: self.ground.map(lit),
            near: lit(self.near),
            accent: lit(self.accent),
            rim: lit(self.rim),
            ..*self
        }
    }
}

/// Smooth noise in [-1, 1]: three sines at unrelated rates with phases from the seed.
fn flicker(seed: u64, frame: u32) -> f32 {
    let t = frame as f32;
    let phase = |k: u32| ((seed >> (k * 16)) & 0xffff) as f32 / 65535.0 * std::f32::consts::TAU;
    let s = 0.5 * (t * 0.71 + phase(0)).sin()
        + 0.3 * (t * 1.73 + phase(1)).sin()
        + 0.2 * (t * 3.11 + phase(2)).sin();
    s.clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moods_from_english_and_chinese_lighting() {
        let cases = [
            ("", Mood::Neutral),
            ("soft key light", Mood::Neutral),
            ("Bright DAYLIGHT", Mood::Day),
            ("sunny afternoon", Mood::Day),
            ("白天 室外", Mood::Day),
            ("日景", Mood::Day),
            ("golden hour backlight", Mood::Dusk),
            ("sunset", Mood::Dusk),
            ("黄昏 逆光", Mood::Dusk),
            ("傍晚", Mood::Dusk),
            ("夕阳", Mood::Dusk),
            ("dawn haze", Mood::Dawn),
            ("清晨 薄雾", Mood::Dawn),
            ("黎明", Mood::Dawn),
            ("night exterior", Mood::Night),
            ("moonlight through blinds", Mood::Night),
            ("夜", Mood::Night),
            ("月光", Mood::Night),
            ("neon night rain", Mood::Neon),
            ("赛博朋克", Mood::Neon),
            ("霓虹灯", Mood::Neon),
            ("candlelit night", Mood::Fire),
            ("firelight", Mood::Fire),
            ("火光摇曳", Mood::Fire),
            ("烛光", Mood::Fire),
            ("overcast", Mood::Overcast),
            ("heavy rain", Mood::Overcast),
            ("阴天", Mood::Overcast),
            ("下雨", Mood::Overcast),
            ("fluorescent office", Mood::Fluorescent),
            ("荧光灯", Mood::Fluorescent),
        ];
        for (text, want) in cases {
            assert_eq!(Mood::parse(text), want, "{text:?}");
        }
    }

    #[test]
    fn night_is_darker_than_day() {
        let mono = Palette::for_mood(Mood::Dusk).graded(Grade::parse("mono"));
        assert!(mono.sky.iter().all(|c| (c.u, c.v) == (128, 128)));
        let dusk = Palette::for_mood(Mood::Dusk);
        let faded = dusk.graded(Grade::Faded);
        assert!(faded.near.y > dusk.near.y, "lifted blacks");
        assert_eq!(dusk.graded(Grade::parse("nonsense")), dusk);
        let day = Palette::for_mood(Mood::Day);
        let night = Palette::for_mood(Mood::Night);
        assert!(night.sky.iter().all(|c| c.y < 60));
        assert!(day.sky.iter().all(|c| c.y > 100));
        assert!(day.sky[0].u > 128, "a day sky is blue");
    }

    #[test]
    fn only_firelight_flickers_and_deterministically() {
        let fire = Palette::for_mood(Mood::Fire);
        assert_eq!(fire.at(7, 3), fire.at(7, 3));
        assert!((0..24).any(|f| fire.at(7, f).ground[0] != fire.ground[0]));
        let day = Palette::for_mood(Mood::Day);
        assert_eq!(day.at(7, 3), day);
        for f in 0..200 {
            assert!(flicker(99, f).abs() <= 1.0);
        }
    }
}
