//! `ipt-gen preview DIR --out preview.html`: a self-contained page (images inlined) with a
//! few examples per task: inputs, question, options with the answer marked, the
//! imagination and the chain of thought.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::Args;
use ipt_schema::{Image, Record, read_records};

use crate::dataset::store::DatasetDir;
use crate::files::write_atomic;
use crate::tasks::Task;

/// Arguments of `ipt-gen preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The dataset folder (with manifest.json).
    pub dir: PathBuf,
    /// The page to write.
    #[arg(long, value_name = "FILE", default_value = "preview.html")]
    pub out: PathBuf,
    /// Examples per task.
    #[arg(long, default_value_t = 4)]
    pub per_task: usize,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn img(image: &Image, caption: &str) -> String {
    format!(
        "<figure><img src=\"data:image/png;base64,{}\"><figcaption>{}</figcaption></figure>",
        BASE64.encode(image.data()),
        escape(caption)
    )
}

fn example(record: &Record) -> String {
    let mut html = format!(
        "<section><h3>{} · {} · {} · {}</h3><div class=\"row\">",
        escape(&record.id),
        escape(&record.variant),
        escape(&record.subtype),
        escape(&record.scene_id)
    );
    for (i, image) in record.images.iter().enumerate() {
        html.push_str(&img(image, &format!("input {}", i + 1)));
    }
    html.push_str(&img(&record.imagination, "imagination (ground truth)"));
    let _ = write!(html, "</div><p class=\"q\">{}</p><ol type=\"A\">", escape(&record.question));
    for (i, choice) in record.choices.iter().enumerate() {
        let letter = char::from(b'A' + i as u8).to_string();
        let class = if letter == record.answer { " class=\"answer\"" } else { "" };
        let _ = write!(html, "<li{class}>{}</li>", escape(choice));
    }
    let _ =
        write!(html, "</ol><p><b>Think:</b> {}</p><pre>{}</pre></section>", escape(&record.think), escape(&record.cot));
    html
}

/// Runs `ipt-gen preview`.
pub fn run(args: &PreviewArgs) -> Result<()> {
    let dir = DatasetDir::new(&args.dir);
    let manifest = dir.manifest()?;
    let mut html = String::from(
        "<!doctype html><meta charset=\"utf-8\"><title>IPT dataset preview</title><style>\
         body{font-family:sans-serif;max-width:1200px;margin:auto}section{border-top:1px solid #ccc;padding:8px 0}\
         .row{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0}img{width:256px;image-rendering:auto}\
         figcaption{font-size:12px;color:#555}.q{font-weight:bold}li.answer{color:#070;font-weight:bold}\
         li.answer::after{content:\" (answer)\"}pre{white-space:pre-wrap;background:#f6f6f6;padding:6px}</style>",
    );
    let _ = write!(html, "<h1>{}</h1><p>{} examples</p>", escape(&args.dir.display().to_string()), manifest.examples);
    let mut shown = 0;
    for task in Task::ALL {
        let Some(entry) = manifest.shards.iter().find(|s| s.task == task) else { continue };
        let records = read_records(&dir.root().join(&entry.path))?;
        let _ = write!(html, "<h2>{task} ({})</h2>", escape(&entry.path));
        for record in records.iter().take(args.per_task) {
            html.push_str(&example(record));
            shown += 1;
        }
    }
    write_atomic(&args.out, html.as_bytes()).with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("{shown} examples in {}", args.out.display());
    Ok(())
}
