//! `make bench`: what the policy costs next to the floor, a module built with
//! the same SDK and profile that only parses the request and accepts it.
//!
//! In the guest, for every request of `bench/requests/` and for Pods of 1,
//! 5, 20 and 100 containers, it prints the p50 and p99 of one `validate`
//! call on a warm instance and on a fresh instance per call (policy-server
//! instantiates per request), for the policy, for the floor, and their
//! ratio; then the module sizes and compile+instantiate times; then the
//! large requests (megabytes of labels or annotations, 1,000 containers),
//! whose cost must stay linear.
//!
//! At the host, when a policy-server, kwctl and wrk are there, it serves
//! both modules from one policy-server on 127.0.0.1 and prints pods/s, p50
//! and p99 per request under load, and the latency of the large requests;
//! and the policy again with `namespace_labels: true`, each request's
//! Namespace (labelled with the settings' levels) served by a fake
//! Kubernetes API, as in a labelled cluster: one lookup per request.
//!
//! Last, the targets of the project, met or missed. It is a measurement: a
//! missed target is printed, not an error. A host that cannot be set up is
//! an error, after everything else is printed.
//!
//! With `--kwctl-bench` it also runs `kwctl bench` on the requests.
//!
//! Usage: bench [--policy-server PATH] [--kwctl PATH] [--kwctl-bench]
//!              [POLICY_WASM [FLOOR_WASM [REQUESTS_DIR]]]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use secure_pod_defaults_e2e::cases::yaml_files;
use secure_pod_defaults_e2e::host_bench::{self, HostFigures, HostTools, LoadShape};
use secure_pod_defaults_e2e::large_requests::{
    deployment_update_with_labels, pod_with_apparmor_annotations, pod_with_containers,
};
use secure_pod_defaults_e2e::policy_server::admission_review;
use secure_pod_defaults_e2e::request::request_object;
use secure_pod_defaults_e2e::{
    Answer, Cluster, Host, ImageLookup, OCI_MANIFEST_CONFIG_CAPABILITY, POLICY_TIMEOUT,
    PolicyInstance, answer_from_response, complete_request, default_wasm_path, validate_payload,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// Timed `validate` calls on one warm instance, after `WARM_UP_CALLS`.
const WARM_CALLS: usize = 2000;
const WARM_UP_CALLS: usize = 200;
/// Timed instantiate + `validate` calls, after `FRESH_WARM_UP_CALLS`.
const FRESH_CALLS: usize = 300;
const FRESH_WARM_UP_CALLS: usize = 20;
/// Compile+instantiate is slow and varies little: the median of a few runs.
const COMPILE_RUNS: usize = 5;
/// A series stops early past this time (keeping at least `MIN_CALLS`), so
/// that a slow module cannot make the whole run last many minutes.
const SERIES_TIME_LIMIT: Duration = Duration::from_secs(10);
const MIN_CALLS: usize = 100;

/// The container counts of the scaling series.
const SCALING_CONTAINERS: [usize; 4] = [1, 5, 20, 100];

/// A large request is timed on this many fresh instances, fewer once the
/// series has taken `SERIES_TIME_LIMIT` (one at least).
const LARGE_RUNS: usize = 5;
/// The guest's time limit here: long enough to time a call that
/// policy-server would cut short at `POLICY_TIMEOUT`.
const GUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The load at the server, unless set in the environment.
const DEFAULT_RUN_SECONDS: u64 = 3;
const DEFAULT_ROUNDS: usize = 2;
const DEFAULT_CONNECTIONS: usize = 4;

/// The targets of the project (issue 12), on a 2-core machine.
const MAX_MODULE_BYTES: u64 = 500 * 1024;
const MAX_COMPILE_INSTANTIATE: Duration = Duration::from_millis(300);
const MAX_FRESH_RATIO: f64 = 1.3;
const MIN_PODS_RATIO: f64 = 0.85;
const MAX_P99_RATIO: f64 = 1.25;
const MAX_LARGE_RATIO: f64 = 3.0;

/// The settings every request is evaluated with (the floor ignores them):
/// those the targets are set for, or the JSON in `BENCH_SETTINGS` to measure
/// other settings.
fn bench_settings() -> Value {
    std::env::var("BENCH_SETTINGS")
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| json!({"secure_pod_defaults": "enabled", "pod_security": "restricted"}))
}

/// A number from the environment, or `default`.
fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// What the command line says.
struct Options {
    policy: PathBuf,
    floor: PathBuf,
    requests: PathBuf,
    policy_metadata: PathBuf,
    floor_metadata: PathBuf,
    /// The floor's crate, built again as the same-answer floor.
    floor_crate: PathBuf,
    policy_server: String,
    kwctl: String,
    kwctl_bench: bool,
}

impl Options {
    fn parse() -> Result<Options> {
        let repository = secure_pod_defaults_e2e::repository_root();
        let mut positional = Vec::new();
        let mut policy_server = String::new();
        let mut kwctl = String::new();
        let mut kwctl_bench = false;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--policy-server" => {
                    policy_server = args.next().context("--policy-server needs a path")?
                }
                "--kwctl" => kwctl = args.next().context("--kwctl needs a path")?,
                "--kwctl-bench" => kwctl_bench = true,
                flag if flag.starts_with("--") => bail!("unknown option {flag}"),
                _ => positional.push(PathBuf::from(arg)),
            }
        }
        if positional.len() > 3 {
            bail!("at most three paths: POLICY_WASM FLOOR_WASM REQUESTS_DIR");
        }
        let mut positional = positional.into_iter();
        let policy = positional.next().unwrap_or_else(default_wasm_path);
        let floor = positional.next().unwrap_or_else(|| {
            repository.join("bench/floor/target/wasm32-wasip1/release/floor.wasm")
        });
        let requests = positional
            .next()
            .unwrap_or_else(|| repository.join("bench/requests"));
        Ok(Options {
            policy,
            floor,
            requests,
            policy_metadata: repository.join("metadata.yml"),
            floor_metadata: repository.join("bench/floor/metadata.yml"),
            floor_crate: repository.join("bench/floor"),
            policy_server,
            kwctl,
            kwctl_bench,
        })
    }
}

