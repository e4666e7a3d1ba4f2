//! A minimal MP4 (ISO BMFF) muxer for one H.264 video track, written "faststart": the
//! `moov` comes before the `mdat`, so a player can start before reading the whole file.
//!
//! Layout: `ftyp`, `moov` (mvhd, trak/tkhd/mdia/mdhd/hdlr/minf/vmhd/dinf/stbl with
//! stsd(avc1+avcC)/stts/stss/stsc/stsz/stco), then `mdat` with one chunk per GOP.
//!
//! Invariant: everything in the `moov` except the sample sizes and chunk offsets follows from
//! the track description (frame count, fps, GOP, parameter sets), so the `moov` is written at
//! its final size up front and only those two tables, and the `mdat` size, are patched when the
//! last sample is in. Every sample lasts exactly one frame (timescale = 1000·fps), so the
//! stream's rate is exactly `fps/1` and its duration `frames/fps`. Nothing time-dependent is
//! written (creation times are 0): the same samples give the same bytes.

use std::io::{self, Seek, SeekFrom, Write};

/// What the `moov` describes.
pub struct Track<'a> {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: u32,
    /// An IDR (sync sample, chunk start) every `gop` frames, starting with the first.
    pub gop: u32,
    pub sps: &'a [u8],
    pub pps: &'a [u8],
}

/// Ticks per frame; the timescale is `TICKS · fps`.
const TICKS: u32 = 1000;

pub struct Mp4Writer<W: Write + Seek> {
    out: W,
    frames: u32,
    gop: u32,
    sizes: Vec<u32>,
    chunks: Vec<u32>,
    /// Where the sample size table, the chunk offset table and the `mdat` start in the file.
    stsz_at: u64,
    stco_at: u64,
    mdat_at: u64,
    pos: u64,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn u32_of(n: u64, what: &str) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| invalid(format!("{what} exceeds 4 GiB")))
}

impl<W: Write + Seek> Mp4Writer<W> {
    /// Writes `ftyp`, the `moov` and the `mdat` header; samples follow with [`Self::push`].
    pub fn begin(mut out: W, track: &Track<'_>) -> io::Result<Self> {
        if track.frames == 0 || track.gop == 0 || track.sps.len() < 4 || track.pps.is_empty() {
            return Err(invalid(
                "an MP4 track needs frames, a GOP and parameter sets".into(),
            ));
        }
        let mut head = Vec::with_capacity(1024 + 4 * track.frames as usize);
        ftyp(&mut head)?;
        let tables = moov(&mut head, track)?;
        let mdat_at = head.len() as u64;
        head.extend_from_slice(&[0, 0, 0, 0]);
        head.extend_from_slice(b"mdat");
        out.write_all(&head)?;
        Ok(Self {
            out,
            frames: track.frames,
            gop: track.gop,
            sizes: Vec::with_capacity(track.frames as usize),
            chunks: Vec::new(),
            stsz_at: tables.0 as u64,
            stco_at: tables.1 as u64,
            mdat_at,
            pos: head.len() as u64,
        })
    }

    /// Appends the next sample; `sync` must agree with the GOP given to [`Self::begin`].
    pub fn push(&mut self, sample: &[u8], sync: bool) -> io::Result<()> {
        let index = self.sizes.len() as u32;
        if index >= self.frames {
            return Err(invalid(format!(
                "more than the {} samples announced",
                self.frames
            )));
        }
        if sync != (index % self.gop == 0) {
            return Err(invalid(format!(
                "sample {index}: sync flag disagrees with the GOP"
            )));
        }
        if index % self.gop == 0 {
            self.chunks.push(u32_of(self.pos, "the file")?);
        }
        self.out.write_all(sample)?;
        self.sizes.push(u32_of(sample.len() as u64, "a sample")?);
        self.pos += sample.len() as u64;
        Ok(())
    }

