//! The columns a shot list can have and the header names, English and Chinese, that mean them.
//!
//! Invariant: a header name means at most one column and a header gives each column at most one
//! cell; `export` writes each column's first name, so its header reads back as the same columns.
//! Every cell of the header is either a column or listed in `Columns::ignored`, so none is
//! dropped without the user being told; `width` and `height` come together or not at all.

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

    /// Cells that keep their line breaks: free text. The others (numbers, codes, camera words,
    /// the heading) are one line, a line break becoming a space.
    pub(super) fn is_multiline(self) -> bool {
        matches!(
            self,
            Self::Description
                | Self::Notes
                | Self::Subject
                | Self::Environment
                | Self::Lighting
                | Self::Style
                | Self::Negative
                | Self::Dialogue
        )
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
            Self::Size => &["size", "shot size", "shot_size", "framing", "景别"],
            Self::Angle => &["angle", "camera angle", "角度", "拍摄角度", "机位"],
            Self::Movement => &[
                "movement",
                "move",
                "camera movement",
                "camera_movement",
                "camera move",
                "运镜",
                "镜头运动",
            ],
            Self::Lens => &["lens", "focal length", "镜头", "焦距"],
            Self::Description => &[
                "description",
                "action",
                "shot description",
                "画面内容",
                "描述",
                "画面",
                "内容",
            ],
            Self::Duration => &[
                "duration",
                "duration_s",
                "duration (s)",
                "length",
                "时长",
                "秒数",
            ],
            Self::Notes => &["notes", "note", "remarks", "comments", "备注", "说明"],
            Self::Subject => &["subject", "characters", "主体", "人物", "角色"],
            Self::Environment => &["environment", "location", "setting", "环境", "场景", "地点"],
            Self::Lighting => &["lighting", "光线", "灯光"],
            Self::Style => &["style", "风格"],
            Self::Negative => &["negative", "negative prompt", "负面提示"],
            Self::Width => &["width", "宽"],
            Self::Height => &["height", "高"],
            Self::Fps => &["fps", "帧率"],
            Self::Seed => &["seed", "种子"],
            Self::Dialogue => &["dialogue", "dialog", "lines", "对白", "台词"],
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

/// Which cell holds which column, and which cells of the header are no column.
pub(super) struct Columns {
    map: HashMap<Column, usize>,
    /// Indices of the header cells that name no column, in order.
    pub(super) ignored: Vec<usize>,
}

impl Columns {
    pub(super) fn get(&self, column: Column) -> Option<usize> {
        self.map.get(&column).copied()
    }
}

pub(super) fn map_columns(
    file: &str,
    line: u32,
    header: &::csv::StringRecord,
) -> Result<Columns, ScriptError> {
    let mut map: HashMap<Column, usize> = HashMap::new();
    let mut ignored = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let Some(column) = Column::of(name) else {
            ignored.push(index);
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
    let pair = |have: Column, lack: Column| {
        let have_name = map
            .get(&have)
            .and_then(|&i| header.get(i))
            .map_or(have.name(), str::trim);
        syntax(
            file,
            line,
            format!(
                "a '{have_name}' column needs a '{}' column next to it; add the '{}' column or remove '{have_name}'",
                lack.name(),
                lack.name()
            ),
        )
    };
    match (
        map.contains_key(&Column::Width),
        map.contains_key(&Column::Height),
    ) {
        (true, false) => return Err(pair(Column::Width, Column::Height)),
        (false, true) => return Err(pair(Column::Height, Column::Width)),
        _ => {}
    }
    Ok(Columns { map, ignored })
}
