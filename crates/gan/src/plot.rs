//! The loss plot that training keeps up to date: generator and discriminator losses over
//! the steps of every stage, smoothed, on a log scale.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;

use crate::model_dir::LossRecord;

/// Where a sans-serif TrueType font may be (Debian's fonts-dejavu-core); the plot is
/// drawn without labels when none is found.
const FONT_PATHS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers a font with plotters once; whether one was found.
fn font_available() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let from_env = std::env::var("DANCENOW_FONT").ok();
        let candidates = from_env.iter().map(String::as_str).chain(FONT_PATHS);
        for path in candidates {
            if let Ok(bytes) = std::fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        tracing::debug!("no TrueType font found: loss plots have no labels");
        false
    })
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// A chart that could not be drawn or written. plotters' errors are generic over the
/// backend, so the reason is kept as text.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot draw {what}: {reason}")]
pub struct PlotError {
    pub path: PathBuf,
    pub what: String,
    pub reason: String,
}

/// Draws a `size` PNG on white with `draw`, beside `path` and then renamed to it, so a
/// viewer never sees half a picture; `what` names it in errors.
fn draw_png(
    path: &Path,
    size: (u32, u32),
    what: &str,
    draw: impl for<'r, 'b> FnOnce(&'r Area<'b>) -> Result<(), Box<dyn std::error::Error + 'r>>,
) -> Result<(), PlotError> {
    let partial = path.with_extension("partial.png");
    let drawn = {
        let root = BitMapBackend::new(&partial, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| draw(&root).map_err(|e| e.to_string()))
            .and_then(|()| root.present().map_err(|e| e.to_string()))
    };
    drawn
        .and_then(|()| std::fs::rename(&partial, path).map_err(|e| e.to_string()))
        .map_err(|reason| PlotError {
            path: path.to_path_buf(),
            what: what.into(),
            reason,
        })
}

/// A chart's frame on `root`: a margin, and with `labels` the title and room for the
/// axis labels.
fn chart_builder<'a, 'b>(
    root: &'a Area<'b>,
    title: &str,
    labels: bool,
) -> ChartBuilder<'a, 'b, BitMapBackend<'b>> {
    let mut builder = ChartBuilder::on(root);
    builder.margin(15);
    if labels {
        builder
            .caption(title, ("sans-serif", 20))
            .x_label_area_size(35)
            .y_label_area_size(55);
    }
    builder
}

/// A series' sample in the legend: a short line of its colour.
fn legend_mark(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color)
}

/// The legend of the labelled series, on a translucent white box.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
}

/// Mean over a trailing window, so the curves show trends rather than per-step noise.
fn smooth(values: &[f64], window: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(values.len());
    let mut sum = 0.0;
    for (i, v) in values.iter().enumerate() {
        sum += v;
        if i >= window {
            sum -= values[i - window];
        }
        out.push(sum / (i + 1).min(window) as f64);
    }
    out
}

/// Draws `records` (in training order) to a PNG at `path`.
pub fn write_loss_plot(records: &[LossRecord], path: &Path) -> Result<(), PlotError> {
    if records.is_empty() {
        return Ok(());
    }
    let labels = font_available();
    let window = (records.len() / 50).clamp(1, 100);
    let series: [(&str, RGBColor, Vec<f64>); 6] = [
        ("G L1", MAGENTA, records.iter().map(|r| r.g_l1).collect()),
        ("G alpha", CYAN, records.iter().map(|r| r.g_mask).collect()),
        (
            "G adversarial",
            RED,
            records.iter().map(|r| r.g_gan).collect(),
        ),
        (
            "G feature matching",
            BLUE,
            records.iter().map(|r| r.g_feat).collect(),
        ),
        ("G VGG", GREEN, records.iter().map(|r| r.g_vgg).collect()),
        ("D", BLACK, records.iter().map(|r| r.d_total()).collect()),
    ];
    let series: Vec<(&str, RGBColor, Vec<f64>)> = series
        .into_iter()
        .map(|(n, c, v)| (n, c, smooth(&v, window)))
        .filter(|(_, _, v)| v.iter().any(|x| *x > 0.0))
        .collect();
    let positive = series.iter().flat_map(|(_, _, v)| v).filter(|v| **v > 0.0);
    let (lo, hi) = positive.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    if lo > hi {
        return Ok(());
    }
    draw_png(path, (900, 500), "the loss plot", |root| {
        let mut chart = chart_builder(root, "training losses (smoothed)", labels)
            .build_cartesian_2d(0..records.len(), ((lo * 0.8)..(hi * 1.25)).log_scale())?;
        let mut mesh = chart.configure_mesh();
        if labels {
            mesh.x_desc("step (all stages)").y_desc("loss");
        } else {
            mesh.disable_x_axis().disable_y_axis();
        }
        mesh.draw()?;
        for (name, color, values) in &series {
            let line = LineSeries::new(
                values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v > 0.0)
                    .map(|(i, v)| (i, *v)),
                color,
            );
            let drawn = chart.draw_series(line)?;
            if labels {
                drawn.label(*name).legend(legend_mark(*color));
            }
        }
        // Stage boundaries as grey vertical lines.
        for i in 1..records.len() {
            if records[i].stage != records[i - 1].stage {
                chart.draw_series(LineSeries::new(
                    [(i, lo * 0.8), (i, hi * 1.25)],
                    RGBColor(160, 160, 160),
                ))?;
            }
        }
        if labels {
            draw_legend(&mut chart)?;
        }
        Ok(())
    })
}

/// One named line of a [`write_line_chart`].
pub struct Line<'a> {
    pub name: &'a str,
    pub points: Vec<(f64, f64)>,
}

const PALETTE: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    BLACK,
];

/// A plain line chart (linear axes) to a PNG at `path`, drawn beside it and renamed.
pub fn write_line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    lines: &[Line],
) -> Result<(), PlotError> {
    let points = || lines.iter().flat_map(|l| &l.points);
    let (x0, x1) = points().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = points().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    if x0 > x1 {
        return Err(PlotError {
            path: path.to_path_buf(),
            what: "the chart".into(),
            reason: "nothing to plot".into(),
        });
    }
    let pad_x = ((x1 - x0) * 0.02).max(0.5);
    let pad_y = ((y1 - y0) * 0.1).max(1e-3);
    let labels = font_available();
    draw_png(path, (800, 400), "the chart", |root| {
        let mut chart = chart_builder(root, title, labels)
            .build_cartesian_2d((x0 - pad_x)..(x1 + pad_x), (y0 - pad_y)..(y1 + pad_y))?;
        let mut mesh = chart.configure_mesh();
        if labels {
            mesh.x_desc(x_label).y_desc(y_label);
        } else {
            mesh.disable_x_axis().disable_y_axis();
        }
        mesh.draw()?;
        for (i, line) in lines.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart.draw_series(
                line.points
                    .iter()
                    .map(|p| Circle::new(*p, 2, color.filled())),
            )?;
            let drawn = chart.draw_series(LineSeries::new(line.points.iter().copied(), color))?;
            if labels {
                drawn.label(line.name).legend(legend_mark(color));
            }
        }
        if labels {
            draw_legend(&mut chart)?;
        }
        Ok(())
    })
}
