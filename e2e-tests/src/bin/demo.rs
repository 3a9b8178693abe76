//! Shows, in plain text, what the policy answers for each example request.
//!
//! Usage: demo [POLICY_WASM [EXAMPLES_DIR]]
//! Defaults: `$POLICY_WASM` or the repository's `policy.wasm`, and the
//! repository's `examples/` folder.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use secure_pod_defaults_e2e::cases::{Example, describe_operation, yaml_files};
use secure_pod_defaults_e2e::{Answer, Host, default_wasm_path};
use serde_json::Value;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stops early (`demo | head`) is not an error.
        Err(err)
            if err
                .downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let wasm = args.next().map_or_else(default_wasm_path, PathBuf::from);
    let examples_dir = args.next().map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples"),
        PathBuf::from,
    );
    if !wasm.is_file() {
        anyhow::bail!(
            "policy module {} not found: run `make policy.wasm` first",
            wasm.display()
        );
    }
    let host = Host::load(&wasm)?;
    let files = yaml_files(&examples_dir)?;
    if files.is_empty() {
        anyhow::bail!("no example in {}", examples_dir.display());
    }
    let mut out = io::stdout().lock();
    for (index, path) in files.iter().enumerate() {
        if index > 0 {
            writeln!(out)?;
        }
        let example = Example::load(path)?;
        let request = example
            .admission_request()
            .with_context(|| format!("in {}", path.display()))?;
        let answer = host.evaluate(&example.settings, &request)?;
        print_example(&mut out, path, &example, &request, &answer)?;
    }
    Ok(())
}

fn print_example(
    out: &mut impl Write,
    path: &Path,
    example: &Example,
    request: &Value,
    answer: &Answer,
) -> io::Result<()> {
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    let heading = format!("{} ({file})", example.title);
    writeln!(out, "{heading}")?;
    writeln!(out, "{}", "=".repeat(heading.chars().count()))?;
    writeln!(out, "settings: {}", example.settings)?;
    let kind = &request["kind"];
    let api_version = match text(&kind["group"]).as_str() {
        "" => text(&kind["version"]),
        group => format!("{group}/{}", text(&kind["version"])),
    };
    writeln!(
        out,
        "request:  {} {api_version} {} {}/{}",
        text(&request["operation"]),
        text(&kind["kind"]),
        text(&request["namespace"]),
        text(&request["name"]),
    )?;
    let verdict = if answer.allowed {
        "allowed"
    } else {
        "rejected"
    };
    match answer.code {
        Some(code) => writeln!(out, "answer:   {verdict} (code {code})")?,
        None => writeln!(out, "answer:   {verdict}")?,
    }
    writeln!(
        out,
        "message:  {}",
        answer.message.as_deref().unwrap_or("(none)")
    )?;
    match &answer.patch {
        None => writeln!(out, "patch:    (none)")?,
        Some(operations) => {
            writeln!(out, "patch:    {} operation(s)", operations.len())?;
            for operation in operations {
                writeln!(out, "  {}", describe_operation(operation))?;
            }
        }
    }
    if answer.warnings.is_empty() {
        writeln!(out, "warnings: (none)")?;
    } else {
        writeln!(out, "warnings:")?;
        for warning in &answer.warnings {
            writeln!(out, "  - {warning}")?;
        }
    }
    Ok(())
}

/// A JSON string without quotes; anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}