/// One file of `bench/requests/`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile {
    /// The short name in the tables.
    name: String,
    /// What the request is, for someone reading the file.
    #[allow(dead_code)]
    title: String,
    /// The policy must accept the object unchanged.
    #[serde(default)]
    already_compliant: bool,
    /// The policy's pods/s at the policy-server must be at least this times
    /// the floor's; `MIN_PODS_RATIO` when absent.
    #[serde(default)]
    min_pods_per_second_ratio: Option<f64>,
    /// The AdmissionRequest, written as in the e2e cases.
    request: Value,
}

/// A request ready to be sent.
struct BenchRequest {
    name: String,
    already_compliant: bool,
    /// A pods/s target of its own at the policy-server, if any.
    pods_ratio_target: Option<f64>,
    admission_request: Value,
    /// The size of the AdmissionRequest as JSON.
    request_bytes: usize,
    /// The whole `validate` payload: settings and request.
    payload: Vec<u8>,
    /// The image lookups the policy makes for it, each answered with a
    /// non-root user (none unless the settings read images).
    lookups: Cluster,
}

impl BenchRequest {
    fn new(name: String, written: &Value) -> Result<BenchRequest> {
        let mut admission_request = complete_request(written)?;
        // The same-answer floor finds its answer by the request's uid.
        admission_request["uid"] = Value::String(format!("bench {name}"));
        let request_bytes = serde_json::to_vec(&admission_request)?.len();
        let payload = validate_payload(&bench_settings(), &admission_request);
        Ok(BenchRequest {
            name,
            already_compliant: false,
            pods_ratio_target: None,
            admission_request,
            request_bytes,
            payload,
            lookups: Cluster::default(),
        })
    }

    /// The AdmissionReview the API server would post for it.
    fn review(&self) -> Vec<u8> {
        serde_json::to_vec(&admission_review(&self.admission_request))
            .expect("a JSON value always serializes")
    }
}

/// A compiled module and where it came from.
struct Module {
    name: &'static str,
    path: PathBuf,
    wasm: Vec<u8>,
    host: Host,
}

impl Module {
    fn load(name: &'static str, path: &Path) -> Result<Module> {
        let wasm =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let host = Host::from_bytes_with_timeout(&wasm, GUEST_TIMEOUT)
            .with_context(|| format!("cannot compile {}", path.display()))?;
        Ok(Module {
            name,
            path: path.to_path_buf(),
            wasm,
            host,
        })
    }

    fn size(&self) -> u64 {
        self.wasm.len() as u64
    }
}

/// The p50 and p99 of a series of timings.
#[derive(Clone, Copy)]
struct Percentiles {
    p50: Duration,
    p99: Duration,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Percentiles {
        samples.sort_unstable();
        let at = |quantile: f64| {
            let index = ((samples.len() - 1) as f64 * quantile).round() as usize;
            samples[index]
        };
        Percentiles {
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// One module's figures for one request.
struct Figures {
    warm: Percentiles,
    fresh: Percentiles,
}

struct Row {
    name: String,
    request_bytes: usize,
    policy: Figures,
    floor: Figures,
}

/// A large request in the guest: the median time on a fresh instance, and
/// what the module answered.
struct LargeSeries {
    median: Duration,
    runs: usize,
    answer: String,
}

struct LargeRow {
    name: String,
    request_bytes: usize,
    policy: LargeSeries,
    floor: LargeSeries,
}

/// What became of the measurement at the host.
enum HostOutcome {
    Skipped(String),
    Failed(anyhow::Error),
    Measured(HostFigures),
}

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
    let options = Options::parse()?;
    let policy = Module::load("policy", &options.policy)?;
    let floor = Module::load("floor", &options.floor)?;
    let mut requests = load_requests(&options.requests)?;
    let mut scaling = scaling_requests()?;
    let mut large = large_requests()?;
    for request in requests.iter_mut().chain(&mut scaling).chain(&mut large) {
        request.lookups = answered_lookups(&policy, request)?;
    }

    print_header();

    println!("Answers, checked once before timing:");
    let mut expected = Vec::new();
    let mut unexpected = Vec::new();
    for request in requests.iter().chain(&scaling) {
        let (answer, problems) = check_answers(&policy, &floor, request)?;
        expected.push(host_bench::Expected {
            allowed: answer.allowed,
            patched: answer.patch.is_some(),
        });
        unexpected.extend(problems);
    }
    for problem in &unexpected {
        println!("  UNEXPECTED: {problem}");
    }
    println!();

    let policy_compile = compile_and_instantiate(&policy)?;
    let floor_compile = compile_and_instantiate(&floor)?;
    print_modules(&policy, &floor, policy_compile, floor_compile);

    let rows = measure_rows(&policy, &floor, &requests)?;
    let scaling_rows = measure_rows(&policy, &floor, &scaling)?;
    print_table(&rows, &scaling_rows);
    print_growth(&scaling_rows);
    println!();

    let large_rows = large
        .iter()
        .map(|request| measure_large(&policy, &floor, request))
        .collect::<Result<Vec<_>>>()?;
    print_large_table(&large_rows);

    let host = measure_host(&options, &policy, &requests, &expected, &large);
    print_host(&host, &requests);
    println!("load at the end: {}", load_average());
    println!();

    let mut targets = guest_targets(
        &policy,
        policy_compile,
        rows.iter().chain(&scaling_rows),
        &large_rows,
    );
    targets.extend(host_targets(&host, &requests));
    print_targets(&targets, unexpected.len());

    if options.kwctl_bench {
        println!();
        run_kwctl_bench(
            Path::new(&options.kwctl),
            &[&policy, &floor],
            requests.iter().chain(&scaling),
        )?;
    }
    match host {
        HostOutcome::Failed(err) => Err(err.context("the measurement at policy-server failed")),
        _ => Ok(()),
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// The request files, in the order of their names.
fn load_requests(dir: &Path) -> Result<Vec<BenchRequest>> {
    let files = yaml_files(dir)?;
    if files.is_empty() {
        bail!("no request file in {}", dir.display());
    }
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let file: RequestFile =
                serde_norway::from_str(&text).with_context(|| format!("in {}", path.display()))?;
            let mut request = BenchRequest::new(file.name, &file.request)
                .with_context(|| format!("in {}", path.display()))?;
            request.already_compliant = file.already_compliant;
            request.pods_ratio_target = file.min_pods_per_second_ratio;
            Ok(request)
        })
        .collect()
}

fn scaling_requests() -> Result<Vec<BenchRequest>> {
    SCALING_CONTAINERS
        .iter()
        .map(|&count| {
            let name = format!("scaling: {count} container{}", plural(count));
            BenchRequest::new(name, &pod_with_containers(count))
        })
        .collect()
}

/// The requests of megabytes, built here rather than kept as files.
fn large_requests() -> Result<Vec<BenchRequest>> {
    [
        (
            "deployment UPDATE, 20,000 labels",
            deployment_update_with_labels(20_000),
        ),
        (
            "deployment UPDATE, 50,000 labels",
            deployment_update_with_labels(50_000),
        ),
        (
            "pod, 50,000 AppArmor annotations",
            pod_with_apparmor_annotations(50_000),
        ),
        ("pod, 1,000 containers", pod_with_containers(1000)),
    ]
    .into_iter()
    .map(|(name, written)| BenchRequest::new(name.into(), &written))
    .collect()
}

fn print_header() {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("secure-pod-defaults benchmark: the policy next to the floor");
    println!("(the floor parses the request with the SDK's ValidationRequest and accepts it)");
    println!();
    println!("date:      {}", date_now());
    println!("machine:   {cpus} cores (nproc), {}", cpu_model());
    println!(
        "load:      {} (1, 5, 15 min averages at the start)",
        load_average()
    );
    println!("guest:     wapc + wasmtime-provider, the engine of policy-server and kwctl");
    println!("settings:  {} (the floor ignores them)", bench_settings());
    println!(
        "warm:      one instance, {WARM_UP_CALLS} calls to warm up, then {WARM_CALLS} timed `validate` calls"
    );
    println!(
        "fresh:     a new instance per call (instantiate + `validate`), {FRESH_CALLS} timed calls"
    );
    println!(
        "the policy's and the floor's calls take turns, so load on the machine weighs on both"
    );
    println!("all times are µs unless marked; ratio = policy / floor");
    println!();
}

fn date_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Other work on the machine shows in the p99s: the load says how much.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".into())
}

fn cpu_model() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpuinfo
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU model".into())
}

