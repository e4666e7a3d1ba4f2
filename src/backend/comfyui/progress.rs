//! ComfyUI's per-node progress folded into one fraction of the whole prompt.
//!
//! With sampler nodes (Wan2.2 has two, one per expert) the prompt is as far as its samplers:
//! `(index + value/max) / samplers`; without any, it is the share of nodes finished (cached
//! ones count as finished). Invariant: the value reported never goes backwards and is reported
//! only when it changed.

use std::collections::HashSet;

use super::socket::Event;

/// Progress is reported in thousandths.
pub const SCALE: u64 = 1000;

pub struct Tracker {
    samplers: Vec<String>,
    nodes: usize,
    finished: HashSet<String>,
    /// Samplers done, plus the fraction of the running one.
    sampled: f64,
    sent: Option<u64>,
}

impl Tracker {
    pub fn new(samplers: Vec<String>, nodes: usize) -> Self {
        Self {
            samplers,
            nodes: nodes.max(1),
            finished: HashSet::new(),
            sampled: 0.0,
            sent: None,
        }
    }

    fn sampler(&self, node: &str) -> Option<f64> {
        self.samplers
            .iter()
            .position(|s| s == node)
            .map(|i| i as f64)
    }

    fn advance(&mut self, at: f64) {
        if at > self.sampled {
            self.sampled = at;
        }
    }

    /// Thousandths done after `ev`, when they changed.
    pub fn on(&mut self, ev: &Event) -> Option<u64> {
        match ev {
            Event::Cached { nodes } => self.finished.extend(nodes.iter().cloned()),
            Event::Executing { node: Some(n) } => {
                if let Some(i) = self.sampler(n) {
                    self.advance(i);
                }
            }
            Event::Progress {
                node: Some(n),
                value,
                max,
            } => {
                if let Some(i) = self.sampler(n) {
                    if *max > 0.0 {
                        self.advance(i + (value / max).clamp(0.0, 1.0));
                    }
                }
            }
            Event::NodeStates(nodes) => {
                for (id, done, value, max) in nodes {
                    if *done {
                        self.finished.insert(id.clone());
                    }
                    if let Some(i) = self.sampler(id) {
                        if *done {
                            self.advance(i + 1.0);
                        } else if *max > 0.0 {
                            self.advance(i + (value / max).clamp(0.0, 1.0));
                        }
                    }
                }
            }
            _ => return None,
        }
        let fraction = if self.samplers.is_empty() {
            self.finished.len() as f64 / self.nodes as f64
        } else {
            self.sampled / self.samplers.len() as f64
        };
        let now = (fraction.clamp(0.0, 1.0) * SCALE as f64).floor() as u64;
        if self.sent.is_none_or(|s| now > s) {
            self.sent = Some(now);
            Some(now)
        } else {
            None
        }
    }
}
