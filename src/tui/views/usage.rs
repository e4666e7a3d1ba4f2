//! Usage: spend and GPU (render) time by day and by backend, as bar charts, from the history.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph};

use super::super::keymap::Action;
use super::super::msg::Effect;
use super::super::state::{State, TakeRow};
use super::super::text::{duration, pad};
use super::super::theme::Theme;

/// Totals of one day or one backend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub takes: usize,
    pub cost: f64,
    pub render_ms: u64,
}

/// Per day (`YYYY-MM-DD`, UTC) and per backend, in the most used currency; the currency.
pub fn totals(rows: &[TakeRow]) -> (BTreeMap<String, Totals>, BTreeMap<String, Totals>, String) {
    let mut currencies: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.is_take && r.cost > 0.0) {
        *currencies.entry(r.currency.as_str()).or_default() += 1;
    }
    let currency = currencies
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(c, _)| (*c).to_string())
        .unwrap_or_default();
    let (mut days, mut backends) = (BTreeMap::new(), BTreeMap::new());
    for r in rows.iter().filter(|r| r.is_take) {
        let cost = if r.currency == currency || r.cost == 0.0 {
            r.cost
        } else {
            0.0
        };
        for (map, key) in [
            (&mut days, day(r.created_at)),
            (&mut backends, r.backend.clone()),
        ] {
            let t: &mut Totals = map.entry(key).or_default();
            t.takes += 1;
            t.cost += cost;
            t.render_ms += r.render_ms;
        }
    }
    (days, backends, currency)
}

/// The UTC date of a time in ms since the epoch.
pub fn day(ms: i64) -> String {
    let ((y, m, d), _) = crate::model::utc_date(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn action(_st: &mut State, _a: Action) -> Vec<Effect> {
    Vec::new()
}

pub fn draw(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let (days, backends, currency) = totals(&st.history.rows);
    let table_h = (backends.len() as u16 + 3).clamp(4, area.height / 3);
    let [spend, gpu, table] = Layout::vertical([
        Constraint::Min(5),
        Constraint::Min(5),
        Constraint::Length(table_h),
    ])
    .areas(area);
    let unit = if currency.is_empty() {
        String::new()
    } else {
        format!(" ({currency})")
    };
    // Hundredths of the currency as bar values; seconds of render time.
    let priced = days.values().any(|t| t.cost > 0.0);
    let title = if priced || days.is_empty() {
        format!(" Spend by day{unit} ")
    } else {
        " Spend by day: nothing priced yet (the animatic is free) ".to_string()
    };
    day_chart(f, spend, th, &title, &days, |t| {
        ((t.cost * 100.0).round() as u64, format!("{:.2}", t.cost))
    });
    day_chart(f, gpu, th, " GPU time by day ", &days, |t| {
        (t.render_ms / 1000, duration(t.render_ms))
    });
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.style("ui.border"))
        .title(Span::styled(" By backend ", th.style("ui.title")));
    let inner = block.inner(table);
    f.render_widget(block, table);
    let w = usize::from(inner.width);
    let max_ms = backends
        .values()
        .map(|t| t.render_ms)
        .max()
        .unwrap_or(0)
        .max(1);
    let bar_w = w.saturating_sub(14 + 7 + 10 + 11).max(4);
    let mut lines = vec![Line::styled(
        format!(
            "{}{:>7}{:>10}{:>11}",
            pad("backend", 14),
            "takes",
            "spend",
            "GPU time"
        ),
        th.style("ui.text.dim"),
    )];
    for (name, t) in &backends {
        let filled = ((t.render_ms as f64 / max_ms as f64) * bar_w as f64).round() as usize;
        lines.push(Line::from(vec![
            Span::raw(pad(name, 14)),
            Span::raw(format!(
                "{:>7}{:>10.2}{:>11} ",
                t.takes,
                t.cost,
                duration(t.render_ms)
            )),
            Span::styled("█".repeat(filled.min(bar_w)), th.style("usage.bar")),
        ]));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// A bar per day (the most recent days that fit), `value` giving the bar and its label.
fn day_chart(
    f: &mut Frame,
    area: Rect,
    th: &Theme,
    title: &str,
    days: &BTreeMap<String, Totals>,
    value: impl Fn(&Totals) -> (u64, String),
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.style("ui.border"))
        .title(Span::styled(title.to_string(), th.style("ui.title")));
    if days.is_empty() {
        let p = Paragraph::new("No takes yet: figures appear here as takes finish.")
            .style(th.style("ui.text.dim"))
            .block(block);
        f.render_widget(p, area);
        return;
    }
    let bar_w = 7u16;
    let fit_n = usize::from((area.width.saturating_sub(2) / (bar_w + 1)).max(1));
    let shown: Vec<(&String, &Totals)> = days.iter().rev().take(fit_n).collect();
    let bars: Vec<Bar> = shown
        .iter()
        .rev()
        .map(|(d, t)| {
            let (v, text) = value(t);
            Bar::default()
                .value(v)
                .text_value(text)
                .label(Line::from(d.get(5..).unwrap_or(d).to_string()))
                .style(th.style("usage.bar"))
        })
        .collect();
    let chart = BarChart::default()
        .block(block)
        .data(BarGroup::default().bars(&bars))
        .bar_width(bar_w)
        .bar_gap(1)
        .value_style(th.style("ui.text"))
        .label_style(th.style("ui.text.dim"));
    f.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(backend: &str, cost: f64, currency: &str, ms: u64, at: i64) -> TakeRow {
        TakeRow {
            is_take: true,
            job: 1,
            code: "SC001_SH1A_TK01".into(),
            shot_code: "1A".into(),
            state: crate::tui::state::RowState::Done,
            prompt: String::new(),
            seed: 1,
            backend: backend.into(),
            model: String::new(),
            style: String::new(),
            variant: String::new(),
            cost,
            currency: currency.into(),
            render_ms: ms,
            created_at: at,
            path: String::new(),
            width: 1280,
            height: 720,
            duration_s: 5.0,
            parent: None,
            circled: false,
        }
    }

    #[test]
    fn totals_add_up_by_day_and_backend_in_the_main_currency() {
        let day1 = 1_795_600_000_000;
        let day2 = day1 + 86_400_000;
        let rows = [
            row("dashscope", 1.2, "CNY", 60_000, day1),
            row("dashscope", 0.8, "CNY", 40_000, day2),
            row("box", 0.5, "USD", 120_000, day2),
            row("animatic", 0.0, "USD", 2_000, day2),
        ];
        let (days, backends, currency) = totals(&rows);
        assert_eq!(currency, "CNY");
        assert_eq!(days.len(), 2);
        let d2 = &days["2026-11-26"];
        assert_eq!((d2.takes, d2.render_ms), (3, 162_000));
        assert!((d2.cost - 0.8).abs() < 1e-9, "USD is not added to CNY");
        assert_eq!(backends["box"].render_ms, 120_000);
        assert!((backends["dashscope"].cost - 2.0).abs() < 1e-9);
    }

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(1_795_651_200_000), "2026-11-26");
        assert_eq!(day(1_795_651_199_999), "2026-11-25");
        assert_eq!(day(951_782_400_000), "2000-02-29");
    }
}
