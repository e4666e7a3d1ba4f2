//! Scenes and shots, and the structured prompt of a shot (`ShotSpec`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Millis, ProjectSettings, TakeId};

/// Stable internal id of a shot; survives re-imports and renumbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShotId(pub u64);

impl fmt::Display for ShotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntExt {
    Int,
    Ext,
    IntExt,
    Est,
}

impl IntExt {
    /// The words a prompt uses for it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Int => "interior",
            Self::Ext => "exterior",
            Self::IntExt => "interior/exterior",
            Self::Est => "establishing exterior",
        }
    }

    /// The same in Chinese.
    pub fn describe_zh(self) -> &'static str {
        match self {
            Self::Int => "室内",
            Self::Ext => "室外",
            Self::IntExt => "室内外",
            Self::Est => "外景全景",
        }
    }
}

/// A scene of the script, in script order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// Scene number as written (`12`, `12A`) or assigned in order.
    pub number: String,
    /// The heading as written, emphasis removed (`INT. KITCHEN - NIGHT`, `夜 小巷`).
    pub heading: String,
    #[serde(default)]
    pub int_ext: Option<IntExt>,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub time_of_day: Option<String>,
    /// 1-based line of the heading in its source file.
    #[serde(default)]
    pub line: u32,
    #[serde(default)]
    pub synopses: Vec<String>,
}

impl Scene {
    /// The environment a shot inherits from its heading: `interior, kitchen, night`, or in the
    /// heading's language (`室内，客厅，夜`).
    pub fn environment(&self) -> String {
        let zh = self
            .heading
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let mut parts: Vec<String> = Vec::new();
        if let Some(ie) = self.int_ext {
            parts.push(if zh { ie.describe_zh() } else { ie.describe() }.to_string());
        }
        if !self.location.is_empty() {
            parts.push(self.location.to_lowercase());
        }
        if let Some(t) = &self.time_of_day {
            parts.push(t.to_lowercase());
        }
        if parts.is_empty() {
            self.heading.clone()
        } else if zh {
            parts.join("，")
        } else {
            parts.join(", ")
        }
    }
}

/// Camera language of a shot, as the crew writes it in a shot list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CameraSpec {
    /// Shot size: wide, medium, close-up, 特写 …
    pub size: String,
    /// Angle: eye level, low angle, overhead …
    pub angle: String,
    /// Movement: static, push in, pan left, crane up, orbit, handheld …
    pub movement: String,
    /// Lens: 24mm, 85mm, anamorphic …
    pub lens: String,
}

impl CameraSpec {
    pub fn is_empty(&self) -> bool {
        self.size.is_empty()
            && self.angle.is_empty()
            && self.movement.is_empty()
            && self.lens.is_empty()
    }
}

/// The structured prompt and render parameters of a shot. Empty strings and `None` mean
/// "not set": the project's defaults apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShotSpec {
    pub subject: String,
    pub action: String,
    pub environment: String,
    pub camera: CameraSpec,
    pub lighting: String,
    pub style: String,
    pub negative: String,
    pub duration_s: Option<f64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fps: Option<u32>,
    pub seed: Option<u64>,
}

/// Render parameters after defaults are applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub duration_s: f64,
}

impl ShotSpec {
    pub fn resolve(&self, defaults: &ProjectSettings) -> Resolved {
        Resolved {
            width: self.width.unwrap_or(defaults.width),
            height: self.height.unwrap_or(defaults.height),
            fps: self.fps.unwrap_or(defaults.fps),
            duration_s: self.duration_s.unwrap_or(defaults.duration_s),
        }
    }
}

/// A line of dialogue that follows a shot's action in the script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogueLine {
    pub character: String,
    /// Extensions such as `V.O.`, `O.S.`, `CONT'D`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parenthetical: Option<String>,
    pub text: String,
    /// Second speaker of a dual-dialogue pair (`^`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dual: bool,
}

