//! The one error type of the service and its RFC 9457 problem+json rendering.
//!
//! Every error a client can see carries a stable snake_case `code` from [`Code`].
//! Internal errors are logged with their whole cause chain and answered with a bare
//! 500 that says nothing about the cause. [`problem_for_framework_errors`] gives the
//! framework's own error answers (unknown route, wrong method, …) the same shape.

use std::collections::BTreeMap;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Field name → messages, as the `errors` member of a validation problem.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// The stable, machine-readable error codes of API.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    MalformedRequest,
    ValidationFailed,
    Unauthorized,
    InvalidCredentials,
    Forbidden,
    RealNameRequired,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    PhoneTaken,
    IdentityTaken,
    LicenseTaken,
    MerchantNotApproved,
    InvalidState,
    BudgetExceeded,
    CampaignNotActive,
    ClaimNotStarted,
    ClaimEnded,
    SoldOut,
    ClaimLimitReached,
    OfferUnavailable,
    OutOfStock,
    VoucherUnavailable,
    VoucherNotApplicable,
    AlreadyRedeemed,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
    RateLimited,
    ServiceUnavailable,
    /// Too many claims wait already: 503 with `Retry-After`, nothing changed.
    Overloaded,
    Internal,
}

impl Code {
    /// Every code a client can see (the spec lists them as the `code` enum).
    pub const ALL: [Code; 31] = [
        Code::MalformedRequest,
        Code::ValidationFailed,
        Code::Unauthorized,
        Code::InvalidCredentials,
        Code::Forbidden,
        Code::RealNameRequired,
        Code::NotFound,
        Code::MethodNotAllowed,
        Code::PayloadTooLarge,
        Code::UnsupportedMediaType,
        Code::PhoneTaken,
        Code::IdentityTaken,
        Code::LicenseTaken,
        Code::MerchantNotApproved,
        Code::InvalidState,
        Code::BudgetExceeded,
        Code::CampaignNotActive,
        Code::ClaimNotStarted,
        Code::ClaimEnded,
        Code::SoldOut,
        Code::ClaimLimitReached,
        Code::OfferUnavailable,
        Code::OutOfStock,
        Code::VoucherUnavailable,
        Code::VoucherNotApplicable,
        Code::AlreadyRedeemed,
        Code::IdempotencyKeyReused,
        Code::IdempotencyKeyInUse,
        Code::RateLimited,
        Code::ServiceUnavailable,
        Code::Overloaded,
    ];

