//! Variations: `--vary lighting=night,dusk --vary costume="red cloak,black coat"` → every
//! combination of the axes' values (the cartesian product), each one a variant of the shot's
//! spec whose prompt carries the variant's words.
//!
//! Axes replace a field (lighting, movement, size, angle, lens, action, environment, subject,
//! style) or add words to one (costume and props to the subject, pacing to the action, time
//! and weather to the environment).

use std::collections::BTreeMap;

use crate::model::{Lang, ShotSpec};

/// Most values one axis may have, and most combinations one request may make.
pub const MAX_VALUES: usize = 32;
pub const MAX_COMBINATIONS: usize = 1024;

/// What an axis does to the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Replace(Field),
    Add(Field, &'static str, &'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Subject,
    Action,
    Environment,
    Lighting,
    Style,
    Size,
    Angle,
    Movement,
    Lens,
}

/// Axis names (English and Chinese) and what they do. The `Add` texts go before the value:
/// English after a comma, Chinese after a full-width comma.
const AXES: &[(&str, &[&str], Effect)] = &[
    (
        "lighting",
        &["light", "灯光", "光线"],
        Effect::Replace(Field::Lighting),
    ),
    (
        "costume",
        &["wardrobe", "服装", "服饰"],
        Effect::Add(Field::Subject, "wearing ", "身穿"),
    ),
    (
        "prop",
        &["props", "道具"],
        Effect::Add(Field::Subject, "holding ", "手持"),
    ),
    (
        "pacing",
        &["pace", "节奏"],
        Effect::Add(Field::Action, "", ""),
    ),
    (
        "time",
        &["time-of-day", "时间"],
        Effect::Add(Field::Environment, "", ""),
    ),
    (
        "weather",
        &["天气"],
        Effect::Add(Field::Environment, "", ""),
    ),
    (
        "movement",
        &["move", "camera", "运镜"],
        Effect::Replace(Field::Movement),
    ),
    ("size", &["shot-size", "景别"], Effect::Replace(Field::Size)),
    ("angle", &["角度", "机位"], Effect::Replace(Field::Angle)),
    ("lens", &["镜头"], Effect::Replace(Field::Lens)),
    ("style", &["风格"], Effect::Replace(Field::Style)),
    ("subject", &["主体"], Effect::Replace(Field::Subject)),
    ("action", &["动作"], Effect::Replace(Field::Action)),
    (
        "environment",
        &["env", "场景", "环境"],
        Effect::Replace(Field::Environment),
    ),
];

/// One `--vary` axis: its canonical name and values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    pub name: &'static str,
    pub values: Vec<String>,
    effect: Effect,
}

