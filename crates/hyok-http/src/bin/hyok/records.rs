//! `hyok encrypt` and `hyok decrypt`: one record between stdin and stdout.

use std::io::{Read, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use hyok_core::RecordError;
use zeroize::Zeroizing;

/// Arguments of `encrypt` and `decrypt`.
#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// Associated data that binds the record to its place (table, column, row id).
    #[arg(long)]
    aad: String,

    /// Records as raw bytes instead of base64.
    #[arg(long)]
    raw: bool,
}

/// Reads plaintext from stdin and writes the record.
pub(crate) async fn encrypt(data_dir: &Path, args: &RecordArgs) -> Result<(), String> {
    let plaintext = Zeroizing::new(read_stdin()?);
    let (engine, _) = crate::open_engine(data_dir, false).await?;

    let record = engine
        .encrypt(&plaintext, args.aad.as_bytes())
        .map_err(record_error)?;

    if args.raw {
        write_stdout(&record)
    } else {
        write_stdout(format!("{}\n", STANDARD.encode(record)).as_bytes())
    }
}

/// Reads a record from stdin and writes its plaintext.
pub(crate) async fn decrypt(data_dir: &Path, args: &RecordArgs) -> Result<(), String> {
    let input = read_stdin()?;
    let record = if args.raw {
        input
    } else {
        let text = input.trim_ascii();
        STANDARD
            .decode(text)
            .map_err(|_| "stdin is not a base64 record (use --raw for bytes)")?
    };
    let (engine, _) = crate::open_engine(data_dir, false).await?;

    let plaintext = Zeroizing::new(
        engine
            .decrypt(&record, args.aad.as_bytes())
            .map_err(record_error)?,
    );
    write_stdout(&plaintext)
}

fn record_error(err: RecordError) -> String {
    match err {
        RecordError::KeyUnavailable(version) => format!(
            "data key version {version} is not available: the KMS cannot be reached or \
             refuses the master key (see `GET /api/arsys/v1.0/dek/check`)"
        ),
        other => other.to_string(),
    }
}

fn read_stdin() -> Result<Vec<u8>, String> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|err| format!("cannot read stdin: {err}"))?;
    Ok(input)
}

fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|err| format!("cannot write stdout: {err}"))
}
