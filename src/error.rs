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

pub mod i18n;

/// Field name → messages, as the `errors` member of a validation problem.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Declares [`Code`] from one table: every code with its text and HTTP status, so
/// the variant, `as_str`, `status` and the list [`Code::ALL`] cannot drift apart.
/// The code after `internal` is the bare 500: it is a code like the others, but
/// not one a client can act on, so `ALL` (the spec's `code` enum) leaves it out.
macro_rules! codes {
    (
        $( $variant:ident = $text:literal => $status:ident ),+ ;
        internal $internal:ident = $internal_text:literal => $internal_status:ident $(;)?
    ) => {
        /// The stable, machine-readable error codes of API.md.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $( $variant, )+
            $internal,
        }

        impl Code {
            /// Every code a client can see (the spec lists them as the `code` enum).
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Code::$variant => $text, )+
                    Code::$internal => $internal_text,
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $( Code::$variant => StatusCode::$status, )+
                    Code::$internal => StatusCode::$internal_status,
                }
            }
        }
    };
}

codes! {
    MalformedRequest = "malformed_request" => BAD_REQUEST,
    ValidationFailed = "validation_failed" => UNPROCESSABLE_ENTITY,
    Unauthorized = "unauthorized" => UNAUTHORIZED,
    InvalidCredentials = "invalid_credentials" => UNAUTHORIZED,
    Forbidden = "forbidden" => FORBIDDEN,
    RealNameRequired = "real_name_required" => FORBIDDEN,
    NotFound = "not_found" => NOT_FOUND,
    MethodNotAllowed = "method_not_allowed" => METHOD_NOT_ALLOWED,
    PayloadTooLarge = "payload_too_large" => PAYLOAD_TOO_LARGE,
    UnsupportedMediaType = "unsupported_media_type" => UNSUPPORTED_MEDIA_TYPE,
    PhoneTaken = "phone_taken" => CONFLICT,
    IdentityTaken = "identity_taken" => CONFLICT,
    LicenseTaken = "license_taken" => CONFLICT,
    MerchantNotApproved = "merchant_not_approved" => CONFLICT,
    InvalidState = "invalid_state" => CONFLICT,
    BudgetExceeded = "budget_exceeded" => UNPROCESSABLE_ENTITY,
    CampaignNotActive = "campaign_not_active" => CONFLICT,
    ClaimNotStarted = "claim_not_started" => CONFLICT,
    ClaimEnded = "claim_ended" => CONFLICT,
    SoldOut = "sold_out" => CONFLICT,
    ClaimLimitReached = "claim_limit_reached" => CONFLICT,
    OfferUnavailable = "offer_unavailable" => CONFLICT,
    OutOfStock = "out_of_stock" => CONFLICT,
    VoucherUnavailable = "voucher_unavailable" => CONFLICT,
    VoucherNotApplicable = "voucher_not_applicable" => UNPROCESSABLE_ENTITY,
    AlreadyRedeemed = "already_redeemed" => CONFLICT,
    IdempotencyKeyReused = "idempotency_key_reused" => UNPROCESSABLE_ENTITY,
    IdempotencyKeyInUse = "idempotency_key_in_use" => CONFLICT,
    RateLimited = "rate_limited" => TOO_MANY_REQUESTS,
    ServiceUnavailable = "service_unavailable" => SERVICE_UNAVAILABLE,
    // Fair release (API.md): lottery batches, pacing, usable windows.
    WrongAllocation = "wrong_allocation" => CONFLICT,
    AlreadyEntered = "already_entered" => CONFLICT,
    SoldOutToday = "sold_out_today" => CONFLICT,
    VoucherNotUsableNow = "voucher_not_usable_now" => UNPROCESSABLE_ENTITY,
    // Too many claims wait already: 503 with `Retry-After`, nothing changed.
    Overloaded = "overloaded" => SERVICE_UNAVAILABLE;
    internal Internal = "internal_error" => INTERNAL_SERVER_ERROR;
}

impl Code {
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

/// A stored text that names no variant of its vocabulary: the database holds what
/// the code never writes, a bug or a bad migration, so a bare 500.
impl From<crate::domain::vocabulary::UnknownValue> for AppError {
    fn from(error: crate::domain::vocabulary::UnknownValue) -> Self {
        AppError::Internal(error.into())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => AppError::not_found(),
            // "The database is not there" is a 503 the client may retry, not our bug.
            other => match crate::db::unavailable::classify(&other) {
                Some(cause) => crate::db::unavailable::error(cause, &other),
                None => AppError::Internal(other.into()),
            },
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
    // Every 503 is "not now": tell the client when to try again.
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(crate::db::unavailable::RETRY_AFTER_SECONDS),
        );
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::Code;

    fn every_code() -> Vec<Code> {
        let mut all = Code::ALL.to_vec();
        all.push(Code::Internal);
        all
    }

    #[test]
    fn every_code_has_its_own_snake_case_text() {
        let mut seen = HashSet::new();
        for code in every_code() {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} is used twice");
            let snake = !text.is_empty()
                && text.starts_with(|c: char| c.is_ascii_lowercase())
                && !text.ends_with('_')
                && !text.contains("__")
                && text
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            assert!(snake, "{text} is not snake_case");
        }
    }

    #[test]
    fn clients_see_every_code_but_the_bare_500() {
        assert!(!Code::ALL.contains(&Code::Internal));
        assert_eq!(Code::Internal.as_str(), "internal_error");
        for code in Code::ALL {
            assert!(
                code.status().is_client_error() || code.status().as_u16() == 503,
                "{code:?}"
            );
        }
        assert!(Code::Internal.status().is_server_error());
    }
}
