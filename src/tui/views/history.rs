//! History: every take (and every job that ended without one), newest first; `/` filters with
//! fuzzy search over prompts and codes plus `shot:` `state:` `backend:` `style:` `circled`
//! tokens; the selected take's recipe below; re-roll, edit-and-re-roll, circle, mark, compare,
//! prompt diff.
//!
//! Invariant: `visible` always holds exactly the rows that pass `filter`; typing more of a query
//! narrows the previous result instead of scanning every row again.

use crossterm::event::{KeyCode, KeyEvent};
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::engine::TakeView;
use crate::model::Level;

use super::super::input::LineInput;
use super::super::keymap::Action;
use super::super::msg::Effect;
use super::super::state::{Ask, HistoryFilter, Popup, RowState, State, TakeRow};
use super::super::text::{fit, pad, wrap};
use super::super::theme::Theme;
use super::super::update::say;
use super::{navigate, page};

/// The history row of a take the engine just finished.
pub fn row_of_view(t: &TakeView) -> TakeRow {
    TakeRow {
        is_take: true,
        job: t.job,
        code: t.id.clone(),
        shot_code: t.shot.clone(),
        state: RowState::Done,
        prompt: t.prompt.clone(),
        seed: t.seed,
        backend: t.backend.clone(),
        model: t.model.clone(),
        style: t.style.clone().unwrap_or_default(),
        variant: crate::model::variant_label(&t.variant),
        cost: t.cost,
        currency: t.currency.clone(),
        render_ms: t.render_ms,
        created_at: t.created_at,
        path: t.path.clone(),
        width: t.width,
        height: t.height,
        duration_s: t.duration_s,
        parent: t.parent.clone(),
        circled: t.circled,
    }
}

pub fn set_rows(st: &mut State, mut rows: Vec<TakeRow>) {
    rows.sort_by_key(|r| r.created_at);
    let h = &mut st.history;
    h.hay = Haystack::build(&rows);
    h.rows = rows;
    h.loading = false;
    h.marked.clear();
    h.per_shot.clear();
    for r in h.rows.iter().filter(|r| r.is_take) {
        let e = h.per_shot.entry(r.shot_code.clone()).or_default();
        e.0 += 1;
        if r.circled {
            e.1 = Some(r.code.clone());
        }
    }
    h.searched = HistoryFilter {
        query: "\u{0}".into(),
        ..HistoryFilter::default()
    };
    refilter(st);
}

pub fn add_row(st: &mut State, row: TakeRow) {
    let h = &mut st.history;
    if h.rows.iter().any(|r| r.code == row.code && r.is_take) {
        return;
    }
    if row.is_take {
        h.per_shot.entry(row.shot_code.clone()).or_default().0 += 1;
    }
    h.hay.push(&row);
    h.rows.push(row);
    let i = h.rows.len() - 1;
    if passes(&h.filter, &h.rows[i]) && h.filter.query.is_empty() {
        // Newest first: the new row goes on top and the selection stays on its row.
        h.visible.insert(0, i);
        if !h.visible.is_empty() && h.selected > 0 {
            h.selected += 1;
        }
    } else if passes(&h.filter, &h.rows[i]) {
        h.searched = HistoryFilter::default();
        refilter(st);
    }
}

pub fn circled(st: &mut State, take: &str, shot: &str) {
    let h = &mut st.history;
    for r in h.rows.iter_mut().filter(|r| r.shot_code == shot) {
        r.circled = r.code == take;
    }
    h.per_shot.entry(shot.to_string()).or_default().1 = Some(take.to_string());
}

/// Splits `/` text into field tokens and the fuzzy query.
pub fn parse_filter(text: &str) -> HistoryFilter {
    let mut f = HistoryFilter::default();
    let mut words = Vec::new();
    for w in text.split_whitespace() {
        match w.split_once(':') {
            Some(("shot", v)) if !v.is_empty() => f.shot = Some(v.to_string()),
            Some(("state", v)) if !v.is_empty() => f.state = Some(v.to_lowercase()),
            Some(("backend", v)) if !v.is_empty() => f.backend = Some(v.to_string()),
            Some(("style", v)) if !v.is_empty() => f.style = Some(v.to_lowercase()),
            _ if w == "circled" || w == "circled:" => f.circled = true,
            _ => words.push(w),
        }
    }
    f.query = words.join(" ");
    f
}

