//! The JSON API for customers' HR systems: an organisation's API token (made by the
//! operator, `Authorization: Bearer <token>`) submits and reads that organisation's
//! requests only. The OpenAPI 3 document is served at /api/openapi.json.
//!
//! A missing, malformed, unknown or revoked token: 401, all alike. Another organisation's
//! request: 404, like one that does not exist.

use super::WebState;
use super::login::{Peer, request_id};
use crate::model::{LifecycleRequest, RequestData, RequestId, RequestStep, now};
use crate::service::{AdminActor, ServiceError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
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
pub const OPENAPI: &str = r##"{
 "openapi": "3.0.3",
 "info": {
  "title": "mfa-gateway account life cycle API",
  "version": "1",
  "description": "Requests of one customer organisation (joiners, changes, leavers, token orders and reservations). Authenticate with the organisation's API token: `Authorization: Bearer <token>`. A token sees its own organisation only."
 },
 "components": {
  "securitySchemes": {
   "bearer": {
    "type": "http",
    "scheme": "bearer"
   }
  },
  "schemas": {
   "NewEmployee": {
    "type": "object",
    "additionalProperties": false,
    "required": [
     "type",
     "full_name",
     "email",
     "start_date"
    ],
    "properties": {
     "type": {
      "type": "string",
      "enum": [
       "new_employee"
      ]
     },
     "full_name": {
      "type": "string"
     },
     "email": {
      "type": "string",
      "format": "email"
     },
     "employee_number": {
      "type": "string"
     },
     "username": {
      "type": "string",
      "description": "Empty: the e-mail address."
     },
     "start_date": {
      "type": "string",
      "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
      "example": "2026-12-31"
     },
     "phone": {
      "type": "boolean"
     },
     "token": {
      "type": "boolean"
     }
    }
   },
   "ChangeAccount": {
    "type": "object",
    "additionalProperties": false,
    "required": [
     "type",
     "person_id"
    ],
    "properties": {
     "type": {
      "type": "string",
      "enum": [
       "change_account"
      ]
     },
     "person_id": {
      "type": "integer"
     },
     "full_name": {
      "type": "string"
     },
     "email": {
      "type": "string"
     },
     "replace_token": {
      "type": "boolean"
     },
     "old_token": {
      "type": "string",
      "enum": [
       "return",
       "lost"
      ],
      "default": "return"
     },
     "new_serial": {
      "type": "string"
     }
    }
   },
   "RemoveAccount": {
    "type": "object",
    "additionalProperties": false,
    "required": [
     "type",
     "person_id",
     "end_date"
    ],
    "properties": {
     "type": {
      "type": "string",
      "enum": [
       "remove_account"
      ]
     },
     "person_id": {
      "type": "integer"
     },
     "end_date": {
      "type": "string",
      "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
      "example": "2026-12-31"
     },
     "tokens": {
      "type": "string",
      "enum": [
       "return",
       "lost"
      ],
      "default": "return"
     }
    }
   },
   "OrderTokens": {
    "type": "object",
    "additionalProperties": false,
    "required": [
     "type",
     "count",
     "address",
     "contact"
    ],
    "properties": {
     "type": {
      "type": "string",
      "enum": [
       "order_tokens"
      ]
     },
     "count": {
      "type": "integer",
      "minimum": 1,
      "maximum": 10000
     },
     "address": {
      "type": "string"
     },
     "contact": {
      "type": "string"
     }
    }
   },
   "ReserveTokens": {
    "type": "object",
    "additionalProperties": false,
    "required": [
     "type",
     "count"
    ],
    "properties": {
     "type": {
      "type": "string",
      "enum": [
       "reserve_tokens"
      ]
     },
     "count": {
      "type": "integer",
      "minimum": 1,
      "maximum": 10000
     }
    }
   },
   "RequestData": {
    "oneOf": [
     {
      "$ref": "#/components/schemas/NewEmployee"
     },
     {
      "$ref": "#/components/schemas/ChangeAccount"
     },
     {
      "$ref": "#/components/schemas/RemoveAccount"
     },
     {
      "$ref": "#/components/schemas/OrderTokens"
     },
     {
      "$ref": "#/components/schemas/ReserveTokens"
     }
    ],
    "discriminator": {
     "propertyName": "type"
    }
   },
   "Step": {
    "type": "object",
    "properties": {
     "time": {
      "type": "integer",
      "description": "Unix seconds"
     },
     "status": {
      "type": "string",
      "enum": [
       "submitted",
       "in_progress",
       "done",
       "rejected",
       "cancelled"
      ]
     },
     "actor": {
      "type": "string"
     },
     "note": {
      "type": "string",
      "nullable": true
     }
    }
   },
   "Request": {
    "type": "object",
    "properties": {
     "id": {
      "type": "integer"
     },
     "org_id": {
      "type": "integer"
     },
     "data": {
      "$ref": "#/components/schemas/RequestData"
     },
     "status": {
      "type": "string",
      "enum": [
       "submitted",
       "in_progress",
       "done",
       "rejected",
       "cancelled"
      ]
     },
     "requested_by": {
      "type": "string"
     },
     "requester_id": {
      "type": "integer",
      "nullable": true
     },
     "person_id": {
      "type": "integer",
      "nullable": true
     },
     "scheduled_at": {
      "type": "integer",
      "nullable": true
     },
     "created_at": {
      "type": "integer"
     },
     "updated_at": {
      "type": "integer"
     },
     "history": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Step"
      }
     }
    }
   },
   "Error": {
    "type": "object",
    "properties": {
     "error": {
      "type": "string"
     }
    }
   }
  }
 },
 "security": [
  {
   "bearer": []
  }
 ],
 "paths": {
  "/api/v1/requests": {
   "get": {
    "summary": "The organisation's requests, newest first",
    "responses": {
     "200": {
      "description": "The requests",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "requests": {
           "type": "array",
           "items": {
            "$ref": "#/components/schemas/Request"
           }
          }
         }
        }
       }
      }
     },
     "401": {
      "description": "Missing or invalid token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   },
   "post": {
    "summary": "Submit a request",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/RequestData"
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "Submitted",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Request"
        }
       }
      }
     },
     "401": {
      "description": "Missing or invalid token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "description": "The request is not valid",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/v1/requests/{id}": {
   "get": {
    "summary": "One request with its status history",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "The request",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Request"
        }
       }
      }
     },
     "401": {
      "description": "Missing or invalid token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "No such request in this organisation",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  }
 }
}"##;

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
        ServiceError::NotFound(_) => error(StatusCode::NOT_FOUND, "not found"),
        ServiceError::Invalid(text) => error(StatusCode::UNPROCESSABLE_ENTITY, text),
        e => {
            tracing::error!(error = %e, "API request failed inside the gateway");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// The organisation's actor behind the bearer token, or the 401 to answer.
async fn api_actor(
    state: &WebState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
) -> Result<AdminActor, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(bearer) = bearer else {
        return Err(unauthorized());
    };
    let source = Some(state.client_ip(peer, headers));
    match state
        .gateway
        .api_actor(bearer, source, request_id(headers))
        .await
    {
        Ok(Some(actor)) => Ok(actor),
        Ok(None) => Err(unauthorized()),
        Err(e) => Err(failure(&e)),
    }
}

#[derive(Serialize)]
struct RequestView {
    #[serde(flatten)]
    request: LifecycleRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<RequestStep>>,
}

async fn list(State(state): State<WebState>, Peer(peer): Peer, headers: HeaderMap) -> Response {
    let actor = match api_actor(&state, peer, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match state.gateway.requests_for(&actor, None, false, now()).await {
        Ok(requests) => Json(serde_json::json!({ "requests": requests })).into_response(),
        Err(e) => failure(&e),
    }
}

async fn show(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<RequestId>,
) -> Response {
    let actor = match api_actor(&state, peer, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match state.gateway.request_for(&actor, id, now()).await {
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
    Peer(peer): Peer,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let actor = match api_actor(&state, peer, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let data: RequestData = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("the body is not a valid request: {e}"),
            );
        }
    };
    let crate::service::Scope::Org(org) = actor.scope else {
        return unauthorized();
    };
    match state.gateway.submit_request(&actor, org, data, now()).await {
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
