//! The benchmark at the real host: one policy-server serving the policy, the
//! floor and the same-answer floor side by side, wrk posting each request to
//! each in turn, and the large requests sent a few times each.
//!
//! The same-answer floor is the floor module giving the policy's own answer
//! to each request, written into it before the build: what the host spends
//! on that answer (the JSON patch it computes from a changed object, the
//! warnings) when the policy does no work at all. Next to it, the policy's
//! figures show what its own work costs.
//!
//! With namespace labels given, the policy is served a second time with
//! `namespace_labels: true` and read access to Namespaces, which a fake
//! Kubernetes API (`fake_api`) serves with those labels for every
//! request's namespace: one host lookup per request, as in a cluster whose
//! namespaces are labelled.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::fake_api::FakeApi;
use crate::policy_server::{PolicyServer, ServedPolicy, Verdict, annotate, find_program};
use crate::wrk::{LoadRun, Wrk};

pub const POLICY_ID: &str = "secure-pod-defaults";
pub const FLOOR_ID: &str = "floor";
pub const SAME_ANSWER_ID: &str = "same-answer";
pub const NAMESPACES_ID: &str = "secure-pod-defaults-namespaces";

/// How long a large request may take at the server, transfer included.
const LARGE_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// A large request is sent this many times, fewer past `LARGE_SERIES_LIMIT`.
const LARGE_RUNS: usize = 5;
const LARGE_SERIES_LIMIT: Duration = Duration::from_secs(10);
/// Before the timed runs each policy gets this much load, discarded.
const WARM_UP: Duration = Duration::from_secs(1);

/// The binaries the host measurement needs.
pub struct HostTools {
    pub policy_server: PathBuf,
    pub kwctl: PathBuf,
    pub wrk: PathBuf,
}

impl HostTools {
    /// Finds the binaries, or says which one is missing.
    pub fn find(policy_server: &str, kwctl: &str) -> std::result::Result<HostTools, String> {
        let missing = |what: &str, given: &str| {
            if given.is_empty() {
                format!("no {what} given")
            } else {
                format!("no {what} at {given:?}")
            }
        };
        Ok(HostTools {
            policy_server: find_program(policy_server)
                .ok_or_else(|| missing("policy-server", policy_server))?,
            kwctl: find_program(kwctl).ok_or_else(|| missing("kwctl", kwctl))?,
            wrk: find_program("wrk").ok_or_else(|| "no wrk in PATH".to_string())?,
        })
    }
}

/// The modules to serve and what the server is given for them.
pub struct Setup<'a> {
    pub tools: &'a HostTools,
    pub policy_wasm: &'a Path,
    pub policy_metadata: &'a Path,
    pub floor_wasm: &'a Path,
    pub floor_metadata: &'a Path,
    /// The floor built to give the policy's answers (see the module's
    /// documentation); it shares the floor's metadata.
    pub same_answer_wasm: &'a Path,
    pub settings: Value,
    /// When given, the labels of every request's namespace for the policy
    /// served again with `namespace_labels: true` (their levels should be
    /// the settings', so that it gives the same answers).
    pub namespace_labels: Option<Value>,
    /// A scratch directory for the annotated modules, bodies and logs.
    pub dir: &'a Path,
}

/// How the load runs are shaped.
#[derive(Clone, Copy)]
pub struct LoadShape {
    pub run_time: Duration,
    /// Runs per policy and request; the order alternates between rounds.
    pub rounds: usize,
    pub connections: usize,
}

/// A request driven under load.
pub struct LoadCase {
    pub name: String,
    /// The AdmissionReview body.
    pub review: Vec<u8>,
    /// What the policy and the same-answer floor must answer; the floor
    /// accepts without a patch.
    pub expected: Expected,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    pub allowed: bool,
    pub patched: bool,
}

/// A large request, sent a few times in a row.
pub struct LargeCase {
    pub name: String,
    pub review: Vec<u8>,
}

/// A policy's figures under load on one request, over every round.
#[derive(Clone, Copy)]
pub struct LoadFigures {
    /// Answers per second over all rounds.
    pub per_second: f64,
    /// The mean of the rounds' p50 and p99.
    pub p50: Duration,
    pub p99: Duration,
    /// Non-2xx answers and socket errors.
    pub failures: u64,
    /// The server's CPU time per answer (all its threads), where the system
    /// counts it: unlike pods/s, it does not move with other work on the
    /// machine, and it is what a cluster pays for each pod admitted.
    pub cpu_per_answer: Option<Duration>,
}

