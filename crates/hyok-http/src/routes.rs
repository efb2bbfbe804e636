//! The endpoint handlers.

use std::collections::BTreeMap;

use axum::Extension;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyok_core::{LifecycleError, ProviderConfig};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Claims;
use crate::error::{ApiError, ErrorCode, kind_name};
use crate::form;

/// What `dek/check` and `kmsconfig/get` say when HYOK is off.
pub(crate) const NO_PROVIDER: &str = "No-Provider-Configured";

/// How a secret's value is shown by `kmsconfig/get`.
pub(crate) const REDACTED: &str = "[REDACTED]";

#[derive(Serialize)]
pub(crate) struct CheckBody {
    hyokenabled: bool,
    hyokprovider: String,
    #[serde(rename = "isHYOKEnabled")]
    is_hyok_enabled: bool,
    #[serde(rename = "HYOKProvider")]
    hyok_provider: String,
    #[serde(rename = "keysAvailable")]
    keys_available: bool,
    #[serde(rename = "primaryVersion")]
    primary_version: u32,
    #[serde(rename = "lastErrorKind")]
    last_error_kind: Option<&'static str>,
}

#[derive(Serialize)]
pub(crate) struct StatusMessage {
    status: &'static str,
    message: &'static str,
}

#[derive(Serialize)]
pub(crate) struct Message {
    message: &'static str,
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: SecretString,
}

/// `GET /dek/check`: whether HYOK is on, which provider, and its health.
pub(crate) async fn dek_check(State(state): State<AppState>) -> Json<CheckBody> {
    let status = state.engine().status();
    let provider = if status.hyok_enabled {
        status.provider.name
    } else {
        NO_PROVIDER.to_owned()
    };
    Json(CheckBody {
        hyokenabled: status.hyok_enabled,
        hyokprovider: provider.clone(),
        is_hyok_enabled: status.hyok_enabled,
        hyok_provider: provider,
        keys_available: status.keys_available,
        primary_version: status.primary_version,
        last_error_kind: status.last_error.map(|(kind, _)| kind_name(kind)),
    })
}

/// `POST /kmsconfig/create`: turns HYOK on with the form's provider.
pub(crate) async fn kmsconfig_create(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<StatusMessage>, ApiError> {
    if state.engine().status().hyok_enabled {
        return Err(ApiError::new(ErrorCode::AlreadyConfigured));
    }
    let config = config_from_form(&state, multipart).await?;

    let engine = state.engine().clone();
    run_lifecycle(async move { engine.create_provider(config).await }).await?;
    Ok(Json(StatusMessage {
        status: "success",
        message: "KMS Configuration created Successfully",
    }))
}

/// `POST /kmsconfig/update`: moves the keyring to the form's configuration.
pub(crate) async fn kmsconfig_update(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<StatusMessage>, ApiError> {
    if !state.engine().status().hyok_enabled {
        return Err(ApiError::new(ErrorCode::NotConfigured));
    }
    let config = config_from_form(&state, multipart).await?;

    let engine = state.engine().clone();
    run_lifecycle(async move { engine.update_provider(config).await }).await?;
    Ok(Json(StatusMessage {
        status: "success",
        message: "KMS Configuration updated Successfully",
    }))
}

/// `POST /dek/rotate`: a new primary data key from the provider.
pub(crate) async fn dek_rotate(State(state): State<AppState>) -> Result<Json<Message>, ApiError> {
    let engine = state.engine().clone();
    run_lifecycle(async move { engine.rotate().await.map(drop) }).await?;
    Ok(Json(Message {
        message: "Kek rotated successfully",
    }))
}

/// `GET /kmsconfig/get`: the provider and its public settings; secrets are
/// named with a redacted value.
pub(crate) async fn kmsconfig_get(
    State(state): State<AppState>,
) -> Json<BTreeMap<String, serde_json::Value>> {
    let mut body = BTreeMap::new();
    let Some(summary) = state.engine().provider_summary() else {
        body.insert("provider".to_owned(), NO_PROVIDER.into());
        body.insert("hyokenabled".to_owned(), false.into());
        return Json(body);
    };

    for (name, value) in summary.settings {
        body.insert(name, value.into());
    }
    for name in summary.secret_names {
        body.insert(name, REDACTED.into());
    }
    body.insert("provider".to_owned(), summary.provider.into());
    body.insert("hyokenabled".to_owned(), true.into());
    Json(body)
}

/// `POST /api/jwt/login`: the admin's token as plain text.
pub(crate) async fn login(
    State(state): State<AppState>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(form) = form.map_err(form_error)?;

    let internal = |err: String| ApiError::new(ErrorCode::Internal).log_detail(err);
    let _slot = state
        .login_slots()
        .acquire()
        .await
        .map_err(|err| internal(err.to_string()))?;
    let checker = state.clone();
    let ok = tokio::task::spawn_blocking(move || {
        checker
            .auth()
            .check_password(&form.username, &form.password)
    })
    .await
    .map_err(|err| internal(err.to_string()))?;
    if !ok {
        return Err(ApiError::new(ErrorCode::LoginFailed));
    }

    let token = state.auth().issue();
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], token).into_response())
}

/// `POST /api/jwt/logout`: revokes the token the request came with.
pub(crate) async fn logout(
    State(state): State<AppState>,
    Extension(claims): Extension<Claims>,
) -> StatusCode {
    state.auth().revoke(&claims);
    StatusCode::NO_CONTENT
}

async fn config_from_form(
    state: &AppState,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<ProviderConfig, ApiError> {
    let multipart = multipart.map_err(|_| {
        let error = ApiError::new(ErrorCode::UnsupportedContentType);
        error.appended("Send the configuration as multipart/form-data (curl -F name=value)")
    })?;
    let parts = form::read_parts(multipart).await?;
    form::provider_config(&parts, state.registry())
}

/// Runs a key lifecycle operation in its own task, so that a client that
/// goes away (or the request timeout) cannot cut it short half way.
async fn run_lifecycle<F>(operation: F) -> Result<(), ApiError>
where
    F: Future<Output = Result<(), LifecycleError>> + Send + 'static,
{
    match tokio::spawn(operation).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(err) => Err(ApiError::new(ErrorCode::Internal).log_detail(err.to_string())),
    }
}

fn form_error(rejection: FormRejection) -> ApiError {
    match rejection {
        FormRejection::InvalidFormContentType(_) => {
            let error = ApiError::new(ErrorCode::UnsupportedContentType);
            error.appended("Send username and password as application/x-www-form-urlencoded")
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorCode::BodyTooLarge)
        }
        _ => {
            let error = ApiError::new(ErrorCode::MalformedBody);
            error.appended("The form needs the fields username and password")
        }
    }
}
