//! The built-in `animatic` backend: renders a real H.264 MP4 animatic of a shot on the CPU,
//! with no GPU, no network and no external program. It is free, deterministic for a seed, and
//! the default on a fresh machine.

pub mod render;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::CancellationToken;

use super::{Backend, BoxFuture, Failure, Finished, RenderJob, Reporter, SubmitKind};
use crate::model::{CameraMove, Cost, JobOut, Recipe};
use render::{AnimaticError, AnimaticSpec};

pub const MODEL: &str = "animatic-1";

pub struct Animatic {
    name: String,
    max_in_flight: usize,
}

impl Animatic {
    pub fn new(name: &str, max_in_flight: Option<usize>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            name: name.to_string(),
            max_in_flight: max_in_flight.unwrap_or(cores.min(4)).max(1),
        }
    }

    fn spec(job: &RenderJob) -> AnimaticSpec {
        let r = &job.recipe;
        AnimaticSpec {
            width: r.width,
            height: r.height,
            fps: r.fps,
            frames: r.frames,
            seed: r.seed,
            camera: CameraMove::parse(&r.spec.camera.movement),
            // The lighting decides the palette; without one, the time of day of the scene does.
            lighting: if r.spec.lighting.trim().is_empty() {
                r.spec.environment.clone()
            } else {
                r.spec.lighting.clone()
            },
            grade: r
                .params
                .get("grade")
                .and_then(|g| g.as_str())
                .map_or_else(Default::default, render::palette::Grade::parse),
            prompt: r.prompt.clone(),
            slate: job.slate.clone(),
        }
    }
}

impl Backend for Animatic {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "animatic"
    }

    fn model(&self) -> &str {
        MODEL
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    fn submit_kind(&self) -> SubmitKind {
        SubmitKind::Local
    }

    fn frames(&self, duration_s: f64, fps: u32) -> u32 {
        let f = (duration_s * f64::from(fps)).round();
        if f < 1.0 {
            1
        } else if f > f64::from(u32::MAX) {
            u32::MAX
        } else {
            f as u32
        }
    }

    fn check(&self, recipe: &Recipe) -> Result<(), String> {
        if !(recipe.duration_s > 0.0 && recipe.duration_s <= 60.0) {
            return Err(format!(
                "unsupported duration {}s: the animatic renders 0.1 to 60 seconds",
                recipe.duration_s
            ));
        }
        render::validate(recipe.width, recipe.height, recipe.fps, recipe.frames)
            .map_err(|e| e.to_string())
    }

    fn estimate(&self, _recipe: &Recipe) -> Cost {
        Cost::zero()
    }

    fn run(
        &self,
        job: RenderJob,
        report: Reporter,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<Finished, Failure>> {
        Box::pin(async move {
            report.send(JobOut::Accepted {
                remote_id: format!("animatic:{}", std::process::id()),
            });
            let spec = Self::spec(&job);
            let stop = Arc::new(AtomicBool::new(false));
            let watcher = {
                let stop = stop.clone();
                let cancel = cancel.clone();
                tokio::spawn(async move {
                    cancel.cancelled().await;
                    stop.store(true, Ordering::Relaxed);
                })
            };
            let out = job.out.clone();
            let progress = report.clone();
            let result = tokio::task::spawn_blocking(move || {
                if let Some(dir) = out.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| AnimaticError::Io {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                let mut last = 0u32;
                render::render(
                    &spec,
                    &out,
                    &mut |done, total| {
                        // A report per percent is plenty; the engine coalesces further.
                        let pct = done.saturating_mul(100) / total.max(1);
                        if pct != last || done == total {
                            last = pct;
                            progress.send(JobOut::Progress {
                                value: u64::from(done),
                                max: u64::from(total),
                            });
                        }
                    },
                    &stop,
                )
            })
            .await;
            watcher.abort();
            match result {
                Ok(Ok(_stats)) => Ok(Finished {
                    cost: Cost::zero(),
                    rendered_by: None,
                }),
                Ok(Err(AnimaticError::Canceled)) => Err(Failure::Canceled),
                Ok(Err(e)) => Err(Failure::Failed {
                    // Disk full and other I/O trouble may pass; a bad spec will not.
                    retryable: matches!(e, AnimaticError::Io { .. }),
                    reason: e.to_string(),
                }),
                Err(join) => Err(Failure::Failed {
                    reason: format!("animatic renderer crashed: {join}"),
                    retryable: false,
                }),
            }
        })
    }
}
