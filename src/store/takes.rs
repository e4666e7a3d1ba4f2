//! Takes and the indexes that find them by shot and by code.

use super::jobs::code_key;
use super::{Result, Store, StoreError, be_u64, decode};
use crate::model::{ShotId, Take, TakeId};

impl Store {
    pub fn take(&self, id: TakeId) -> Result<Option<Take>> {
        let key = id.0.to_be_bytes();
        self.takes
            .get(key)?
            .map(|v| decode("takes", &key, &v))
            .transpose()
    }

    /// Finds a take by its code (`SC012_SH12A_TK03`, case-insensitive).
    pub fn take_by_code(&self, project: &str, code: &str) -> Result<Option<Take>> {
        match self.take_codes.get(code_key(project, code))? {
            Some(id) => self.take(TakeId(be_u64(&id))),
            None => Ok(None),
        }
    }

    /// Every take of the project, oldest first.
    pub fn takes(&self, project: &str) -> Result<Vec<Take>> {
        let mut out = Vec::new();
        for kv in self.takes.iter() {
            let (k, v) = kv?;
            let take: Take = decode("takes", &k, &v)?;
            if take.project == project {
                out.push(take);
            }
        }
        Ok(out)
    }

    /// The takes of one shot, oldest first.
    pub fn takes_of_shot(&self, shot: ShotId) -> Result<Vec<Take>> {
        let mut out = Vec::new();
        for kv in self.takes_by_shot.scan_prefix(shot.0.to_be_bytes()) {
            let (k, _) = kv?;
            let id = TakeId(be_u64(&k[8..]));
            match self.take(id)? {
                Some(t) => out.push(t),
                None => {
                    return Err(StoreError::Corrupt {
                        tree: "takes_by_shot",
                        key: format!("{shot}/{id}"),
                        message: "index points at a missing take".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Whether a shot has takes, or jobs that are still going to make takes.
    pub fn shot_has_takes(&self, shot: ShotId) -> Result<bool> {
        if self
            .takes_by_shot
            .scan_prefix(shot.0.to_be_bytes())
            .next()
            .is_some()
        {
            return Ok(true);
        }
        Ok(self.unfinished_jobs()?.iter().any(|j| j.shot == shot))
    }
}
