//! Reads an MP4's video track (codec, size, frame rate, frames, duration) and checks that its
//! samples are all present, so a truncated or foreign file never becomes a take.

use std::io::BufReader;
use std::path::Path;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProbeError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub frames: u32,
    pub duration_s: f64,
    pub bytes: u64,
}

/// Probes the first video track of the MP4 at `path`.
pub fn probe(path: &Path) -> Result<VideoInfo, ProbeError> {
    let p = path.display().to_string();
    let invalid = |message: String| ProbeError::Invalid {
        path: p.clone(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| ProbeError::Io {
        path: p.clone(),
        source,
    })?;
    let bytes = file
        .metadata()
        .map_err(|source| ProbeError::Io {
            path: p.clone(),
            source,
        })?
        .len();
    let mut reader = mp4::Mp4Reader::read_header(BufReader::new(file), bytes)
        .map_err(|e| invalid(format!("not a readable MP4 ({e})")))?;
    let (id, codec, width, height, timescale, dur, count) = {
        let track = reader
            .tracks()
            .values()
            .find(|t| matches!(t.track_type(), Ok(mp4::TrackType::Video)))
            .ok_or_else(|| invalid("no video track".into()))?;
        let codec = match track.media_type() {
            Ok(mp4::MediaType::H264) => "h264".to_string(),
            Ok(other) => other.to_string().to_lowercase(),
            Err(e) => return Err(invalid(format!("unknown video codec ({e})"))),
        };
        (
            track.track_id(),
            codec,
            u32::from(track.width()),
            u32::from(track.height()),
            track.timescale(),
            track.trak.mdia.mdhd.duration,
            track.sample_count(),
        )
    };
    if count == 0 || timescale == 0 || dur == 0 {
        return Err(invalid("the video track has no frames".into()));
    }
    // The last sample must be readable: a cut-off file fails here.
    match reader.read_sample(id, count) {
        Ok(Some(s)) if !s.bytes.is_empty() => {}
        Ok(_) => return Err(invalid("the last frame is missing".into())),
        Err(e) => return Err(invalid(format!("the file is truncated ({e})"))),
    }
    let duration_s = dur as f64 / f64::from(timescale);
    Ok(VideoInfo {
        codec,
        width,
        height,
        fps: (f64::from(count) / duration_s * 1000.0).round() / 1000.0,
        frames: count,
        duration_s,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_missing_files_are_refused_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.mp4");
        std::fs::write(&junk, b"this is not an mp4 at all").unwrap();
        let err = probe(&junk).unwrap_err().to_string();
        assert!(err.starts_with(&junk.display().to_string()), "{err}");
        let err = probe(&dir.path().join("missing.mp4"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.mp4"), "{err}");
    }
}
