//! Writes every e2e case as a waPC `validate` payload into a folder, to seed
//! the fuzzer with real requests: `fuzz_corpus <cases dir> <output dir>`.

use anyhow::{Context, Result};
use secure_pod_defaults_e2e::cases::load_case_files;
use serde_json::json;
use std::path::PathBuf;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let cases_dir = PathBuf::from(args.next().unwrap_or_else(|| "cases".into()));
    let output = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "../fuzz/corpus/request".into()),
    );
    std::fs::create_dir_all(&output)
        .with_context(|| format!("cannot create {}", output.display()))?;
    let mut written = 0;
    for file in load_case_files(&cases_dir)? {
        for case in file.cases {
            let payload = json!({"settings": case.settings, "request": case.admission_request()?});
            let path = output.join(format!("case-{written:04}.json"));
            std::fs::write(&path, serde_json::to_vec(&payload)?)?;
            written += 1;
        }
    }
    println!("{written} payloads written to {}", output.display());
    Ok(())
}
