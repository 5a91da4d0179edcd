//! Pictures: PNG line plots of metrics (plotters) and PNG image grids (image). Text uses an
//! embedded DejaVu Sans Mono, so plots render the same on any machine.
//!
//! ```no_run
//! use dlp_core::plot::{line_plot, Series};
//! let loss = Series { name: "train loss".into(), points: vec![(0.0, 2.3), (100.0, 0.4)] };
//! line_plot("loss.png".as_ref(), "Training loss", "step", "loss", &[loss], true)?;
//! # Ok::<(), dlp_core::Error>(())
//! ```

use crate::atomic;
use crate::error::{Error, Result};
use image::{ImageEncoder, codecs::png::PngEncoder};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            eprintln!("warning: embedded font could not be loaded; plot text may be missing");
        }
    });
}

/// One named line.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Draws `series` as lines into a 900x540 PNG at `path` (`log_y` for losses). Non-finite
/// points are skipped.
pub fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<()> {
    register_font();
    let (w, h) = (900u32, 540u32);
    let keep = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!log_y || y > 0.0);
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied().filter(keep))
        .collect();
    if pts.is_empty() {
        return Err(Error::format(
            path,
            None,
            "nothing to plot: no finite points",
        ));
    }
    let (mut x0, mut x1, mut y0, mut y1) = pts.iter().fold(
        (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
        |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
    );
    if x1 <= x0 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    if y1 <= y0 {
        let pad = if y0 == 0.0 { 1.0 } else { y0.abs() * 0.1 };
        (y0, y1) = (y0 - pad, y1 + pad);
    }
    let mut buf = vec![0u8; (w * h * 3) as usize];
    let draw = |buf: &mut [u8]| -> std::result::Result<(), String> {
        let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70);
        macro_rules! finish {
            ($chart:expr) => {{
                let mut chart = $chart.map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .x_desc(x_label)
                    .y_desc(y_label)
                    .x_label_formatter(&|v| short(*v))
                    .y_label_formatter(&|v| short(*v))
                    .light_line_style(RGBColor(238, 238, 238))
                    .draw()
                    .map_err(|e| e.to_string())?;
                for (i, s) in series.iter().enumerate() {
                    let color = COLORS[i % COLORS.len()];
                    chart
                        .draw_series(LineSeries::new(
                            s.points.iter().copied().filter(keep),
                            color.stroke_width(2),
                        ))
                        .map_err(|e| e.to_string())?
                        .label(s.name.clone())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                        });
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| e.to_string())?;
            }};
        }
        if log_y {
            let ticks = log_ticks(y0, y1);
            finish!(
                builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale().with_key_points(ticks))
            );
        } else {
            finish!(builder.build_cartesian_2d(x0..x1, y0..y1));
        }
        root.present().map_err(|e| e.to_string())
    };
    draw(&mut buf).map_err(|e| Error::format(path, None, format!("plot failed: {e}")))?;
    write_png(path, &buf, w, h, image::ExtendedColorType::Rgb8)
}

/// Draws point clouds (one colour per series) into a square 640x640 PNG at `path`, with equal
/// axis scales over `[-lim, lim]²`.
pub fn scatter_plot(path: &Path, title: &str, series: &[Series], lim: f64) -> Result<()> {
    register_font();
    let (w, h) = (640u32, 640u32);
    let mut buf = vec![0u8; (w * h * 3) as usize];
    let draw = |buf: &mut [u8]| -> std::result::Result<(), String> {
        let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(-lim..lim, -lim..lim)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v| short(*v))
            .y_label_formatter(&|v| short(*v))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, s) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(
                    s.points
                        .iter()
                        .filter(|(x, y)| x.is_finite() && y.is_finite())
                        .map(|&(x, y)| Circle::new((x, y), 2, color.mix(0.5).filled())),
                )
                .map_err(|e| e.to_string())?
                .label(s.name.clone())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())
    };
    draw(&mut buf).map_err(|e| Error::format(path, None, format!("plot failed: {e}")))?;
    write_png(path, &buf, w, h, image::ExtendedColorType::Rgb8)
}

/// A tick label with at most 3 significant digits and no float noise (`0.6`, `1500`, `2e-4`).
/// Tick values for a log axis over [lo, hi] (lo > 0): the 1-2-5 numbers of each decade inside
/// it, thinned to at most 8, with the two ends added when the range holds fewer than two of
/// them, so that even a range inside one decade is labelled.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powi(lo.log10().floor() as i32);
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let t = m * decade;
            if (lo..=hi).contains(&t) {
                ticks.push(t);
            }
        }
        decade *= 10.0;
    }
    if ticks.len() < 2 {
        ticks.extend([lo, hi]);
        ticks.sort_by(f64::total_cmp);
        return ticks;
    }
    let step = ticks.len().div_ceil(8);
    ticks.into_iter().step_by(step).collect()
}