/// One run of wrk, and the CPU time the server used during it.
#[derive(Clone, Copy)]
struct ServedRun {
    load: LoadRun,
    server_cpu: Option<Duration>,
}

impl LoadFigures {
    fn of(served: &[ServedRun]) -> LoadFigures {
        let runs: Vec<LoadRun> = served.iter().map(|run| run.load).collect();
        let requests: u64 = runs.iter().map(|run| run.requests).sum();
        let server_cpu: Option<Duration> = served.iter().map(|run| run.server_cpu).sum();
        let elapsed: Duration = runs.iter().map(|run| run.elapsed).sum();
        let mean = |value: fn(&LoadRun) -> Duration| {
            runs.iter().map(value).sum::<Duration>() / runs.len().max(1) as u32
        };
        LoadFigures {
            per_second: requests as f64 / elapsed.as_secs_f64(),
            p50: mean(|run| run.p50),
            p99: mean(|run| run.p99),
            failures: runs.iter().map(|run| run.non_2xx + run.socket_errors).sum(),
            cpu_per_answer: server_cpu
                .filter(|_| requests > 0)
                .map(|cpu| cpu.div_f64(requests as f64)),
        }
    }
}

pub struct LoadRow {
    pub name: String,
    pub policy: LoadFigures,
    pub floor: LoadFigures,
    pub same_answer: LoadFigures,
    /// The policy reading the request's namespace labels, when served.
    pub namespaces: Option<LoadFigures>,
}

/// The latency of a few requests in a row and what the first was answered.
pub struct LargeSeries {
    pub median: Duration,
    pub runs: usize,
    /// The server answered with an AdmissionReview (HTTP 200): the request
    /// reached the policy. policy-server refuses bodies over 2 MiB with 413.
    pub answered: bool,
    pub outcome: String,
}

pub struct LargeRow {
    pub name: String,
    pub policy: LargeSeries,
    pub floor: LargeSeries,
}

pub struct HostFigures {
    pub server_version: String,
    pub wrk_version: String,
    pub load: Vec<LoadRow>,
    pub large: Vec<LargeRow>,
    /// How many Namespace reads the fake API server answered in all, when
    /// the policy read namespace labels: the host's cache keeps a lookup
    /// for a few seconds.
    pub api_reads: Option<usize>,
}

/// Annotates both modules, starts the server, checks one answer of each
/// policy on each request, then measures. The server is stopped on return,
/// error or not.
pub fn measure(
    setup: &Setup,
    shape: LoadShape,
    load_cases: &[LoadCase],
    large_cases: &[LargeCase],
) -> Result<HostFigures> {
    let api = match &setup.namespace_labels {
        Some(labels) => Some(FakeApi::start(labelled_namespaces(load_cases, labels))?),
        None => None,
    };
    let server = start_server(setup, api.as_ref())?;
    let ids = served_ids(api.is_some());
    for case in load_cases {
        check_answer(&server, POLICY_ID, case, case.expected)?;
        if api.is_some() {
            check_answer(&server, NAMESPACES_ID, case, case.expected)?;
        }
        check_answer(&server, SAME_ANSWER_ID, case, case.expected)?;
        check_answer(
            &server,
            FLOOR_ID,
            case,
            Expected {
                allowed: true,
                patched: false,
            },
        )?;
    }
    let wrk = Wrk::new(&setup.tools.wrk, setup.dir)?;
    let bodies = write_bodies(setup.dir, load_cases)?;
    if let Some(first) = bodies.first() {
        for id in ids {
            wrk.run(&server.validate_url(id), first, WARM_UP, shape.connections)?;
        }
    }
    let mut load = Vec::with_capacity(load_cases.len());
    for (index, (case, body)) in load_cases.iter().zip(&bodies).enumerate() {
        load.push(measure_load(&server, &wrk, shape, ids, index, case, body)?);
    }
    let large = large_cases
        .iter()
        .map(|case| LargeRow {
            name: case.name.clone(),
            policy: send_large(&server, POLICY_ID, &case.review),
            floor: send_large(&server, FLOOR_ID, &case.review),
        })
        .collect();
    Ok(HostFigures {
        server_version: first_line_of(&setup.tools.policy_server, "--version"),
        wrk_version: wrk.version(),
        load,
        large,
        api_reads: api.map(|api| api.reads()),
    })
}

/// The policies served, in the order of the first round.
fn served_ids(namespaces: bool) -> &'static [&'static str] {
    if namespaces {
        &[POLICY_ID, FLOOR_ID, SAME_ANSWER_ID, NAMESPACES_ID]
    } else {
        &[POLICY_ID, FLOOR_ID, SAME_ANSWER_ID]
    }
}

