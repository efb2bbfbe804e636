//! `hyok`: the HYOK server (`hyok serve`) and a record tool over the same
//! data directory (`hyok encrypt`, `hyok decrypt`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use hyok_core::{Engine, EngineOptions, ProviderRegistry};

mod records;
mod serve;

/// Hold-Your-Own-Key envelope encryption: server and record tool.
#[derive(Debug, Parser)]
#[command(name = "hyok", version)]
struct Cli {
    /// Directory of the keyring, the provider configuration and the server's keys.
    #[arg(
        long,
        env = "HYOK_DATA_DIR",
        default_value = "./hyok-data",
        global = true
    )]
    data_dir: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the REST server.
    ///
    /// The admin password comes from HYOK_ADMIN_PASSWORD; without it, the
    /// first start generates one, shows it once on stderr and keeps only its
    /// hash in the data directory.
    Serve(serve::ServeArgs),
    /// Encrypts stdin into one record on stdout (base64 and a newline unless --raw).
    Encrypt(records::RecordArgs),
    /// Decrypts one record from stdin (base64 unless --raw) to stdout.
    Decrypt(records::RecordArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
    };

    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(&cli.data_dir, args).await,
            Command::Encrypt(args) => records::encrypt(&cli.data_dir, &args).await,
            Command::Decrypt(args) => records::decrypt(&cli.data_dir, &args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

/// The providers a customer can configure.
fn registry() -> ProviderRegistry {
    #[allow(
        unused_mut,
        reason = "without provider features the registry stays empty"
    )]
    let mut registry = ProviderRegistry::new();
    #[cfg(feature = "aws")]
    registry.register(Arc::new(hyok_aws::AwsFactory::new()));
    #[cfg(feature = "oci")]
    registry.register(Arc::new(hyok_oci::OciFactory::new()));
    registry
}

/// Opens the engine over `data_dir`. The server creates the state on first
/// use (`create`); the record commands only use existing keys, so that a
/// wrong directory is an error rather than a new keyring.
async fn open_engine(
    data_dir: &std::path::Path,
    create: bool,
) -> Result<(Engine, ProviderRegistry), String> {
    let registry = registry();
    let options = EngineOptions::new(data_dir)
        .registry(registry.clone())
        .create_if_missing(create);
    let engine = Engine::open(options).await.map_err(|err| match err {
        hyok_core::StoreError::NotFound { .. } => format!(
            "no keys in {}: start `hyok serve` there first, or pass --data-dir",
            data_dir.display()
        ),
        err => format!("cannot open the state in {}: {err}", data_dir.display()),
    })?;
    Ok((engine, registry))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("hyok: {message}");
    ExitCode::FAILURE
}
