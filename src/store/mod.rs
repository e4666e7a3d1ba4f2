//! The store: the only module that touches sled, and the truth for every job transition.
//!
//! Invariants: values are JSON documents in typed trees; updates that span trees run in one sled
//! transaction; every write that must survive a crash is flushed before the caller announces or
//! acts on it; `meta/schema_version` says which layout the database has, and older layouts are
//! migrated on open; media files are written to `tmp/` and renamed into `takes/` (see [`media`]).

mod catalog;
mod jobs;
pub mod media;
mod takes;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Tree;
use thiserror::Error;

/// Layout version written by this build.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "the store at {path} is in use by another previs process (a busy `previs work` holds it until its queue is empty); try again then, or stop that process"
    )]
    Locked { path: String },
    #[error("cannot open the store at {path}: {message}")]
    Open { path: String, message: String },
    #[error(
        "the store at {path} has schema version {found}, newer than this previs understands ({supported}); upgrade previs"
    )]
    NewerSchema {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("store entry {tree}/{key} is unreadable ({message}); restore the store from a backup")]
    Corrupt {
        tree: &'static str,
        key: String,
        message: String,
    },
    #[error("store write failed: {0}; check free disk space and permissions")]
    Write(String),
    #[error("{0}")]
    Conflict(String),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        Self::Write(e.to_string())
    }
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(e: sled::transaction::TransactionError<StoreError>) -> Self {
        match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => e.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A handle on the store; cheap to clone (sled trees are reference counted).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    dir: PathBuf,
    meta: Tree,
    projects: Tree,
    scenes: Tree,
    shots: Tree,
    takes: Tree,
    takes_by_shot: Tree,
    take_codes: Tree,
    jobs: Tree,
    /// Ids of jobs not in a terminal state (version 2): starting up reads these, not every job
    /// ever run.
    open_jobs: Tree,
    cache: Tree,
    refusals: Tree,
}

/// A render request the safety filter refused (no prompt text: the rule says why).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    pub at: crate::model::Millis,
    pub project: String,
    pub shot: String,
    /// `category/term`, or the classifier's rule.
    pub rule: String,
    pub category: String,
    /// `built-in`, `FILE:LINE` of a user blocklist, or the classifier.
    pub source: String,
    /// `term`, `classifier`, or `classifier_error` (the hook failed and the request was refused).
    pub kind: String,
    pub backend: String,
}

impl Store {
    /// Opens (or creates) the store in `data_dir` (`db/` for sled, `takes/` and `tmp/` for media).
    pub fn open(data_dir: &Path) -> Result<Self> {
        let path = data_dir.display().to_string();
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
            path: path.clone(),
            message: e.to_string(),
        })?;
        remove_unfinished_snapshots(&data_dir.join("db"));
        let db = sled::Config::new()
            .path(data_dir.join("db"))
            .open()
            .map_err(|e| {
                let message = e.to_string();
                if message.contains("could not acquire lock") {
                    StoreError::Locked { path: path.clone() }
                } else {
                    StoreError::Open {
                        path: path.clone(),
                        message,
                    }
                }
            })?;
        let tree = |name: &str| db.open_tree(name).map_err(StoreError::from);
        let store = Self {
            meta: tree("meta")?,
            projects: tree("projects")?,
            scenes: tree("scenes")?,
            shots: tree("shots")?,
            takes: tree("takes")?,
            takes_by_shot: tree("takes_by_shot")?,
            take_codes: tree("take_codes")?,
            jobs: tree("jobs")?,
            open_jobs: tree("open_jobs")?,
            cache: tree("cache")?,
            refusals: tree("refusals")?,
            dir: data_dir.to_path_buf(),
            db,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens the store, waiting up to `wait` while another previs process holds it (an idle
    /// worker opens it briefly to look for jobs).
    pub fn open_waiting(data_dir: &Path, wait: std::time::Duration) -> Result<Self> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            match Self::open(data_dir) {
                Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    /// The data directory (takes and temporary files live under it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes every write so far durable. Called before a transition is announced.
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    pub fn schema_version(&self) -> Result<Option<u32>> {
        Ok(self.meta.get("schema_version")?.map(|v| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&v[..4.min(v.len())]);
            u32::from_be_bytes(b)
        }))
    }

    /// Brings an older layout up to [`SCHEMA_VERSION`]; refuses a newer one.
    fn migrate(&self) -> Result<()> {
        let found = self.schema_version()?;
        match found {
            None => {
                self.meta
                    .insert("schema_version", &SCHEMA_VERSION.to_be_bytes())?;
                self.flush()?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::NewerSchema {
                    path: self.dir.display().to_string(),
                    found: v,
                    supported: SCHEMA_VERSION,
                });
            }
            Some(v) => {
                for step in v..SCHEMA_VERSION {
                    self.migrate_from(step)?;
                    self.meta
                        .insert("schema_version", &(step + 1).to_be_bytes())?;
                }
                self.flush()?;
            }
        }
        Ok(())
    }

    /// The hook for future layout changes: turns a version-`from` store into `from + 1`.
    fn migrate_from(&self, from: u32) -> Result<()> {
        tracing::info!(from, to = from + 1, "migrating store");
        if from == 1 {
            // Version 2 indexes the unfinished jobs.
            for kv in self.jobs.iter() {
                let (k, v) = kv?;
                let job: crate::model::JobRecord = decode("jobs", &k, &v)?;
                if !job.state.is_terminal() {
                    self.open_jobs.insert(k, &[][..])?;
                }
            }
        }
        Ok(())
    }

    /// Hands out increasing ids for `kind` (`job`, `take`, `shot`), starting at 1.
    pub fn next_ids(&self, kind: &str, n: u64) -> Result<u64> {
        let key = format!("next_id/{kind}");
        let after = self.meta.update_and_fetch(&key, |old| {
            let cur = old.map_or(1, be_u64);
            Some(cur.saturating_add(n).to_be_bytes().to_vec())
        })?;
        Ok(after.map_or(1, |b| be_u64(&b)).saturating_sub(n))
    }

    pub fn current_project(&self) -> Result<Option<String>> {
        Ok(self
            .meta
            .get("current_project")?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    pub fn set_current_project(&self, name: &str) -> Result<()> {
        self.meta.insert("current_project", name.as_bytes())?;
        self.flush()
    }

    pub fn queue_paused(&self) -> Result<bool> {
        Ok(self
            .meta
            .get("queue_paused")?
            .is_some_and(|v| v.as_ref() == b"1"))
    }

    /// Records a refused request (flushed: a refusal is part of the audit trail).
    pub fn record_refusal(&self, r: &Refusal) -> Result<()> {
        let id = self.next_ids("refusal", 1)?;
        self.refusals.insert(id.to_be_bytes(), encode(r)?)?;
        self.flush()
    }

    /// Every recorded refusal, oldest first.
    pub fn refusals(&self) -> Result<Vec<Refusal>> {
        self.refusals
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                decode("refusals", &k, &v)
            })
            .collect()
    }

    pub fn set_queue_paused(&self, paused: bool) -> Result<()> {
        self.meta
            .insert("queue_paused", if paused { b"1" } else { b"0" })?;
        self.flush()
    }
}

