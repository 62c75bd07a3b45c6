//! The evaluation report: one document of headings, tables and pictures, written as
//! Markdown (pictures beside it) and as one self-contained HTML page (pictures inlined),
//! plus the numbers as `metrics.json`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine as _;
use dancenow_files::{FolderKind, StagedDir};
use dancenow_gan::plot::{write_line_chart, Line};
use dancenow_metrics::{Part, PoseDistance};
use image::RgbImage;

/// One held-out frame's image scores.
pub struct FrameScores {
    pub index: usize,
    pub body_ssim: f64,
    pub body_lpips: f64,
    /// `None` where the frame has no face box.
    pub face_ssim: Option<f64>,
    pub face_lpips: Option<f64>,
    /// The face box of the body model's frame before the face GAN refined it; `None`
    /// also where the model has no face GAN.
    pub face_before_gan: Option<(f64, f64)>,
}

/// What was measured for one model.
pub struct ModelReport {
    pub name: String,
    pub path: String,
    pub stage: String,
    pub step: u64,
    pub scores: Vec<FrameScores>,
    pub pose: PoseDistance,
    /// Jitter of the poses detected on the generated frames, by [`Part::ALL`].
    pub jitter: [Option<f64>; 3],
    /// Sample rows: stick figure, generated, real.
    pub strips: Vec<[RgbImage; 3]>,
    /// Minutes of training over all runs, where recorded.
    pub training_minutes: Option<f64>,
    pub stages: Vec<crate::train::StageProgress>,
}