    /// Patches the sample sizes, chunk offsets and `mdat` size, and returns the output,
    /// flushed and positioned at its end.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        if self.sizes.len() != self.frames as usize {
            return Err(invalid(format!(
                "{} samples written, {} announced",
                self.sizes.len(),
                self.frames
            )));
        }
        let mdat_size = u32_of(self.pos - self.mdat_at, "the mdat box")?;
        let table = |v: &[u32]| v.iter().flat_map(|n| n.to_be_bytes()).collect::<Vec<u8>>();
        self.out.seek(SeekFrom::Start(self.stsz_at))?;
        self.out.write_all(&table(&self.sizes))?;
        self.out.seek(SeekFrom::Start(self.stco_at))?;
        self.out.write_all(&table(&self.chunks))?;
        self.out.seek(SeekFrom::Start(self.mdat_at))?;
        self.out.write_all(&mdat_size.to_be_bytes())?;
        self.out.seek(SeekFrom::Start(self.pos))?;
        self.out.flush()?;
        Ok((self.out, self.pos))
    }
}

/// Opens a box: writes a size placeholder and the type; returns where it starts.
fn open(b: &mut Vec<u8>, kind: &[u8; 4]) -> usize {
    let at = b.len();
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(kind);
    at
}

/// Opens a full box (version 0 and `flags`).
fn open_full(b: &mut Vec<u8>, kind: &[u8; 4], flags: u32) -> usize {
    let at = open(b, kind);
    b.extend_from_slice(&(flags & 0x00ff_ffff).to_be_bytes());
    at
}

