//! A real policy-server on 127.0.0.1, started for a benchmark or a test:
//! modules are annotated with `kwctl annotate`, served over plain HTTP with
//! no cluster, and the process is stopped when the `PolicyServer` is dropped.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// How long policy-server may take to compile the modules and be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long `kwctl annotate` may take (it compiles the module).
const ANNOTATE_TIMEOUT: Duration = Duration::from_secs(120);
/// Evaluations run in parallel: two, for a 2-core machine.
const WORKERS: usize = 2;

/// A program given as a path, or as a name to look up in `PATH`.
pub fn find_program(spec: &str) -> Option<PathBuf> {
    if spec.is_empty() {
        return None;
    }
    if spec.contains('/') {
        let path = PathBuf::from(spec);
        return path.is_file().then_some(path);
    }
    let search_path = std::env::var_os("PATH")?;
    std::env::split_paths(&search_path)
        .map(|dir| dir.join(spec))
        .find(|path| path.is_file())
}

/// Runs `command` with its stdout and stderr in `output_file`, killing it
/// past `timeout`. Returns its exit status and what it printed.
pub fn run_bounded(
    command: &mut Command,
    timeout: Duration,
    output_file: &Path,
) -> Result<(ExitStatus, String)> {
    let output = File::create(output_file)
        .with_context(|| format!("cannot create {}", output_file.display()))?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{command:?} did not finish within {} s", timeout.as_secs());
        }
        thread::sleep(Duration::from_millis(20));
    };
    let printed = std::fs::read_to_string(output_file).unwrap_or_default();
    Ok((status, printed))
}

/// Adds Kubewarden's metadata to a module, which policy-server requires.
pub fn annotate(kwctl: &Path, wasm: &Path, metadata: &Path, output: &Path) -> Result<()> {
    let log = output.with_extension("annotate.log");
    let (status, printed) = run_bounded(
        Command::new(kwctl)
            .arg("annotate")
            .arg("--metadata-path")
            .arg(metadata)
            .arg("--output-path")
            .arg(output)
            .arg(wasm),
        ANNOTATE_TIMEOUT,
        &log,
    )?;
    if !status.success() {
        bail!(
            "kwctl annotate {} failed ({status}): {}",
            wasm.display(),
            printed.trim()
        );
    }
    Ok(())
}

/// policy-server and kwctl from `../shared/bin/` beside the repository, or
/// why there are none.
pub fn shared_binaries() -> std::result::Result<(PathBuf, PathBuf), String> {
    let bin = crate::repository_root().join("../shared/bin");
    let find = |name: &str| {
        let path = bin.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!("no {name} in {}", bin.display()))
        }
    };
    Ok((find("policy-server")?, find("kwctl")?))
}

/// The built policy (`POLICY_WASM`, else `policy.wasm`) annotated with the
/// repository's metadata.yml into `scratch`, as policy-server requires.
pub fn annotated_policy(kwctl: &Path, scratch: &Scratch) -> Result<PathBuf> {
    let wasm = crate::default_wasm_path();
    if !wasm.is_file() {
        bail!(
            "no module at {}: run `make policy.wasm` first",
            wasm.display()
        );
    }
    let module = scratch.0.join("policy-annotated.wasm");
    annotate(
        kwctl,
        &wasm,
        &crate::repository_root().join("metadata.yml"),
        &module,
    )?;
    Ok(module)
}

