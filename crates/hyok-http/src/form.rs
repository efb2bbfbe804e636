//! The `kmsconfig` multipart form, turned into a [`ProviderConfig`] by the
//! provider's own field list.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use http_body_util::LengthLimitError;
use hyok_core::{FieldSpec, ProviderConfig, ProviderRegistry};
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::{ApiError, ErrorCode};

/// The form field that names the provider.
const PROVIDER_FIELD: &str = "provider";

/// Fields that may come as a file part (`-F name=@file`) as well as text.
const FILE_FIELDS: &[&str] = &["privateKey", "region"];

/// Fields whose value must be a PEM document.
const PEM_FIELDS: &[&str] = &["privateKey"];

/// One part of the form, as received.
#[derive(Debug)]
pub(crate) struct Part {
    name: String,
    is_file: bool,
    value: Bytes,
}

/// Reads every part of the form. The body limit layer bounds the total.
pub(crate) async fn read_parts(mut multipart: Multipart) -> Result<Vec<Part>, ApiError> {
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name.is_empty() {
            let error = ApiError::new(ErrorCode::MalformedBody);
            return Err(error.appended("Every form part needs a name"));
        }
        let is_file = field.file_name().is_some();
        let value = field.bytes().await.map_err(multipart_error)?;
        parts.push(Part {
            name,
            is_file,
            value,
        });
    }
    Ok(parts)
}

/// Builds the provider configuration from the parts: the `provider` part
/// chooses the field list; unknown, duplicate, empty and missing fields are
/// refused, and secrets go into secret types.
pub(crate) fn provider_config(
    parts: &[Part],
    registry: &ProviderRegistry,
) -> Result<ProviderConfig, ApiError> {
    let provider = provider_name(parts)?;
    let Some(factory) = registry.factory(&provider) else {
        let known = registry.names().join(", ");
        let error = ApiError::new(ErrorCode::UnknownProvider);
        return Err(error.appended(format!("Provider {provider:?} is not one of: {known}")));
    };
    let fields = factory.fields();

    let mut config = ProviderConfig::new(provider.as_str());
    let mut seen = HashSet::new();
    for part in parts.iter().filter(|part| part.name != PROVIDER_FIELD) {
        let spec = field_spec(fields, &part.name, &provider)?;
        if !seen.insert(spec.name) {
            return Err(duplicate(spec.name));
        }
        config = add_field(config, spec, part)?;
    }

    let missing: Vec<&str> = fields
        .iter()
        .filter(|spec| spec.required && !seen.contains(spec.name))
        .map(|spec| spec.name)
        .collect();
    if !missing.is_empty() {
        let error = ApiError::new(ErrorCode::MissingField);
        let text = format!("Provider {provider} requires: {}", missing.join(", "));
        return Err(error.appended(text));
    }
    Ok(config)
}

fn provider_name(parts: &[Part]) -> Result<String, ApiError> {
    let mut named = parts.iter().filter(|part| part.name == PROVIDER_FIELD);
    let Some(part) = named.next() else {
        let error = ApiError::new(ErrorCode::MissingField);
        return Err(error.appended("The form needs a provider field (aws or oci)"));
    };
    if named.next().is_some() {
        return Err(duplicate(PROVIDER_FIELD));
    }
    let name = text_of(part)?;
    if name.is_empty() {
        return Err(empty(PROVIDER_FIELD));
    }
    Ok(name.to_ascii_lowercase())
}

fn field_spec<'a>(
    fields: &'a [FieldSpec],
    name: &str,
    provider: &str,
) -> Result<&'a FieldSpec, ApiError> {
    fields.iter().find(|spec| spec.name == name).ok_or_else(|| {
        let known: Vec<&str> = fields.iter().map(|spec| spec.name).collect();
        let text = format!(
            "Provider {provider} does not take {name:?}; it takes: provider, {}",
            known.join(", ")
        );
        ApiError::new(ErrorCode::UnknownField).appended(text)
    })
}

fn add_field(
    config: ProviderConfig,
    spec: &FieldSpec,
    part: &Part,
) -> Result<ProviderConfig, ApiError> {
    let value = text_of(part)?;
    if value.is_empty() {
        return Err(empty(spec.name));
    }
    if PEM_FIELDS.contains(&spec.name) {
        check_pem(spec.name, value)?;
    }

    if spec.secret {
        Ok(config.secret(spec.name, SecretString::from(value.to_owned())))
    } else {
        Ok(config.setting(spec.name, value))
    }
}

/// The part's value as trimmed text; a file part only where files are
/// accepted.
fn text_of(part: &Part) -> Result<&str, ApiError> {
    if part.is_file && !FILE_FIELDS.contains(&part.name.as_str()) {
        let error = ApiError::new(ErrorCode::TextExpected);
        let text = format!(
            "Send {} as a text field (-F {}=value), not as a file",
            part.name, part.name
        );
        return Err(error.appended(text));
    }
    match std::str::from_utf8(&part.value) {
        Ok(text) => Ok(text.trim()),
        Err(_) => {
            let error = ApiError::new(ErrorCode::TextExpected);
            Err(error.appended(format!("{} is not UTF-8 text", part.name)))
        }
    }
}

/// Refuses a value that is not one PEM document. The key itself is checked
/// by the provider.
fn check_pem(name: &str, value: &str) -> Result<(), ApiError> {
    match pem_rfc7468::decode_vec(value.as_bytes()) {
        Ok((_label, der)) => {
            drop(Zeroizing::new(der));
            Ok(())
        }
        Err(_) => {
            let error = ApiError::new(ErrorCode::MalformedPem);
            let text = format!("{name} must be a PEM private key (-----BEGIN PRIVATE KEY-----)");
            Err(error.appended(text))
        }
    }
}

fn duplicate(name: &str) -> ApiError {
    ApiError::new(ErrorCode::DuplicateField).appended(format!("{name} is sent more than once"))
}

fn empty(name: &str) -> ApiError {
    ApiError::new(ErrorCode::EmptyField).appended(format!("{name} has an empty value"))
}

fn multipart_error(err: MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE || hit_length_limit(&err) {
        return ApiError::new(ErrorCode::BodyTooLarge);
    }
    let error = ApiError::new(ErrorCode::MalformedBody);
    error
        .appended("The body is not a valid multipart/form-data form")
        .log_detail(err.body_text())
}

/// Whether reading the body stopped at the body limit layer, however deep
/// the reader wrapped that error.
fn hit_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err.is::<LengthLimitError>() {
            return true;
        }
        cause = err.source();
    }
    false
}
