//! Runs every case of `cases/*.yaml` against the built policy module, on the
//! native host and, when `$KWCTL` names a kwctl binary, through kwctl too.
//! All failures are collected; the run ends with a `N passed, N failed` line.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use secure_pod_defaults_e2e::cases::{self, Case};
use secure_pod_defaults_e2e::kwctl::{self, Kwctl};
use secure_pod_defaults_e2e::{Host, default_wasm_path};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cases")
}

/// The policy, compiled once for the whole test process.
fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let path = default_wasm_path();
        assert!(
            path.is_file(),
            "policy module {} not found: run `make policy.wasm` first (or set POLICY_WASM)",
            path.display()
        );
        Host::load(&path).unwrap_or_else(|err| panic!("{err:#}"))
    })
}

/// Everything wrong with one case; empty when it passes.
fn run_case(case: &Case, kwctl: Option<&Kwctl>) -> Vec<String> {
    let request = match case.admission_request() {
        Ok(request) => request,
        Err(err) => return vec![format!("bad request: {err:#}")],
    };
    let native = match host().evaluate(&case.settings, &request) {
        Ok(answer) => answer,
        Err(err) => return vec![format!("the host could not run the policy: {err:#}")],
    };
    let mut problems = cases::mismatches(&case.expect, &native);
    if native.trapped {
        problems.push(format!(
            "the policy trapped or failed instead of answering: {:?}",
            native.settings_error.as_ref().or(native.message.as_ref())
        ));
    }
    if let Some(kwctl) = kwctl.filter(|_| !case.skip_kwctl) {
        match kwctl.run(host().wasm_path(), &case.settings, &request) {
            Ok(answer) => {
                problems.extend(
                    cases::mismatches(&case.expect, &answer)
                        .into_iter()
                        .map(|p| format!("kwctl: {p}")),
                );
                problems.extend(
                    kwctl::disagreements(&answer, &native)
                        .into_iter()
                        .map(|d| format!("kwctl and the native host disagree on {d}")),
                );
            }
            Err(err) => problems.push(format!("kwctl: {err:#}")),
        }
    }
    problems
}

#[test]
fn every_case_holds() {
    let files = cases::load_case_files(&cases_dir()).expect("cannot read the cases folder");
    let kwctl = Kwctl::from_env();
    let mut passed = 0;
    let mut failed = 0;
    for file in &files {
        let file_name = file.path.file_name().unwrap_or_default().to_string_lossy();
        for error in &file.errors {
            failed += 1;
            println!("FAIL [{file_name}] invalid case file: {error}\n");
        }
        for case in &file.cases {
            let problems = run_case(case, kwctl.as_ref());
            if problems.is_empty() {
                passed += 1;
                continue;
            }
            failed += 1;
            println!("FAIL [{file_name}] {}", case.name);
            for problem in problems {
                println!("  {}", problem.replace('\n', "\n  "));
            }
            println!();
        }
    }
    if kwctl.is_some() {
        println!("(each case also ran through kwctl unless marked skip_kwctl)");
    }
    println!("{passed} passed, {failed} failed");
    assert!(
        passed + failed > 0,
        "no case found in {}",
        cases_dir().display()
    );
    assert_eq!(failed, 0, "{failed} case(s) failed, see above");
}