/// The image lookups the policy makes for `request`, found by running it
/// once, each answered as an image that runs as UID 65532, so that every
/// timed call makes them and gets a host's answer, as at a host that reads
/// its registries (the answers the host caches). With settings that read no
/// image, there are none.
fn answered_lookups(policy: &Module, request: &BenchRequest) -> Result<Cluster> {
    let answer = policy
        .host
        .evaluate(&bench_settings(), &request.admission_request)?;
    let capability = format!(
        "{}/{}/{}",
        OCI_MANIFEST_CONFIG_CAPABILITY.0,
        OCI_MANIFEST_CONFIG_CAPABILITY.1,
        OCI_MANIFEST_CONFIG_CAPABILITY.2
    );
    let non_root = json!({"User": "65532"});
    let mut images = Vec::new();
    for call in answer
        .host_calls
        .iter()
        .filter(|call| call.capability() == capability)
    {
        let image: String = serde_json::from_str(&call.payload)
            .with_context(|| format!("an image lookup for {:?}", request.name))?;
        images.push(ImageLookup::with_config(&image, Some(&non_root)));
    }
    Ok(Cluster {
        images,
        ..Cluster::default()
    })
}

/// Prints what each module answers, and returns the policy's answer and
/// what is not as expected: every request must be accepted, and changed
/// unless already compliant.
fn check_answers(
    policy: &Module,
    floor: &Module,
    request: &BenchRequest,
) -> Result<(Answer, Vec<String>)> {
    let settings = bench_settings();
    let policy_answer =
        policy
            .host
            .evaluate_in(&request.lookups, &settings, &request.admission_request)?;
    let floor_answer = floor.host.evaluate(&settings, &request.admission_request)?;
    println!(
        "  {:<NAME_WIDTH$} policy: {:<46} floor: {}",
        request.name,
        describe(&policy_answer),
        describe(&floor_answer)
    );
    let mut problems = Vec::new();
    for (module, answer) in [(policy.name, &policy_answer), (floor.name, &floor_answer)] {
        if answer.trapped {
            bail!(
                "{module} failed on {:?}: {}",
                request.name,
                answer.message.as_deref().unwrap_or_default()
            );
        }
        if !answer.allowed {
            problems.push(format!(
                "{module} rejects {:?}: {}",
                request.name,
                answer.message.as_deref().unwrap_or_default()
            ));
        }
    }
    let mutated = policy_answer.patch.is_some();
    if request.already_compliant && mutated {
        problems.push(format!(
            "the policy changes {:?}, which should already be compliant",
            request.name
        ));
    }
    if !request.already_compliant && !mutated && policy_answer.allowed {
        problems.push(format!(
            "the policy leaves {:?} unchanged: nothing is defaulted",
            request.name
        ));
    }
    Ok((policy_answer, problems))
}

fn describe(answer: &Answer) -> String {
    if answer.trapped {
        return format!("FAILED: {}", answer.message.as_deref().unwrap_or_default());
    }
    let verdict = if answer.allowed {
        "allowed"
    } else {
        "REJECTED"
    };
    let change = match &answer.patch {
        Some(operations) => format!(
            "mutated, {} patch op{}",
            operations.len(),
            plural(operations.len())
        ),
        None => "unchanged".into(),
    };
    let warnings = answer.warnings.len();
    format!(
        "{verdict}, {change}, {warnings} warning{}",
        plural(warnings)
    )
}

/// The median time to compile the module and instantiate it once.
fn compile_and_instantiate(module: &Module) -> Result<Duration> {
    let mut samples = Vec::with_capacity(COMPILE_RUNS);
    for _ in 0..COMPILE_RUNS {
        let start = Instant::now();
        let host = Host::from_bytes(&module.wasm)?;
        let instance = host.instantiate()?;
        samples.push(start.elapsed());
        drop(instance);
    }
    Ok(Percentiles::of(samples).p50)
}

