//! Render jobs: queueing, transitions, and the one transaction that turns a finished job into a
//! take.

use sled::Transactional;
use sled::transaction::ConflictableTransactionError as Abort;

use super::{Result, Store, StoreError, be_u64, decode, encode};
use crate::model::{JobId, JobRecord, Shot, Take, TakeId};

impl Store {
    /// Queues `jobs` and records the take numbers they reserved on their shots, atomically.
    pub fn enqueue(&self, jobs: &[JobRecord], shots: &[Shot]) -> Result<()> {
        let jobs_kv: Vec<([u8; 8], Vec<u8>)> = jobs
            .iter()
            .map(|j| Ok((j.id.0.to_be_bytes(), encode(j)?)))
            .collect::<Result<_>>()?;
        let shots_kv: Vec<([u8; 8], Vec<u8>)> = shots
            .iter()
            .map(|s| Ok((s.id.0.to_be_bytes(), encode(s)?)))
            .collect::<Result<_>>()?;
        let open: Vec<[u8; 8]> = jobs
            .iter()
            .filter(|j| !j.state.is_terminal())
            .map(|j| j.id.0.to_be_bytes())
            .collect();
        (&self.jobs, &self.shots, &self.open_jobs).transaction(
            |(tx_jobs, tx_shots, tx_open)| {
                for (k, v) in &jobs_kv {
                    tx_jobs.insert(&k[..], v.clone())?;
                }
                for k in &open {
                    tx_open.insert(&k[..], &[][..])?;
                }
                for (k, v) in &shots_kv {
                    tx_shots.insert(&k[..], v.clone())?;
                }
                Ok::<_, Abort<StoreError>>(())
            },
        )?;
        self.flush()
    }

    pub fn job(&self, id: JobId) -> Result<Option<JobRecord>> {
        let key = id.0.to_be_bytes();
        self.jobs
            .get(key)?
            .map(|v| decode("jobs", &key, &v))
            .transpose()
    }

    /// Every job in queue order (priority, then id).
    pub fn jobs(&self) -> Result<Vec<JobRecord>> {
        let mut out: Vec<JobRecord> = self
            .jobs
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                decode("jobs", &k, &v)
            })
            .collect::<Result<_>>()?;
        out.sort_by_key(|j| (j.priority, j.id));
        Ok(out)
    }

    /// Jobs not in a terminal state, in queue order, read through the index (the work of a
    /// start-up does not grow with the history).
    pub fn unfinished_jobs(&self) -> Result<Vec<JobRecord>> {
        let mut out = Vec::new();
        for k in self.open_jobs.iter().keys() {
            let k = k?;
            if let Some(v) = self.jobs.get(&k)? {
                let job: JobRecord = decode("jobs", &k, &v)?;
                if !job.state.is_terminal() {
                    out.push(job);
                }
            }
        }
        out.sort_by_key(|j| (j.priority, j.id));
        Ok(out)
    }

    /// Writes a job's new state and makes it durable before returning.
    pub fn put_job(&self, job: &JobRecord) -> Result<()> {
        self.write_job(job)?;
        self.flush()
    }

    /// The job and its entry in the index of unfinished jobs, together.
    fn write_job(&self, job: &JobRecord) -> Result<()> {
        let key = job.id.0.to_be_bytes();
        let value = encode(job)?;
        let open = !job.state.is_terminal();
        (&self.jobs, &self.open_jobs).transaction(|(jobs, index)| {
            jobs.insert(&key[..], value.clone())?;
            if open {
                index.insert(&key[..], &[][..])?;
            } else {
                index.remove(&key[..])?;
            }
            Ok::<_, Abort<StoreError>>(())
        })?;
        Ok(())
    }

    /// Writes progress within a state; not flushed (losing it in a crash loses nothing).
    pub fn put_job_progress(&self, job: &JobRecord) -> Result<()> {
        self.write_job(job)
    }

    /// Records a finished job: the job's `Done` state, its take (unless it reused one from the
    /// cache) with the shot and code indexes and the cache entry, in one transaction, flushed.
    pub fn finish_job(&self, job: &JobRecord, take: Option<&Take>) -> Result<()> {
        let job_kv = (job.id.0.to_be_bytes(), encode(job)?);
        let take_kv = take
            .map(|t| Ok::<_, StoreError>((t, encode(t)?)))
            .transpose()?;
        (
            &self.jobs,
            &self.takes,
            &self.takes_by_shot,
            &self.take_codes,
            &self.cache,
            &self.open_jobs,
        )
            .transaction(|(jobs, takes, by_shot, codes, cache, index)| {
                jobs.insert(&job_kv.0[..], job_kv.1.clone())?;
                index.remove(&job_kv.0[..])?;
                if let Some((t, v)) = &take_kv {
                    let id = t.id.0.to_be_bytes();
                    takes.insert(&id[..], v.clone())?;
                    by_shot.insert(shot_take_key(t), &[][..])?;
                    codes.insert(code_key(&t.project, &t.code), &id[..])?;
                    cache.insert(t.recipe.cache_key().as_bytes(), &id[..])?;
                }
                Ok::<_, Abort<StoreError>>(())
            })?;
        self.flush()
    }

    /// The take an identical request already produced, if its file is still there.
    pub fn cached_take(&self, cache_key: &str) -> Result<Option<Take>> {
        let Some(id) = self.cache.get(cache_key.as_bytes())? else {
            return Ok(None);
        };
        let Some(take) = self.take(TakeId(be_u64(&id)))? else {
            return Ok(None);
        };
        // A missing, cut or replaced file is no cache hit: render anew.
        let intact = std::fs::metadata(self.dir.join(&take.file))
            .is_ok_and(|m| m.is_file() && m.len() == take.media.bytes);
        Ok(intact.then_some(take))
    }
}

pub(super) fn shot_take_key(t: &Take) -> Vec<u8> {
    let mut k = t.shot.0.to_be_bytes().to_vec();
    k.extend_from_slice(&t.id.0.to_be_bytes());
    k
}

pub(super) fn code_key(project: &str, code: &str) -> Vec<u8> {
    let mut k = project.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(code.to_ascii_uppercase().as_bytes());
    k
}
