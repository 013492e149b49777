//! The JSON API for customers' HR systems: an organisation's API token (made by the
//! operator, `Authorization: Bearer <token>`) submits and reads that organisation's
//! requests only. The OpenAPI 3 document is served at /api/openapi.json.
//!
//! A missing, malformed, unknown or revoked token: 401, all alike. Another organisation's
//! request: 404, like one that does not exist.

use crate::model::{LifecycleRequest, RequestData, RequestId, RequestStep, UnixTime};
use crate::service::{Actor, ServiceError};
use crate::web::WebState;
use crate::web::extract::ClientInfo;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/requests", get(list).post(submit))
        .route("/api/v1/requests/{id}", get(show))
}

/// The OpenAPI document.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

fn error(status: StatusCode, text: &str) -> Response {
    (status, Json(serde_json::json!({ "error": text }))).into_response()
}

fn unauthorized() -> Response {
    let mut res = error(
        StatusCode::UNAUTHORIZED,
        "missing or invalid API token (Authorization: Bearer <token>)",
    );
    res.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    res
}

fn failure(e: &ServiceError) -> Response {
    match e {
        // The service's not found, or the store's (a row gone between two reads).
        e if e.is_not_found() => error(StatusCode::NOT_FOUND, "not found"),
        // In English, as the API's documentation has it.
        ServiceError::Refused(refusal) => {
            error(StatusCode::UNPROCESSABLE_ENTITY, &refusal.to_string())
        }
        e => {
            tracing::error!(error = %e, "API request failed inside the gateway");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// The organisation's actor behind the bearer token (with the client and the time of the
/// request), or the 401 to answer.
struct ApiActor {
    actor: Actor,
    now: UnixTime,
}

impl FromRequestParts<WebState> for ApiActor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        let Ok(client) = ClientInfo::from_request_parts(parts, state).await;
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(bearer) = bearer else {
            return Err(unauthorized());
        };
        match state
            .gateway
            .api_actor(bearer, Some(client.ip), client.request_id)
            .await
        {
            Ok(Some(actor)) => Ok(Self {
                actor,
                now: client.now,
            }),
            Ok(None) => Err(unauthorized()),
            Err(e) => Err(failure(&e)),
        }
    }
}

#[derive(Serialize)]
struct RequestView {
    #[serde(flatten)]
    request: LifecycleRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<RequestStep>>,
}

async fn list(State(state): State<WebState>, ApiActor { actor, now }: ApiActor) -> Response {
    match state.gateway.requests_for(&actor, None, false, now).await {
        Ok(requests) => Json(serde_json::json!({ "requests": requests })).into_response(),
        Err(e) => failure(&e),
    }
}

async fn show(
    State(state): State<WebState>,
    ApiActor { actor, now }: ApiActor,
    Path(id): Path<RequestId>,
) -> Response {
    match state.gateway.request_for(&actor, id, now).await {
        Ok((request, history)) => Json(RequestView {
            request,
            history: Some(history),
        })
        .into_response(),
        Err(e) => failure(&e),
    }
}

async fn submit(
    State(state): State<WebState>,
    ApiActor { actor, now }: ApiActor,
    body: axum::body::Bytes,
) -> Response {
    let data: RequestData = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("the body is not a valid request: {e}"),
            );
        }
    };
    let crate::service::Scope::Org(org) = actor.scope() else {
        return unauthorized();
    };
    match state.gateway.submit_request(&actor, org, data, now).await {
        Ok(request) => (
            StatusCode::CREATED,
            Json(RequestView {
                request,
                history: None,
            }),
        )
            .into_response(),
        Err(e) => failure(&e),
    }
}