fn passes(f: &HistoryFilter, r: &TakeRow) -> bool {
    f.shot
        .as_ref()
        .is_none_or(|s| r.shot_code.eq_ignore_ascii_case(s))
        && f.state.as_ref().is_none_or(|s| r.state.name() == s)
        && f.backend
            .as_ref()
            .is_none_or(|b| r.backend.eq_ignore_ascii_case(b))
        && f.style
            .as_ref()
            .is_none_or(|s| contains_folded(&r.style, s))
        && (!f.circled || r.circled)
}

/// Whether `hay` contains `lower` (already lowercase) ignoring case, without allocating for
/// ASCII text (style names are).
fn contains_folded(hay: &str, lower: &str) -> bool {
    if hay.is_ascii() && lower.is_ascii() {
        let (h, n) = (hay.as_bytes(), lower.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        hay.to_lowercase().contains(lower)
    }
}

/// Recomputes `visible` for the current filter: newest first, or best match first when a
/// query is typed. A query that extends the previous one searches only the previous matches.
pub fn refilter(st: &mut State) {
    if let Some(input) = &st.history.input {
        st.history.filter = parse_filter(&input.text());
    }
    let h = &mut st.history;
    h.visible = search(&h.rows, &h.hay, &h.filter, Some((&h.searched, &h.visible)));
    h.searched = h.filter.clone();
    h.selected = h.selected.min(h.visible.len().saturating_sub(1));
}

/// Every row's searchable text (code, variant, prompt), lowercased and packed into one string:
/// a search scans it with `memmem` instead of visiting 100k separate allocations.
#[derive(Debug, Clone, Default)]
pub struct Haystack {
    text: String,
    /// Where each row's text starts in `text`; one more entry marks the end.
    starts: Vec<usize>,
}

impl Haystack {
    pub fn build(rows: &[TakeRow]) -> Self {
        let mut h = Self {
            text: String::with_capacity(rows.iter().map(|r| r.prompt.len() + 40).sum()),
            starts: vec![0],
        };
        for r in rows {
            h.push(r);
        }
        h
    }

    pub fn push(&mut self, r: &TakeRow) {
        for part in [&r.code, &r.variant, &r.prompt] {
            self.text.extend(part.chars().flat_map(char::to_lowercase));
            self.text.push('\n');
        }
        self.starts.push(self.text.len());
    }

    fn row(&self, i: usize) -> &str {
        &self.text[self.starts[i]..self.starts[i + 1]]
    }

    /// Rows whose text contains `needle`, in row order.
    fn containing(&self, needle: &str) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        let mut at = 0;
        while let Some(pos) = finder.find(&self.text.as_bytes()[at..]) {
            let hit = at + pos;
            // The row holding the hit: the last start at or before it.
            let row = self.starts.partition_point(|s| *s <= hit) - 1;
            out.push(row);
            // Skip to the next row: one hit per row is enough.
            at = self.starts[row + 1];
            if at >= self.text.len() {
                break;
            }
        }
        out
    }
}

/// Candidates are ranked by the fuzzy matcher only up to this many (above it, newest first).
const RANK_AT_MOST: usize = 3_000;
/// Without a literal match, fuzzy matching over every row is tried only up to this many rows.
const FUZZY_ALL_AT_MOST: usize = 20_000;

