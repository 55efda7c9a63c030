//! Small HTML pages behind the email links, so they work without an SPA:
//! `/verify-email?token=` (a button that posts the token) and
//! `/reset-password?token=` (a form that posts the new password). Fetching a
//! link changes nothing: mail scanners fetch links, so only a post from the
//! page itself spends a token. Tokens sit in these URLs, so the pages send
//! `Referrer-Policy: no-referrer` and are never cached or framed.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde::Deserialize;

use crate::accounts;
use crate::auth::client;
use crate::error::AppError;
use crate::http::AppState;

/// `?token=` of an email link.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The reset form's fields.
#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// GET /verify-email: a page whose button posts the token. The GET itself
/// neither verifies nor spends it.
pub async fn verify_email_form(Query(query): Query<TokenQuery>) -> Response {
    if query.token.is_empty() {
        return page(
            StatusCode::BAD_REQUEST,
            "Confirm your email address",
            "<p>This link has no token. Request a new verification email.</p>",
        );
    }
    let body = format!(
        "<form method=\"post\" action=\"/verify-email\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\
         <p>Confirm that this email address is yours.</p>\
         <p><button type=\"submit\">Confirm my email</button></p></form>",
        attr(&query.token)
    );
    page(StatusCode::OK, "Confirm your email address", &body)
}

/// POST /verify-email: verifies the address (from this site's own page only).
pub async fn verify_email_submit(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(input): Form<TokenQuery>,
) -> Response {
    if let Some(refused) = refuse_cross_site(&headers, &state.services.config.public_url) {
        return refused;
    }
    let origin = client::origin(&headers, Some(peer.0), state.services.config.trust_proxy);
    match accounts::verification::verify(&state.services, &origin, &input.token).await {
        Ok(_) => page(
            StatusCode::OK,
            "Email verified",
            "<p>Thank you: your email address is verified.</p>",
        ),
        Err(err) => failure(&err, "This verification link is invalid or has expired."),
    }
}

/// GET /reset-password: the form.
pub async fn reset_form(Query(query): Query<TokenQuery>) -> Response {
    if query.token.is_empty() {
        return page(
            StatusCode::BAD_REQUEST,
            "Reset your password",
            "<p>This link has no token. Request a new reset email.</p>",
        );
    }
    page(
        StatusCode::OK,
        "Choose a new password",
        &form(&query.token, None),
    )
}

/// POST /reset-password: sets the password and signs the browser in.
pub async fn reset_submit(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(input): Form<ResetForm>,
) -> Response {
    // Another site posting a token of its own would sign this browser in as
    // someone else (login CSRF).
    if let Some(refused) = refuse_cross_site(&headers, &state.services.config.public_url) {
        return refused;
    }
    if input.password != input.confirm {
        return page(
            StatusCode::BAD_REQUEST,
            "Choose a new password",
            &form(&input.token, Some("The two passwords differ.")),
        );
    }
    let origin = client::origin(&headers, Some(peer.0), state.services.config.trust_proxy);
    match accounts::recovery::reset(&state.services, &origin, &input.token, &input.password).await {
        Ok(done) => {
            let app = text(state.services.config.app_url().as_str()).into_owned();
            let body = format!(
                "<p>Your password is changed and you are signed in.</p><p><a href=\"{app}\">Continue</a></p>"
            );
            let mut response = page(StatusCode::OK, "Password changed", &body);
            let cookies = &state.services.cookies;
            let session = cookies.set(&done.started.token, done.started.session.expires);
            let device = cookies.set_device(&state.services.devices.issue(&done.user.email));
            response.headers_mut().append(header::SET_COOKIE, session);
            response.headers_mut().append(header::SET_COOKIE, device);
            response
        }
        Err(AppError::BadUserInput { field, message }) if field == "newPassword" => {
            let problem = format!("The password {message}.");
            page(
                StatusCode::BAD_REQUEST,
                "Choose a new password",
                &form(&input.token, Some(&problem)),
            )
        }
        Err(err) => failure(
            &err,
            "This reset link is invalid, used or expired. Request a new one.",
        ),
    }
}

/// The refusal of a form post that another site's page sent, or None when
/// it came from this server's own pages.
fn refuse_cross_site(headers: &HeaderMap, public_url: &url::Url) -> Option<Response> {
    (!same_origin(headers, public_url)).then(|| {
        page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "<p>This form can only be sent from this site.</p>",
        )
    })
}

/// Whether a browser sent the request from this server's own pages. Browsers
/// send `Sec-Fetch-Site` or `Origin` with a form post; clients that send
/// neither are not browsers, so cross-site forms are not a risk for them.
fn same_origin(headers: &HeaderMap, public_url: &url::Url) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => origin == public_url.origin().ascii_serialization(),
        None => true,
    }
}

fn form(token: &str, problem: Option<&str>) -> String {
    let problem = problem
        .map(|p| format!("<p role=\"alert\" style=\"color:#b00\">{}</p>", text(p)))
        .unwrap_or_default();
    format!(
        "{problem}<form method=\"post\" action=\"/reset-password\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\
         <p><label>New password<br><input type=\"password\" name=\"password\" minlength=\"8\" maxlength=\"128\" autocomplete=\"new-password\" required></label></p>\
         <p><label>Repeat it<br><input type=\"password\" name=\"confirm\" minlength=\"8\" maxlength=\"128\" autocomplete=\"new-password\" required></label></p>\
         <p><button type=\"submit\">Set password</button></p></form>",
        attr(token)
    )
}

fn failure(err: &AppError, user_message: &str) -> Response {
    match err {
        AppError::BadUserInput { .. } => page(
            StatusCode::BAD_REQUEST,
            "Link not valid",
            &format!("<p>{}</p>", text(user_message)),
        ),
        AppError::RateLimited { .. } => page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "<p>Try again later.</p>",
        ),
        AppError::ServiceUnavailable => {
            let mut response = page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Briefly unavailable",
                "<p>Please try again in a few seconds.</p>",
            );
            crate::http::unavailable::mark(&mut response);
            response
        }
        _ => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "<p>Please try again later.</p>",
        ),
    }
}

/// A small HTML page with the headers every email-link and sign-in page needs.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{0} · Growth Diary</title></head>\
         <body style=\"font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem\"><h1>{0}</h1>{1}</body></html>",
        text(title),
        body
    );
    let headers = [
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ),
        ),
    ];
    (status, headers, Html(html)).into_response()
}
