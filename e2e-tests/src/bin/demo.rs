//! Shows, in plain text, what the policy answers for each example request.
//!
//! Usage: demo [POLICY_WASM [EXAMPLES_DIR]]
//! Defaults: `$POLICY_WASM` or the repository's `policy.wasm`, and the
//! repository's `examples/` folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use secure_pod_defaults_e2e::cases::{Example, describe_operation, yaml_files};
use secure_pod_defaults_e2e::{Answer, Host, default_wasm_path};
use serde_json::Value;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
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
    for (index, path) in files.iter().enumerate() {
        if index > 0 {
            println!();
        }
        let example = Example::load(path)?;
        let request = example
            .admission_request()
            .with_context(|| format!("in {}", path.display()))?;
        let answer = host.evaluate(&example.settings, &request)?;
        print_example(path, &example, &request, &answer);
    }
    Ok(())
}

fn print_example(path: &Path, example: &Example, request: &Value, answer: &Answer) {
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    let heading = format!("{} ({file})", example.title);
    println!("{heading}");
    println!("{}", "=".repeat(heading.chars().count()));
    println!("settings: {}", example.settings);
    println!(
        "request:  {} {} {}/{}",
        text(&request["operation"]),
        text(&request["kind"]["kind"]),
        text(&request["namespace"]),
        text(&request["name"]),
    );
    let verdict = if answer.allowed {
        "allowed"
    } else {
        "rejected"
    };
    match answer.code {
        Some(code) => println!("answer:   {verdict} (code {code})"),
        None => println!("answer:   {verdict}"),
    }
    println!(
        "message:  {}",
        answer.message.as_deref().unwrap_or("(none)")
    );
    match &answer.patch {
        None => println!("patch:    (none)"),
        Some(operations) => {
            println!("patch:    {} operation(s)", operations.len());
            for operation in operations {
                println!("  {}", describe_operation(operation));
            }
        }
    }
    if answer.warnings.is_empty() {
        println!("warnings: (none)");
    } else {
        println!("warnings:");
        for warning in &answer.warnings {
            println!("  - {warning}");
        }
    }
}

/// A JSON string without quotes; anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}