fn close(b: &mut [u8], at: usize) -> io::Result<()> {
    let size = u32_of((b.len() - at) as u64, "a box")?;
    b[at..at + 4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

fn put32(b: &mut Vec<u8>, values: &[u32]) {
    for v in values {
        b.extend_from_slice(&v.to_be_bytes());
    }
}

fn put16(b: &mut Vec<u8>, values: &[u16]) {
    for v in values {
        b.extend_from_slice(&v.to_be_bytes());
    }
}

const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

fn ftyp(b: &mut Vec<u8>) -> io::Result<()> {
    let at = open(b, b"ftyp");
    b.extend_from_slice(b"isom");
    put32(b, &[0x200]);
    b.extend_from_slice(b"isomiso2avc1mp41");
    close(b, at)
}

/// Writes the `moov`; returns the positions (within `b`) of the first sample size entry and
/// the first chunk offset entry.
fn moov(b: &mut Vec<u8>, t: &Track<'_>) -> io::Result<(usize, usize)> {
    let fps = u16::try_from(t.fps).map_err(|_| invalid(format!("fps {}", t.fps)))?;
    let timescale = TICKS * u32::from(fps);
    let duration = u32_of(u64::from(t.frames) * u64::from(TICKS), "the duration")?;
    let (w, h) = (
        u16::try_from(t.width).map_err(|_| invalid(format!("width {}", t.width)))?,
        u16::try_from(t.height).map_err(|_| invalid(format!("height {}", t.height)))?,
    );
    let moov = open(b, b"moov");

    let mvhd = open_full(b, b"mvhd", 0);
    put32(b, &[0, 0, timescale, duration, 0x0001_0000]);
    put16(b, &[0x0100, 0]);
    put32(b, &[0, 0]);
    put32(b, &MATRIX);
    put32(b, &[0; 6]);
    put32(b, &[2]);
    close(b, mvhd)?;

    let trak = open(b, b"trak");
    let tkhd = open_full(b, b"tkhd", 0x3);
    put32(b, &[0, 0, 1, 0, duration, 0, 0]);
    put16(b, &[0, 0, 0, 0]);
    put32(b, &MATRIX);
    put32(b, &[u32::from(w) << 16, u32::from(h) << 16]);
    close(b, tkhd)?;

    let mdia = open(b, b"mdia");
    let mdhd = open_full(b, b"mdhd", 0);
    put32(b, &[0, 0, timescale, duration]);
    // Language "und", packed as three 5-bit letters.
    put16(b, &[0x55c4, 0]);
    close(b, mdhd)?;
    let hdlr = open_full(b, b"hdlr", 0);
    put32(b, &[0]);
    b.extend_from_slice(b"vide");
    put32(b, &[0, 0, 0]);
    b.extend_from_slice(b"VideoHandler\0");
    close(b, hdlr)?;

    let minf = open(b, b"minf");
    let vmhd = open_full(b, b"vmhd", 1);
    put16(b, &[0, 0, 0, 0]);
    close(b, vmhd)?;
    let dinf = open(b, b"dinf");
    let dref = open_full(b, b"dref", 0);
    put32(b, &[1]);
    let url = open_full(b, b"url ", 1);
    close(b, url)?;
    close(b, dref)?;
    close(b, dinf)?;

    let stbl = open(b, b"stbl");
    stsd(b, t, w, h)?;

    let stts = open_full(b, b"stts", 0);
    put32(b, &[1, t.frames, TICKS]);
    close(b, stts)?;

    let syncs: Vec<u32> = (0..t.frames)
        .step_by(t.gop as usize)
        .map(|i| i + 1)
        .collect();
    let stss = open_full(b, b"stss", 0);
    put32(b, &[syncs.len() as u32]);
    put32(b, &syncs);
    close(b, stss)?;

    // One chunk per GOP; the last one may be shorter.
    let chunks = t.frames.div_ceil(t.gop);
    let last = t.frames - (chunks - 1) * t.gop;
    let stsc = open_full(b, b"stsc", 0);
    if chunks == 1 || last == t.gop {
        put32(b, &[1, 1, t.gop.min(t.frames), 1]);
    } else {
        put32(b, &[2, 1, t.gop, 1, chunks, last, 1]);
    }
    close(b, stsc)?;

    let stsz = open_full(b, b"stsz", 0);
    put32(b, &[0, t.frames]);
    let stsz_at = b.len();
    b.resize(b.len() + 4 * t.frames as usize, 0);
    close(b, stsz)?;

    let stco = open_full(b, b"stco", 0);
    put32(b, &[chunks]);
    let stco_at = b.len();
    b.resize(b.len() + 4 * chunks as usize, 0);
    close(b, stco)?;

    for at in [stbl, minf, mdia, trak, moov] {
        close(b, at)?;
    }
    Ok((stsz_at, stco_at))
}

fn stsd(b: &mut Vec<u8>, t: &Track<'_>, w: u16, h: u16) -> io::Result<()> {
    let stsd = open_full(b, b"stsd", 0);
    put32(b, &[1]);
    let avc1 = open(b, b"avc1");
    b.extend_from_slice(&[0; 6]);
    put16(b, &[1, 0, 0]);
    put32(b, &[0, 0, 0]);
    put16(b, &[w, h]);
    put32(b, &[0x0048_0000, 0x0048_0000, 0]);
    put16(b, &[1]);
    let mut name = [0u8; 32];
    let label = b"previs animatic";
    name[0] = label.len() as u8;
    name[1..=label.len()].copy_from_slice(label);
    b.extend_from_slice(&name);
    put16(b, &[0x0018, 0xffff]);

    let avcc = open(b, b"avcC");
    let len16 =
        |n: usize| u16::try_from(n).map_err(|_| invalid("a parameter set is too large".into()));
    b.extend_from_slice(&[1, t.sps[1], t.sps[2], t.sps[3], 0xff, 0xe1]);
    put16(b, &[len16(t.sps.len())?]);
    b.extend_from_slice(t.sps);
    b.push(1);
    put16(b, &[len16(t.pps.len())?]);
    b.extend_from_slice(t.pps);
    if matches!(t.sps[1], 100 | 110 | 122 | 144) {
        // High profiles: 4:2:0, 8-bit, no SPS extensions.
        b.extend_from_slice(&[0xfd, 0xf8, 0xf8, 0]);
    }
    close(b, avcc)?;

    let pasp = open(b, b"pasp");
    put32(b, &[1, 1]);
    close(b, pasp)?;
    close(b, avc1)?;
    close(b, stsd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Walks a box tree, returning (path, size) of every box; containers are descended.
    fn walk(b: &[u8], prefix: &str, out: &mut Vec<(String, usize)>) {
        let mut at = 0;
        while at + 8 <= b.len() {
            let size = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
            let kind = String::from_utf8_lossy(&b[at + 4..at + 8]).to_string();
            assert!(
                size >= 8 && at + size <= b.len(),
                "{prefix}/{kind}: bad size {size}"
            );
            let path = format!("{prefix}/{kind}");
            out.push((path.clone(), size));
            let skip = match kind.as_str() {
                "moov" | "trak" | "mdia" | "minf" | "dinf" | "stbl" => Some(8),
                "stsd" => Some(16),
                "avc1" => Some(8 + 78),
                _ => None,
            };
            if let Some(skip) = skip {
                walk(&b[at + skip..at + size], &path, out);
            }
            at += size;
        }
        assert_eq!(at, b.len(), "{prefix}: trailing bytes");
    }

    #[test]
    fn box_tree_is_complete_and_sizes_nest() {
        let sps = [0x67, 66, 0xc0, 31, 0xda];
        let pps = [0x68, 0xce, 0x3c, 0x80];
        let track = Track {
            width: 640,
            height: 480,
            fps: 24,
            frames: 5,
            gop: 2,
            sps: &sps,
            pps: &pps,
        };
        let mut w = Mp4Writer::begin(Cursor::new(Vec::new()), &track).unwrap();
        for i in 0..5u8 {
            w.push(&vec![i; 10 + usize::from(i)], i % 2 == 0).unwrap();
        }
        assert!(
            w.push(&[1], false).is_err(),
            "no sample past the announced count"
        );
        let (cursor, len) = w.finish().unwrap();
        let bytes = cursor.into_inner();
        assert_eq!(len as usize, bytes.len());
        let mut boxes = Vec::new();
        walk(&bytes, "", &mut boxes);
        let names: Vec<&str> = boxes.iter().map(|(p, _)| p.as_str()).collect();
        for want in [
            "/ftyp",
            "/moov/mvhd",
            "/moov/trak/tkhd",
            "/moov/trak/mdia/mdhd",
            "/moov/trak/mdia/hdlr",
            "/moov/trak/mdia/minf/vmhd",
            "/moov/trak/mdia/minf/dinf/dref",
            "/moov/trak/mdia/minf/stbl/stsd/avc1/avcC",
            "/moov/trak/mdia/minf/stbl/stts",
            "/moov/trak/mdia/minf/stbl/stss",
            "/moov/trak/mdia/minf/stbl/stsc",
            "/moov/trak/mdia/minf/stbl/stsz",
            "/moov/trak/mdia/minf/stbl/stco",
            "/mdat",
        ] {
            assert!(names.contains(&want), "missing {want} in {names:?}");
        }
        assert!(
            names.iter().position(|n| *n == "/moov") < names.iter().position(|n| *n == "/mdat")
        );
        let mdat = boxes.iter().find(|(p, _)| p == "/mdat").unwrap().1;
        assert_eq!(mdat, 8 + 10 + 11 + 12 + 13 + 14);
    }

    #[test]
    fn sync_samples_must_follow_the_gop() {
        let sps = [0x67, 66, 0xc0, 31];
        let track = Track {
            width: 640,
            height: 480,
            fps: 24,
            frames: 3,
            gop: 2,
            sps: &sps,
            pps: &[0x68],
        };
        let mut w = Mp4Writer::begin(Cursor::new(Vec::new()), &track).unwrap();
        assert!(w.push(&[0], false).is_err());
        let mut w = Mp4Writer::begin(Cursor::new(Vec::new()), &track).unwrap();
        w.push(&[0], true).unwrap();
        assert!(w.finish().is_err(), "too few samples");
    }
}
