//! `make bench`: what the policy costs next to the floor, a module built with
//! the same SDK and profile that only parses the request and accepts it.
//!
//! For every request of `bench/requests/` and for Pods of 1, 5, 20 and 100
//! containers, it prints the p50 and p99 of one `validate` call on a warm
//! instance and on a fresh instance per call (policy-server instantiates per
//! request), for the policy, for the floor, and their ratio; then the module
//! sizes, compile+instantiate times, and the targets of the project. It is a
//! measurement: a missed target is printed, not an error.
//!
//! With `KWCTL` set to a kwctl binary it also runs `kwctl bench` on the same
//! requests and prints its output.
//!
//! Usage: bench [POLICY_WASM [FLOOR_WASM [REQUESTS_DIR]]]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use secure_pod_defaults_e2e::cases::yaml_files;
use secure_pod_defaults_e2e::{
    Answer, Host, PolicyInstance, complete_request, default_wasm_path, validate_payload,
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

/// The targets of the project for these figures.
const MAX_MODULE_BYTES: u64 = 400 * 1024;
const MAX_COMPILE_INSTANTIATE: Duration = Duration::from_millis(150);
const MAX_WARM_RATIO: f64 = 1.5;
const MAX_WARM_RATIO_COMPLIANT: f64 = 1.0;

/// The settings every request is evaluated with (the floor ignores them):
/// those the targets are set for, or the JSON in `BENCH_SETTINGS` to measure
/// other settings.
fn bench_settings() -> Value {
    std::env::var("BENCH_SETTINGS")
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| json!({"secure_pod_defaults": "enabled", "pod_security": "restricted"}))
}

/// One file of `bench/requests/`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile {
    /// The short name in the table.
    name: String,
    /// What the request is, for someone reading the file.
    #[allow(dead_code)]
    title: String,
    /// The policy must accept the object unchanged; the stricter warm target
    /// applies to it.
    #[serde(default)]
    already_compliant: bool,
    /// The AdmissionRequest, written as in the e2e cases.
    request: Value,
}

/// A request ready to be sent.
struct BenchRequest {
    name: String,
    already_compliant: bool,
    admission_request: Value,
    /// The size of the AdmissionRequest as JSON.
    request_bytes: usize,
    /// The whole `validate` payload: settings and request.
    payload: Vec<u8>,
}

impl BenchRequest {
    fn new(name: String, already_compliant: bool, written: &Value) -> Result<BenchRequest> {
        let admission_request = complete_request(written)?;
        let request_bytes = serde_json::to_vec(&admission_request)?.len();
        let payload = validate_payload(&bench_settings(), &admission_request);
        Ok(BenchRequest {
            name,
            already_compliant,
            admission_request,
            request_bytes,
            payload,
        })
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
    fn load(name: &'static str, path: PathBuf) -> Result<Module> {
        let wasm =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let host = Host::from_bytes(&wasm)
            .with_context(|| format!("cannot compile {}", path.display()))?;
        Ok(Module {
            name,
            path,
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
    already_compliant: bool,
    policy: Figures,
    floor: Figures,
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
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut args = std::env::args_os().skip(1);
    let policy_path = args.next().map_or_else(default_wasm_path, PathBuf::from);
    let floor_path = args.next().map_or_else(
        || repository.join("bench/floor/target/wasm32-wasip1/release/floor.wasm"),
        PathBuf::from,
    );
    let requests_dir = args
        .next()
        .map_or_else(|| repository.join("bench/requests"), PathBuf::from);

    let policy = Module::load("policy", policy_path)?;
    let floor = Module::load("floor", floor_path)?;
    let requests = load_requests(&requests_dir)?;
    let scaling = SCALING_CONTAINERS
        .iter()
        .map(|&count| {
            let name = format!("scaling: {count} container{}", plural(count));
            BenchRequest::new(name, false, &scaling_pod(count))
        })
        .collect::<Result<Vec<_>>>()?;

    print_header();

    println!("Answers, checked once before timing:");
    let mut unexpected = Vec::new();
    for request in requests.iter().chain(&scaling) {
        unexpected.extend(check_answers(&policy, &floor, request)?);
    }
    for problem in &unexpected {
        println!("  UNEXPECTED: {problem}");
    }
    println!();

    let policy_compile = compile_and_instantiate(&policy)?;
    let floor_compile = compile_and_instantiate(&floor)?;
    print_modules(&policy, &floor, policy_compile, floor_compile);

    let rows = requests
        .iter()
        .map(|request| measure_row(&policy, &floor, request))
        .collect::<Result<Vec<_>>>()?;
    let scaling_rows = scaling
        .iter()
        .map(|request| measure_row(&policy, &floor, request))
        .collect::<Result<Vec<_>>>()?;
    print_table(&rows, &scaling_rows);
    print_growth(&scaling_rows);
    println!("load at the end: {}", load_average());
    println!();
    print_targets(
        &policy,
        policy_compile,
        rows.iter().chain(&scaling_rows),
        unexpected.len(),
    );

    if let Some(kwctl) = std::env::var_os("KWCTL").filter(|value| !value.is_empty()) {
        println!();
        run_kwctl_bench(
            Path::new(&kwctl),
            &[&policy, &floor],
            requests.iter().chain(&scaling),
        )?;
    }
    Ok(())
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
            BenchRequest::new(file.name, file.already_compliant, &file.request)
                .with_context(|| format!("in {}", path.display()))
        })
        .collect()
}

/// A Pod of `count` copies of one realistic container whose securityContext
/// sets only `readOnlyRootFilesystem`, so that the policy has every other
/// field to default in each container.
fn scaling_pod(count: usize) -> Value {
    let containers: Vec<Value> = (0..count)
        .map(|index| {
            json!({
                "name": format!("worker-{index}"),
                "image": "registry.example.com/batch/worker:4.2.0",
                "args": ["--queue=jobs", format!("--shard={index}")],
                "ports": [{"name": "metrics", "containerPort": 9100 + index}],
                "env": [
                    {"name": "QUEUE_URL", "value": "amqp://queue.batch.svc:5672"},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "QUEUE_PASSWORD",
                     "valueFrom": {"secretKeyRef": {"name": "queue", "key": "password"}}}
                ],
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"memory": "256Mi"}
                },
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 10},
                "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                "securityContext": {"readOnlyRootFilesystem": true}
            })
        })
        .collect();
    json!({
        "operation": "CREATE",
        "object": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": format!("workers-{count}"), "namespace": "batch"},
            "spec": {
                "containers": containers,
                "volumes": [{"name": "scratch", "emptyDir": {}}]
            }
        }
    })
}