fn print_modules(
    policy: &Module,
    floor: &Module,
    policy_compile: Duration,
    floor_compile: Duration,
) {
    let kb = |module: &Module| module.size() as f64 / 1024.0;
    println!(
        "{:<32} {:>12} {:>12} {:>7}",
        "module", "policy", "floor", "ratio"
    );
    println!(
        "{:<32} {:>9.1} KB {:>9.1} KB {:>6.2}×",
        "size (1 KB = 1024 bytes)",
        kb(policy),
        kb(floor),
        kb(policy) / kb(floor)
    );
    println!(
        "{:<32} {:>9.1} ms {:>9.1} ms {:>6.2}×",
        format!("compile+instantiate (median of {COMPILE_RUNS})"),
        millis(policy_compile),
        millis(floor_compile),
        ratio(policy_compile, floor_compile)
    );
    println!("policy: {}", policy.path.display());
    println!("floor:  {}", floor.path.display());
    println!();
}

fn measure_rows(policy: &Module, floor: &Module, requests: &[BenchRequest]) -> Result<Vec<Row>> {
    requests
        .iter()
        .map(|request| measure_row(policy, floor, request))
        .collect()
}

fn measure_row(policy: &Module, floor: &Module, request: &BenchRequest) -> Result<Row> {
    let (policy_warm, floor_warm) = measure_warm(policy, floor, request)?;
    let (policy_fresh, floor_fresh) = measure_fresh(policy, floor, request)?;
    Ok(Row {
        name: request.name.clone(),
        request_bytes: request.request_bytes,
        policy: Figures {
            warm: policy_warm,
            fresh: policy_fresh,
        },
        floor: Figures {
            warm: floor_warm,
            fresh: floor_fresh,
        },
    })
}

/// One `validate` call on a live instance.
fn timed_call(instance: &mut PolicyInstance, payload: &[u8]) -> Result<Duration> {
    let start = Instant::now();
    let response = instance.call_raw("validate", payload)?;
    let elapsed = start.elapsed();
    black_box(response);
    Ok(elapsed)
}

/// A new instance and one `validate` call on it, its lookups answered from
/// `lookups`; dropping the instance is left out of the time.
fn timed_fresh_call(module: &Module, payload: &[u8], lookups: &Cluster) -> Result<Duration> {
    let lookups = lookups.clone();
    let start = Instant::now();
    let mut instance = module.host.instantiate()?;
    instance.set_cluster(lookups);
    let response = instance.call_raw("validate", payload)?;
    let elapsed = start.elapsed();
    black_box(response);
    drop(instance);
    Ok(elapsed)
}

/// Warm calls, the policy's and the floor's taking turns, so that a change
/// in the machine's load during the series weighs on both alike.
fn measure_warm(
    policy: &Module,
    floor: &Module,
    request: &BenchRequest,
) -> Result<(Percentiles, Percentiles)> {
    let payload = &request.payload;
    let mut policy_instance = policy.host.instantiate()?;
    policy_instance.set_cluster(request.lookups.clone());
    let mut floor_instance = floor.host.instantiate()?;
    for _ in 0..WARM_UP_CALLS {
        timed_call(&mut policy_instance, payload)?;
        timed_call(&mut floor_instance, payload)?;
    }
    time_in_turns(WARM_CALLS, || {
        Ok((
            timed_call(&mut policy_instance, payload)?,
            timed_call(&mut floor_instance, payload)?,
        ))
    })
}

/// Fresh-instance calls, taking turns as in `measure_warm`.
fn measure_fresh(
    policy: &Module,
    floor: &Module,
    request: &BenchRequest,
) -> Result<(Percentiles, Percentiles)> {
    let (payload, lookups) = (&request.payload, &request.lookups);
    let none = Cluster::default();
    for _ in 0..FRESH_WARM_UP_CALLS {
        timed_fresh_call(policy, payload, lookups)?;
        timed_fresh_call(floor, payload, &none)?;
    }
    time_in_turns(FRESH_CALLS, || {
        Ok((
            timed_fresh_call(policy, payload, lookups)?,
            timed_fresh_call(floor, payload, &none)?,
        ))
    })
}

/// Runs `turn` `calls` times (fewer past `SERIES_TIME_LIMIT`) and returns
/// the percentiles of the policy's and of the floor's durations.
fn time_in_turns(
    calls: usize,
    mut turn: impl FnMut() -> Result<(Duration, Duration)>,
) -> Result<(Percentiles, Percentiles)> {
    let started = Instant::now();
    let mut policy_samples = Vec::with_capacity(calls);
    let mut floor_samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let (policy, floor) = turn()?;
        policy_samples.push(policy);
        floor_samples.push(floor);
        if policy_samples.len() >= MIN_CALLS && started.elapsed() > SERIES_TIME_LIMIT {
            break;
        }
    }
    Ok((
        Percentiles::of(policy_samples),
        Percentiles::of(floor_samples),
    ))
}

fn measure_large(policy: &Module, floor: &Module, request: &BenchRequest) -> Result<LargeRow> {
    Ok(LargeRow {
        name: request.name.clone(),
        request_bytes: request.request_bytes,
        policy: large_series(policy, request)?,
        floor: large_series(floor, request)?,
    })
}