/// sled writes a snapshot to `snap.N.generating` and renames it when complete. A disk that
/// filled up (or a kill) can leave an empty or partial one behind, and sled then refuses to open
/// ("Read corrupted data"). It is never part of the committed state, so it goes.
fn remove_unfinished_snapshots(db_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(db_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            match std::fs::remove_file(e.path()) {
                Ok(()) => tracing::warn!(file = %name, "removed an unfinished sled snapshot"),
                Err(err) => {
                    tracing::warn!(file = %name, %err, "could not remove an unfinished sled snapshot")
                }
            }
        }
    }
}

pub(crate) fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    let n = b.len().min(8);
    a[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(a)
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Write(e.to_string()))
}

pub(crate) fn decode<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        tree,
        key: String::from_utf8_lossy(key).into_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_version_is_written_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            assert_eq!(s.schema_version().unwrap(), Some(SCHEMA_VERSION));
            s.meta
                .insert("schema_version", &(SCHEMA_VERSION + 1).to_be_bytes())
                .unwrap();
            s.flush().unwrap();
        }
        let err = Store::open(dir.path()).err().unwrap();
        assert!(
            err.to_string()
                .contains("newer than this previs understands"),
            "{err}"
        );
    }

    #[test]
    fn version_1_stores_get_the_index_of_unfinished_jobs() {
        use crate::model::{JobId, JobState};
        let dir = tempfile::tempdir().unwrap();
        let mut ids = Vec::new();
        {
            let s = Store::open(dir.path()).unwrap();
            for (i, state) in [JobState::Queued, JobState::Canceled, JobState::Submitting]
                .into_iter()
                .enumerate()
            {
                let mut j = crate::model::job::sample_job(i as u64 + 1);
                j.state = state;
                ids.push(j.id);
                // As version 1 wrote them: no index.
                s.jobs
                    .insert(j.id.0.to_be_bytes(), encode(&j).unwrap())
                    .unwrap();
            }
            s.meta
                .insert("schema_version", &1u32.to_be_bytes())
                .unwrap();
            s.flush().unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        let open: Vec<JobId> = s.unfinished_jobs().unwrap().iter().map(|j| j.id).collect();
        assert_eq!(open, [ids[0], ids[2]]);
    }

    #[test]
    fn an_older_schema_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            s.meta
                .insert("schema_version", &0u32.to_be_bytes())
                .unwrap();
            s.flush().unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.schema_version().unwrap(), Some(SCHEMA_VERSION));
    }

    #[test]
    fn an_unfinished_snapshot_left_by_a_full_disk_does_not_lock_the_data_away() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            s.create_project(&crate::model::Project::new("kept", 1).unwrap())
                .unwrap();
        }
        // What sled leaves when the disk fills while it writes a snapshot.
        std::fs::write(dir.path().join("db/snap.00000000000012AB.generating"), b"").unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert!(s.project("kept").unwrap().is_some());
        assert!(
            !dir.path()
                .join("db/snap.00000000000012AB.generating")
                .exists()
        );
    }

    #[test]
    fn ids_increase_from_one() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.next_ids("job", 1).unwrap(), 1);
        assert_eq!(s.next_ids("job", 3).unwrap(), 2);
        assert_eq!(s.next_ids("job", 1).unwrap(), 5);
        assert_eq!(s.next_ids("take", 1).unwrap(), 1);
    }
}

#[cfg(test)]
mod lock_probe {
    #[test]
    fn dropping_the_store_releases_the_file_lock() {
        let dir = tempfile::tempdir().unwrap();
        let lock = |dir: &std::path::Path| {
            std::process::Command::new("flock")
                .arg("-n")
                .arg(dir.join("db/db"))
                .arg("true")
                .status()
                .unwrap()
                .success()
        };
        let s = super::Store::open(dir.path()).unwrap();
        assert!(!lock(dir.path()), "held while open");
        drop(s);
        assert!(lock(dir.path()), "released once dropped");
    }
}
