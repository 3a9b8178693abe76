//! Runs every case of `cases/*.yaml` against the built policy module, on the
//! native host and, when `$KWCTL` names a kwctl binary, through kwctl too.
//! All failures are collected; the run ends with a `N passed, N failed` line.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::Instant;

use serde_json::Value;

use secure_pod_defaults_e2e::cases::{self, Case};
use secure_pod_defaults_e2e::kwctl::{self, Kwctl};
use secure_pod_defaults_e2e::{Answer, Host, default_wasm_path};

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

/// How many kwctl runs go at once. Each spends about 1.5 s retrying to fetch
/// Sigstore's trust root when there is no network, and very little CPU,
/// so a few side by side cut the wall time without loading the machine.
const KWCTL_JOBS: usize = 4;

/// One case as the native host answered it.
struct NativeRun<'a> {
    file_name: String,
    case: &'a Case,
    request: Option<Value>,
    answer: Option<Answer>,
    problems: Vec<String>,
}

/// Runs one case on the native host.
fn run_native(file_name: String, case: &Case) -> NativeRun<'_> {
    let mut run = NativeRun {
        file_name,
        case,
        request: None,
        answer: None,
        problems: Vec::new(),
    };
    let (request, cluster) = match case
        .admission_request()
        .and_then(|request| Ok((request, case.cluster()?)))
    {
        Ok(found) => found,
        Err(err) => {
            run.problems.push(format!("bad request: {err:#}"));
            return run;
        }
    };
    match host().evaluate_in(&cluster, &case.settings, &request) {
        Ok(answer) => {
            run.problems = cases::mismatches(&case.expect, &answer);
            run.problems.extend(cases::host_calls_mismatch(
                &case.expect,
                cases::lookups(&answer),
            ));
            if answer.trapped {
                run.problems.push(format!(
                    "the policy trapped or failed instead of answering: {:?}",
                    answer.settings_error.as_ref().or(answer.message.as_ref())
                ));
            }
            run.answer = Some(answer);
        }
        Err(err) => run
            .problems
            .push(format!("the host could not run the policy: {err:#}")),
    }
    run.request = Some(request);
    run
}

/// Everything wrong with kwctl's answer to one case, and where it differs
/// from the native host's.
fn run_kwctl(kwctl: &Kwctl, native: &NativeRun) -> Vec<String> {
    let Some(request) = &native.request else {
        return Vec::new();
    };
    let cluster = match native.case.cluster() {
        Ok(cluster) => cluster,
        Err(err) => return vec![format!("bad case: {err:#}")],
    };
    let (answer, lookups) =
        match kwctl.run(host().wasm_path(), &cluster, &native.case.settings, request) {
            Ok(run) => (run.answer, run.lookups),
            Err(err) => return vec![format!("kwctl: {err:#}")],
        };
    let mut problems: Vec<String> = cases::mismatches(&native.case.expect, &answer)
        .into_iter()
        .chain(cases::host_calls_mismatch(&native.case.expect, lookups))
        .map(|p| format!("kwctl: {p}"))
        .collect();
    if let Some(native) = &native.answer {
        problems.extend(
            kwctl::disagreements(&answer, native)
                .into_iter()
                .map(|d| format!("kwctl and the native host disagree on {d}")),
        );
    }
    problems
}

/// Runs `work` on every item, `jobs` at a time, and returns the results in
/// the items' order.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = work(item);
                    *results[index].lock().unwrap() = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| slot.into_inner().unwrap().expect("every item was run"))
        .collect()
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
    }
    let mut runs: Vec<NativeRun> = files
        .iter()
        .flat_map(|file| {
            let file_name = file.path.file_name().unwrap_or_default().to_string_lossy();
            file.cases
                .iter()
                .map(move |case| run_native(file_name.to_string(), case))
        })
        .collect();
    if let Some(kwctl) = &kwctl {
        let to_run: Vec<&NativeRun> = runs.iter().filter(|run| !run.case.skip_kwctl).collect();
        let started = Instant::now();
        let problems = in_parallel(&to_run, KWCTL_JOBS, |run| run_kwctl(kwctl, run));
        println!(
            "kwctl ({}): {} runs in {:.1} s, {KWCTL_JOBS} at a time",
            kwctl.binary().display(),
            to_run.len(),
            started.elapsed().as_secs_f64()
        );
        let mut problems = problems.into_iter();
        for run in runs.iter_mut().filter(|run| !run.case.skip_kwctl) {
            run.problems.extend(problems.next().unwrap_or_default());
        }
    }
    for run in &runs {
        if run.problems.is_empty() {
            passed += 1;
            continue;
        }
        failed += 1;
        println!("FAIL [{}] {}", run.file_name, run.case.name);
        for problem in &run.problems {
            println!("  {}", problem.replace('\n', "\n  "));
        }
        println!();
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
