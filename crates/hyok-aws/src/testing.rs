//! Test support (feature `testing`): moto as a local AWS KMS, a proxy in
//! front of it that counts calls and answers chosen ones with AWS errors,
//! and an endpoint that never answers.
//!
//! The moto server binary is named by the environment variable
//! `HYOK_MOTO_SERVER`; the project's test command `scripts/test` installs
//! moto and sets it. Without it, [`MotoServer::start`] fails the test with a
//! message that says so: a test that needs KMS never passes without one.
//!
//! ```no_run
//! # async fn demo() {
//! use hyok_aws::testing::{KmsProxy, MotoServer};
//! use hyok_core::ProviderFactory;
//!
//! let moto = MotoServer::start().await;
//! let key = moto.create_key(Some("alias/hyok-test")).await;
//! let proxy = KmsProxy::start(moto.endpoint()).await;
//!
//! let config = hyok_aws::testing::config(proxy.endpoint(), &key.key_id);
//! let provider = hyok_aws::AwsFactory::new().build(&config).unwrap();
//! provider.validate().await.unwrap();
//! assert_eq!(proxy.calls("DescribeKey"), 1);
//! # }
//! ```

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use hyok_core::ProviderConfig;
use secrecy::SecretString;

use crate::config::{
    ACCESS_KEY, CallLimits, ENDPOINT, MASTER_KEY_ID, REGION, SECRET_KEY, Settings,
};

mod proxy;

pub use proxy::{KmsProxy, StalledServer};

/// Environment variable naming the `moto_server` executable.
pub const MOTO_SERVER_ENV: &str = "HYOK_MOTO_SERVER";

/// Region of the test configurations.
pub const TEST_REGION: &str = "us-east-1";

/// Access key id of the test configurations (moto accepts any).
pub const TEST_ACCESS_KEY: &str = "AKIAHYOKTESTACCESS01";

/// Secret key of the test configurations (moto checks no signature).
pub const TEST_SECRET_KEY: &str = "hyok-test-secret-key-not-a-real-one";

/// How long moto may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts at starting moto, each on a fresh port (another process may
/// take the port between our probe and moto's bind).
const START_ATTEMPTS: usize = 3;

/// A provider configuration for the KMS at `endpoint` with the test
/// credentials and region: the `aws` form fields plus `endpoint`.
pub fn config(endpoint: &str, master_key_id: &str) -> ProviderConfig {
    ProviderConfig::new(crate::PROVIDER_NAME)
        .setting(ACCESS_KEY, TEST_ACCESS_KEY)
        .secret(SECRET_KEY, SecretString::from(TEST_SECRET_KEY))
        .setting(MASTER_KEY_ID, master_key_id)
        .setting(REGION, TEST_REGION)
        .setting(ENDPOINT, endpoint)
}

/// Call limits for tests: short timeouts and backoff, so that fault paths
/// end in a second or two; three attempts as by default.
pub fn test_limits() -> CallLimits {
    CallLimits::default()
        .connect_timeout(Duration::from_secs(1))
        .attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(10))
        .backoff(Duration::from_millis(10), Duration::from_millis(100))
}

/// A KMS key made in moto for a test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestKey {
    /// The key id (a UUID).
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// The alias name (`alias/…`), when one was made.
    pub alias: Option<String>,
}

impl TestKey {
    /// The alias ARN, when the key has an alias.
    pub fn alias_arn(&self) -> Option<String> {
        let alias = self.alias.as_deref()?;
        let prefix = self.arn.strip_suffix(&format!("key/{}", self.key_id))?;
        Some(format!("{prefix}{alias}"))
    }
}

/// A moto server on a free loopback port, killed when dropped.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    endpoint: String,
    log: PathBuf,
}

impl MotoServer {
    /// Starts the server named by `HYOK_MOTO_SERVER` and waits until it
    /// answers.
    ///
    /// # Panics
    ///
    /// When the variable is unset (run the tests with `scripts/test`), or
    /// when moto does not come up; the message names its log file.
    pub async fn start() -> MotoServer {
        let program = std::env::var_os(MOTO_SERVER_ENV).unwrap_or_else(|| {
            panic!(
                "{MOTO_SERVER_ENV} is not set: the AWS tests need moto, a local AWS KMS. \
                 Run them with scripts/test, which installs moto and sets {MOTO_SERVER_ENV}."
            )
        });

        let mut last_log = String::new();
        for _ in 0..START_ATTEMPTS {
            let mut server = MotoServer::spawn(&program);
            if server.wait_ready().await {
                return server;
            }
            server.stop();
            last_log = std::fs::read_to_string(&server.log).unwrap_or_default();
        }
        panic!("moto did not start after {START_ATTEMPTS} attempts; its last log:\n{last_log}");
    }

    /// The server's URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A provider configuration for this server's KMS with the test
    /// credentials; see [`config`].
    pub fn config(&self, master_key_id: &str) -> ProviderConfig {
        config(&self.endpoint, master_key_id)
    }

    /// Creates a symmetric `ENCRYPT_DECRYPT` key, and the alias `alias`
    /// (which must start with `alias/`) for it when given.
    pub async fn create_key(&self, alias: Option<&str>) -> TestKey {
        let client = self.client();
        let created = client
            .create_key()
            .key_usage(KeyUsageType::EncryptDecrypt)
            .key_spec(KeySpec::SymmetricDefault)
            .description("hyok test key")
            .send()
            .await
            .expect("CreateKey in moto");
        let metadata = created
            .key_metadata()
            .expect("CreateKey returns key metadata");
        let key = TestKey {
            key_id: metadata.key_id().to_owned(),
            arn: metadata.arn().expect("CreateKey returns an ARN").to_owned(),
            alias: alias.map(str::to_owned),
        };

        if let Some(alias) = alias {
            assert!(
                alias.starts_with("alias/"),
                "alias names start with alias/: {alias}"
            );
            client
                .create_alias()
                .alias_name(alias)
                .target_key_id(&key.key_id)
                .send()
                .await
                .expect("CreateAlias in moto");
        }
        key
    }

    /// Disables a key. moto goes on using disabled keys (AWS refuses them),
    /// but `DescribeKey` reports the state.
    pub async fn disable_key(&self, key_id: &str) {
        self.client()
            .disable_key()
            .key_id(key_id)
            .send()
            .await
            .expect("DisableKey in moto");
    }

    fn client(&self) -> aws_sdk_kms::Client {
        let settings = Settings::from_config(&self.config("unused")).expect("test settings");
        crate::client::build(&settings, &CallLimits::default())
    }

    fn spawn(program: &std::ffi::OsStr) -> MotoServer {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("hyok-moto-{port}.log"));
        let stderr = File::create(&log).expect("create the moto log file");
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {program:?} ({MOTO_SERVER_ENV}): {err}"));
        MotoServer {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Polls `/moto-api/` until it answers 200; false if moto exits or
    /// the time runs out.
    async fn wait_ready(&mut self) -> bool {
        let http = reqwest::Client::new();
        let url = format!("{}/moto-api/", self.endpoint);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let answer = http.get(&url).timeout(Duration::from_secs(2)).send().await;
            if answer.is_ok_and(|response| response.status().is_success()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    fn stop(&mut self) {
        // Already gone is fine; the wait reaps it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}