/// A Namespace with `labels` for each namespace the cases' requests name.
fn labelled_namespaces(cases: &[LoadCase], labels: &Value) -> Vec<Value> {
    let mut names: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let review: Value = serde_json::from_slice(&case.review).ok()?;
            Some(review["request"]["namespace"].as_str()?.to_owned())
        })
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": name, "labels": labels},
                   "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        })
        .collect()
}

fn start_server(setup: &Setup, api: Option<&FakeApi>) -> Result<PolicyServer> {
    let policy_module = setup.dir.join("policy-annotated.wasm");
    let floor_module = setup.dir.join("floor-annotated.wasm");
    let same_answer_module = setup.dir.join("same-answer-annotated.wasm");
    for (wasm, metadata, annotated) in [
        (setup.policy_wasm, setup.policy_metadata, &policy_module),
        (setup.floor_wasm, setup.floor_metadata, &floor_module),
        (
            setup.same_answer_wasm,
            setup.floor_metadata,
            &same_answer_module,
        ),
    ] {
        annotate(&setup.tools.kwctl, wasm, metadata, annotated)?;
    }
    let mut policies = vec![
        ServedPolicy {
            id: POLICY_ID.into(),
            module: policy_module.clone(),
            settings: setup.settings.clone(),
            allowed_to_mutate: true,
            reads_namespaces: false,
        },
        ServedPolicy {
            id: FLOOR_ID.into(),
            module: floor_module,
            settings: json!({}),
            allowed_to_mutate: false,
            reads_namespaces: false,
        },
        ServedPolicy {
            id: SAME_ANSWER_ID.into(),
            module: same_answer_module,
            settings: json!({}),
            allowed_to_mutate: true,
            reads_namespaces: false,
        },
    ];
    let kubeconfig = match api {
        Some(api) => {
            let mut settings = setup.settings.clone();
            settings["namespace_labels"] = json!(true);
            policies.push(ServedPolicy {
                id: NAMESPACES_ID.into(),
                module: policy_module,
                settings,
                allowed_to_mutate: true,
                reads_namespaces: true,
            });
            Some(api.kubeconfig(setup.dir)?)
        }
        None => None,
    };
    PolicyServer::start_with_cluster(
        &setup.tools.policy_server,
        &policies,
        setup.dir,
        kubeconfig.as_deref(),
    )
}

/// One request before any timing, so that a broken setup is not measured.
fn check_answer(
    server: &PolicyServer,
    id: &str,
    case: &LoadCase,
    expected: Expected,
) -> Result<()> {
    let verdict = server
        .validate(id, &case.review, LARGE_REQUEST_TIMEOUT)
        .and_then(|response| response.verdict())
        .with_context(|| format!("{id} on {:?}", case.name))?;
    let actual = Expected {
        allowed: verdict.allowed,
        patched: verdict.patched,
    };
    if actual != expected {
        bail!(
            "{id} on {:?} answers {} where {} was expected ({})",
            case.name,
            describe_expected(actual),
            describe_expected(expected),
            verdict.message.unwrap_or_default()
        );
    }
    Ok(())
}

fn describe_expected(expected: Expected) -> String {
    format!(
        "{}{}",
        if expected.allowed {
            "allowed"
        } else {
            "rejected"
        },
        if expected.patched {
            " with a patch"
        } else {
            ""
        }
    )
}