impl ModelReport {
    /// The training in words: time, and which stages finished or where they stopped.
    pub fn training_summary(&self) -> String {
        let time = match self.training_minutes {
            Some(m) => format!("trained for {m:.1} minutes"),
            None => "training time not recorded".into(),
        };
        let stages: Vec<String> = self
            .stages
            .iter()
            .map(|s| {
                if s.finished() {
                    format!("{} stage finished ({} steps)", s.stage, s.steps)
                } else if s.step == 0 {
                    format!("**{} stage not trained** (0 of {} steps)", s.stage, s.steps)
                } else {
                    format!(
                        "**{} stage cut short at step {} of {}**",
                        s.stage, s.step, s.steps
                    )
                }
            })
            .collect();
        format!("{time}; {}", stages.join(", "))
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

impl ModelReport {
    pub fn body_ssim(&self) -> f64 {
        mean(self.scores.iter().map(|s| s.body_ssim)).unwrap_or(f64::NAN)
    }

    pub fn body_lpips(&self) -> f64 {
        mean(self.scores.iter().map(|s| s.body_lpips)).unwrap_or(f64::NAN)
    }

    pub fn face_ssim(&self) -> Option<f64> {
        mean(self.scores.iter().filter_map(|s| s.face_ssim))
    }

    pub fn face_lpips(&self) -> Option<f64> {
        mean(self.scores.iter().filter_map(|s| s.face_lpips))
    }

    /// Face SSIM and LPIPS of the body model alone, on the frames the face GAN refined,
    /// and the face GAN's on the same frames.
    pub fn face_gan_ablation(&self) -> Option<[(f64, f64); 2]> {
        let refined: Vec<&FrameScores> = self
            .scores
            .iter()
            .filter(|s| s.face_before_gan.is_some())
            .collect();
        let before = refined.iter().filter_map(|s| s.face_before_gan);
        let after = refined.iter().filter_map(|s| s.face_ssim.zip(s.face_lpips));
        Some([mean_pair(before)?, mean_pair(after)?])
    }
}

fn mean_pair(pairs: impl Iterator<Item = (f64, f64)> + Clone) -> Option<(f64, f64)> {
    Some((mean(pairs.clone().map(|p| p.0))?, mean(pairs.map(|p| p.1))?))
}

pub struct Report {
    pub dataset: String,
    /// The held-out frames' numbers in the video.
    pub frames: Vec<usize>,
    pub size: (u32, u32),
    /// Jitter of the real frames' poses, for scale.
    pub real_jitter: [Option<f64>; 3],
    pub models: Vec<ModelReport>,
}

/// A number with `digits` decimals, or a dash where there is none.
pub fn number(value: Option<f64>, digits: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "–".into(),
    }
}

enum Block {
    Heading(String),
    Text(String),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// A PNG in the report folder.
    Picture {
        file: String,
        caption: String,
    },
}

/// The report as blocks, and the pictures it refers to, written to `dir`.
fn document(report: &Report, dir: &Path) -> Result<Vec<Block>> {
    let models = &report.models;
    let mut doc = vec![
        Block::Heading("dancenow evaluation".into()),
        Block::Text(format!(
            "{} held-out frames of `{}` ({}x{}), frames {}–{}. Scores compare each generated \
             frame with the real one: SSIM (higher is better) and LPIPS v0.1 with AlexNet \
             (lower is better) on the whole body crop, and on the face box scaled to 128x128. \
             As in the paper's tables (section 5).",
            report.frames.len(),
            report.dataset,
            report.size.0,
            report.size.1,
            report.frames.first().unwrap_or(&0),
            report.frames.last().unwrap_or(&0),
        )),
        Block::Table {
            header: ["model", "stage", "step"].map(String::from).to_vec(),
            rows: models
                .iter()
                .map(|m| {
                    vec![
                        format!("{} (`{}`)", m.name, m.path),
                        m.stage.clone(),
                        m.step.to_string(),
                    ]
                })
                .collect(),
        },
        Block::Heading("Training".into()),
        Block::Text(
            models
                .iter()
                .map(|m| format!("{}: {}.", m.name, m.training_summary()))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Block::Heading("Image quality".into()),
        Block::Table {
            header: [
                "model",
                "body SSIM ↑",
                "body LPIPS ↓",
                "face SSIM ↑",
                "face LPIPS ↓",
                "frames with a face",
            ]
            .map(String::from)
            .to_vec(),
            rows: models
                .iter()
                .map(|m| {
                    vec![
                        m.name.clone(),
                        number(Some(m.body_ssim()), 4),
                        number(Some(m.body_lpips()), 4),
                        number(m.face_ssim(), 4),
                        number(m.face_lpips(), 4),
                        m.scores
                            .iter()
                            .filter(|s| s.face_ssim.is_some())
                            .count()
                            .to_string(),
                    ]
                })
                .collect(),
        },
        Block::Heading("Face GAN".into()),
        Block::Text(
            "The paper's comparison of faces (its table 2): the face box of the body model's \
             frame, and of the same frame once the face GAN refined it."
                .into(),
        ),
        Block::Table {
            header: ["model", "faces", "face SSIM ↑", "face LPIPS ↓", "frames"]
                .map(String::from)
                .to_vec(),
            rows: models
                .iter()
                .filter_map(|m| Some((m, m.face_gan_ablation()?)))
                .flat_map(|(m, [before, after])| {
                    let frames = m
                        .scores
                        .iter()
                        .filter(|s| s.face_before_gan.is_some())
                        .count()
                        .to_string();
                    [("body model alone", before), ("with the face GAN", after)].map(
                        |(faces, (ssim, lpips))| {
                            vec![
                                m.name.clone(),
                                faces.to_string(),
                                number(Some(ssim), 4),
                                number(Some(lpips), 4),
                                frames.clone(),
                            ]
                        },
                    )
                })
                .collect(),
        },
        Block::Heading("Pose distance".into()),
        Block::Text(format!(
            "The detector runs on the generated frames; each keypoint it finds is compared with \
             the input pose's, in pixels of the {}x{} frames (lower is better), and for the \
             body also in % of the frame height. Points of the input pose that it does not \
             find are counted as missed, not measured.",
            report.size.0, report.size.1
        )),
        Block::Table {
            header: [
                "model",
                "body",
                "body, % of height",
                "face",
                "hands",
                "overall",
                "missed points",
                "frames with nobody",
            ]
            .map(String::from)
            .to_vec(),
            rows: models
                .iter()
                .map(|m| {
                    let body = m.pose.part(Part::Body).mean();
                    let height = f64::from(report.size.1.max(1));
                    let mut row = vec![
                        m.name.clone(),
                        number(body, 2),
                        number(body.map(|px| 100.0 * px / height), 2),
                    ];
                    for part in [Part::Face, Part::Hands] {
                        row.push(number(m.pose.part(part).mean(), 2));
                    }
                    let all = m.pose.overall();
                    row.push(number(all.mean(), 2));
                    row.push(format!("{} of {}", all.missed, all.missed + all.matched));
                    row.push(format!("{} of {}", m.pose.missed_frames, m.pose.frames));
                    row
                })
                .collect(),
        },
        Block::Heading("Temporal jitter".into()),
        Block::Text(
            "Mean keypoint acceleration |p(t+1) − 2p(t) + p(t−1)| in pixels per frame², of the \
             poses detected on consecutive frames (lower is smoother). The real frames' poses \
             give the scale of the motion itself."
                .into(),
        ),
        Block::Table {
            header: ["frames", "body", "face", "hands"]
                .map(String::from)
                .to_vec(),
            rows: std::iter::once(("real".to_string(), &report.real_jitter))
                .chain(models.iter().map(|m| (m.name.clone(), &m.jitter)))
                .map(|(name, j)| {
                    let at = |p: Part| j[Part::ALL.iter().position(|q| *q == p).unwrap_or(0)];
                    vec![
                        name,
                        number(at(Part::Body), 2),
                        number(at(Part::Face), 2),
                        number(at(Part::Hands), 2),
                    ]
                })
                .collect(),
        },
    ];

    doc.push(Block::Heading("Samples".into()));
    let columns: Vec<String> = std::iter::once("stick figure".to_string())
        .chain(models.iter().map(|m| m.name.clone()))
        .chain(std::iter::once("real".to_string()))
        .collect();
    let strip = samples(models);
    let path = dir.join("samples.png");
    dancenow_gan::images::save_png(&strip, &path)
        .with_context(|| format!("writing {}", path.display()))?;
    doc.push(Block::Picture {
        file: "samples.png".into(),
        caption: columns.join(" | "),
    });

    doc.push(Block::Heading("Per frame".into()));
    type Score = fn(&FrameScores) -> f64;
    let charts: [(&str, &str, Score); 2] = [
        ("ssim.png", "body SSIM", |s| s.body_ssim),
        ("lpips.png", "body LPIPS", |s| s.body_lpips),
    ];
    for (file, title, value) in charts {
        let lines: Vec<Line> = models
            .iter()
            .map(|m| Line {
                name: &m.name,
                points: m
                    .scores
                    .iter()
                    .map(|s| (s.index as f64, value(s)))
                    .collect(),
            })
            .collect();
        write_line_chart(
            &dir.join(file),
            &format!("{title} per held-out frame"),
            "frame",
            title,
            &lines,
        )
        .map_err(anyhow::Error::msg)?;
        doc.push(Block::Picture {
            file: file.into(),
            caption: format!("{title} per held-out frame"),
        });
    }
    Ok(doc)
}

/// Rows of stick figure | each model's frame | real, for the sampled frames.
fn samples(models: &[ModelReport]) -> RgbImage {
    let rows = models.iter().map(|m| m.strips.len()).min().unwrap_or(0);
    let rows: Vec<Vec<&RgbImage>> = (0..rows)
        .map(|row| {
            let [figure, _, real] = &models[0].strips[row];
            std::iter::once(figure)
                .chain(models.iter().map(|m| &m.strips[row][1]))
                .chain(std::iter::once(real))
                .collect()
        })
        .collect();
    dancenow_gan::images::grid(&rows)
}

fn markdown(doc: &[Block]) -> String {
    let mut md = String::new();
    let mut first_heading = true;
    for block in doc {
        match block {
            Block::Heading(h) if first_heading => {
                first_heading = false;
                let _ = writeln!(md, "# {h}\n");
            }
            Block::Heading(h) => {
                let _ = writeln!(md, "## {h}\n");
            }
            Block::Text(t) => {
                let _ = writeln!(md, "{t}\n");
            }
            Block::Table { header, rows } => {
                let _ = writeln!(md, "| {} |", header.join(" | "));
                let _ = writeln!(md, "|{}", "---|".repeat(header.len()));
                for row in rows {
                    let _ = writeln!(md, "| {} |", row.join(" | "));
                }
                md.push('\n');
            }
            Block::Picture { file, caption } => {
                let _ = writeln!(md, "![{caption}]({file})\n\n*{caption}*\n");
            }
        }
    }
    md
}

/// Text made safe for HTML element content and for attribute values in either quote.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Markdown's `code` spans as HTML, after escaping.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

fn html(doc: &[Block], dir: &Path) -> Result<String> {
    let mut body = String::new();
    let mut first_heading = true;
    for block in doc {
        match block {
            Block::Heading(h) => {
                let tag = if std::mem::take(&mut first_heading) {
                    "h1"
                } else {
                    "h2"
                };
                let _ = writeln!(body, "<{tag}>{}</{tag}>", escape(h));
            }
            Block::Text(t) => {
                let _ = writeln!(body, "<p>{}</p>", inline(t));
            }
            Block::Table { header, rows } => {
                body.push_str("<table>\n<tr>");
                for h in header {
                    let _ = write!(body, "<th>{}</th>", inline(h));
                }
                body.push_str("</tr>\n");
                for row in rows {
                    body.push_str("<tr>");
                    for cell in row {
                        let _ = write!(body, "<td>{}</td>", inline(cell));
                    }
                    body.push_str("</tr>\n");
                }
                body.push_str("</table>\n");
            }
            Block::Picture { file, caption } => {
                let path = dir.join(file);
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let data = base64::engine::general_purpose::STANDARD.encode(bytes);
                let _ = writeln!(
                    body,
                    "<figure><img src=\"data:image/png;base64,{data}\" alt=\"{0}\"><figcaption>{0}</figcaption></figure>",
                    escape(caption)
                );
            }
        }
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>dancenow evaluation</title>\n<style>\n\
         body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; }}\n\
         th, td {{ border: 1px solid #bbb; padding: 0.3em 0.7em; text-align: right; }}\n\
         th:first-child, td:first-child {{ text-align: left; }}\n\
         img {{ max-width: 100%; image-rendering: pixelated; }}\n\
         figcaption {{ color: #555; font-size: 0.9em; }}\n\
         </style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    ))
}

fn json(report: &Report) -> serde_json::Value {
    let parts = |j: &[Option<f64>; 3]| {
        serde_json::Value::Object(
            Part::ALL
                .iter()
                .zip(j)
                .map(|(p, v)| (p.name().to_string(), serde_json::json!(v)))
                .collect(),
        )
    };
    serde_json::json!({
        "dataset": report.dataset,
        "frames": report.frames,
        // Pixel distances and jitter are in pixels of frames this size.
        "width": report.size.0,
        "height": report.size.1,
        "real_jitter": parts(&report.real_jitter),
        "models": report.models.iter().map(|m| {
            let all = m.pose.overall();
            serde_json::json!({
                "name": m.name,
                "path": m.path,
                "stage": m.stage,
                "step": m.step,
                "training_minutes": m.training_minutes,
                "stages": m.stages.iter().map(|s| serde_json::json!({
                    "stage": s.stage.name(),
                    "step": s.step,
                    "steps": s.steps,
                    "finished": s.finished(),
                })).collect::<Vec<_>>(),
                "body_ssim": m.body_ssim(),
                "body_lpips": m.body_lpips(),
                "face_ssim": m.face_ssim(),
                "face_lpips": m.face_lpips(),
                "face_gan_ablation": m.face_gan_ablation().map(|[before, after]| serde_json::json!({
                    "body_model_alone": {"face_ssim": before.0, "face_lpips": before.1},
                    "with_face_gan": {"face_ssim": after.0, "face_lpips": after.1},
                })),
                "pose_distance": {
                    "body": m.pose.part(Part::Body).mean(),
                    "face": m.pose.part(Part::Face).mean(),
                    "hands": m.pose.part(Part::Hands).mean(),
                    "overall": all.mean(),
                    "missed_points": all.missed,
                    "matched_points": all.matched,
                    "frames_with_nobody": m.pose.missed_frames,
                },
                "jitter": parts(&m.jitter),
                "per_frame": m.scores.iter().map(|s| serde_json::json!({
                    "frame": s.index,
                    "body_ssim": s.body_ssim,
                    "body_lpips": s.body_lpips,
                    "face_ssim": s.face_ssim,
                    "face_lpips": s.face_lpips,
                    "face_before_gan": s.face_before_gan.map(|(ssim, lpips)| {
                        serde_json::json!({"face_ssim": ssim, "face_lpips": lpips})
                    }),
                })).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
    })
}

/// A report folder: dancenow's when it holds `metrics.json`. The report's files are
/// written there; a user's other files are kept when it is rewritten.
const REPORT_FOLDER: FolderKind = FolderKind {
    replaceable: |dir| dancenow_files::is_missing_empty_or_marked(dir, METRICS_FILE),
    written_here: |name| {
        let name = name.to_string_lossy();
        [METRICS_FILE, "report.md", "report.html"].contains(&name.as_ref())
            || name.ends_with(".png")
            || name.ends_with(".partial")
    },
};
const METRICS_FILE: &str = "metrics.json";

/// Refuses, before any work, a report folder that holds files but no `metrics.json`:
/// someone else's, which a report would replace.
pub fn check_output(dir: &Path) -> Result<()> {
    anyhow::ensure!(
        (REPORT_FOLDER.replaceable)(dir).with_context(|| format!("reading {}", dir.display()))?,
        "{}: the folder holds files but no {METRICS_FILE}, so it is not a report dancenow \
         wrote; dancenow replaces only its own output: choose a new or empty folder",
        dir.display()
    );
    Ok(())
}

/// Writes the report beside `dir` and puts it in `dir`'s place once whole (an earlier
/// report there stays as it was until then); returns the HTML page's path.
pub fn write(report: &Report, dir: &Path) -> Result<PathBuf> {
    check_output(dir)?;
    let staged = StagedDir::create(dir, REPORT_FOLDER)
        .with_context(|| format!("starting the report {}", dir.display()))?;
    let staging = staged.path();
    let doc = document(report, staging)?;
    let write = |name: &str, text: String| -> Result<()> {
        let path = staging.join(name);
        dancenow_files::write_atomically(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    };
    write(
        METRICS_FILE,
        serde_json::to_string_pretty(&json(report))? + "\n",
    )?;
    write("report.md", markdown(&doc))?;
    write("report.html", html(&doc, staging)?)?;
    staged
        .commit()
        .with_context(|| format!("putting the report in {}", dir.display()))?;
    Ok(dir.join("report.html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a folder name can smuggle into a page: quotes to leave an attribute, angle
    /// brackets to open a tag, an ampersand to start an entity.
    const HOSTILE: &str = "x\" onload=\"alert(1)' <b>&amp;";

    fn model(name: &str) -> ModelReport {
        let image = RgbImage::new(8, 8);
        ModelReport {
            name: name.into(),
            path: format!("/models/{name}"),
            stage: "global".into(),
            step: 4,
            scores: vec![FrameScores {
                index: 3,
                body_ssim: 0.5,
                body_lpips: 0.25,
                face_ssim: None,
                face_lpips: None,
                face_before_gan: None,
            }],
            pose: PoseDistance::default(),
            jitter: [None; 3],
            strips: vec![[image.clone(), image.clone(), image]],
            training_minutes: Some(1.0),
            stages: vec![],
        }
    }

    /// A model folder named to break out of `alt="..."` (issue 18: it ran script in
    /// Chromium) appears in report.html only escaped, in text and in attributes.
    #[test]
    fn a_hostile_model_name_is_escaped_everywhere_in_the_page() {
        let dir = tempfile::tempdir().unwrap();
        let report = Report {
            dataset: format!("/data/{HOSTILE}"),
            frames: vec![3],
            size: (8, 8),
            real_jitter: [None; 3],
            models: vec![model(HOSTILE)],
        };
        let page = std::fs::read_to_string(write(&report, dir.path()).unwrap()).unwrap();
        let escaped = "x&quot; onload=&quot;alert(1)&#39; &lt;b&gt;&amp;amp;";
        assert!(
            page.contains(escaped),
            "the name is missing or escaped otherwise"
        );
        for raw in ["onload=\"", "alert(1)'", "<b>", "&amp;amp;\"", "'<"] {
            assert!(!page.contains(raw), "{raw:?} reached the page unescaped");
        }
        let alts: Vec<&str> = page.split("alt=\"").skip(1).collect();
        assert!(
            alts.iter()
                .any(|alt| alt.split('"').next().unwrap().contains(escaped)),
            "the name is in no alt attribute"
        );
        // Each alt="..." ends where its tag does: no attribute was added after it.
        for alt in alts {
            let end = alt.find('"').unwrap();
            assert!(alt[end..].starts_with("\">"), "alt=\"{}", &alt[..end + 20]);
        }
    }

    /// The paper's face comparison: the body model's faces beside the face GAN's, on the
    /// frames the face GAN refined only, in the page and in metrics.json.
    #[test]
    fn faces_before_and_after_the_face_gan_are_compared() {
        let dir = tempfile::tempdir().unwrap();
        let mut refined = model("refined");
        let frame = |index, face: Option<(f64, f64)>, before| FrameScores {
            index,
            body_ssim: 0.5,
            body_lpips: 0.25,
            face_ssim: face.map(|f| f.0),
            face_lpips: face.map(|f| f.1),
            face_before_gan: before,
        };
        refined.scores = vec![
            frame(3, Some((0.8, 0.1)), Some((0.6, 0.3))),
            frame(4, Some((0.6, 0.2)), Some((0.4, 0.5))),
            frame(5, None, None),
        ];
        let [before, after] = refined.face_gan_ablation().unwrap();
        assert!((before.0 - 0.5).abs() < 1e-12 && (before.1 - 0.4).abs() < 1e-12);
        assert!((after.0 - 0.7).abs() < 1e-12 && (after.1 - 0.15).abs() < 1e-12);
        assert!(model("plain").face_gan_ablation().is_none());

        let report = Report {
            dataset: "/data/d".into(),
            frames: vec![3, 4, 5],
            size: (8, 8),
            real_jitter: [None; 3],
            models: vec![refined, model("plain")],
        };
        write(&report, dir.path()).unwrap();
        let page = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        assert!(
            page.contains("| refined | body model alone | 0.5000 | 0.4000 | 2 |"),
            "{page}"
        );
        assert!(page.contains("| refined | with the face GAN | 0.7000 | 0.1500 | 2 |"));
        assert!(!page.contains("| plain | body model alone"));
        let metrics = std::fs::read_to_string(dir.path().join("metrics.json")).unwrap();
        let metrics: serde_json::Value = serde_json::from_str(&metrics).unwrap();
        let ablation = &metrics["models"][0]["face_gan_ablation"];
        assert_eq!(ablation["body_model_alone"]["face_lpips"], 0.4);
        assert!(metrics["models"][1]["face_gan_ablation"].is_null());
    }

    /// dancenow deletes only what it made (issue 18): a folder of someone else's files is
    /// refused and left alone; a report folder is replaced whole, keeping a user's file.
    #[test]
    fn a_report_replaces_only_a_report() {
        let dir = tempfile::tempdir().unwrap();
        let report = |name: &str| Report {
            dataset: "/data/d".into(),
            frames: vec![3],
            size: (8, 8),
            real_jitter: [None; 3],
            models: vec![model(name)],
        };
        let theirs = dir.path().join("documents");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::write(theirs.join("report.md"), "my own report").unwrap();
        let err = write(&report("a"), &theirs).unwrap_err().to_string();
        assert!(err.contains("choose a new or empty folder"), "{err}");
        assert_eq!(
            std::fs::read_to_string(theirs.join("report.md")).unwrap(),
            "my own report"
        );

        let ours = dir.path().join("report");
        write(&report("first"), &ours).unwrap();
        std::fs::write(ours.join("notes.txt"), "mine").unwrap();
        write(&report("second"), &ours).unwrap();
        let metrics = std::fs::read_to_string(ours.join("metrics.json")).unwrap();
        assert!(metrics.contains("second") && !metrics.contains("first"));
        assert_eq!(
            std::fs::read_to_string(ours.join("notes.txt")).unwrap(),
            "mine"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "nothing left beside"
        );
    }
}