    pub fn as_str(self) -> &'static str {
        use Code::*;
        match self {
            MalformedRequest => "malformed_request",
            ValidationFailed => "validation_failed",
            Unauthorized => "unauthorized",
            InvalidCredentials => "invalid_credentials",
            Forbidden => "forbidden",
            RealNameRequired => "real_name_required",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            PayloadTooLarge => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            PhoneTaken => "phone_taken",
            IdentityTaken => "identity_taken",
            LicenseTaken => "license_taken",
            MerchantNotApproved => "merchant_not_approved",
            InvalidState => "invalid_state",
            BudgetExceeded => "budget_exceeded",
            CampaignNotActive => "campaign_not_active",
            ClaimNotStarted => "claim_not_started",
            ClaimEnded => "claim_ended",
            SoldOut => "sold_out",
            ClaimLimitReached => "claim_limit_reached",
            OfferUnavailable => "offer_unavailable",
            OutOfStock => "out_of_stock",
            VoucherUnavailable => "voucher_unavailable",
            VoucherNotApplicable => "voucher_not_applicable",
            AlreadyRedeemed => "already_redeemed",
            IdempotencyKeyReused => "idempotency_key_reused",
            IdempotencyKeyInUse => "idempotency_key_in_use",
            RateLimited => "rate_limited",
            ServiceUnavailable => "service_unavailable",
            Overloaded => "overloaded",
            Internal => "internal_error",
        }
    }

    pub fn status(self) -> StatusCode {
        use Code::*;
        match self {
            MalformedRequest => StatusCode::BAD_REQUEST,
            ValidationFailed | BudgetExceeded | VoucherNotApplicable | IdempotencyKeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Unauthorized | InvalidCredentials => StatusCode::UNAUTHORIZED,
            Forbidden | RealNameRequired => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PhoneTaken | IdentityTaken | LicenseTaken | MerchantNotApproved | InvalidState | CampaignNotActive
            | ClaimNotStarted | ClaimEnded | SoldOut | ClaimLimitReached | OfferUnavailable | OutOfStock
            | VoucherUnavailable | AlreadyRedeemed | IdempotencyKeyInUse => StatusCode::CONFLICT,
            RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ServiceUnavailable | Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code a bare framework answer with this status stands for.
    fn for_status(status: StatusCode) -> Code {
        match status.as_u16() {
            400 => Code::MalformedRequest,
            401 => Code::Unauthorized,
            403 => Code::Forbidden,
            404 => Code::NotFound,
            405 => Code::MethodNotAllowed,
            413 => Code::PayloadTooLarge,
            415 => Code::UnsupportedMediaType,
            422 => Code::ValidationFailed,
            429 => Code::RateLimited,
            503 => Code::ServiceUnavailable,
            _ => Code::Internal,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// An error with a stable code and a human-readable detail.
    #[error("{code:?}: {detail}")]
    Problem { code: Code, detail: String },
    /// 422 `validation_failed` naming every offending field.
    #[error("validation failed: {0:?}")]
    Validation(FieldErrors),
    /// 429 `rate_limited`, with the seconds to wait.
    #[error("rate limited, retry after {0} s")]
    RateLimited(u64),
    /// Anything unexpected: logged, answered with a bare 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        AppError::Problem {
            code,
            detail: detail.into(),
        }
    }

    pub fn not_found() -> Self {
        Self::new(Code::NotFound, "no such resource")
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(Code::Unauthorized, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, detail)
    }

    pub fn invalid_state(detail: impl Into<String>) -> Self {
        Self::new(Code::InvalidState, detail)
    }

    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        AppError::Validation(errors)
    }

    pub fn code(&self) -> Code {
        match self {
            AppError::Problem { code, .. } => *code,
            AppError::Validation(_) => Code::ValidationFailed,
            AppError::RateLimited(_) => Code::RateLimited,
            AppError::Internal(_) => Code::Internal,
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => AppError::not_found(),
            other => AppError::Internal(other.into()),
        }
    }
}

/// The JSON body of a problem answer.
#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a FieldErrors>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

fn problem_response(code: Code, detail: &str, errors: Option<&FieldErrors>) -> HttpResponse {
    let status = code.status();
    let body = Problem {
        kind: format!("https://wenlv.dev/problems/{}", code.as_str()),
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        code: code.as_str(),
        errors,
    };
    let json = serde_json::to_string(&body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = HttpResponse::build(status).content_type(PROBLEM_JSON).body(json);
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Problem { code, detail } => problem_response(*code, detail, None),
            AppError::Validation(errors) => {
                problem_response(Code::ValidationFailed, "the request has invalid fields", Some(errors))
            }
            AppError::RateLimited(retry_after) => {
                let mut response = problem_response(Code::RateLimited, "too many attempts, try again later", None);
                if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            AppError::Internal(error) => {
                tracing::error!(error = ?error, "internal error");
                problem_response(Code::Internal, "internal error", None)
            }
        }
    }
}

/// Middleware hook: rewrites any 4xx/5xx answer that is not problem+json yet (actix's
/// own 404, 405, 413, …) into one, keeping its status and headers.
pub fn problem_for_framework_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let already_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if already_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = Code::for_status(status);
    let detail = match code {
        Code::NotFound => "no such resource",
        Code::MethodNotAllowed => "method not allowed on this resource",
        Code::Internal => "internal error",
        _ => status.canonical_reason().unwrap_or("error"),
    };
    let (req, old) = res.into_parts();
    let mut new = problem_response(code, detail, None);
    *new.status_mut() = status;
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let res = ServiceResponse::new(req, new.map_into_boxed_body()).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}
