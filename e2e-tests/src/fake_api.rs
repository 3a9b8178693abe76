//! The least of a Kubernetes API server that policy-server needs to answer
//! a policy's `kubernetes/get_resource` of a Namespace: the core group's
//! discovery (`/api/v1`), the Namespaces it is given, and `/version`.
//! Plain HTTP on 127.0.0.1, for a local policy-server under load; it lives
//! as long as the value.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use anyhow::{Context, Result};
use serde_json::{Value, json};

/// A fake API server serving a fixed set of Namespaces.
pub struct FakeApi {
    address: SocketAddr,
    stopped: Arc<AtomicBool>,
    /// How many Namespace reads it answered (found or not).
    reads: Arc<AtomicUsize>,
}

impl FakeApi {
    /// Serves `namespaces` (Namespace objects, by their `metadata.name`) on
    /// a free port of 127.0.0.1.
    pub fn start(namespaces: Vec<Value>) -> Result<FakeApi> {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1")?;
        let address = listener.local_addr()?;
        let by_name: BTreeMap<String, Value> = namespaces
            .into_iter()
            .filter_map(|namespace| {
                let name = namespace.pointer("/metadata/name")?.as_str()?.to_owned();
                Some((name, namespace))
            })
            .collect();
        let by_name = Arc::new(by_name);
        let stopped = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicUsize::new(0));
        let (stop, counter) = (Arc::clone(&stopped), Arc::clone(&reads));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (namespaces, reads) = (Arc::clone(&by_name), Arc::clone(&counter));
                thread::spawn(move || serve(stream, &namespaces, &reads));
            }
        });
        Ok(FakeApi {
            address,
            stopped,
            reads,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// How many Namespace reads it has answered so far.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    /// Writes a kubeconfig for this server into `dir` and returns its path.
    pub fn kubeconfig(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join("fake-api-kubeconfig.json");
        let config = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": format!("http://{}", self.address)}}],
            "users": [{"name": "fake", "user": {}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&config)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Relaxed);
        // Wakes the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(self.address);
    }
}

/// Answers the requests of one connection until the client closes it.
fn serve(stream: TcpStream, namespaces: &BTreeMap<String, Value>, reads: &AtomicUsize) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        // Headers up to the blank line; a GET has no body.
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" || line == "\n" => break,
                Ok(_) => {}
            }
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/");
        let path = path.split('?').next().unwrap_or(path);
        let (status, body) = answer(path, namespaces, reads);
        let body = body.to_string();
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// The status line's code and reason, and the JSON body, for a path.
fn answer(
    path: &str,
    namespaces: &BTreeMap<String, Value>,
    reads: &AtomicUsize,
) -> (&'static str, Value) {
    let not_found = |message: String| {
        (
            "404 Not Found",
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                   "message": message, "reason": "NotFound", "code": 404}),
        )
    };
    match path {
        "/version" => (
            "200 OK",
            json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"}),
        ),
        "/api" => (
            "200 OK",
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
        ),
        "/api/v1" => (
            "200 OK",
            json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": "namespaces", "singularName": "namespace", "namespaced": false,
                 "kind": "Namespace", "verbs": ["get", "list", "watch"], "shortNames": ["ns"]}]}),
        ),
        _ => match path.strip_prefix("/api/v1/namespaces/") {
            Some(name) if !name.contains('/') => {
                reads.fetch_add(1, Ordering::Relaxed);
                match namespaces.get(name) {
                    Some(namespace) => ("200 OK", namespace.clone()),
                    None => not_found(format!("namespaces \"{name}\" not found")),
                }
            }
            _ => not_found(format!(
                "the server could not find the requested resource ({path})"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn get(address: SocketAddr, paths: &[&str]) -> String {
        let mut stream = TcpStream::connect(address).unwrap();
        for path in paths {
            write!(stream, "GET {path} HTTP/1.1\r\nhost: fake\r\n\r\n").unwrap();
        }
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn serves_discovery_and_namespaces_on_one_connection() {
        let shop = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "shop", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}});
        let api = FakeApi::start(vec![shop.clone()]).unwrap();
        let text = get(
            api.address(),
            &[
                "/api/v1",
                "/api/v1/namespaces/shop",
                "/api/v1/namespaces/gone?x=1",
            ],
        );
        assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
        assert!(text.contains("\"kind\":\"Namespace\""), "{text}");
        assert!(text.contains("HTTP/1.1 404 Not Found"), "{text}");
        assert!(text.contains("namespaces \\\"gone\\\" not found"), "{text}");
        assert_eq!(api.reads(), 2);
        let dir = std::env::temp_dir().join(format!("fake-api-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config: Value =
            serde_json::from_slice(&std::fs::read(api.kubeconfig(&dir).unwrap()).unwrap()).unwrap();
        assert_eq!(
            config["clusters"][0]["cluster"]["server"],
            format!("http://{}", api.address())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
