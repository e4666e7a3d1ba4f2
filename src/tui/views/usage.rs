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
    let days = ms.div_euclid(86_400_000);
    // Civil-from-days (proleptic Gregorian), after H. Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn action(_st: &mut State, _a: Action) -> Vec<Effect> {
    Vec::new()
}

pub fn draw(f: &mut Frame, area: Rect, st: &State, th: &Theme) {
    let (days, backends, currency) = totals(&st.history.rows);
    let table_h = (backends.len() as u16 + 3).clamp(4, area.height / 2);
    let [chart, table] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(table_h)]).areas(area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(th.style("ui.border.focus"))
        .title(Span::styled(
            format!(
                " Spend by day{} ",
                if currency.is_empty() {
                    String::new()
                } else {
                    format!(" ({currency})")
                }
            ),
            th.style("ui.title"),
        ));
    if days.is_empty() {
        let p = Paragraph::new("No takes yet: spend and render time appear here as takes finish.")
            .style(th.style("ui.text.dim"))
            .block(block);
        f.render_widget(p, chart);
    } else {
        let inner_w = chart.width.saturating_sub(2);
        let bar_w = 5u16;
        let fit_n = usize::from((inner_w / (bar_w + 1)).max(1));
        let shown: Vec<(&String, &Totals)> = days.iter().rev().take(fit_n).collect();
        let priced = shown.iter().any(|(_, t)| t.cost > 0.0);
        let bars: Vec<Bar> = shown
            .iter()
            .rev()
            .map(|(d, t)| {
                // Hundredths of the currency, or render seconds when nothing is priced.
                let v = if priced {
                    (t.cost * 100.0).round() as u64
                } else {
                    t.render_ms / 1000
                };
                let text = if priced {
                    format!("{:.2}", t.cost)
                } else {
                    duration(t.render_ms)
                };
                Bar::default()
                    .value(v)
                    .text_value(text)
                    .label(Line::from(d.get(5..).unwrap_or(d).to_string()))
                    .style(th.style("usage.bar"))
            })
            .collect();
        let title = if priced {
            ""
        } else {
            " (nothing priced: render time)"
        };
        let chart_w = BarChart::default()
            .block(block.title_bottom(Span::styled(title, th.style("ui.text.dim"))))
            .data(BarGroup::default().bars(&bars))
            .bar_width(bar_w)
            .bar_gap(1)
            .value_style(th.style("ui.text"))
            .label_style(th.style("ui.text.dim"));
        f.render_widget(chart_w, chart);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(1_795_651_200_000), "2026-11-26");
        assert_eq!(day(1_795_651_199_999), "2026-11-25");
        assert_eq!(day(951_782_400_000), "2000-02-29");
    }
}
