//! `hyok serve`: the router on a socket, with optional TLS and graceful
//! shutdown.

use std::io::IsTerminal;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use clap::Args;
use hyok_core::Engine;
use hyok_http::{AppState, Authenticator, router};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::SecretString;
use tracing_subscriber::EnvFilter;

/// How long open requests may finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the log names it).
    #[arg(long, env = "HYOK_LISTEN", default_value = "127.0.0.1:8008")]
    listen: SocketAddr,

    /// PEM certificate chain; with --tls-key, serves HTTPS.
    #[arg(long, env = "HYOK_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// PEM private key of the certificate.
    #[arg(long, env = "HYOK_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Admin user name.
    #[arg(long, env = "HYOK_ADMIN_USER", default_value = "admin")]
    admin_user: String,
}

/// Runs the server until SIGINT or SIGTERM.
pub(crate) async fn run(data_dir: &Path, args: ServeArgs) -> Result<(), String> {
    init_logging();

    let (engine, registry) = crate::open_engine(data_dir, true).await?;
    let auth = open_auth(data_dir, &args.admin_user)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
        _ => None,
    };
    let listener = TcpListener::bind(args.listen)
        .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
        .map_err(|err| format!("cannot listen on {}: {err}", args.listen))?;
    let local = listener.local_addr().map_err(|err| err.to_string())?;

    log_start(&engine, local, tls.is_some(), data_dir);
    // Keys are unwrapped again before their bounds; a KMS outage keeps HYOK closed.
    engine.spawn_refresher();
    let handle = Handle::new();
    tokio::spawn(shutdown_on_signal(handle.clone()));

    let app = router(AppState::new(engine, registry, auth)).into_make_service();
    let served = match tls {
        Some(tls) => {
            axum_server::from_tcp_rustls(listener, tls)
                .map_err(|err| err.to_string())?
                .handle(handle)
                .serve(app)
                .await
        }
        None => {
            axum_server::from_tcp(listener)
                .map_err(|err| err.to_string())?
                .handle(handle)
                .serve(app)
                .await
        }
    };
    served.map_err(|err| format!("server failed: {err}"))?;
    tracing::info!("hyok stopped");
    Ok(())
}

fn init_logging() {
    let filter = EnvFilter::try_from_env("HYOK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// The admin credentials: the password from `HYOK_ADMIN_PASSWORD`, or the
/// stored hash, or a new password shown here once.
fn open_auth(data_dir: &Path, user: &str) -> Result<Authenticator, String> {
    let password = std::env::var("HYOK_ADMIN_PASSWORD")
        .ok()
        .map(SecretString::from);
    let (auth, generated) = Authenticator::open(data_dir, user, password.as_ref())
        .map_err(|err| format!("cannot set up the admin login: {err}"))?;
    if let Some(generated) = generated {
        // Printed once, outside the log; only its argon2 hash is stored.
        eprintln!(
            "hyok: generated the password of admin user {user:?}: {}\n\
             hyok: it is shown only now; set HYOK_ADMIN_PASSWORD to choose your own",
            generated.expose_secret()
        );
    }
    Ok(auth)
}

fn tls_config(cert: &Path, key: &Path) -> Result<RustlsConfig, String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| format!("cannot read the certificate {}: {err}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|err| format!("cannot read the TLS key {}: {err}", key.display()))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|err| format!("invalid TLS certificate or key: {err}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(RustlsConfig::from_config(Arc::new(config)))
}

fn log_start(engine: &Engine, local: SocketAddr, tls: bool, data_dir: &Path) {
    let status = engine.status();
    let scheme = if tls { "https" } else { "http" };
    tracing::info!(
        data_dir = %data_dir.display(),
        hyok_enabled = status.hyok_enabled,
        provider = %status.provider.name,
        keys_available = status.keys_available,
        "hyok listening on {scheme}://{local}"
    );
}

async fn shutdown_on_signal(handle: Handle<SocketAddr>) {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(err) => {
                tracing::warn!(error = %err, "cannot watch SIGTERM");
                let _ = interrupt.await;
                handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
    handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
}
