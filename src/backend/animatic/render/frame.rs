//! The YUV 4:2:0 frame buffer the animatic draws into, and its flat-colour primitives.
//!
//! Invariant: width and height are even and every primitive clips to the frame, so a shape
//! however far off screen never panics and never writes outside the planes. Primitives fill
//! whole row spans with `slice::fill`; nothing in a hot loop calls a function per pixel.

/// A colour in BT.601 limited-range Y'CbCr, the space the frame is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yuv {
    pub y: u8,
    pub u: u8,
    pub v: u8,
}

impl Yuv {
    /// Converts 8-bit R'G'B' to BT.601 limited range (Y 16..=235, Cb/Cr 16..=240).
    pub fn from_rgb(r: u8, g: u8, b: u8) -> Self {
        let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
        let y = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0;
        let u = 128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0;
        let v = 128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0;
        Self {
            y: to_u8(y),
            u: to_u8(u),
            v: to_u8(v),
        }
    }

    /// The same colour with its luma scaled by `gain` above black and its chroma by `gain`
    /// around grey: how a light flickering brighter or dimmer changes a flat surface.
    pub fn lit(self, gain: f32) -> Self {
        let scale = |c: u8, zero: f32| to_u8(zero + (f32::from(c) - zero) * gain);
        Self {
            y: scale(self.y, 16.0),
            u: scale(self.u, 128.0),
            v: scale(self.v, 128.0),
        }
    }

    /// Linear mix: `t = 0` is `self`, `t = 1` is `other`.
    pub fn mix(self, other: Self, t: f32) -> Self {
        let m = |a: u8, b: u8| to_u8(f32::from(a) + (f32::from(b) - f32::from(a)) * t);
        Self {
            y: m(self.y, other.y),
            u: m(self.u, other.u),
            v: m(self.v, other.v),
        }
    }
}

fn to_u8(x: f32) -> u8 {
    // The clamp makes the cast exact: no wrap, NaN becomes 0.
    x.round().clamp(0.0, 255.0) as u8
}

/// One picture in planar 4:2:0: a full-size luma plane and two quarter-size chroma planes,
/// each tightly packed (stride = width).
pub struct Frame {
    width: usize,
    height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl Frame {
    /// `width` and `height` must be even (the caller validated them).
    pub fn new(width: usize, height: usize) -> Self {
        let chroma = (width / 2) * (height / 2);
        Self {
            width,
            height,
            y: vec![16; width * height],
            u: vec![128; chroma],
            v: vec![128; chroma],
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Fills the whole frame.
    pub fn clear(&mut self, c: Yuv) {
        self.y.fill(c.y);
        self.u.fill(c.u);
        self.v.fill(c.v);
    }

    /// Fills the half-open pixel rectangle `[x0, x1) × [y0, y1)`, clipped to the frame.
    /// Chroma covers every 2×2 block the rectangle touches.
    pub fn fill_rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: Yuv) {
        let Some((x0, x1)) = clip(x0, x1, self.width) else {
            return;
        };
        let Some((y0, y1)) = clip(y0, y1, self.height) else {
            return;
        };
        let w = self.width;
        for row in self.y[y0 * w..y1 * w].chunks_exact_mut(w) {
            row[x0..x1].fill(c.y);
        }
        let cw = w / 2;
        let (cx0, cx1) = (x0 / 2, x1.div_ceil(2));
        let (cy0, cy1) = (y0 / 2, y1.div_ceil(2));
        for row in self.u[cy0 * cw..cy1 * cw].chunks_exact_mut(cw) {
            row[cx0..cx1].fill(c.u);
        }
        for row in self.v[cy0 * cw..cy1 * cw].chunks_exact_mut(cw) {
            row[cx0..cx1].fill(c.v);
        }
    }

    /// Fills a shape given as one horizontal span per row: `span(y)` returns the half-open
    /// `[x0, x1)` covered on row `y`, or `None` where the shape misses the row. Chroma row `cy`
    /// takes the span of luma row `2·cy`.
    pub fn fill_spans(
        &mut self,
        y0: i32,
        y1: i32,
        c: Yuv,
        span: impl Fn(i32) -> Option<(i32, i32)>,
    ) {
        let Some((y0, y1)) = clip(y0, y1, self.height) else {
            return;
        };
        let w = self.width;
        let cw = w / 2;
        for yy in y0..y1 {
            let Some((a, b)) = span(yy as i32) else {
                continue;
            };
            let Some((a, b)) = clip(a, b, w) else {
                continue;
            };
            self.y[yy * w + a..yy * w + b].fill(c.y);
            if yy % 2 == 0 {
                let row = (yy / 2) * cw;
                let (ca, cb) = (row + a / 2, row + b.div_ceil(2));
                self.u[ca..cb].fill(c.u);
                self.v[ca..cb].fill(c.v);
            }
        }
    }

    /// Fills the ellipse centred on `(cx, cy)` with radii `rx`, `ry` (pixels).
    pub fn fill_ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, c: Yuv) {
        if rx <= 0.0 || ry <= 0.0 {
            return;
        }
        let y0 = (cy - ry).floor() as i32;
        let y1 = (cy + ry).ceil() as i32;
        self.fill_spans(y0, y1, c, |y| {
            let dy = (y as f32 + 0.5 - cy) / ry;
            let k = 1.0 - dy * dy;
            if k <= 0.0 {
                return None;
            }
            let half = rx * k.sqrt();
            let a = (cx - half).round() as i32;
            let b = (cx + half).round() as i32;
            (b > a).then_some((a, b))
        });
    }

    /// Darkens a rectangle towards black and grey (a translucent box behind burnt-in text):
    /// luma keeps `keep`/256 of its height above black, chroma the same share around grey.
    pub fn shade_rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, keep: u16) {
        let Some((x0, x1)) = clip(x0, x1, self.width) else {
            return;
        };
        let Some((y0, y1)) = clip(y0, y1, self.height) else {
            return;
        };
        let w = self.width;
        let dim = |p: &mut u8, zero: u16| {
            let d = (u16::from(*p)).abs_diff(zero) * keep / 256;
            let v = if u16::from(*p) >= zero {
                zero + d
            } else {
                zero - d
            };
            *p = u8::try_from(v).unwrap_or(u8::MAX);
        };
        for row in self.y[y0 * w..y1 * w].chunks_exact_mut(w) {
            row[x0..x1].iter_mut().for_each(|p| dim(p, 16));
        }
        let cw = w / 2;
        let (cx0, cx1) = (x0 / 2, x1.div_ceil(2));
        let (cy0, cy1) = (y0 / 2, y1.div_ceil(2));
        for plane in [&mut self.u, &mut self.v] {
            for row in plane[cy0 * cw..cy1 * cw].chunks_exact_mut(cw) {
                row[cx0..cx1].iter_mut().for_each(|p| dim(p, 128));
            }
        }
    }
}

