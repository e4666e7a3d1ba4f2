//! Where media lives under the data directory, and how it gets there without ever leaving a
//! half-written take: backends write to `tmp/`, the file is checked, synced and renamed into
//! `takes/<project>/<TAKE_CODE>.mp4`, and the directory is synced.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::model::{JobId, hex};

/// The take's path relative to the data directory.
pub fn take_rel_path(project: &str, code: &str) -> String {
    format!("takes/{project}/{code}.mp4")
}

/// The temporary file a job renders or downloads into.
pub fn tmp_path(data_dir: &Path, job: JobId) -> PathBuf {
    data_dir.join("tmp").join(format!("job-{job}.mp4.part"))
}

/// Parses a temporary file name back to its job.
pub fn tmp_job(path: &Path) -> Option<JobId> {
    let name = path.file_name()?.to_str()?;
    let id = name.strip_prefix("job-")?.strip_suffix(".mp4.part")?;
    id.parse().ok().map(JobId)
}

/// Moves a finished temporary file into place and makes the rename durable.
pub fn commit(tmp: &Path, data_dir: &Path, rel: &str) -> std::io::Result<PathBuf> {
    let dest = data_dir.join(rel);
    let parent = dest.parent().unwrap_or(data_dir);
    std::fs::create_dir_all(parent)?;
    std::fs::File::open(tmp)?.sync_all()?;
    std::fs::rename(tmp, &dest)?;
    std::fs::File::open(parent)?.sync_all()?;
    Ok(dest)
}

/// SHA-256 (hex) and size of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex(&h.finalize()), n))
}

/// Removes temporary files of jobs that are not in `keep`; returns how many went.
pub fn sweep_tmp(data_dir: &Path, keep: &[JobId]) -> std::io::Result<usize> {
    let dir = data_dir.join("tmp");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(0);
    };
    let mut removed = 0;
    for e in entries {
        let path = e?.path();
        if tmp_job(&path).is_some_and(|j| keep.contains(&j)) {
            continue;
        }
        std::fs::remove_file(&path)?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_moves_the_file_and_sweep_spares_kept_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("tmp")).unwrap();
        let t1 = tmp_path(d, JobId(1));
        let t2 = tmp_path(d, JobId(2));
        std::fs::write(&t1, b"abc").unwrap();
        std::fs::write(&t2, b"def").unwrap();
        std::fs::write(d.join("tmp/stray"), b"x").unwrap();
        assert_eq!(tmp_job(&t2), Some(JobId(2)));
        let dest = commit(&t1, d, &take_rel_path("p", "SC001_SH1A_TK01")).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"abc");
        assert!(!t1.exists());
        assert_eq!(sweep_tmp(d, &[JobId(2)]).unwrap(), 1);
        assert!(t2.exists());
        let (h, n) = sha256_file(&dest).unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
