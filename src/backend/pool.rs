//! The `pool` backend: several backends behind one name.
//!
//! Each job goes to the member with the most free capacity that accepts its size and duration;
//! a member that just failed or is unreachable is skipped for a while; a job stranded on a
//! member that died fails as retryable, goes back to the queue and lands on another member.
//! Remote ids are `member|id`, so a resumed job finds its member.
//!
//! Invariant: before a job without a remote id is submitted, members that accept client-chosen
//! ids are asked whether they already have it (a crash between submit and record), so a pool
//! never runs a job twice where its members let it know.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{Backend, BoxFuture, Failure, Finished, Health, RenderJob, Reporter, SubmitKind};
use crate::model::{Cost, Level, Recipe};

/// How long a member that failed is passed over.
pub const BENCH: Duration = Duration::from_secs(30);

pub struct Pool {
    name: String,
    model: String,
    members: Vec<Arc<dyn Backend>>,
    state: Mutex<PoolState>,
}

#[derive(Default)]
struct PoolState {
    busy: HashMap<String, usize>,
    benched_until: HashMap<String, Instant>,
}

impl Pool {
    pub fn new(name: &str, members: Vec<Arc<dyn Backend>>) -> Self {
        let models: Vec<&str> = members.iter().map(|m| m.model()).collect();
        let model = match models.first() {
            Some(first) if models.iter().all(|m| m == first) => (*first).to_string(),
            Some(_) => "mixed".to_string(),
            None => "-".to_string(),
        };
        Self {
            name: name.to_string(),
            model,
            members,
            state: Mutex::new(PoolState::default()),
        }
    }

    fn member(&self, name: &str) -> Option<&Arc<dyn Backend>> {
        self.members.iter().find(|m| m.name() == name)
    }

    fn bench(&self, member: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.benched_until
                .insert(member.to_string(), Instant::now() + BENCH);
        }
    }

    /// The member with the most free slots among those that accept `recipe` and are not
    /// benched; a benched one only when nothing else accepts the job.
    fn choose(&self, recipe: &Recipe) -> Result<Arc<dyn Backend>, String> {
        let Ok(state) = self.state.lock() else {
            return Err("pool state poisoned".into());
        };
        let now = Instant::now();
        let mut reasons = Vec::new();
        let mut best: Option<(bool, i64, usize)> = None;
        for (i, m) in self.members.iter().enumerate() {
            if let Err(e) = m.check(recipe) {
                reasons.push(format!("{}: {e}", m.name()));
                continue;
            }
            let benched = state.benched_until.get(m.name()).is_some_and(|t| *t > now);
            let busy = state.busy.get(m.name()).copied().unwrap_or(0);
            let free = m.max_in_flight() as i64 - busy as i64;
            let key = (!benched, free, i);
            if best.is_none_or(|b| (key.0, key.1) > (b.0, b.1)) {
                best = Some(key);
            }
        }
        match best {
            Some((_, _, i)) => Ok(self.members[i].clone()),
            None => Err(format!(
                "no member of pool {:?} can render it ({})",
                self.name,
                reasons.join("; ")
            )),
        }
    }
}

/// Counts a job against its member while it runs.
struct Busy<'a> {
    pool: &'a Pool,
    member: String,
}

