//! Recovery on start: every job a previous run left unfinished is put back on track.
//!
//! Local renders (the animatic) are restarted; jobs on backends that accept a client-chosen id
//! are resumed; a submission that may or may not have reached a backend without such an id is
//! marked `Unconfirmed` for the user to decide. Temporary files of jobs that cannot be resumed
//! are removed, and every take's file is checked against its recorded size.

use super::{Engine, EngineError, Level};
use crate::backend::SubmitKind;
use crate::model::{JobId, JobOut, JobRecord, JobState};
use crate::store::media;

impl Engine {
    /// Recovers unfinished jobs; returns the ones to resume on their backend.
    pub(super) async fn recover(&mut self) -> Result<Vec<JobRecord>, EngineError> {
        let jobs = self.blocking(|s| s.unfinished_jobs()).await?;
        let mut resume = Vec::new();
        for mut job in jobs {
            match &job.state {
                JobState::Queued => self.queued.push(job),
                JobState::Unconfirmed { .. } => self.notice(
                    Level::Warn,
                    format!(
                        "job {} ({}) is unconfirmed: the backend may have it (check its console); `previs retry {}` sends it again, `previs cancel {}` drops it",
                        job.id, job.take_code, job.id, job.id
                    ),
                ),
                state if state.is_active() => {
                    let backend = match self.registry.get(&job.recipe.backend) {
                        Ok(b) => b,
                        Err(e) => {
                            self.transition(&mut job, JobOut::Failed { reason: e, retryable: false }).await?;
                            continue;
                        }
                    };
                    match (backend.submit_kind(), &job.state) {
                        (SubmitKind::Local, _) => {
                            self.transition(&mut job, JobOut::Requeue).await?;
                            self.notice(Level::Info, format!("{}: restarting its interrupted render", job.take_code));
                            self.queued.push(job);
                        }
                        (SubmitKind::NonIdempotent, JobState::Submitting) => {
                            let reason = "interrupted while submitting; the backend cannot say whether it received the job".to_string();
                            self.transition(&mut job, JobOut::Unconfirmed { reason }).await?;
                            self.notice(Level::Warn, format!("{}: submission unconfirmed, not resubmitted", job.take_code));
                        }
                        _ => resume.push(job),
                    }
                }
                _ => {}
            }
        }
        let keep: Vec<JobId> = resume.iter().map(|j| j.id).collect();
        let dir = self.store.dir().to_path_buf();
        let removed = tokio::task::spawn_blocking(move || media::sweep_tmp(&dir, &keep))
            .await
            .map_err(|e| EngineError::Invalid(e.to_string()))?
            .unwrap_or(0);
        if removed > 0 {
            tracing::info!(removed, "removed temporary files of interrupted jobs");
        }
        self.verify_takes().await?;
        Ok(resume)
    }

    /// Warns about takes whose file is missing or no longer the size recorded.
    async fn verify_takes(&mut self) -> Result<(), EngineError> {
        let dir = self.store.dir().to_path_buf();
        let bad = self
            .blocking(move |s| {
                let mut bad = Vec::new();
                for p in s.projects()? {
                    for t in s.takes(&p.name)? {
                        let ok = std::fs::metadata(dir.join(&t.file))
                            .is_ok_and(|m| m.len() == t.media.bytes);
                        if !ok {
                            bad.push(t.code);
                        }
                    }
                }
                Ok(bad)
            })
            .await?;
        for code in bad {
            self.notice(
                Level::Warn,
                format!(
                    "take {code}: its file is missing or was changed on disk; `previs reroll {code} --seed SEED` (the seed `previs takes` shows) makes it again"
                ),
            );
        }
        Ok(())
    }
}