fn axis_names() -> String {
    AXES.iter()
        .map(|(n, _, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `AXIS=a,b,c` (commas or full-width commas; `\,` for a comma inside a value).
pub fn parse_axis(arg: &str) -> Result<Axis, String> {
    let Some((name, values)) = arg.split_once('=') else {
        return Err(format!(
            "invalid --vary {:?}: write AXIS=VALUE,VALUE (e.g. lighting=night,dusk); axes: {}",
            crate::sanitize::line(arg),
            axis_names()
        ));
    };
    let key = name.trim().to_lowercase();
    let Some((canonical, _, effect)) = AXES
        .iter()
        .find(|(n, aliases, _)| *n == key || aliases.contains(&key.as_str()))
    else {
        return Err(format!(
            "unknown --vary axis {:?}; use one of: {}",
            crate::sanitize::line(name.trim()),
            axis_names()
        ));
    };
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut chars = values.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                cur.push(',');
                chars.next();
            }
            ',' | '，' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    let mut seen = std::collections::BTreeSet::new();
    let values: Vec<String> = out
        .into_iter()
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|v| !v.is_empty())
        .filter(|v| seen.insert(v.clone()))
        .collect();
    if values.is_empty() {
        return Err(format!(
            "--vary {canonical} has no values; give them after '=', separated by commas"
        ));
    }
    if values.len() > MAX_VALUES {
        return Err(format!(
            "--vary {canonical} has {} values; at most {MAX_VALUES}",
            values.len()
        ));
    }
    Ok(Axis {
        name: canonical,
        values,
        effect: *effect,
    })
}

/// One combination: axis name → value.
pub type Variant = BTreeMap<String, String>;

/// Every combination of the axes' values, in the order given (the last axis varies fastest).
/// No axes: one empty variant. An axis given twice is an error.
pub fn combinations(axes: &[Axis]) -> Result<Vec<Variant>, String> {
    let mut names = std::collections::BTreeSet::new();
    for a in axes {
        if !names.insert(a.name) {
            return Err(format!(
                "--vary {} is given twice; list all its values in one --vary",
                a.name
            ));
        }
    }
    let total = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
        .filter(|n| *n <= MAX_COMBINATIONS)
        .ok_or_else(|| {
            format!("the --vary axes make more than {MAX_COMBINATIONS} combinations; vary fewer things at once")
        })?;
    let mut out = Vec::with_capacity(total);
    for mut k in 0..total {
        let mut v = Variant::new();
        for a in axes.iter().rev() {
            v.insert(a.name.to_string(), a.values[k % a.values.len()].clone());
            k /= a.values.len();
        }
        out.push(v);
    }
    Ok(out)
}

fn field(spec: &mut ShotSpec, f: Field) -> &mut String {
    match f {
        Field::Subject => &mut spec.subject,
        Field::Action => &mut spec.action,
        Field::Environment => &mut spec.environment,
        Field::Lighting => &mut spec.lighting,
        Field::Style => &mut spec.style,
        Field::Size => &mut spec.camera.size,
        Field::Angle => &mut spec.camera.angle,
        Field::Movement => &mut spec.camera.movement,
        Field::Lens => &mut spec.camera.lens,
    }
}

/// Applies one combination of `axes` to `spec` in `lang`.
pub fn apply(axes: &[Axis], variant: &Variant, spec: &mut ShotSpec, lang: Lang) {
    for a in axes {
        let Some(value) = variant.get(a.name) else {
            continue;
        };
        match a.effect {
            Effect::Replace(f) => *field(spec, f) = value.clone(),
            Effect::Add(f, en, zh) => {
                let target = field(spec, f);
                let base = target
                    .trim()
                    .trim_end_matches(['.', '。', ',', '，'])
                    .to_string();
                let (sep, lead) = match lang {
                    Lang::En => (", ", en),
                    Lang::Zh => ("，", zh),
                };
                *target = if base.is_empty() && f == Field::Subject {
                    // Words about a subject need someone to be about.
                    match lang {
                        Lang::En => format!("a figure {lead}{value}"),
                        Lang::Zh => format!("人物{lead}{value}"),
                    }
                } else if base.is_empty() {
                    format!("{lead}{value}")
                } else {
                    format!("{base}{sep}{lead}{value}")
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_product_of_two_axes_in_order() {
        let axes = vec![
            parse_axis("lighting=night,dusk").unwrap(),
            parse_axis("costume=red cloak,black coat").unwrap(),
        ];
        let all = combinations(&axes).unwrap();
        let labels: Vec<String> = all
            .iter()
            .map(|v| format!("{}/{}", v["lighting"], v["costume"]))
            .collect();
        assert_eq!(
            labels,
            [
                "night/red cloak",
                "night/black coat",
                "dusk/red cloak",
                "dusk/black coat"
            ]
        );
        assert_eq!(combinations(&[]).unwrap(), vec![Variant::new()]);
    }

    #[test]
    fn values_are_split_trimmed_and_deduplicated() {
        let a = parse_axis("服装=红色斗篷，黑色大衣, 红色斗篷").unwrap();
        assert_eq!(a.name, "costume");
        assert_eq!(a.values, ["红色斗篷", "黑色大衣"]);
        let a = parse_axis("prop=a lantern\\, lit,  an  umbrella ,").unwrap();
        assert_eq!(a.values, ["a lantern, lit", "an umbrella"]);
    }

    #[test]
    fn bad_axes_name_the_fix() {
        for (arg, needle) in [
            ("lighting", "AXIS=VALUE"),
            ("colour=red", "unknown --vary axis"),
            ("lighting=", "no values"),
            ("lighting= , ,", "no values"),
        ] {
            let e = parse_axis(arg).unwrap_err();
            assert!(e.contains(needle), "{arg}: {e}");
        }
        let twice = vec![
            parse_axis("lighting=a").unwrap(),
            parse_axis("light=b").unwrap(),
        ];
        assert!(combinations(&twice).unwrap_err().contains("twice"));
        let many: Vec<String> = (0..32).map(|i| i.to_string()).collect();
        let big = format!("time={}", many.join(","));
        let mut axes = vec![
            parse_axis(&big).unwrap(),
            parse_axis(&big.replace("time", "weather")).unwrap(),
        ];
        assert_eq!(combinations(&axes).unwrap().len(), 1024);
        axes.push(parse_axis("lens=a,b").unwrap());
        assert!(combinations(&axes).unwrap_err().contains("1024"));
        let too_many: Vec<String> = (0..33).map(|i| i.to_string()).collect();
        assert!(
            parse_axis(&format!("lens={}", too_many.join(",")))
                .unwrap_err()
                .contains("at most 32")
        );
    }

    #[test]
    fn variants_put_their_words_into_the_fields() {
        let axes = vec![
            parse_axis("lighting=night").unwrap(),
            parse_axis("costume=red cloak").unwrap(),
            parse_axis("pacing=slowly").unwrap(),
            parse_axis("weather=rain").unwrap(),
        ];
        let v = &combinations(&axes).unwrap()[0];
        let mut spec = ShotSpec {
            subject: "A courier.".into(),
            action: "walks home".into(),
            environment: "market street".into(),
            lighting: "daylight".into(),
            ..ShotSpec::default()
        };
        apply(&axes, v, &mut spec, Lang::En);
        assert_eq!(spec.subject, "A courier, wearing red cloak");
        assert_eq!(spec.action, "walks home, slowly");
        assert_eq!(spec.environment, "market street, rain");
        assert_eq!(spec.lighting, "night");

        let axes = vec![parse_axis("服装=红色斗篷").unwrap()];
        let mut zh = ShotSpec {
            subject: "女侠。".into(),
            ..ShotSpec::default()
        };
        apply(&axes, &combinations(&axes).unwrap()[0], &mut zh, Lang::Zh);
        assert_eq!(zh.subject, "女侠，身穿红色斗篷");
    }
}
