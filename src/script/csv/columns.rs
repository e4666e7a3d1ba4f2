//! The columns a shot list can have and the header names, English and Chinese, that mean them.
//!
//! Invariant: a header name means at most one column and a header gives each column at most one
//! cell; `export` writes each column's first name, so its header reads back as the same columns.

use std::collections::HashMap;

use super::syntax;
use crate::script::ScriptError;

/// The columns a shot list can have, in the order `export` writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Column {
    Scene,
    Shot,
    Heading,
    Size,
    Angle,
    Movement,
    Lens,
    Description,
    Duration,
    Notes,
    Subject,
    Environment,
    Lighting,
    Style,
    Negative,
    Width,
    Height,
    Fps,
    Seed,
    Dialogue,
}

impl Column {
    pub(super) const ALL: [Self; 20] = [
        Self::Scene,
        Self::Shot,
        Self::Heading,
        Self::Size,
        Self::Angle,
        Self::Movement,
        Self::Lens,
        Self::Description,
        Self::Duration,
        Self::Notes,
        Self::Subject,
        Self::Environment,
        Self::Lighting,
        Self::Style,
        Self::Negative,
        Self::Width,
        Self::Height,
        Self::Fps,
        Self::Seed,
        Self::Dialogue,
    ];

    /// The header `export` writes; the first of `names`.
    pub(super) fn name(self) -> &'static str {
        self.names()[0]
    }

    /// Header names read as this column, lower case.
    fn names(self) -> &'static [&'static str] {
        match self {
            Self::Scene => &[
                "scene",
                "scene #",
                "scene_no",
                "scene no",
                "scene number",
                "场次",
            ],
            Self::Shot => &[
                "shot",
                "shot #",
                "shot_no",
                "shot no",
                "shot number",
                "镜号",
            ],
            Self::Heading => &["heading", "scene heading", "slugline", "场景标题"],
            Self::Size => &["size", "shot size", "shot_size", "景别"],
            Self::Angle => &["angle", "camera angle", "角度"],
            Self::Movement => &[
                "movement",
                "move",
                "camera movement",
                "camera_movement",
                "运镜",
            ],
            Self::Lens => &["lens", "镜头"],
            Self::Description => &["description", "action", "画面内容", "描述", "画面"],
            Self::Duration => &["duration", "duration_s", "duration (s)", "时长"],
            Self::Notes => &["notes", "note", "备注"],
            Self::Subject => &["subject", "主体"],
            Self::Environment => &["environment", "环境"],
            Self::Lighting => &["lighting", "光线", "灯光"],
            Self::Style => &["style", "风格"],
            Self::Negative => &["negative", "negative prompt", "负面提示"],
            Self::Width => &["width", "宽"],
            Self::Height => &["height", "高"],
            Self::Fps => &["fps", "帧率"],
            Self::Seed => &["seed", "种子"],
            Self::Dialogue => &["dialogue", "对白", "台词"],
        }
    }

    fn of(header: &str) -> Option<Self> {
        let header = header.trim().to_lowercase();
        let header = header.split_whitespace().collect::<Vec<_>>().join(" ");
        Self::ALL
            .into_iter()
            .find(|c| c.names().contains(&header.as_str()))
    }
}

/// Which cell holds which column.
pub(super) struct Columns(HashMap<Column, usize>);

impl Columns {
    pub(super) fn get(&self, column: Column) -> Option<usize> {
        self.0.get(&column).copied()
    }
}

pub(super) fn map_columns(
    file: &str,
    line: u32,
    header: &::csv::StringRecord,
) -> Result<Columns, ScriptError> {
    let mut map: HashMap<Column, usize> = HashMap::new();
    for (index, name) in header.iter().enumerate() {
        let Some(column) = Column::of(name) else {
            continue;
        };
        if let Some(first) = map.insert(column, index) {
            return Err(syntax(
                file,
                line,
                format!(
                    "columns '{}' and '{}' both mean '{}'; keep one of them",
                    header[first].trim(),
                    name.trim(),
                    column.name()
                ),
            ));
        }
    }
    if !map.contains_key(&Column::Description) && !map.contains_key(&Column::Subject) {
        let found: Vec<&str> = header.iter().map(str::trim).collect();
        return Err(syntax(
            file,
            line,
            format!(
                "no 'description' column; name the column that says what happens in the shot 'description' (or action, 画面内容, 描述), or give a 'subject' column; the header has: {}",
                found.join(", ")
            ),
        ));
    }
    Ok(Columns(map))
}
