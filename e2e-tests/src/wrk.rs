//! The load generator of the benchmark: wrk, posting one body for a fixed
//! time over a few connections, read through the one line of figures its
//! script prints.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::policy_server::run_bounded;

/// The script that posts the body and prints the figures.
const SCRIPT: &str = include_str!("../../bench/wrk-post.lua");
/// The marker of the script's line of figures.
const FIGURES: &str = "bench-figures ";

/// What one fixed-time run of wrk measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadRun {
    pub requests: u64,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    /// Responses other than 2xx.
    pub non_2xx: u64,
    /// Connect, read, write errors and timeouts.
    pub socket_errors: u64,
}

impl LoadRun {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

pub struct Wrk {
    binary: PathBuf,
    script: PathBuf,
    dir: PathBuf,
}

impl Wrk {
    /// Writes the script into `dir`, where each run also leaves its output.
    pub fn new(binary: &Path, dir: &Path) -> Result<Wrk> {
        let script = dir.join("wrk-post.lua");
        std::fs::write(&script, SCRIPT)
            .with_context(|| format!("cannot write {}", script.display()))?;
        Ok(Wrk {
            binary: binary.to_path_buf(),
            script,
            dir: dir.to_path_buf(),
        })
    }

    /// The first line of `wrk -v` up to its copyright, as in
    /// "wrk 4.1.0 [epoll]".
    pub fn version(&self) -> String {
        let output = Command::new(&self.binary).arg("-v").output();
        output
            .ok()
            .and_then(|output| {
                String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .next()
                    .map(|line| {
                        let version = line.split(" Copyright").next().unwrap_or(line);
                        version.trim().to_string()
                    })
            })
            .unwrap_or_else(|| "wrk (version unknown)".into())
    }

    /// Posts `body_file` to `url` over `connections` connections for
    /// `duration`, from one thread, so that the load generator takes little
    /// of a small machine.
    pub fn run(
        &self,
        url: &str,
        body_file: &Path,
        duration: Duration,
        connections: usize,
    ) -> Result<LoadRun> {
        let seconds = duration.as_secs().max(1);
        let (status, printed) = run_bounded(
            Command::new(&self.binary)
                .env("BENCH_BODY", body_file)
                .args(["--threads", "1"])
                .arg(format!("--connections={connections}"))
                .arg(format!("--duration={seconds}s"))
                .args(["--timeout", "10s"])
                .arg("--script")
                .arg(&self.script)
                .arg(url),
            Duration::from_secs(seconds + 30),
            &self.dir.join("wrk.log"),
        )?;
        if !status.success() {
            bail!("wrk failed ({status}): {}", printed.trim());
        }
        parse_figures(&printed)
    }
}

fn parse_figures(printed: &str) -> Result<LoadRun> {
    let line = printed
        .lines()
        .find_map(|line| line.strip_prefix(FIGURES))
        .with_context(|| format!("wrk printed no figures: {}", printed.trim()))?;
    let field = |name: &str| -> Result<f64> {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .and_then(|value| value.parse().ok())
            .with_context(|| format!("no {name} in wrk's figures: {line}"))
    };
    let micros = |value: f64| Duration::from_secs_f64(value / 1e6);
    Ok(LoadRun {
        requests: field("requests")? as u64,
        elapsed: micros(field("duration")?),
        p50: micros(field("p50")?),
        p99: micros(field("p99")?),
        non_2xx: field("non2xx")? as u64,
        socket_errors: field("socket_errors")? as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_scripts_figures() {
        let printed = "Running 3s test @ http://127.0.0.1:1/validate/p\n\
            bench-figures requests=9000 duration=3000000 p50=1000.0 p99=2500.0 non2xx=1 socket_errors=2\n";
        let run = parse_figures(printed).unwrap();
        assert_eq!(run.requests, 9000);
        assert_eq!(run.elapsed, Duration::from_secs(3));
        assert_eq!(run.p50, Duration::from_millis(1));
        assert_eq!(run.p99, Duration::from_micros(2500));
        assert_eq!(run.non_2xx, 1);
        assert_eq!(run.socket_errors, 2);
        assert!((run.per_second() - 3000.0).abs() < 1e-9);
    }

    #[test]
    fn no_figures_is_an_error() {
        assert!(parse_figures("unable to connect").is_err());
    }
}