/// A shot: one action beat of a scene, with its structured prompt and its takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shot {
    pub id: ShotId,
    pub project: String,
    /// `12A`: scene number + shot letter, or the shot column of a CSV shot list.
    pub code: String,
    /// Number of the scene the shot belongs to.
    pub scene: String,
    /// Position in the shot list (script order).
    pub order: u32,
    pub spec: ShotSpec,
    #[serde(default)]
    pub dialogue: Vec<DialogueLine>,
    #[serde(default)]
    pub notes: Vec<String>,
    /// 1-based line in the imported file, when the shot came from a script.
    #[serde(default)]
    pub source_line: Option<u32>,
    /// The script text the shot was made from; an unchanged text on re-import keeps the shot.
    #[serde(default)]
    pub source_text: String,
    #[serde(default)]
    pub circled: Option<TakeId>,
    /// No longer in the script but kept because it has takes.
    #[serde(default)]
    pub omitted: bool,
    /// Number the next take of this shot gets.
    pub next_take: u32,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Shot {
    /// A new shot with no takes, no dialogue and no notes; `source_text` is its action.
    pub fn new(
        id: ShotId,
        project: &str,
        code: &str,
        scene: &str,
        order: u32,
        spec: ShotSpec,
        now: Millis,
    ) -> Self {
        Self {
            id,
            project: project.to_string(),
            code: code.to_string(),
            scene: scene.to_string(),
            order,
            source_text: spec.action.clone(),
            spec,
            dialogue: Vec::new(),
            notes: Vec::new(),
            source_line: None,
            circled: None,
            omitted: false,
            next_take: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Camera moves the animatic can show; parsed from the free-text movement of a shot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraMove {
    Static,
    PushIn,
    PullOut,
    PanLeft,
    PanRight,
    TiltUp,
    TiltDown,
    CraneUp,
    CraneDown,
    TrackLeft,
    TrackRight,
    Orbit,
    Handheld,
}

impl CameraMove {
    pub const ALL: [Self; 13] = [
        Self::Static,
        Self::PushIn,
        Self::PullOut,
        Self::PanLeft,
        Self::PanRight,
        Self::TiltUp,
        Self::TiltDown,
        Self::CraneUp,
        Self::CraneDown,
        Self::TrackLeft,
        Self::TrackRight,
        Self::Orbit,
        Self::Handheld,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Static => "static",
            Self::PushIn => "push in",
            Self::PullOut => "pull out",
            Self::PanLeft => "pan left",
            Self::PanRight => "pan right",
            Self::TiltUp => "tilt up",
            Self::TiltDown => "tilt down",
            Self::CraneUp => "crane up",
            Self::CraneDown => "crane down",
            Self::TrackLeft => "track left",
            Self::TrackRight => "track right",
            Self::Orbit => "orbit",
            Self::Handheld => "handheld",
        }
    }

    /// Reads a movement description in English or Chinese; the first move named wins, and a
    /// description naming none is static.
    pub fn parse(text: &str) -> Self {
        Self::find(text).unwrap_or(Self::Static)
    }

    /// The first move a description names, if it names one.
    pub fn find(text: &str) -> Option<Self> {
        const WORDS: &[(&str, CameraMove)] = &[
            ("push in", CameraMove::PushIn),
            ("push-in", CameraMove::PushIn),
            ("dolly in", CameraMove::PushIn),
            ("zoom in", CameraMove::PushIn),
            ("track in", CameraMove::PushIn),
            ("pull out", CameraMove::PullOut),
            ("pull back", CameraMove::PullOut),
            ("pull-out", CameraMove::PullOut),
            ("dolly out", CameraMove::PullOut),
            ("zoom out", CameraMove::PullOut),
            ("track out", CameraMove::PullOut),
            ("pan left", CameraMove::PanLeft),
            ("pan right", CameraMove::PanRight),
            ("whip pan", CameraMove::PanRight),
            ("tilt up", CameraMove::TiltUp),
            ("tilt down", CameraMove::TiltDown),
            ("crane up", CameraMove::CraneUp),
            ("boom up", CameraMove::CraneUp),
            ("jib up", CameraMove::CraneUp),
            ("pedestal up", CameraMove::CraneUp),
            ("crane down", CameraMove::CraneDown),
            ("boom down", CameraMove::CraneDown),
            ("jib down", CameraMove::CraneDown),
            ("pedestal down", CameraMove::CraneDown),
            ("track left", CameraMove::TrackLeft),
            ("truck left", CameraMove::TrackLeft),
            ("track right", CameraMove::TrackRight),
            ("truck right", CameraMove::TrackRight),
            ("tracking", CameraMove::TrackRight),
            ("dolly", CameraMove::TrackRight),
            ("orbit", CameraMove::Orbit),
            ("arc shot", CameraMove::Orbit),
            ("360", CameraMove::Orbit),
            ("aerial", CameraMove::CraneUp),
            ("drone", CameraMove::CraneUp),
            ("航拍", CameraMove::CraneUp),
            ("handheld", CameraMove::Handheld),
            ("hand-held", CameraMove::Handheld),
            ("hand held", CameraMove::Handheld),
            ("shaky", CameraMove::Handheld),
            ("static", CameraMove::Static),
            ("locked", CameraMove::Static),
            ("pan", CameraMove::PanRight),
            ("tilt", CameraMove::TiltUp),
            ("crane", CameraMove::CraneUp),
            ("推进", CameraMove::PushIn),
            ("推镜", CameraMove::PushIn),
            ("推", CameraMove::PushIn),
            ("拉远", CameraMove::PullOut),
            ("拉镜", CameraMove::PullOut),
            ("拉", CameraMove::PullOut),
            ("左摇", CameraMove::PanLeft),
            ("向左摇", CameraMove::PanLeft),
            ("右摇", CameraMove::PanRight),
            ("向右摇", CameraMove::PanRight),
            ("上摇", CameraMove::TiltUp),
            ("向上摇", CameraMove::TiltUp),
            ("下摇", CameraMove::TiltDown),
            ("向下摇", CameraMove::TiltDown),
            ("摇", CameraMove::PanRight),
            ("升", CameraMove::CraneUp),
            ("降", CameraMove::CraneDown),
            ("左移", CameraMove::TrackLeft),
            ("右移", CameraMove::TrackRight),
            ("跟拍", CameraMove::TrackRight),
            ("跟", CameraMove::TrackRight),
            ("移", CameraMove::TrackRight),
            ("环绕", CameraMove::Orbit),
            ("环拍", CameraMove::Orbit),
            ("绕", CameraMove::Orbit),
            ("手持", CameraMove::Handheld),
            ("晃", CameraMove::Handheld),
            ("固定", CameraMove::Static),
            ("静止", CameraMove::Static),
        ];
        let text = text.to_lowercase();
        // Earliest mention wins; among mentions at the same place, the longest phrase.
        let mut best: Option<(usize, usize, CameraMove)> = None;
        for (word, mv) in WORDS {
            if let Some(pos) = text.find(word) {
                let better = match best {
                    None => true,
                    Some((p, len, _)) => pos < p || (pos == p && word.len() > len),
                };
                if better {
                    best = Some((pos, word.len(), *mv));
                }
            }
        }
        best.map(|(_, _, mv)| mv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_moves_in_both_languages() {
        let cases = [
            ("", CameraMove::Static),
            ("Static", CameraMove::Static),
            ("slow push in on her face", CameraMove::PushIn),
            ("Dolly out to reveal the city", CameraMove::PullOut),
            ("PAN LEFT", CameraMove::PanLeft),
            ("pan right across the crowd", CameraMove::PanRight),
            ("tilt up to the tower", CameraMove::TiltUp),
            ("tilt down", CameraMove::TiltDown),
            ("crane up over the roofs", CameraMove::CraneUp),
            ("boom down", CameraMove::CraneDown),
            ("tracking shot", CameraMove::TrackRight),
            ("truck left", CameraMove::TrackLeft),
            ("slow orbit", CameraMove::Orbit),
            ("handheld, nervous", CameraMove::Handheld),
            ("缓慢推进", CameraMove::PushIn),
            ("镜头拉远", CameraMove::PullOut),
            ("向左摇", CameraMove::PanLeft),
            ("上摇", CameraMove::TiltUp),
            ("升镜头", CameraMove::CraneUp),
            ("降", CameraMove::CraneDown),
            ("跟拍", CameraMove::TrackRight),
            ("环绕拍摄", CameraMove::Orbit),
            ("手持晃动", CameraMove::Handheld),
            ("固定机位", CameraMove::Static),
            ("handheld then push in", CameraMove::Handheld),
        ];
        for (text, want) in cases {
            assert_eq!(CameraMove::parse(text), want, "{text:?}");
        }
    }

    #[test]
    fn scene_environment_from_heading_parts() {
        let scene = Scene {
            number: "3".into(),
            heading: "INT. KITCHEN - NIGHT".into(),
            int_ext: Some(IntExt::Int),
            location: "KITCHEN".into(),
            time_of_day: Some("NIGHT".into()),
            line: 4,
            synopses: vec![],
        };
        assert_eq!(scene.environment(), "interior, kitchen, night");
    }

    #[test]
    fn spec_defaults_come_from_the_project() {
        let spec = ShotSpec {
            fps: Some(30),
            ..ShotSpec::default()
        };
        let r = spec.resolve(&ProjectSettings::default());
        assert_eq!(
            (r.width, r.height, r.fps, r.duration_s),
            (1280, 720, 30, 5.0)
        );
    }
}