/// Clips the half-open range `[a, b)` to `[0, len)`; `None` when nothing is left.
fn clip(a: i32, b: i32, len: usize) -> Option<(usize, usize)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let a = i64::from(a).clamp(0, len);
    let b = i64::from(b).clamp(0, len);
    if b <= a {
        return None;
    }
    Some((usize::try_from(a).ok()?, usize::try_from(b).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bt601_limited_range_of_primaries() {
        assert_eq!(
            Yuv::from_rgb(0, 0, 0),
            Yuv {
                y: 16,
                u: 128,
                v: 128
            }
        );
        assert_eq!(
            Yuv::from_rgb(255, 255, 255),
            Yuv {
                y: 235,
                u: 128,
                v: 128
            }
        );
        let red = Yuv::from_rgb(255, 0, 0);
        assert_eq!((red.y, red.u, red.v), (81, 90, 240));
    }

    #[test]
    fn shapes_clip_instead_of_panicking() {
        let mut f = Frame::new(64, 48);
        let c = Yuv {
            y: 200,
            u: 10,
            v: 20,
        };
        f.fill_rect(-100, -100, 1000, 1000, c);
        assert!(f.y.iter().all(|&p| p == 200));
        f.fill_rect(60, 40, 70, 50, Yuv { y: 50, u: 1, v: 2 });
        assert_eq!(f.y[47 * 64 + 63], 50);
        assert_eq!(f.y[39 * 64 + 59], 200);
        f.fill_ellipse(-500.0, 20.0, 30.0, 30.0, c);
        f.fill_ellipse(32.0, 24.0, 1e9, 1e9, c);
        f.shade_rect(-5, -5, 5, 5, 128);
        assert_eq!(f.y[0], 16 + (200 - 16) / 2);
    }

    #[test]
    fn ellipse_is_round_and_centred() {
        let mut f = Frame::new(100, 100);
        f.fill_ellipse(
            50.0,
            50.0,
            20.0,
            20.0,
            Yuv {
                y: 235,
                u: 128,
                v: 128,
            },
        );
        let count = f.y.iter().filter(|&&p| p == 235).count() as f32;
        let area = std::f32::consts::PI * 400.0;
        assert!((count - area).abs() / area < 0.05, "{count} vs {area}");
        assert_eq!(f.y[50 * 100 + 50], 235);
        assert_eq!(f.y[50 * 100 + 75], 16);
    }
}