/// A scratch folder for a server's files and logs, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// An empty folder under the system's temporary folder, named for
    /// `purpose` and this process.
    pub fn new(purpose: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("e2e-{purpose}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One policy of the server's `policies.yml`.
pub struct ServedPolicy {
    pub id: String,
    /// An annotated module.
    pub module: PathBuf,
    pub settings: Value,
    pub allowed_to_mutate: bool,
    /// The policy may read Namespaces (`contextAwareResources`).
    pub reads_namespaces: bool,
}

/// A running policy-server.
pub struct PolicyServer {
    child: Child,
    api: SocketAddr,
    log: PathBuf,
}

impl PolicyServer {
    /// Starts policy-server with its files in `dir` and waits until it is
    /// ready. Any Sigstore or Kubernetes access is turned off: there is no
    /// network and no cluster.
    pub fn start(binary: &Path, policies: &[ServedPolicy], dir: &Path) -> Result<PolicyServer> {
        PolicyServer::start_with_cluster(binary, policies, dir, None)
    }

    /// [`PolicyServer::start`], with the Kubernetes API that `kubeconfig`
    /// names (a [`crate::fake_api::FakeApi`]) for the policies' lookups.
    pub fn start_with_cluster(
        binary: &Path,
        policies: &[ServedPolicy],
        dir: &Path,
        kubeconfig: Option<&Path>,
    ) -> Result<PolicyServer> {
        let policies_file = dir.join("policies.yml");
        std::fs::write(&policies_file, policies_yaml(policies)?)?;
        let api = free_local_port()?;
        let readiness = free_local_port()?;
        let log = dir.join("policy-server.log");
        let output = File::create(&log)?;
        let child = Command::new(binary)
            .env(
                "KUBECONFIG",
                kubeconfig.map_or_else(|| dir.join("no-kubeconfig"), Path::to_path_buf),
            )
            .arg("--addr")
            .arg(api.ip().to_string())
            .arg("--port")
            .arg(api.port().to_string())
            .arg("--readiness-probe-port")
            .arg(readiness.port().to_string())
            .arg("--workers")
            .arg(WORKERS.to_string())
            .arg("--policies")
            .arg(&policies_file)
            .arg("--policies-download-dir")
            .arg(dir.join("download"))
            .arg("--sigstore-cache-dir")
            .arg(dir.join("sigstore"))
            // A file that does not exist: no download of Sigstore's trust root.
            .arg("--sigstore-trust-config")
            .arg(dir.join("no-trust-config.json"))
            .arg("--ignore-kubernetes-connection-failure")
            .args(["--log-level", "warn", "--log-no-color"])
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = PolicyServer { child, api, log };
        server.wait_until_ready(readiness)?;
        Ok(server)
    }

    fn wait_until_ready(&mut self, readiness: SocketAddr) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "policy-server stopped ({status}) before it was ready:\n{}",
                    self.log_tail(20)
                );
            }
            let probe = http_request(readiness, "GET", "/readiness", b"", Duration::from_secs(1));
            if matches!(probe, Ok(ref response) if response.status == 200) {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!(
                    "policy-server was not ready within {} s:\n{}",
                    READY_TIMEOUT.as_secs(),
                    self.log_tail(20)
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The CPU time the server has used so far, all its threads, as Linux
    /// counts it in `/proc` (`None` elsewhere).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        cpu_time_in_stat(&stat, clock_ticks_per_second())
    }

    /// The URL of a policy's validation endpoint.
    pub fn validate_url(&self, policy_id: &str) -> String {
        format!("http://{}/validate/{policy_id}", self.api)
    }

    /// Posts one AdmissionReview to a policy, as the API server does.
    pub fn validate(&self, policy_id: &str, review: &[u8], timeout: Duration) -> Result<Response> {
        http_request(
            self.api,
            "POST",
            &format!("/validate/{policy_id}"),
            review,
            timeout,
        )
    }

    /// Posts one AdmissionReview to a policy's audit endpoint, as
    /// Kubewarden's audit scanner does: the server answers with the policy's
    /// verdict as it is (no policy mode, no check of the mutation).
    pub fn audit(&self, policy_id: &str, review: &[u8], timeout: Duration) -> Result<Response> {
        http_request(
            self.api,
            "POST",
            &format!("/audit/{policy_id}"),
            review,
            timeout,
        )
    }

    /// The last lines the server logged, to explain a failure.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for PolicyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `policies.yml` as JSON, which YAML reads as well.
fn policies_yaml(policies: &[ServedPolicy]) -> Result<String> {
    let mut map = Map::new();
    for policy in policies {
        let module = std::path::absolute(&policy.module)?;
        // Every host capability, as the controller grants a cluster-wide
        // policy; without the list policy-server grants none.
        let mut entry = json!({
            "module": format!("file://{}", module.display()),
            "policyMode": "protect",
            "allowedToMutate": policy.allowed_to_mutate,
            "settings": policy.settings,
            "hostCapabilities": ["*"],
        });
        if policy.reads_namespaces {
            entry["contextAwareResources"] = json!([{"apiVersion": "v1", "kind": "Namespace"}]);
        }
        map.insert(policy.id.clone(), entry);
    }
    Ok(serde_json::to_string_pretty(&Value::Object(map))?)
}

/// `utime + stime` of a `/proc/<pid>/stat` line. The fields are counted
/// after the command name, which is in parentheses and may hold spaces.
fn cpu_time_in_stat(stat: &str, ticks_per_second: u64) -> Option<Duration> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), the 12th and 13th after the name.
    let ticks = |index: usize| fields.get(index)?.parse::<u64>().ok();
    let total = ticks(11)? + ticks(12)?;
    Some(Duration::from_secs_f64(
        total as f64 / ticks_per_second.max(1) as f64,
    ))
}

/// The unit of `/proc`'s CPU times, from `getconf CLK_TCK` (100 on every
/// common Linux build when it cannot be asked).
fn clock_ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
            .unwrap_or(100)
    })
}

/// A port on 127.0.0.1 that is free now (the kernel picks it).
fn free_local_port() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1")?;
    Ok(listener.local_addr()?)
}

/// The AdmissionReview the API server posts for one AdmissionRequest.
pub fn admission_review(admission_request: &Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": admission_request,
    })
}

/// An HTTP response: its status and body.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// What an AdmissionReview response says, in short.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub patched: bool,
    pub code: Option<u16>,
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct ReviewResponse {
    response: AdmissionResponse,
}

