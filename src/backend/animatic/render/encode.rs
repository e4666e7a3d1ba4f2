//! H.264 encoding of animatic frames with openh264 (built from source, no system library).
//!
//! Settings follow the measured hint in DESIGN §2: low complexity, real-time usage, scene
//! change detection, adaptive quantisation and background detection off, a single thread,
//! no frame skipping, and a constant QP (rate control off), which keeps flat-colour blocking
//! crisp and small. Frames are fed as the renderer's own YUV 4:2:0 planes; nothing converts.
//!
//! Invariant: every frame in gives exactly one access unit out, as length-prefixed NAL units
//! (the MP4 sample format); IDR frames fall exactly on multiples of the GOP length and only
//! there; the parameter sets never change and are kept out of the samples (they go in the
//! `avcC` box).

use openh264::encoder::{
    Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
    SpsPpsStrategy, UsageType, VuiConfig,
};
use openh264::formats::YUVSlices;
use openh264::{OpenH264API, Timestamp};

use super::AnimaticError;
use super::frame::Frame;

/// NAL unit types handled here.
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;
const NAL_SEI: u8 = 6;

pub struct H264 {
    encoder: Encoder,
    fps: u32,
    gop: u32,
    index: u32,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
}

fn encoder_error(e: openh264::Error) -> AnimaticError {
    AnimaticError::Encoder(e.to_string())
}

impl H264 {
    /// An encoder for `fps` frames per second with an IDR every `gop` frames.
    pub fn new(fps: u32, gop: u32) -> Result<Self, AnimaticError> {
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .complexity(Complexity::Low)
            .scene_change_detect(false)
            .adaptive_quantization(false)
            .background_detection(false)
            .skip_frames(false)
            .num_threads(1)
            .rate_control_mode(RateControlMode::Off)
            .max_frame_rate(FrameRate::from_hz(fps as f32))
            .intra_frame_period(IntraFramePeriod::from_num_frames(0))
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            .vui(VuiConfig::bt601());
        let encoder =
            Encoder::with_api_config(OpenH264API::from_source(), config).map_err(encoder_error)?;
        Ok(Self {
            encoder,
            fps: fps.max(1),
            gop: gop.max(1),
            index: 0,
            sps: None,
            pps: None,
        })
    }

    /// The sequence and picture parameter sets, known after the first frame.
    pub fn parameter_sets(&self) -> Option<(&[u8], &[u8])> {
        Some((self.sps.as_deref()?, self.pps.as_deref()?))
    }

    /// Encodes the next frame into `sample` (cleared first) as length-prefixed NAL units and
    /// returns whether it is an IDR (a sync sample).
    pub fn encode(&mut self, frame: &Frame, sample: &mut Vec<u8>) -> Result<bool, AnimaticError> {
        let (w, h) = (frame.width(), frame.height());
        let yuv = YUVSlices::new((&frame.y, &frame.u, &frame.v), (w, h), (w, w / 2, w / 2));
        let want_idr = self.index % self.gop == 0;
        if want_idr && self.index > 0 {
            self.encoder.force_intra_frame();
        }
        let ms = u64::from(self.index) * 1000 / u64::from(self.fps);
        let index = self.index;
        self.index += 1;
        let stream = self
            .encoder
            .encode_at(&yuv, Timestamp::from_millis(ms))
            .map_err(encoder_error)?;
        let idr = stream.frame_type() == FrameType::IDR;
        if idr != want_idr || !matches!(stream.frame_type(), FrameType::IDR | FrameType::P) {
            return Err(AnimaticError::Encoder(format!(
                "frame {index} came out as {:?}, expected {}",
                stream.frame_type(),
                if want_idr { "IDR" } else { "P" }
            )));
        }
        sample.clear();
        for l in 0..stream.num_layers() {
            let Some(layer) = stream.layer(l) else {
                continue;
            };
            for n in 0..layer.nal_count() {
                let Some(nal) = layer.nal_unit(n).map(strip_start_code) else {
                    continue;
                };
                let Some(&head) = nal.first() else { continue };
                match head & 0x1f {
                    NAL_SPS => keep_parameter_set(&mut self.sps, nal, "SPS")?,
                    NAL_PPS => keep_parameter_set(&mut self.pps, nal, "PPS")?,
                    NAL_AUD | NAL_SEI => {}
                    _ => {
                        let len = u32::try_from(nal.len()).map_err(|_| {
                            AnimaticError::Encoder(format!("frame {index}: NAL unit too large"))
                        })?;
                        sample.extend_from_slice(&len.to_be_bytes());
                        sample.extend_from_slice(nal);
                    }
                }
            }
        }
        if sample.is_empty() {
            return Err(AnimaticError::Encoder(format!(
                "frame {index}: the encoder returned no picture"
            )));
        }
        Ok(idr)
    }
}

/// Records the first parameter set of a kind and refuses a different one later: the MP4
/// stores them once, so they must not change mid-stream.
fn keep_parameter_set(
    slot: &mut Option<Vec<u8>>,
    nal: &[u8],
    what: &str,
) -> Result<(), AnimaticError> {
    match slot {
        None => {
            *slot = Some(nal.to_vec());
            Ok(())
        }
        Some(known) if known.as_slice() == nal => Ok(()),
        Some(_) => Err(AnimaticError::Encoder(format!(
            "the encoder changed its {what} mid-stream"
        ))),
    }
}

/// A NAL unit without its Annex B start code (`00 00 01` or `00 00 00 01`).
fn strip_start_code(nal: &[u8]) -> &[u8] {
    let zeros = nal.iter().take_while(|&&b| b == 0).count();
    if zeros >= 2 && nal.get(zeros) == Some(&1) {
        &nal[zeros + 1..]
    } else {
        nal
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::animatic::render::frame::Yuv;

    #[test]
    fn start_codes_are_stripped() {
        assert_eq!(strip_start_code(&[0, 0, 0, 1, 0x67, 1]), &[0x67, 1]);
        assert_eq!(strip_start_code(&[0, 0, 1, 0x68]), &[0x68]);
        assert_eq!(strip_start_code(&[0x65, 0, 0, 1]), &[0x65, 0, 0, 1]);
    }

    #[test]
    fn idr_frames_fall_on_the_gop_and_samples_are_length_prefixed() {
        let mut enc = H264::new(24, 4).unwrap();
        let mut f = Frame::new(640, 480);
        let mut sample = Vec::new();
        let mut sync = Vec::new();
        for i in 0..9u8 {
            f.clear(Yuv {
                y: 40 + i * 10,
                u: 128,
                v: 128,
            });
            sync.push(enc.encode(&f, &mut sample).unwrap());
            // Walk the length prefixes: they must cover the sample exactly.
            let mut at = 0;
            while at < sample.len() {
                let len = u32::from_be_bytes(sample[at..at + 4].try_into().unwrap()) as usize;
                let kind = sample[at + 4] & 0x1f;
                assert!(kind == 1 || kind == 5, "slice NAL, got {kind}");
                at += 4 + len;
            }
            assert_eq!(at, sample.len());
        }
        assert_eq!(
            sync,
            [true, false, false, false, true, false, false, false, true]
        );
        let (sps, pps) = enc.parameter_sets().unwrap();
        assert_eq!(sps[0] & 0x1f, NAL_SPS);
        assert_eq!(pps[0] & 0x1f, NAL_PPS);
    }
}