/// The rows passing `f`; `previous` (filter, result) narrows the scan when `f` extends it.
/// Every word of the query must appear in the row (case-insensitive); matches are ranked by
/// fuzzy score. A query no row contains falls back to fuzzy matching (typos), on histories
/// small enough for it to stay instant.
pub fn search(
    rows: &[TakeRow],
    hay: &Haystack,
    f: &HistoryFilter,
    previous: Option<(&HistoryFilter, &Vec<usize>)>,
) -> Vec<usize> {
    let narrowing = previous.filter(|(pf, _)| {
        !pf.query.is_empty()
            && f.query.starts_with(&pf.query)
            && pf.shot == f.shot
            && pf.state == f.state
            && pf.backend == f.backend
            && pf.style == f.style
            && pf.circled == f.circled
    });
    if f.query.trim().is_empty() {
        return (0..rows.len())
            .rev()
            .filter(|i| passes(f, &rows[*i]))
            .collect();
    }
    let query = f.query.to_lowercase();
    let mut words: Vec<&str> = query.split_whitespace().collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let has_all = |i: usize| {
        let text = hay.row(i);
        words.iter().all(|w| text.contains(w))
    };
    let mut found: Vec<usize> = match narrowing {
        Some((_, v)) => v.iter().copied().filter(|i| has_all(*i)).collect(),
        None => hay
            .containing(words[0])
            .into_iter()
            .filter(|i| words.len() == 1 || has_all(*i))
            .collect(),
    };
    found.retain(|i| passes(f, &rows[*i]));
    if found.is_empty() && rows.len() <= FUZZY_ALL_AT_MOST {
        return fuzzy(rows, f, (0..rows.len()).rev());
    }
    if found.len() > RANK_AT_MOST {
        found.sort_unstable_by(|a, b| b.cmp(a));
        return found;
    }
    fuzzy(rows, f, found.into_iter())
}