fn short(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.0e}");
    }
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Lays out `n` images (`values` is `[n, channels, height, width]`, in [0, 1]; 1 or 3
/// channels) in a grid `cols` wide with a 2-pixel border, scaled up by `scale`, and writes it
/// as a PNG.
pub fn image_grid(
    path: &Path,
    values: &[f32],
    shape: [usize; 4],
    cols: usize,
    scale: usize,
) -> Result<()> {
    let [n, c, h, w] = shape;
    if values.len() != n * c * h * w || !(c == 1 || c == 3) || n == 0 || cols == 0 || scale == 0 {
        return Err(Error::format(
            path,
            None,
            format!(
                "image grid needs [n, 1 or 3, h, w] values, got shape {shape:?} and {} values",
                values.len()
            ),
        ));
    }
    let cols = cols.min(n);
    let rows = n.div_ceil(cols);
    let pad = 2;
    let (cw, ch) = (w * scale + pad, h * scale + pad);
    let (gw, gh) = (cols * cw + pad, rows * ch + pad);
    let mut buf = vec![255u8; gw * gh * 3];
    for i in 0..n {
        let (ox, oy) = (pad + (i % cols) * cw, pad + (i / cols) * ch);
        for y in 0..h * scale {
            for x in 0..w * scale {
                for k in 0..3 {
                    let ch_idx = if c == 1 { 0 } else { k };
                    let v = values[((i * c + ch_idx) * h + y / scale) * w + x / scale];
                    let px = ((oy + y) * gw + ox + x) * 3 + k;
                    buf[px] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                }
            }
        }
    }
    write_png(
        path,
        &buf,
        gw as u32,
        gh as u32,
        image::ExtendedColorType::Rgb8,
    )
}

/// Writes each of `n` images (`values` in [0, 1], shape `[n, 1 or 3, h, w]`) as its own PNG,
/// `000000.png`, `000001.png`, … in `dir` (created), at its own size: what FID tools read.
/// Returns the number written.
pub fn image_files(dir: &Path, values: &[f32], shape: [usize; 4]) -> Result<usize> {
    let [n, c, h, w] = shape;
    if values.len() != n * c * h * w || !(c == 1 || c == 3) {
        return Err(Error::format(
            dir,
            None,
            format!("images need [n, 1 or 3, h, w] values, got shape {shape:?}"),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let ty = if c == 1 {
        image::ExtendedColorType::L8
    } else {
        image::ExtendedColorType::Rgb8
    };
    for (i, img) in values.chunks_exact(c * h * w).enumerate() {
        // Channel-major to interleaved.
        let buf: Vec<u8> = (0..h * w * c)
            .map(|j| (img[(j % c) * h * w + j / c].clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        write_png(
            &dir.join(format!("{i:06}.png")),
            &buf,
            w as u32,
            h as u32,
            ty,
        )?;
    }
    Ok(n)
}

fn write_png(path: &Path, buf: &[u8], w: u32, h: u32, ty: image::ExtendedColorType) -> Result<()> {
    atomic::write_with(path, |f| {
        PngEncoder::new(std::io::BufWriter::new(f))
            .write_image(buf, w, h, ty)
            .map_err(std::io::Error::other)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_axis_is_labelled_whatever_its_range() {
        assert_eq!(log_ticks(0.341, 0.822), [0.341, 0.5, 0.822]);
        assert_eq!(log_ticks(0.6, 0.9), [0.6, 0.9]);
        let wide = log_ticks(1e-3, 10.0);
        assert!(wide.len() <= 8 && wide.len() >= 4, "{wide:?}");
        assert!(
            wide.windows(2).all(|w| w[0] < w[1]) && wide[0] >= 1e-3 && wide[wide.len() - 1] <= 10.0
        );
    }

    #[test]
    fn line_plot_writes_a_decodable_png() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("loss.png");
        let s = Series {
            name: "loss".into(),
            points: (1..50).map(|i| (i as f64, 1.0 / i as f64)).collect(),
        };
        line_plot(&p, "loss", "step", "loss", &[s], true).unwrap();
        let img = image::open(&p).unwrap();
        assert_eq!((img.width(), img.height()), (900, 540));
        // Not blank: the line and text put non-white pixels on the canvas.
        let rgb = img.to_rgb8();
        let dark = rgb
            .pixels()
            .filter(|p| p.0.iter().any(|&v| v < 128))
            .count();
        assert!(dark > 1000, "only {dark} dark pixels");
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(short(0.6000000000000001), "0.6");
        assert_eq!(short(0.04), "0.04");
        assert_eq!(short(1500.0), "1500");
        assert_eq!(short(0.0002), "2e-4");
        assert_eq!(short(-2.5), "-2.5");
    }

    #[test]
    fn grid_places_each_image() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("grid.png");
        // Two 2x2 grey images: one black, one white.
        let vals = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        image_grid(&p, &vals, [2, 1, 2, 2], 2, 1).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (2 * 4 + 2, 4 + 2));
        assert_eq!(img.get_pixel(2, 2).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(6, 2).0, [255, 255, 255]);
        assert!(image_grid(&p, &vals, [3, 1, 2, 2], 2, 1).is_err());
    }

    #[test]
    fn plot_of_nothing_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = Series {
            name: "nan".into(),
            points: vec![(0.0, f64::NAN)],
        };
        assert!(line_plot(&dir.path().join("x.png"), "t", "x", "y", &[s], false).is_err());
    }
}