fn print_header() {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("secure-pod-defaults benchmark: the policy next to the floor");
    println!("(the floor parses the request with the SDK's ValidationRequest and accepts it)");
    println!();
    println!("date:      {}", date_now());
    println!("machine:   {cpus} CPUs (nproc), {}", cpu_model());
    println!(
        "load:      {} (1, 5, 15 min averages at the start)",
        load_average()
    );
    println!("host:      wapc + wasmtime-provider, the engine of policy-server and kwctl");
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

/// Prints what each module answers, and returns what is not as expected:
/// every request must be accepted, and changed unless already compliant.
fn check_answers(policy: &Module, floor: &Module, request: &BenchRequest) -> Result<Vec<String>> {
    let settings = bench_settings();
    let policy_answer = policy
        .host
        .evaluate(&settings, &request.admission_request)?;
    let floor_answer = floor.host.evaluate(&settings, &request.admission_request)?;
    println!(
        "  {:<26} policy: {:<46} floor: {}",
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
    Ok(problems)
}

fn describe(answer: &Answer) -> String {
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

fn measure_row(policy: &Module, floor: &Module, request: &BenchRequest) -> Result<Row> {
    let (policy_warm, floor_warm) = measure_warm(policy, floor, &request.payload)?;
    let (policy_fresh, floor_fresh) = measure_fresh(policy, floor, &request.payload)?;
    Ok(Row {
        name: request.name.clone(),
        request_bytes: request.request_bytes,
        already_compliant: request.already_compliant,
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

/// A new instance and one `validate` call on it; dropping the instance is
/// left out of the time.
fn timed_fresh_call(module: &Module, payload: &[u8]) -> Result<Duration> {
    let start = Instant::now();
    let mut instance = module.host.instantiate()?;
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
    payload: &[u8],
) -> Result<(Percentiles, Percentiles)> {
    let mut policy_instance = policy.host.instantiate()?;
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
    payload: &[u8],
) -> Result<(Percentiles, Percentiles)> {
    for _ in 0..FRESH_WARM_UP_CALLS {
        timed_fresh_call(policy, payload)?;
        timed_fresh_call(floor, payload)?;
    }
    time_in_turns(FRESH_CALLS, || {
        Ok((
            timed_fresh_call(policy, payload)?,
            timed_fresh_call(floor, payload)?,
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

const NAME_WIDTH: usize = 26;

fn print_table(rows: &[Row], scaling_rows: &[Row]) {
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

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

fn print_targets<'a>(
    policy: &Module,
    policy_compile: Duration,
    rows: impl Iterator<Item = &'a Row>,
    unexpected_answers: usize,
) {
    let rows: Vec<&Row> = rows.collect();
    let warm_ratio = |row: &&Row| ratio(row.policy.warm.p50, row.floor.warm.p50);
    let worst = rows
        .iter()
        .max_by(|a, b| warm_ratio(a).total_cmp(&warm_ratio(b)));
    let compliant = rows
        .iter()
        .filter(|row| row.already_compliant)
        .max_by(|a, b| warm_ratio(a).total_cmp(&warm_ratio(b)));

    let mut targets = vec![
        format!(
            "module ≤ 400 KB: {} ({:.1} KB)",
            verdict(policy.size() <= MAX_MODULE_BYTES),
            policy.size() as f64 / 1024.0
        ),
        format!(
            "compile+instantiate ≤ 150 ms: {} ({:.1} ms)",
            verdict(policy_compile <= MAX_COMPILE_INSTANTIATE),
            millis(policy_compile)
        ),
    ];
    if let Some(worst) = worst {
        targets.push(format!(
            "warm p50 ≤ 1.5× floor on every request: {} (worst {:.2}×, {})",
            verdict(warm_ratio(worst) <= MAX_WARM_RATIO),
            warm_ratio(worst),
            worst.name
        ));
    }
    match compliant {
        Some(compliant) => targets.push(format!(
            "compliant Pod warm p50 ≤ 1.0× floor: {} ({:.2}×)",
            verdict(warm_ratio(compliant) <= MAX_WARM_RATIO_COMPLIANT),
            warm_ratio(compliant)
        )),
        None => targets.push("compliant Pod warm p50 ≤ 1.0× floor: no compliant request".into()),
    }
    if unexpected_answers > 0 {
        targets.push(format!(
            "{unexpected_answers} UNEXPECTED answer(s), see above"
        ));
    }
    println!("targets: {}", targets.join(" | "));
}

/// Runs `kwctl bench` for each module on each request and prints its output.
/// kwctl's failures are printed and do not stop the others.
fn run_kwctl_bench<'a>(
    kwctl: &Path,
    modules: &[&Module],
    requests: impl Iterator<Item = &'a BenchRequest>,
) -> Result<()> {
    let scratch = std::env::temp_dir().join(format!("bench-kwctl-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    let result = kwctl_bench_each(kwctl, modules, requests, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
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
