//! A finished render becomes a take: the temporary file is probed, hashed and renamed into
//! place, then the take and the job's `Done` state are written in one transaction.

use std::time::Duration;

use super::{Engine, EngineError, Event, TakeView};
use crate::backend::Finished;
use crate::media::probe;
use crate::model::{JobOut, JobRecord, MediaInfo, Take, TakeId, Timings};
use crate::store::media;

impl Engine {
    /// `Ok(Err(reason))`: the file is unusable and the job should fail with `reason`.
    pub(super) async fn finalize(
        &mut self,
        job: &mut JobRecord,
        finished: Finished,
        elapsed: Duration,
    ) -> Result<Result<(), String>, EngineError> {
        let dir = self.store.dir().to_path_buf();
        let tmp = media::tmp_path(&dir, job.id);
        let rel = media::take_rel_path(&job.project, &job.take_code);
        let (project, code) = (job.project.clone(), job.take_code.clone());
        if self
            .blocking(move |s| s.take_by_code(&project, &code))
            .await?
            .is_some()
        {
            // Never overwrite another take's file; the take code was handed out twice.
            return Ok(Err(format!(
                "take {} already exists; refusing to overwrite its file (queue the shot again)",
                job.take_code
            )));
        }
        let checked = tokio::task::spawn_blocking(move || {
            let info = probe::probe(&tmp)
                .map_err(|e| format!("the rendered file is not a playable MP4: {e}"))?;
            let (sha256, bytes) =
                media::sha256_file(&tmp).map_err(|e| format!("reading {}: {e}", tmp.display()))?;
            media::commit(&tmp, &dir, &rel)
                .map_err(|e| format!("moving the take into {}: {e}", dir.join(&rel).display()))?;
            Ok::<_, String>((info, sha256, bytes))
        })
        .await
        .map_err(|e| EngineError::Invalid(format!("finalizing task failed: {e}")))?;
        let (info, sha256, bytes) = match checked {
            Ok(v) => v,
            Err(reason) => return Ok(Err(reason)),
        };
        let take_id = TakeId(self.blocking(|s| s.next_ids("take", 1)).await?);
        let now = self.clock.now();
        let take = Take {
            id: take_id,
            code: job.take_code.clone(),
            project: job.project.clone(),
            shot: job.shot,
            shot_code: job.shot_code.clone(),
            number: job.take_number,
            recipe: job.recipe.clone(),
            file: media::take_rel_path(&job.project, &job.take_code),
            media: MediaInfo {
                codec: info.codec,
                width: info.width,
                height: info.height,
                fps: info.fps,
                frames: info.frames,
                duration_s: info.duration_s,
                bytes,
                sha256,
            },
            cost: finished.cost,
            timings: Timings {
                queued_at: job.created_at,
                started_at: job.started_at,
                finished_at: now,
                render_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            },
            parent: job.parent,
            rendered_by: finished.rendered_by.clone(),
            job: job.id,
            created_at: now,
        };
        if let Err(e) = job.apply(
            JobOut::Finished {
                take: take_id,
                cache_hit: false,
            },
            now,
            &self.backoff,
        ) {
            return Ok(Err(e.to_string()));
        }
        let (rec, t) = (job.clone(), take.clone());
        self.blocking(move |s| s.finish_job(&rec, Some(&t))).await?;
        self.count(job);
        let parent = match take.parent {
            Some(p) => self.blocking(move |s| s.take(p)).await?.map(|t| t.code),
            None => None,
        };
        let view = super::JobView::new(job, Some(&take), parent.as_deref(), self.store.dir());
        self.emit(Event::JobUpdated {
            job: Box::new(view),
        });
        let take_view = TakeView::new(&take, false, parent.as_deref(), self.store.dir());
        self.emit(Event::TakeReady {
            take: Box::new(take_view),
        });
        Ok(Ok(()))
    }
}