impl<'a> Busy<'a> {
    fn new(pool: &'a Pool, member: &str) -> Self {
        if let Ok(mut s) = pool.state.lock() {
            *s.busy.entry(member.to_string()).or_default() += 1;
        }
        Self {
            pool,
            member: member.to_string(),
        }
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.pool.state.lock() {
            if let Some(n) = s.busy.get_mut(&self.member) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

/// `member|id` → (member, id).
fn split(remote_id: &str) -> Option<(&str, &str)> {
    remote_id.split_once('|')
}

impl Backend for Pool {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "pool"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn max_in_flight(&self) -> usize {
        self.members
            .iter()
            .map(|m| m.max_in_flight())
            .sum::<usize>()
            .max(1)
    }

    fn submit_kind(&self) -> SubmitKind {
        let kinds: Vec<SubmitKind> = self.members.iter().map(|m| m.submit_kind()).collect();
        if kinds.contains(&SubmitKind::NonIdempotent) {
            SubmitKind::NonIdempotent
        } else if kinds.iter().all(|k| *k == SubmitKind::Local) {
            SubmitKind::Local
        } else {
            SubmitKind::Idempotent
        }
    }

    fn frames(&self, duration_s: f64, fps: u32) -> u32 {
        self.members
            .first()
            .map_or(1, |m| m.frames(duration_s, fps))
    }

    fn check(&self, recipe: &Recipe) -> Result<(), String> {
        if self.members.is_empty() {
            return Err(format!("pool {:?} has no members", self.name));
        }
        let mut reasons = Vec::new();
        for m in &self.members {
            match m.check(recipe) {
                Ok(()) => return Ok(()),
                Err(e) => reasons.push(format!("{}: {e}", m.name())),
            }
        }
        Err(format!(
            "no member of pool {:?} can render it ({})",
            self.name,
            reasons.join("; ")
        ))
    }

    /// The dearest member that could take it: a budget is never underestimated.
    fn estimate(&self, recipe: &Recipe) -> Cost {
        self.members
            .iter()
            .filter(|m| m.check(recipe).is_ok())
            .map(|m| m.estimate(recipe))
            .max_by(|a, b| a.amount.total_cmp(&b.amount))
            .unwrap_or_default()
    }

    fn run(
        &self,
        job: RenderJob,
        report: Reporter,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<Finished, Failure>> {
        Box::pin(async move {
            let mut job = job;
            // Resume on the member that has it.
            let resumed = job
                .remote_id
                .as_deref()
                .and_then(split)
                .map(|(m, r)| (m.to_string(), r.to_string()));
            let member = match resumed {
                Some((name, rid)) => match self.member(&name) {
                    Some(m) => {
                        job.remote_id = Some(rid);
                        m.clone()
                    }
                    None => {
                        return Err(Failure::Failed {
                            reason: format!(
                                "pool member {name:?} is no longer configured; the job goes back to the queue"
                            ),
                            retryable: true,
                        });
                    }
                },
                None => {
                    job.remote_id = None;
                    match self.already_submitted(&job.submission_key).await {
                        Some(m) => {
                            // Crash between submit and record: pick the job up where it is.
                            job.remote_id = Some(job.submission_key.clone());
                            m
                        }
                        None => self.choose(&job.recipe).map_err(|reason| Failure::Failed {
                            reason,
                            retryable: false,
                        })?,
                    }
                }
            };
            let name = member.name().to_string();
            let _busy = Busy::new(self, &name);
            let result = member.run(job, report.for_member(&name), cancel).await;
            match result {
                Ok(mut f) => {
                    f.rendered_by = Some(name);
                    Ok(f)
                }
                Err(Failure::Failed {
                    reason,
                    retryable: true,
                }) => {
                    // Likely the member's trouble, not the job's: try another one next time.
                    self.bench(&name);
                    report.notice(
                        Level::Warn,
                        format!(
                            "pool member {name} failed ({reason}); passing it over for {}s",
                            BENCH.as_secs()
                        ),
                    );
                    Err(Failure::Failed {
                        reason: format!("{name}: {reason}"),
                        retryable: true,
                    })
                }
                Err(Failure::Failed {
                    reason,
                    retryable: false,
                }) => Err(Failure::Failed {
                    reason: format!("{name}: {reason}"),
                    retryable: false,
                }),
                Err(Failure::Unconfirmed { reason }) => Err(Failure::Unconfirmed {
                    reason: format!("{name}: {reason}"),
                }),
                Err(Failure::Canceled) => Err(Failure::Canceled),
            }
        })
    }

    fn endpoint(&self) -> Option<String> {
        Some(format!(
            "members: {}",
            self.members
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    fn health(&self) -> BoxFuture<'_, Health> {
        Box::pin(async move {
            let checks =
                futures_util::future::join_all(self.members.iter().map(|m| m.health())).await;
            let mut h = Health {
                reachable: false,
                queue_depth: Some(0),
                ..Health::default()
            };
            for (m, c) in self.members.iter().zip(checks) {
                h.reachable |= c.reachable;
                if let (Some(q), Some(d)) = (h.queue_depth.as_mut(), c.queue_depth) {
                    *q += d;
                }
                h.gpus.extend(c.gpus.iter().cloned());
                if !c.ok() {
                    let why = if c.problems.is_empty() {
                        "unreachable".to_string()
                    } else {
                        c.problems.join("; ")
                    };
                    h.problems.push(format!("member {}: {why}", m.name()));
                }
            }
            h
        })
    }

    fn cancel_remote<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            match split(remote_id).and_then(|(m, r)| self.member(m).map(|b| (b, r))) {
                Some((member, rid)) => member.cancel_remote(rid).await,
                None => Ok(()),
            }
        })
    }
}

impl Pool {
    /// The member that already has a submission under `key`, if one does.
    async fn already_submitted(&self, key: &str) -> Option<Arc<dyn Backend>> {
        for m in &self.members {
            if m.submit_kind() == SubmitKind::Idempotent && m.find_submission(key).await == Ok(true)
            {
                return Some(m.clone());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::animatic::Animatic;

    fn recipe(w: u32, h: u32) -> Recipe {
        Recipe {
            prompt: "x".into(),
            negative: String::new(),
            seed: 1,
            backend: "p".into(),
            model: "m".into(),
            width: w,
            height: h,
            fps: 24,
            duration_s: 1.0,
            frames: 24,
            style: None,
            variant: Default::default(),
            spec: Default::default(),
            params: Default::default(),
        }
    }

    #[test]
    fn jobs_go_to_the_member_with_most_free_slots_that_accepts_them() {
        let a: Arc<dyn Backend> = Arc::new(Animatic::new("a", Some(1)));
        let b: Arc<dyn Backend> = Arc::new(Animatic::new("b", Some(3)));
        let p = Pool::new("p", vec![a, b]);
        assert_eq!(p.max_in_flight(), 4);
        assert_eq!(p.choose(&recipe(1280, 720)).unwrap().name(), "b");
        let _one = Busy::new(&p, "b");
        let _two = Busy::new(&p, "b");
        let _three = Busy::new(&p, "b");
        assert_eq!(
            p.choose(&recipe(1280, 720)).unwrap().name(),
            "a",
            "b is full"
        );
        drop(_three);
        p.bench("b");
        assert_eq!(
            p.choose(&recipe(1280, 720)).unwrap().name(),
            "a",
            "a benched member is passed over"
        );
        let err = p.choose(&recipe(4000, 4000)).err().unwrap();
        assert!(
            err.starts_with("no member of pool \"p\" can render it (a: unsupported size"),
            "{err}"
        );
        assert!(p.check(&recipe(4000, 4000)).is_err());
        assert!(p.check(&recipe(1280, 720)).is_ok());
    }

    #[test]
    fn remote_ids_carry_their_member() {
        assert_eq!(split("box|8c0a-11"), Some(("box", "8c0a-11")));
        assert_eq!(split("plain"), None);
    }
}