/// Rows among `candidates` that the fuzzy matcher accepts, best first (newest among equals).
fn fuzzy(
    rows: &[TakeRow],
    f: &HistoryFilter,
    candidates: impl Iterator<Item = usize>,
) -> Vec<usize> {
    let pattern = Pattern::parse(&f.query, CaseMatching::Smart, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut scored: Vec<(u32, usize)> = Vec::new();
    for i in candidates {
        let r = &rows[i];
        if !passes(f, r) {
            continue;
        }
        let best = [r.code.as_str(), r.prompt.as_str(), r.variant.as_str()]
            .into_iter()
            .filter_map(|hay| pattern.score(Utf32Str::new(hay, &mut buf), &mut matcher))
            .max();
        if let Some(score) = best {
            scored.push((score, i));
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    scored.into_iter().map(|(_, i)| i).collect()
}

pub fn filter_input(st: &mut State) -> Option<&mut LineInput> {
    st.history.input.as_mut()
}

pub fn input_exit(st: &mut State, ev: KeyEvent) -> Vec<Effect> {
    match ev.code {
        KeyCode::Enter => st.history.input = None,
        KeyCode::Esc => {
            st.history.input = None;
            st.history.filter = HistoryFilter::default();
            refilter(st);
        }
        KeyCode::Up | KeyCode::Down => {
            let a = if ev.code == KeyCode::Up {
                Action::Up
            } else {
                Action::Down
            };
            let len = st.history.visible.len();
            navigate(&mut st.history.selected, len, 1, a);
        }
        _ => {}
    }
    Vec::new()
}

pub fn selected(st: &State) -> Option<&TakeRow> {
    let h = &st.history;
    h.visible.get(h.selected).map(|i| &h.rows[*i])
}

fn marked_codes(st: &State) -> Vec<String> {
    st.history
        .marked
        .iter()
        .filter_map(|i| st.history.rows.get(*i))
        .map(|r| r.code.clone())
        .collect()
}

pub fn action(st: &mut State, a: Action) -> Vec<Effect> {
    let len = st.history.visible.len();
    let pg = page(st);
    if navigate(&mut st.history.selected, len, pg, a) {
        return Vec::new();
    }
    match a {
        Action::Filter => {
            let text = filter_text(&st.history.filter);
            st.history.input = Some(LineInput::new(&text));
            return Vec::new();
        }
        Action::Back => {
            if !st.history.marked.is_empty() {
                st.history.marked.clear();
            } else {
                st.history.filter = HistoryFilter::default();
                refilter(st);
            }
            return Vec::new();
        }
        Action::ClearFilters => {
            st.history.filter = HistoryFilter::default();
            refilter(st);
            return Vec::new();
        }
        Action::Compare | Action::CompareGrid => {
            let takes = marked_codes(st);
            if !(2..=4).contains(&takes.len()) {
                say(
                    st,
                    Level::Warn,
                    format!(
                        "mark 2 to 4 takes with Space to compare them ({} marked)",
                        takes.len()
                    ),
                );
                return Vec::new();
            }
            return vec![Effect::Play {
                takes,
                grid: a == Action::CompareGrid,
            }];
        }
        Action::Diff => return diff(st),
        _ => {}
    }
    let Some(row) = selected(st).cloned() else {
        return Vec::new();
    };
    let idx = st.history.visible[st.history.selected];
    match a {
        Action::Mark => {
            if let Some(p) = st.history.marked.iter().position(|m| *m == idx) {
                st.history.marked.remove(p);
            } else if row.is_take {
                st.history.marked.push(idx);
            }
            navigate(&mut st.history.selected, len, 1, Action::Down);
            Vec::new()
        }
        _ if !row.is_take && a != Action::Copy && a != Action::Generate => {
            say(
                st,
                Level::Warn,
                format!("{} {}: no take to use", row.code, row.state.name()),
            );
            Vec::new()
        }
        Action::Play => vec![Effect::Play {
            takes: vec![row.code],
            grid: false,
        }],
        Action::Reroll => vec![Effect::Reroll {
            take: row.code,
            prompt: None,
        }],
        Action::EditReroll => {
            st.popup = Some(Popup::Input {
                ask: Ask::RerollPrompt { take: row.code },
                input: LineInput::new(&row.prompt),
            });
            Vec::new()
        }
        Action::Circle => vec![Effect::Circle { take: row.code }],
        Action::Details => vec![Effect::LoadDetails { take: row.code }],
        Action::Copy => vec![Effect::Copy {
            text: row.prompt,
            what: format!("the prompt of {}", row.code),
        }],
        Action::CopyPath => vec![Effect::Copy {
            text: row.path,
            what: format!("the path of {}", row.code),
        }],
        Action::Generate => {
            st.popup = Some(super::shots::generate_form(vec![row.shot_code]));
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn filter_text(f: &HistoryFilter) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("shot", &f.shot),
        ("state", &f.state),
        ("backend", &f.backend),
        ("style", &f.style),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}:{v}"));
        }
    }
    if f.circled {
        parts.push("circled".into());
    }
    if !f.query.is_empty() {
        parts.push(f.query.clone());
    }
    let mut s = parts.join(" ");
    if !s.is_empty() {
        s.push(' ');
    }
    s
}

/// The prompt diff of the two marked takes, or of the selected take and its parent.
fn diff(st: &mut State) -> Vec<Effect> {
    let rows = &st.history.rows;
    let pair = match st.history.marked.as_slice() {
        [a, b] => Some((rows[*a].clone(), rows[*b].clone())),
        _ => selected(st).and_then(|r| {
            let parent = r.parent.as_ref()?;
            let p = rows.iter().find(|x| &x.code == parent)?;
            Some((p.clone(), r.clone()))
        }),
    };
    let Some((a, b)) = pair else {
        say(
            st,
            Level::Warn,
            "mark two takes with Space (or select a re-rolled take) to diff their prompts",
        );
        return Vec::new();
    };
    st.popup = Some(Popup::Diff {
        lines: super::popup::word_diff(&a.prompt, &b.prompt),
        a: a.code,
        b: b.code,
        scroll: 0,
    });
    Vec::new()
}

pub fn draw(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let h = &st.history;
    let detail_h = if area.height >= 30 { 9 } else { 6 };
    let [list, detail] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(detail_h)]).areas(area);
    let title = if h.loading {
        " History (loading…) ".to_string()
    } else if h.filter.is_empty() {
        format!(" History {} ", h.rows.len())
    } else {
        format!(" History {}/{} ", h.visible.len(), h.rows.len())
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.style("ui.border.focus"))
        .title(Span::styled(title, th.style("ui.title")));
    let mut inner = block.inner(list);
    f.render_widget(block, list);
    if let Some(input) = &h.input {
        inner = super::filter_line(f, inner, input, th);
    }
    let mut lines = Vec::new();
    let w = usize::from(inner.width);
    let rows_h = usize::from(inner.height);
    let first = super::scroll_start(h.selected, rows_h, h.visible.len());
    let wide = w >= 100;
    for (n, i) in h.visible.iter().enumerate().skip(first).take(rows_h) {
        let r = &h.rows[*i];
        let mark = if h.marked.contains(i) { "▌" } else { " " };
        let circ = if r.circled { "●" } else { " " };
        let state_style = match r.state {
            RowState::Done => th.style("queue.done"),
            RowState::Failed(_) => th.style("queue.failed"),
            RowState::Canceled => th.style("queue.canceled"),
        };
        let cost = format!("{:.2}", r.cost);
        let fixed = 1 + 16 + 3 + 9 + 11 + 8;
        let rest = w.saturating_sub(fixed + if wide { 20 } else { 0 });
        let desc = if r.variant.is_empty() {
            &r.prompt
        } else {
            &r.variant
        };
        let mut spans = vec![
            Span::styled(mark, th.style("ui.mark")),
            Span::raw(pad(&r.code, 16)),
            Span::styled(circ, th.style("take.circled")),
            Span::styled(pad(&r.state.name()[..1], 2), state_style),
            Span::styled(pad(&r.backend, 9), th.style("ui.text.dim")),
            Span::raw(format!("{:>10} ", r.seed)),
            Span::raw(pad(desc, rest)),
            Span::styled(format!("{cost:>8}"), th.style("ui.text.dim")),
        ];
        if wide {
            spans.push(Span::styled(
                format!("{:>20}", super::super::text::fit(&r.style, 19)),
                th.style("ui.text.dim"),
            ));
        }
        let mut line = Line::from(spans);
        if n == h.selected {
            line = line.style(th.style("ui.selection"));
        }
        lines.push(line);
    }
    if h.visible.is_empty() && !h.loading {
        lines.push(Line::styled(
            if h.rows.is_empty() {
                "No takes yet: select a shot in Shots (2) and press g."
            } else {
                "Nothing matches; Esc clears the filter."
            },
            th.style("ui.text.dim"),
        ));
    }
    f.render_widget(Paragraph::new(lines), inner);
    draw_detail(f, detail, st, th);
}

