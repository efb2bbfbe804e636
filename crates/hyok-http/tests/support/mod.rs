//! The `hyok` binary as a user runs it: `hyok serve` on a free loopback
//! port with its log captured, `curl` for requests, and `hyok encrypt` /
//! `hyok decrypt` over the same data directory.

#![allow(dead_code, reason = "each test binary uses a part of the support")]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The admin password every test server runs with.
pub(crate) const ADMIN_PASSWORD: &str = "e2e-admin-password";

/// How long the server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `hyok serve`, stopped with SIGTERM when dropped.
pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    env: Vec<(String, String)>,
    args: Vec<String>,
}

impl Server {
    /// Starts `hyok serve --listen 127.0.0.1:0` over `data_dir` with extra
    /// environment `env`, and waits until its log names the port.
    pub(crate) fn start(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_with(data_dir, env, &[])
    }

    /// Starts the server with extra `serve` arguments.
    pub(crate) fn start_with(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Server {
        let owned = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let mut server = Server {
            child: None,
            port: 0,
            data_dir: data_dir.to_owned(),
            log: data_dir.with_extension(format!("{}.log", unique())),
            env: owned(env),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        };
        server.spawn();
        server
    }

    /// Stops the server gracefully and starts it again on the same data
    /// directory (and a new port).
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Sends SIGTERM and waits; the server must exit successfully.
    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let status = child.wait().unwrap();
        assert!(
            status.success(),
            "hyok serve exited with {status}; log:\n{}",
            self.log()
        );
    }

    /// Everything the server has logged so far, over all its starts.
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Logs in as the admin with curl; returns the token.
    pub(crate) fn login(&self) -> String {
        let form = format!("username=admin&password={ADMIN_PASSWORD}");
        let url = format!("{}/api/jwt/login", self.url());
        let out = curl(&["-X", "POST", &url, "-d", &form]);
        assert_eq!(out.status, 200, "login: {}", out.body);
        out.body
    }

    /// Runs `hyok encrypt` over the server's data directory.
    pub(crate) fn encrypt(&self, plaintext: &str, aad: &str) -> String {
        let out = self.record_tool("encrypt", aad, plaintext.as_bytes());
        assert!(
            out.status.success(),
            "encrypt: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `hyok decrypt`; the plaintext, or the tool's error text.
    pub(crate) fn decrypt(&self, record: &str, aad: &str) -> Result<String, String> {
        let out = self.record_tool("decrypt", aad, record.as_bytes());
        if out.status.success() {
            Ok(String::from_utf8(out.stdout).unwrap())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn record_tool(&self, command: &str, aad: &str, input: &[u8]) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hyok"))
            .args([
                "--data-dir",
                self.data_dir.to_str().unwrap(),
                command,
                "--aad",
                aad,
            ])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    fn spawn(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let already = self.log().len();
        let child = Command::new(env!("CARGO_BIN_EXE_hyok"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(&self.args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("HYOK_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "HYOK_LOG",
                "info,hyok_core=debug,hyok_aws=debug,hyok_oci=debug,hyok_http=debug",
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.port = self.wait_for_port(already);
    }

    fn wait_for_port(&mut self, skip: usize) -> u16 {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            let log = self.log();
            let fresh = &log[skip.min(log.len())..];
            let announced = fresh.find("listening on ").map(|at| &fresh[at..]);
            if let Some(rest) = announced.and_then(|line| line.split_once("://127.0.0.1:")) {
                let rest = rest.1;
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                return digits.parse().unwrap();
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("hyok serve exited with {status}; log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("hyok serve did not start; log:\n{}", self.log());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What curl got back.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Reply {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    /// Asserts an AR error with `status` and `number`.
    pub(crate) fn assert_error(&self, status: u16, number: u64) -> Value {
        let body = self.json();
        assert_eq!(
            (self.status, body["messageNumber"].as_u64()),
            (status, Some(number)),
            "{body}"
        );
        assert_eq!(body["messageType"], "ERROR");
        body
    }
}

/// Runs curl with `args`; the status code and the body.
pub(crate) fn curl(args: &[&str]) -> Reply {
    let out = Command::new("curl")
        .args(["-s", "-S", "--max-time", "60", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is installed");
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    reply_of(&out.stdout)
}

/// Runs a shell command line (a documented curl call) with `vars` in its
/// environment, adding `-w` to learn the status.
pub(crate) fn shell(line: &str, vars: &[(&str, &str)]) -> Reply {
    let out = Command::new("bash")
        .args(["-c", &format!("{line} -s -S -w '\\n%{{http_code}}'")])
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    reply_of(&out.stdout)
}

fn reply_of(stdout: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(stdout);
    let (body, status) = text.rsplit_once('\n').unwrap();
    Reply {
        status: status.trim().parse().unwrap(),
        body: body.to_owned(),
    }
}

/// Asserts that `log` holds none of `secrets`.
pub(crate) fn assert_no_secret(log: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !log.contains(secret),
            "the server log holds a secret ({secret})"
        );
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