#[derive(Deserialize)]
struct AdmissionResponse {
    allowed: bool,
    #[serde(default)]
    patch: Option<String>,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    message: Option<String>,
}

impl Response {
    /// The `message` of a JSON error body, else the body as text.
    fn error_message(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|body| body.get("message")?.as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned())
    }

    /// Reads the body as an AdmissionReview answer; anything but HTTP 200
    /// is an error.
    pub fn verdict(&self) -> Result<Verdict> {
        if self.status != 200 {
            bail!("HTTP {}: {}", self.status, self.error_message());
        }
        let review: ReviewResponse = serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "not an AdmissionReview: {}",
                String::from_utf8_lossy(&self.body)
            )
        })?;
        let response = review.response;
        let (code, message) = match response.status {
            Some(status) => (status.code, status.message),
            None => (None, None),
        };
        Ok(Verdict {
            allowed: response.allowed,
            patched: response.patch.is_some(),
            code,
            message,
        })
    }
}

/// One HTTP/1.1 exchange on a new connection, bounded by `timeout` for each
/// step. Enough for a readiness probe and a few verified requests; the load
/// itself comes from a load generator.
fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // A server may answer and close before it has read the whole body (413
    // on a body over its limit): then its answer is what counts.
    let sent = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body));
    let mut raw = Vec::new();
    let received = stream.read_to_end(&mut raw);
    match (parse_response(&raw), sent, received) {
        (Ok(response), _, _) => Ok(response),
        (Err(_), Err(err), _) | (Err(_), Ok(()), Err(err)) => Err(err.into()),
        (Err(err), Ok(()), Ok(_)) => Err(err),
    }
}

fn parse_response(raw: &[u8]) -> Result<Response> {
    let Some(head_end) = raw.windows(4).position(|window| window == b"\r\n\r\n") else {
        bail!("incomplete HTTP response ({} bytes)", raw.len());
    };
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP status line: {head}"))?;
    let chunked = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("transfer-encoding") && value.trim() == "chunked"
        })
    });
    let content = &raw[head_end + 4..];
    let body = if chunked {
        dechunk(content)?
    } else {
        content.to_vec()
    };
    Ok(Response { status, body })
}

/// The body of a `Transfer-Encoding: chunked` response.
fn dechunk(mut content: &[u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = content
            .windows(2)
            .position(|window| window == b"\r\n")
            .context("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&content[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        content = &content[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if content.len() < size + 2 {
            bail!("truncated chunk");
        }
        body.extend_from_slice(&content[..size]);
        content = &content[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_plain_response() {
        let response = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"{}");
    }

    #[test]
    fn reads_a_chunked_response() {
        let response = parse_response(
            b"HTTP/1.1 413 Payload Too Large\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(response.status, 413);
        assert_eq!(response.body, b"abcde");
    }

    #[test]
    fn an_error_says_its_message() {
        let response = Response {
            status: 413,
            body: br#"{"message":"Failed to buffer the request body: length limit exceeded","status":413}"#.to_vec(),
        };
        assert_eq!(
            response.verdict().unwrap_err().to_string(),
            "HTTP 413: Failed to buffer the request body: length limit exceeded"
        );
    }

    #[test]
    fn reads_a_verdict() {
        let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": "u", "allowed": false,
                         "status": {"code": 500, "message": "timeout"}}});
        let response = Response {
            status: 200,
            body: body.to_string().into_bytes(),
        };
        assert_eq!(
            response.verdict().unwrap(),
            Verdict {
                allowed: false,
                patched: false,
                code: Some(500),
                message: Some("timeout".into()),
            }
        );
    }

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        let stat = "4242 (policy server) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(cpu_time_in_stat(stat, 100), Some(Duration::from_secs(3)));
        assert_eq!(cpu_time_in_stat("4242 (short", 100), None);
    }

    #[test]
    fn policies_file_names_absolute_modules() {
        let text = policies_yaml(&[
            ServedPolicy {
                id: "p".into(),
                module: PathBuf::from("/modules/p.wasm"),
                settings: json!({"a": 1}),
                allowed_to_mutate: true,
                reads_namespaces: false,
            },
            ServedPolicy {
                id: "q".into(),
                module: PathBuf::from("/modules/p.wasm"),
                settings: json!({}),
                allowed_to_mutate: true,
                reads_namespaces: true,
            },
        ])
        .unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["p"]["module"], json!("file:///modules/p.wasm"));
        assert_eq!(parsed["p"]["allowedToMutate"], json!(true));
        assert_eq!(parsed["p"].get("contextAwareResources"), None);
        assert_eq!(parsed["p"]["hostCapabilities"], json!(["*"]));
        assert_eq!(
            parsed["q"]["contextAwareResources"],
            json!([{"apiVersion": "v1", "kind": "Namespace"}])
        );
    }
}