/// Fresh-instance calls on a large request, up to `LARGE_RUNS` and for
/// about `SERIES_TIME_LIMIT` at most. A call that fails is timed as well and
/// its failure shown as the answer.
fn large_series(module: &Module, request: &BenchRequest) -> Result<LargeSeries> {
    let started = Instant::now();
    let mut times = Vec::with_capacity(LARGE_RUNS);
    let mut answer = None;
    while times.len() < LARGE_RUNS && (times.is_empty() || started.elapsed() < SERIES_TIME_LIMIT) {
        let lookups = request.lookups.clone();
        let start = Instant::now();
        let mut instance = module.host.instantiate()?;
        instance.set_cluster(lookups);
        let response = instance.call_raw("validate", &request.payload);
        times.push(start.elapsed());
        drop(instance);
        if answer.is_none() {
            answer = Some(match response {
                Ok(bytes) => describe(&answer_from_response(
                    request_object(&request.admission_request),
                    &bytes,
                )),
                Err(err) => format!("FAILED: {err:#}"),
            });
        }
    }
    times.sort_unstable();
    Ok(LargeSeries {
        median: times[times.len() / 2],
        runs: times.len(),
        answer: answer.unwrap_or_default(),
    })
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn ratio(policy: Duration, floor: Duration) -> f64 {
    policy.as_secs_f64() / floor.as_secs_f64()
}

fn pair(percentiles: Percentiles) -> String {
    format!(
        "{:.1} / {:.1}",
        micros(percentiles.p50),
        micros(percentiles.p99)
    )
}

const NAME_WIDTH: usize = 33;

fn print_table(rows: &[Row], scaling_rows: &[Row]) {
    println!("In the guest: one `validate` call, p50 / p99 in µs");
    let header = format!(
        "{:<NAME_WIDTH$} {:>6} | {:>19} | {:>19} | {:>5} | {:>19} | {:>19} | {:>5}",
        "request",
        "bytes",
        "policy warm p50/p99",
        "floor warm p50/p99",
        "ratio",
        "policy fresh p50/p99",
        "floor fresh p50/p99",
        "ratio"
    );
    let rule = "-".repeat(header.chars().count());
    println!("{header}");
    println!("{rule}");
    for row in rows {
        print_row(row);
    }
    println!("{rule}");
    for row in scaling_rows {
        print_row(row);
    }
    println!("{rule}");
    println!("bytes: the AdmissionRequest as compact JSON; ratio: of the p50s");
}

fn print_row(row: &Row) {
    println!(
        "{:<NAME_WIDTH$} {:>6} | {:>19} | {:>19} | {:>5.2} | {:>19} | {:>19} | {:>5.2}",
        row.name,
        row.request_bytes,
        pair(row.policy.warm),
        pair(row.floor.warm),
        ratio(row.policy.warm.p50, row.floor.warm.p50),
        pair(row.policy.fresh),
        pair(row.floor.fresh),
        ratio(row.policy.fresh.p50, row.floor.fresh.p50),
    );
}

/// The warm p50 cost of each added container between the scaling points:
/// roughly constant when the cost grows linearly.
fn print_growth(scaling_rows: &[Row]) {
    let steps: Vec<String> = scaling_rows
        .windows(2)
        .zip(SCALING_CONTAINERS.windows(2))
        .map(|(rows, counts)| {
            let added = (counts[1] - counts[0]) as f64;
            let per_container = |figures: fn(&Row) -> Duration| {
                (micros(figures(&rows[1])) - micros(figures(&rows[0]))) / added
            };
            format!(
                "{}→{}: policy {:.1}, floor {:.1}",
                counts[0],
                counts[1],
                per_container(|row| row.policy.warm.p50),
                per_container(|row| row.floor.warm.p50)
            )
        })
        .collect();
    println!("warm p50 µs per added container: {}", steps.join("; "));
}

fn print_large_table(rows: &[LargeRow]) {
    println!(
        "Large requests in the guest: median of up to {LARGE_RUNS} calls on a fresh instance, in ms"
    );
    let header = format!(
        "{:<NAME_WIDTH$} {:>9} | {:>9} {:>9} {:>6} | {}",
        "request", "bytes", "policy", "floor", "ratio", "policy's answer"
    );
    let rule = "-".repeat(header.chars().count() + 20);
    println!("{header}");
    println!("{rule}");
    for row in rows {
        let past_timeout = if row.policy.median > POLICY_TIMEOUT {
            format!(
                " (past policy-server's {} s timeout)",
                POLICY_TIMEOUT.as_secs()
            )
        } else {
            String::new()
        };
        println!(
            "{:<NAME_WIDTH$} {:>9} | {:>9.1} {:>9.1} {:>5.2}× | {}{past_timeout}",
            row.name,
            row.request_bytes,
            millis(row.policy.median),
            millis(row.floor.median),
            ratio(row.policy.median, row.floor.median),
            row.policy.answer,
        );
    }
    println!("{rule}");
    let runs: Vec<String> = rows
        .iter()
        .map(|row| format!("{} {}/{}", row.name, row.policy.runs, row.floor.runs))
        .collect();
    println!("runs (policy/floor): {}", runs.join("; "));
    println!();
}

/// The load at the server, from `BENCH_SERVER_SECONDS`, `BENCH_SERVER_ROUNDS`
/// and `BENCH_CONNECTIONS`.
fn load_shape() -> LoadShape {
    LoadShape {
        run_time: Duration::from_secs(env_number("BENCH_SERVER_SECONDS", DEFAULT_RUN_SECONDS)),
        rounds: env_number("BENCH_SERVER_ROUNDS", DEFAULT_ROUNDS).max(1),
        connections: env_number("BENCH_CONNECTIONS", DEFAULT_CONNECTIONS).max(1),
    }
}

/// Runs the measurement at policy-server when its binaries are there.
fn measure_host(
    options: &Options,
    policy: &Module,
    requests: &[BenchRequest],
    expected: &[host_bench::Expected],
    large: &[BenchRequest],
) -> HostOutcome {
    let tools = match HostTools::find(&options.policy_server, &options.kwctl) {
        Ok(tools) => tools,
        Err(reason) => return HostOutcome::Skipped(reason),
    };
    let shape = load_shape();
    println!(
        "At policy-server: {} (kwctl {}), wrk from one thread over {} connections, \
         {} round{} of {} s per request for each module, taking turns",
        tools.policy_server.display(),
        tools.kwctl.display(),
        shape.connections,
        shape.rounds,
        plural(shape.rounds),
        shape.run_time.as_secs()
    );
    let load_cases: Vec<host_bench::LoadCase> = requests
        .iter()
        .zip(expected)
        .map(|(request, &expected)| host_bench::LoadCase {
            name: request.name.clone(),
            review: request.review(),
            expected,
        })
        .collect();
    let large_cases: Vec<host_bench::LargeCase> = large
        .iter()
        .map(|request| host_bench::LargeCase {
            name: request.name.clone(),
            review: request.review(),
        })
        .collect();
    let result = ScratchDir::create().and_then(|scratch| {
        let same_answer_wasm = build_same_answer_floor(options, policy, requests, &scratch.0)?;
        let setup = host_bench::Setup {
            tools: &tools,
            policy_wasm: &options.policy,
            policy_metadata: &options.policy_metadata,
            floor_wasm: &options.floor,
            floor_metadata: &options.floor_metadata,
            same_answer_wasm: &same_answer_wasm,
            settings: bench_settings(),
            namespace_labels: Some(namespace_labels(&bench_settings())),
            dir: &scratch.0,
        };
        host_bench::measure(&setup, shape, &load_cases, &large_cases)
    });
    match result {
        Ok(figures) => HostOutcome::Measured(figures),
        Err(err) => HostOutcome::Failed(err),
    }
}

/// The labels that give a namespace the levels of `settings`, so that the
/// policy reading them answers as the policy with those settings.
fn namespace_labels(settings: &Value) -> Value {
    let given = |key: &str, default: &str| {
        settings[key]
            .as_str()
            .map_or_else(|| default.to_owned(), str::to_owned)
    };
    json!({
        "kubernetes.io/metadata.name": "bench",
        "pod-security.kubernetes.io/enforce": given("pod_security", "privileged"),
        "pod-security.kubernetes.io/enforce-version": given("pod_security_version", "latest"),
        "secure-pod-defaults.kubewarden.io/level": given("secure_pod_defaults", "root-allowed"),
    })
}

/// Builds the floor with its `same-answer` feature, holding the policy's
/// answer to each request (by uid), into `bench/floor/target/same-answer`,
/// and returns the module's path.
fn build_same_answer_floor(
    options: &Options,
    policy: &Module,
    requests: &[BenchRequest],
    scratch: &Path,
) -> Result<PathBuf> {
    let mut source = String::from("pub const ANSWERS: &[(&str, &[u8])] = &[\n");
    for (index, request) in requests.iter().enumerate() {
        let answer = policy
            .host
            .instantiate()?
            .call_raw("validate", &request.payload)
            .with_context(|| format!("the policy on {:?}", request.name))?;
        let answer_file = scratch.join(format!("answer-{index}.json"));
        std::fs::write(&answer_file, answer)?;
        let uid = request.admission_request["uid"]
            .as_str()
            .unwrap_or_default();
        let answer_file = answer_file.display().to_string();
        source.push_str(&format!(
            "    ({uid:?}, include_bytes!({answer_file:?})),\n"
        ));
    }
    source.push_str("];\n");
    let answers = scratch.join("answers.rs");
    std::fs::write(&answers, source)?;
    let target_dir = options.floor_crate.join("target/same-answer");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&options.floor_crate)
        .args([
            "build",
            "--locked",
            "--quiet",
            "--release",
            "--target=wasm32-wasip1",
        ])
        .args(["--features", "same-answer", "--target-dir"])
        .arg(&target_dir)
        .env("FLOOR_ANSWERS", &answers)
        .output()
        .context("cannot run cargo to build the same-answer floor")?;
    if !output.status.success() {
        bail!(
            "the same-answer floor did not build ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(target_dir.join("wasm32-wasip1/release/floor.wasm"))
}

/// A temporary directory, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create() -> Result<ScratchDir> {
        let path = std::env::temp_dir().join(format!("bench-{}", std::process::id()));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn print_host(host: &HostOutcome, requests: &[BenchRequest]) {
    let figures = match host {
        HostOutcome::Skipped(reason) => {
            println!(
                "At policy-server: skipped, {reason} (set POLICY_SERVER and KWCTL, and install wrk); \
                 the figures above are the guest's alone"
            );
            println!();
            return;
        }
        HostOutcome::Failed(err) => {
            println!("At policy-server: FAILED: {err:#}");
            println!();
            return;
        }
        HostOutcome::Measured(figures) => figures,
    };
    println!(
        "server: {}, {}; pods/s: answers per second; p50 / p99 in µs; ratio = policy / floor",
        figures.server_version, figures.wrk_version
    );
    println!(
        "same answer: the floor giving the policy's own answer (its patch and warnings), \
         what the host spends on that answer alone; ratio = policy / same answer"
    );
    let header = format!(
        "{:<NAME_WIDTH$} | {:>7} {:>7} {:>5} {:>6} | {:>6} {:>5} | {:>6} {:>6} {:>5} | {:>6} {:>6} {:>5}",
        "request",
        "pods/s",
        "floor",
        "ratio",
        "target",
        "same",
        "ratio",
        "p50",
        "floor",
        "ratio",
        "p99",
        "floor",
        "ratio"
    );
    let rule = "-".repeat(header.chars().count());
    println!("{header}");
    println!("{rule}");
    for (row, request) in figures.load.iter().zip(requests) {
        let pods_ratio = row.policy.per_second / row.floor.per_second;
        println!(
            "{:<NAME_WIDTH$} | {:>7.0} {:>7.0} {:>5.2} {:>6} | {:>6.0} {:>5.2} | {:>6.0} {:>6.0} {:>5.2} | {:>6.0} {:>6.0} {:>5.2}",
            row.name,
            row.policy.per_second,
            row.floor.per_second,
            pods_ratio,
            format!(
                "≥{:.2}",
                request.pods_ratio_target.unwrap_or(MIN_PODS_RATIO)
            ),
            row.same_answer.per_second,
            row.policy.per_second / row.same_answer.per_second,
            micros(row.policy.p50),
            micros(row.floor.p50),
            ratio(row.policy.p50, row.floor.p50),
            micros(row.policy.p99),
            micros(row.floor.p99),
            ratio(row.policy.p99, row.floor.p99),
        );
    }
    println!("{rule}");
    print_server_cpu(&figures.load);
    print_namespaces(figures);
    let failures: u64 = figures
        .load
        .iter()
        .map(|row| {
            row.policy.failures
                + row.floor.failures
                + row.same_answer.failures
                + row.namespaces.map_or(0, |figures| figures.failures)
        })
        .sum();
    if failures > 0 {
        println!("UNEXPECTED: {failures} non-2xx answers or socket errors during the load runs");
    }
    println!();
    println!("Large requests at policy-server: median latency of a few requests in a row, in ms");
    let header = format!(
        "{:<NAME_WIDTH$} | {:>9} {:>9} {:>6} | {}",
        "request", "policy", "floor", "ratio", "policy's answer / floor's answer"
    );
    println!("{header}");
    println!("{}", "-".repeat(header.chars().count() + 20));
    for row in &figures.large {
        println!(
            "{:<NAME_WIDTH$} | {:>9.1} {:>9.1} {:>5.2}× | {} / {}",
            row.name,
            millis(row.policy.median),
            millis(row.floor.median),
            ratio(row.policy.median, row.floor.median),
            row.policy.outcome,
            row.floor.outcome,
        );
    }
    if figures
        .large
        .iter()
        .any(|row| !row.policy.answered || !row.floor.answered)
    {
        println!(
            "policy-server reads at most 2 MiB of a request body: a larger AdmissionReview is \
             refused (413) before any policy runs"
        );
    }
    println!();
}

/// The server's CPU time per answer, for each module: what each admitted
/// pod costs the cluster, steady whatever else the machine runs.
fn print_server_cpu(load: &[host_bench::LoadRow]) {
    if load.iter().any(|row| row.policy.cpu_per_answer.is_none()) {
        return;
    }
    println!();
    println!(
        "policy-server's CPU time per answer, all threads, in µs (from /proc); \
         ratio = policy / floor, policy / same answer"
    );
    let header = format!(
        "{:<NAME_WIDTH$} | {:>7} {:>7} {:>5} | {:>7} {:>5} | {}",
        "request", "policy", "floor", "ratio", "same", "ratio", "the policy's own work"
    );
    println!("{header}");
    println!("{}", "-".repeat(header.chars().count()));
    let micros_of = |figures: &host_bench::LoadFigures| {
        figures
            .cpu_per_answer
            .map_or(f64::NAN, |cpu| cpu.as_secs_f64() * 1e6)
    };
    for row in load {
        let (policy, floor, same) = (
            micros_of(&row.policy),
            micros_of(&row.floor),
            micros_of(&row.same_answer),
        );
        println!(
            "{:<NAME_WIDTH$} | {:>7.0} {:>7.0} {:>5.2} | {:>7.0} {:>5.2} | {:>+.0} µs",
            row.name,
            policy,
            floor,
            policy / floor,
            same,
            policy / same,
            policy - same,
        );
    }
}

/// A target of the project, met or missed, or not measured.
struct Target {
    met: Option<bool>,
    text: String,
}

impl Target {
    fn new(met: bool, text: String) -> Target {
        Target {
            met: Some(met),
            text,
        }
    }
}

/// The row of `rows` with the highest `value`, as (value, name).
fn worst<'a, T: 'a>(
    rows: impl IntoIterator<Item = &'a T>,
    value: impl Fn(&T) -> f64,
    name: impl Fn(&T) -> &str,
) -> Option<(f64, String)> {
    rows.into_iter()
        .map(|row| (value(row), name(row).to_string()))
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

fn guest_targets<'a>(
    policy: &Module,
    policy_compile: Duration,
    rows: impl Iterator<Item = &'a Row>,
    large_rows: &[LargeRow],
) -> Vec<Target> {
    let mut targets = vec![
        Target::new(
            policy.size() <= MAX_MODULE_BYTES,
            format!(
                "module ≤ {} KB ({:.1} KB)",
                MAX_MODULE_BYTES / 1024,
                policy.size() as f64 / 1024.0
            ),
        ),
        Target::new(
            policy_compile <= MAX_COMPILE_INSTANTIATE,
            format!(
                "compile + instantiate ≤ {} ms ({:.1} ms)",
                MAX_COMPILE_INSTANTIATE.as_millis(),
                millis(policy_compile)
            ),
        ),
    ];
    let fresh_ratio = |row: &Row| ratio(row.policy.fresh.p50, row.floor.fresh.p50);
    if let Some((value, name)) = worst(rows, fresh_ratio, |row| &row.name) {
        targets.push(Target::new(
            value <= MAX_FRESH_RATIO,
            format!(
                "fresh-instance p50 ≤ {MAX_FRESH_RATIO}× floor on every request (worst {value:.2}×, {name})"
            ),
        ));
    }
    let large_ratio = |row: &LargeRow| ratio(row.policy.median, row.floor.median);
    if let Some((value, name)) = worst(large_rows, large_ratio, |row| &row.name) {
        targets.push(Target::new(
            value <= MAX_LARGE_RATIO,
            format!(
                "every large request ≤ {MAX_LARGE_RATIO}× floor in the guest (worst {value:.2}×, {name})"
            ),
        ));
    }
    targets
}

/// The policy reading each request's namespace labels, next to the floor
/// and to the policy with the same levels in its settings, from the same
/// rounds.
fn print_namespaces(figures: &HostFigures) {
    if figures.load.iter().all(|row| row.namespaces.is_none()) {
        return;
    }
    println!();
    println!(
        "In labelled namespaces: the policy with namespace_labels, one Namespace lookup per \
         request ({} reads of the API server in all, the host caching each for a few seconds); \
         ratio = with labels / floor, and with labels / with settings",
        figures
            .api_reads
            .map_or_else(|| "?".to_owned(), |reads| reads.to_string())
    );
    let header = format!(
        "{:<NAME_WIDTH$} | {:>7} {:>7} {:>5} {:>9} | {:>6} {:>5} | {:>6} {:>5}",
        "request", "pods/s", "floor", "ratio", "/settings", "p50", "ratio", "p99", "ratio"
    );
    let rule = "-".repeat(header.chars().count());
    println!("{header}");
    println!("{rule}");
    for row in &figures.load {
        let Some(labelled) = row.namespaces else {
            continue;
        };
        println!(
            "{:<NAME_WIDTH$} | {:>7.0} {:>7.0} {:>5.2} {:>9.2} | {:>6.0} {:>5.2} | {:>6.0} {:>5.2}",
            row.name,
            labelled.per_second,
            row.floor.per_second,
            labelled.per_second / row.floor.per_second,
            labelled.per_second / row.policy.per_second,
            micros(labelled.p50),
            ratio(labelled.p50, row.floor.p50),
            micros(labelled.p99),
            ratio(labelled.p99, row.floor.p99),
        );
    }
    println!("{rule}");
}

fn host_targets(host: &HostOutcome, requests: &[BenchRequest]) -> Vec<Target> {
    let figures = match host {
        HostOutcome::Measured(figures) => figures,
        HostOutcome::Skipped(_) | HostOutcome::Failed(_) => {
            return vec![Target {
                met: None,
                text: "the targets at policy-server (pods/s, p99, large requests): not measured"
                    .into(),
            }];
        }
    };
    let mut targets = Vec::new();
    // A request with a target of its own is reported alone; the others by
    // the worst of them.
    let mut worst_other: Option<(f64, &str)> = None;
    for (row, request) in figures.load.iter().zip(requests) {
        let value = row.policy.per_second / row.floor.per_second;
        match request.pods_ratio_target {
            Some(minimum) => targets.push(Target::new(
                value >= minimum,
                format!("pods/s ≥ {minimum:.2}× floor on {} ({value:.2}×)", row.name),
            )),
            None if worst_other.is_none_or(|(worst, _)| value < worst) => {
                worst_other = Some((value, &row.name));
            }
            None => {}
        }
    }
    if let Some((value, name)) = worst_other {
        targets.push(Target::new(
            value >= MIN_PODS_RATIO,
            format!(
                "pods/s ≥ {MIN_PODS_RATIO}× floor on every other request (worst {value:.2}×, {name})"
            ),
        ));
    }
    let p99_ratio = |row: &host_bench::LoadRow| ratio(row.policy.p99, row.floor.p99);
    if let Some((value, name)) = worst(&figures.load, p99_ratio, |row| &row.name) {
        targets.push(Target::new(
            value <= MAX_P99_RATIO,
            format!("p99 ≤ {MAX_P99_RATIO}× floor on every request (worst {value:.2}×, {name})"),
        ));
    }
    targets.extend(namespace_targets(figures, requests));
    // Only the requests that reached both modules: the server refuses
    // bodies over 2 MiB before any policy runs.
    let answered: Vec<&host_bench::LargeRow> = figures
        .large
        .iter()
        .filter(|row| row.policy.answered && row.floor.answered)
        .collect();
    let refused = figures.large.len() - answered.len();
    let large_ratio = |row: &&host_bench::LargeRow| ratio(row.policy.median, row.floor.median);
    if let Some((value, name)) = worst(&answered, large_ratio, |row| &row.name) {
        targets.push(Target::new(
            value <= MAX_LARGE_RATIO,
            format!(
                "every large request ≤ {MAX_LARGE_RATIO}× floor at policy-server (worst {value:.2}×, {name}; \
                 {refused} not answered by the server)"
            ),
        ));
    }
    targets
}

/// The targets of the policy, for the policy reading namespace labels:
/// pods/s at each request's own ratio of the floor's, p99 within
/// `MAX_P99_RATIO` of it.
fn namespace_targets(figures: &HostFigures, requests: &[BenchRequest]) -> Vec<Target> {
    let mut lowest_pods: Option<(f64, &str)> = None;
    let mut highest_p99: Option<(f64, &str)> = None;
    let mut missed = Vec::new();
    for (row, request) in figures.load.iter().zip(requests) {
        let Some(labelled) = row.namespaces else {
            continue;
        };
        let minimum = request.pods_ratio_target.unwrap_or(MIN_PODS_RATIO);
        let pods = labelled.per_second / row.floor.per_second;
        if pods < minimum {
            missed.push(format!("{} {pods:.2}× < {minimum:.2}×", row.name));
        }
        if lowest_pods.is_none_or(|(lowest, _)| pods < lowest) {
            lowest_pods = Some((pods, &row.name));
        }
        let p99 = ratio(labelled.p99, row.floor.p99);
        if highest_p99.is_none_or(|(highest, _)| p99 > highest) {
            highest_p99 = Some((p99, &row.name));
        }
    }
    let mut targets = Vec::new();
    if let Some((value, name)) = lowest_pods {
        let missed = if missed.is_empty() {
            String::new()
        } else {
            format!("; missed: {}", missed.join(", "))
        };
        targets.push(Target::new(
            missed.is_empty(),
            format!(
                "in labelled namespaces, pods/s ≥ each request's target × floor (lowest {value:.2}×, {name}{missed})"
            ),
        ));
    }
    if let Some((value, name)) = highest_p99 {
        targets.push(Target::new(
            value <= MAX_P99_RATIO,
            format!(
                "in labelled namespaces, p99 ≤ {MAX_P99_RATIO}× floor on every request (worst {value:.2}×, {name})"
            ),
        ));
    }
    targets
}

fn print_targets(targets: &[Target], unexpected_answers: usize) {
    println!("Targets (issue 12, on a 2-core machine; a miss is reported, not an error):");
    for target in targets {
        let verdict = match target.met {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "----",
        };
        println!("  {verdict}  {}", target.text);
    }
    if unexpected_answers > 0 {
        println!("  {unexpected_answers} UNEXPECTED answer(s), see above");
    }
}

/// Runs `kwctl bench` for each module on each request and prints its output.
/// kwctl's failures are printed and do not stop the others.
fn run_kwctl_bench<'a>(
    kwctl: &Path,
    modules: &[&Module],
    requests: impl Iterator<Item = &'a BenchRequest>,
) -> Result<()> {
    let scratch = ScratchDir::create()?;
    kwctl_bench_each(kwctl, modules, requests, &scratch.0)
}

fn kwctl_bench_each<'a>(
    kwctl: &Path,
    modules: &[&Module],
    requests: impl Iterator<Item = &'a BenchRequest>,
    scratch: &Path,
) -> Result<()> {
    let settings = bench_settings().to_string();
    println!("kwctl bench ({}), settings {settings}", kwctl.display());
    for (index, request) in requests.enumerate() {
        let request_file = scratch.join(format!("request-{index}.json"));
        std::fs::write(
            &request_file,
            serde_json::to_vec_pretty(&request.admission_request)?,
        )?;
        for module in modules {
            // kwctl reads a path without a scheme from its own directory.
            let wasm = std::fs::canonicalize(&module.path)
                .with_context(|| format!("cannot find {}", module.path.display()))?;
            println!();
            println!("== {} | {}", request.name, module.name);
            let output = Command::new(kwctl)
                .arg("bench")
                .args(["--warm-up-time", "1", "--measurement-time", "1"])
                .args(["--num-samples", "50"])
                .arg("--settings-json")
                .arg(&settings)
                .arg("--request-path")
                .arg(&request_file)
                .arg(&wasm)
                .output();
            match output {
                Ok(output) => {
                    print!("{}", String::from_utf8_lossy(&output.stdout));
                    print!("{}", String::from_utf8_lossy(&output.stderr));
                    if !output.status.success() {
                        println!("kwctl bench failed: {}", output.status);
                    }
                }
                Err(err) => println!("cannot start {}: {err}", kwctl.display()),
            }
        }
    }
    Ok(())
}
