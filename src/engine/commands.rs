//! What the engine does with a front end's [`Command`]: wake, cancel, pause, resume, move a
//! waiting job, shut down. Every change is written to the store before it is announced.

use std::collections::BTreeSet;

use super::{Command, Engine, EngineError, Level};
use crate::model::{JobId, JobOut, JobState};

impl Engine {
    pub(super) async fn command(&mut self, cmd: Command) -> Result<(), EngineError> {
        match cmd {
            Command::Wake => {
                let known: BTreeSet<JobId> = self
                    .queued
                    .iter()
                    .map(|j| j.id)
                    .chain(self.live.keys().copied())
                    .collect();
                let jobs = self.blocking(|s| s.unfinished_jobs()).await?;
                for j in jobs {
                    if matches!(j.state, JobState::Queued) && !known.contains(&j.id) {
                        self.queued.push(j);
                    }
                }
                self.announced_idle = false;
            }
            Command::Cancel { job: id } => {
                if let Some(r) = self.running.get(&id) {
                    self.user_canceled.insert(id);
                    r.token.cancel();
                } else if let Some(pos) = self.queued.iter().position(|j| j.id == id) {
                    let mut job = self.queued.remove(pos);
                    self.transition(&mut job, JobOut::Cancel).await?;
                } else {
                    match self.blocking(move |s| s.job(id)).await? {
                        Some(mut job) if !job.state.is_terminal() => {
                            self.transition(&mut job, JobOut::Cancel).await?;
                        }
                        Some(job) => self.notice(
                            Level::Warn,
                            format!("job {id} is already {}", job.state.name()),
                        ),
                        None => self.notice(Level::Warn, format!("no job {id}")),
                    }
                }
            }
            Command::Pause => {
                self.paused = true;
                self.blocking(|s| s.set_queue_paused(true)).await?;
                self.notice(
                    Level::Info,
                    "queue paused: running jobs finish, no new ones start".into(),
                );
            }
            Command::Resume => {
                self.paused = false;
                self.announced_idle = false;
                self.blocking(|s| s.set_queue_paused(false)).await?;
                self.notice(Level::Info, "queue resumed".into());
            }
            Command::Move { job: id, up } => self.move_job(id, up).await?,
            Command::Shutdown => {
                self.shutting_down = true;
                for r in self.running.values() {
                    r.token.cancel();
                }
            }
        }
        Ok(())
    }

    /// Swaps a queued job with its neighbour in queue order; both are written, then announced.
    async fn move_job(&mut self, id: JobId, up: bool) -> Result<(), EngineError> {
        self.queued.sort_by_key(|j| (j.priority, j.id));
        let Some(pos) = self.queued.iter().position(|j| j.id == id) else {
            self.notice(
                Level::Warn,
                format!("job {id} is not waiting in the queue; only queued jobs move"),
            );
            return Ok(());
        };
        let other = if up {
            pos.checked_sub(1)
        } else {
            Some(pos + 1).filter(|o| *o < self.queued.len())
        };
        let Some(other) = other else { return Ok(()) };
        let (a, b) = (self.queued[pos].priority, self.queued[other].priority);
        if a == b {
            self.queued[pos].priority = if up { b - 1 } else { b + 1 };
        } else {
            self.queued[pos].priority = b;
            self.queued[other].priority = a;
        }
        let pair = [self.queued[pos].clone(), self.queued[other].clone()];
        let written = pair.clone();
        self.blocking(move |s| written.iter().try_for_each(|j| s.put_job(j)))
            .await?;
        for j in &pair {
            self.job_event(j);
        }
        self.queued.sort_by_key(|j| (j.priority, j.id));
        Ok(())
    }
}