fn write_bodies(dir: &Path, cases: &[LoadCase]) -> Result<Vec<PathBuf>> {
    cases
        .iter()
        .enumerate()
        .map(|(index, case)| {
            let path = dir.join(format!("review-{index}.json"));
            std::fs::write(&path, &case.review)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// The rounds of one request: the policy and the floors take turns, and
/// which goes first rotates, so that drift in the machine's load weighs on
/// each alike.
fn measure_load(
    server: &PolicyServer,
    wrk: &Wrk,
    shape: LoadShape,
    ids: &[&str],
    index: usize,
    case: &LoadCase,
    body: &Path,
) -> Result<LoadRow> {
    let mut runs: Vec<Vec<ServedRun>> = vec![Vec::with_capacity(shape.rounds); ids.len()];
    for round in 0..shape.rounds {
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.rotate_left((index + round) % ids.len());
        for slot in order {
            let id = ids[slot];
            let cpu_before = server.cpu_time();
            let load = wrk
                .run(
                    &server.validate_url(id),
                    body,
                    shape.run_time,
                    shape.connections,
                )
                .with_context(|| format!("{id} on {:?}", case.name))?;
            let server_cpu = cpu_before
                .zip(server.cpu_time())
                .map(|(before, after)| after.saturating_sub(before));
            runs[slot].push(ServedRun { load, server_cpu });
        }
    }
    let figures = |id: &str| {
        ids.iter()
            .position(|served| *served == id)
            .map(|slot| LoadFigures::of(&runs[slot]))
    };
    let served = |id: &str| figures(id).expect("the three modules are always served");
    Ok(LoadRow {
        name: case.name.clone(),
        policy: served(POLICY_ID),
        floor: served(FLOOR_ID),
        same_answer: served(SAME_ANSWER_ID),
        namespaces: figures(NAMESPACES_ID),
    })
}

/// Sends a large request a few times, one at a time. A failed answer is
/// reported in the outcome, not as an error: that is what is measured.
fn send_large(server: &PolicyServer, id: &str, review: &[u8]) -> LargeSeries {
    let started = Instant::now();
    let mut times = Vec::with_capacity(LARGE_RUNS);
    let mut first = None;
    while times.len() < LARGE_RUNS && (times.is_empty() || started.elapsed() < LARGE_SERIES_LIMIT) {
        let sent = Instant::now();
        let response = server.validate(id, review, LARGE_REQUEST_TIMEOUT);
        times.push(sent.elapsed());
        if first.is_none() {
            first = Some(match response.and_then(|response| response.verdict()) {
                Ok(verdict) => (true, describe_verdict(&verdict)),
                Err(err) => (false, format!("FAILED: {}", short(&format!("{err:#}")))),
            });
        }
    }
    times.sort_unstable();
    let (answered, outcome) = first.unwrap_or_default();
    LargeSeries {
        median: times[times.len() / 2],
        runs: times.len(),
        answered,
        outcome,
    }
}

fn describe_verdict(verdict: &Verdict) -> String {
    match (verdict.allowed, verdict.patched) {
        (true, true) => "allowed, patched".into(),
        (true, false) => "allowed".into(),
        (false, _) => format!(
            "REJECTED{}: {}",
            verdict
                .code
                .map(|code| format!(" ({code})"))
                .unwrap_or_default(),
            short(verdict.message.as_deref().unwrap_or_default())
        ),
    }
}

/// A message cut to fit a table cell.
fn short(message: &str) -> String {
    const WIDTH: usize = 72;
    let line = message.lines().next().unwrap_or_default();
    if line.chars().count() <= WIDTH {
        line.to_string()
    } else {
        format!("{}…", line.chars().take(WIDTH).collect::<String>())
    }
}

fn first_line_of(binary: &Path, flag: &str) -> String {
    std::process::Command::new(binary)
        .arg(flag)
        .output()
        .ok()
        .and_then(|output| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .next()
                .map(|line| line.trim().to_string())
        })
        .unwrap_or_else(|| "unknown version".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(requests: u64, millis: u64, p50_us: u64, p99_us: u64) -> ServedRun {
        ServedRun {
            load: LoadRun {
                requests,
                elapsed: Duration::from_millis(millis),
                p50: Duration::from_micros(p50_us),
                p99: Duration::from_micros(p99_us),
                non_2xx: 0,
                socket_errors: 1,
            },
            server_cpu: Some(Duration::from_millis(millis / 2)),
        }
    }

    #[test]
    fn figures_add_up_the_rounds() {
        let figures = LoadFigures::of(&[run(3000, 1000, 100, 300), run(1000, 1000, 300, 500)]);
        assert!((figures.per_second - 2000.0).abs() < 1e-9);
        assert_eq!(figures.p50, Duration::from_micros(200));
        assert_eq!(figures.p99, Duration::from_micros(400));
        assert_eq!(figures.failures, 2);
        assert_eq!(figures.cpu_per_answer, Some(Duration::from_micros(250)));
    }

    #[test]
    fn without_the_servers_cpu_time_there_is_no_cpu_figure() {
        let mut unmeasured = run(1000, 1000, 100, 300);
        unmeasured.server_cpu = None;
        let figures = LoadFigures::of(&[run(1000, 1000, 100, 300), unmeasured]);
        assert_eq!(figures.cpu_per_answer, None);
    }

    #[test]
    fn long_messages_are_cut() {
        assert_eq!(short("one\ntwo"), "one");
        assert_eq!(short(&"x".repeat(80)).chars().count(), 73);
    }
}