fn draw_detail(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.style("ui.border"));
    let inner = block.inner(area);
    let Some(r) = selected(st) else {
        f.render_widget(block, area);
        return;
    };
    let w = usize::from(inner.width);
    let title = format!(" {} · {} ", r.code, r.model);
    let block = block.title(Span::styled(fit(&title, w), th.style("ui.title")));
    f.render_widget(block, area);
    let mut lines = vec![Line::styled(
        fit(
            &format!(
                "{}x{} {:.1}s seed {} · {} · {:.2} {} · {}{}",
                r.width,
                r.height,
                r.duration_s,
                r.seed,
                r.backend,
                r.cost,
                r.currency,
                super::super::text::duration(r.render_ms),
                r.parent
                    .as_ref()
                    .map(|p| format!(" · re-roll of {p}"))
                    .unwrap_or_default()
            ),
            w,
        ),
        th.style("ui.text.dim"),
    )];
    if let RowState::Failed(reason) = &r.state {
        lines.push(Line::styled(fit(reason, w), th.style("queue.failed")));
    }
    lines.extend(wrap(&r.prompt, w).into_iter().map(Line::raw));
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_tokens_and_query_split() {
        let f = parse_filter("shot:1A state:Failed rain alley circled");
        assert_eq!(f.shot.as_deref(), Some("1A"));
        assert_eq!(f.state.as_deref(), Some("failed"));
        assert!(f.circled);
        assert_eq!(f.query, "rain alley");
        assert_eq!(filter_text(&f), "shot:1A state:failed circled rain alley ");
        assert_eq!(parse_filter("style:Noir").style.as_deref(), Some("noir"));
    }

    #[test]
    fn style_matching_ignores_case_in_any_script() {
        assert!(contains_folded("Film-Noir", "noir"));
        assert!(!contains_folded("anime", "noir"));
        assert!(contains_folded("水墨 Ink", "ink"));
        assert!(contains_folded("水墨", "水墨"));
    }
}
