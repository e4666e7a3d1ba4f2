//! Projects, scenes and shots.

use sled::Transactional;
use sled::transaction::ConflictableTransactionError as Abort;

use super::{Result, Store, StoreError, decode, encode};
use crate::model::{Project, Scene, Shot, ShotId};
use crate::script::merge::MergePlan;

impl Store {
    /// Creates a project; an existing name is a conflict.
    pub fn create_project(&self, project: &Project) -> Result<()> {
        let value = encode(project)?;
        let res = self.projects.compare_and_swap(
            project.name.as_bytes(),
            None as Option<&[u8]>,
            Some(value),
        )?;
        if res.is_err() {
            return Err(StoreError::Conflict(format!(
                "project {:?} already exists; pick another name or use --project {}",
                project.name, project.name
            )));
        }
        self.flush()
    }

    pub fn put_project(&self, project: &Project) -> Result<()> {
        self.projects
            .insert(project.name.as_bytes(), encode(project)?)?;
        self.flush()
    }

    pub fn project(&self, name: &str) -> Result<Option<Project>> {
        self.projects
            .get(name.as_bytes())?
            .map(|v| decode("projects", name.as_bytes(), &v))
            .transpose()
    }

    pub fn projects(&self) -> Result<Vec<Project>> {
        self.projects
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                decode("projects", &k, &v)
            })
            .collect()
    }

    pub fn scenes(&self, project: &str) -> Result<Vec<Scene>> {
        match self.scenes.get(project.as_bytes())? {
            Some(v) => decode("scenes", project.as_bytes(), &v),
            None => Ok(Vec::new()),
        }
    }

    pub fn put_scenes(&self, project: &str, scenes: &[Scene]) -> Result<()> {
        self.scenes.insert(project.as_bytes(), encode(&scenes)?)?;
        self.flush()
    }

    pub fn shot(&self, id: ShotId) -> Result<Option<Shot>> {
        let key = id.0.to_be_bytes();
        self.shots
            .get(key)?
            .map(|v| decode("shots", &key, &v))
            .transpose()
    }

    /// The project's shots in shot-list order (omitted ones included).
    pub fn shots(&self, project: &str) -> Result<Vec<Shot>> {
        let mut out = Vec::new();
        for kv in self.shots.iter() {
            let (k, v) = kv?;
            let shot: Shot = decode("shots", &k, &v)?;
            if shot.project == project {
                out.push(shot);
            }
        }
        out.sort_by_key(|s| (s.omitted, s.order, s.id));
        Ok(out)
    }

    /// Finds a shot by its code (`12A`, case-insensitive).
    pub fn shot_by_code(&self, project: &str, code: &str) -> Result<Option<Shot>> {
        Ok(self
            .shots(project)?
            .into_iter()
            .find(|s| s.code.eq_ignore_ascii_case(code)))
    }

    pub fn put_shot(&self, shot: &Shot) -> Result<()> {
        self.shots.insert(shot.id.0.to_be_bytes(), encode(shot)?)?;
        self.flush()
    }

    /// Writes several shots in one transaction (a renumbering never lands half-way).
    pub fn put_shots(&self, shots: &[Shot]) -> Result<()> {
        let kv: Vec<([u8; 8], Vec<u8>)> = shots
            .iter()
            .map(|s| Ok((s.id.0.to_be_bytes(), encode(s)?)))
            .collect::<Result<_>>()?;
        self.shots.transaction(|tx| {
            for (k, v) in &kv {
                tx.insert(&k[..], v.clone())?;
            }
            Ok::<_, Abort<StoreError>>(())
        })?;
        self.flush()
    }

    pub fn remove_shot(&self, id: ShotId) -> Result<()> {
        self.shots.remove(id.0.to_be_bytes())?;
        self.flush()
    }

    /// Writes an import in one transaction: project (script source, title page), scenes, every
    /// new or updated shot, and the removal of shots that left the script without takes.
    pub fn apply_import(&self, project: &Project, plan: &MergePlan) -> Result<()> {
        let project_value = encode(project)?;
        let scenes_value = encode(&plan.scenes)?;
        let shots: Vec<([u8; 8], Vec<u8>)> = plan
            .shots
            .iter()
            .map(|s| Ok((s.id.0.to_be_bytes(), encode(s)?)))
            .collect::<Result<_>>()?;
        (&self.projects, &self.scenes, &self.shots).transaction(
            |(projects, scenes, tx_shots)| {
                projects.insert(project.name.as_bytes(), project_value.clone())?;
                scenes.insert(project.name.as_bytes(), scenes_value.clone())?;
                for (k, v) in &shots {
                    tx_shots.insert(&k[..], v.clone())?;
                }
                for id in &plan.removed {
                    tx_shots.remove(&id.0.to_be_bytes()[..])?;
                }
                Ok::<_, Abort<StoreError>>(())
            },
        )?;
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ShotSpec;

    fn shot(id: u64, project: &str, code: &str, order: u32) -> Shot {
        Shot::new(
            ShotId(id),
            project,
            code,
            "1",
            order,
            ShotSpec::default(),
            0,
        )
    }

    #[test]
    fn projects_are_unique_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            s.create_project(&Project::new("night-chase", 1).unwrap())
                .unwrap();
            let err = s
                .create_project(&Project::new("night-chase", 2).unwrap())
                .unwrap_err();
            assert!(err.to_string().contains("already exists"), "{err}");
            s.set_current_project("night-chase").unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.project("night-chase").unwrap().unwrap().created_at, 1);
        assert_eq!(s.current_project().unwrap().as_deref(), Some("night-chase"));
    }

    #[test]
    fn shots_list_by_project_in_order_and_find_by_code() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.put_shot(&shot(1, "a", "1B", 2)).unwrap();
        s.put_shot(&shot(2, "a", "1A", 1)).unwrap();
        s.put_shot(&shot(3, "b", "1A", 1)).unwrap();
        let codes: Vec<_> = s.shots("a").unwrap().into_iter().map(|s| s.code).collect();
        assert_eq!(codes, ["1A", "1B"]);
        assert_eq!(s.shot_by_code("b", "1a").unwrap().unwrap().id, ShotId(3));
        assert!(s.shot_by_code("b", "9Z").unwrap().is_none());
    }

    #[test]
    fn a_corrupt_entry_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.projects.insert("x", b"{not json".to_vec()).unwrap();
        let err = s.project("x").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("store entry projects/x is unreadable"),
            "{err}"
        );
    }
}
