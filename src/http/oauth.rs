//! `GET /auth/{provider}/login` and `GET /auth/{provider}/callback`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use html_escape::encode_text as text;
use serde::Deserialize;

use crate::auth::client;
use crate::http::AppState;
use crate::http::auth::authenticate;
use crate::http::pages::page;
use crate::oauth::OAuthError;
use crate::oauth::flow::CallbackParams;

/// `?redirect_to=` of a sign-in.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    redirect_to: Option<String>,
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Unknown sign-in provider",
        "<p>This sign-in provider is not enabled on this server.</p>",
    )
}

/// Sends the browser to the provider.
pub async fn login(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(query): Query<LoginQuery>,
) -> Response {
    let services = &state.services;
    let Some(provider) = state.oauth.provider(&provider) else {
        return not_found();
    };
    match state
        .oauth
        .start(services, &provider, query.redirect_to.as_deref())
        .await
    {
        Ok((url, oauth_state)) => {
            let Ok(location) = HeaderValue::from_str(url.as_str()) else {
                return failure(&OAuthError::Internal, &state);
            };
            let mut response = (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                services.cookies.set_oauth_state(&oauth_state),
            );
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => failure(&err, &state),
    }
}

/// Where the provider sends the browser back.
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let services = &state.services;
    let Some(provider) = state.oauth.provider(&provider) else {
        return not_found();
    };
    let browser_state = services.cookies.read_oauth_state(&headers);
    // A browser already signed in links the new identity to its user.
    let signed_in_as = match authenticate(services, &headers, Some(peer.0)).await {
        Ok(auth) => auth.viewer.user_id(),
        Err(err) => return failure(&err.into(), &state),
    };
    let origin = client::origin(&headers, Some(peer.0), services.config.trust_proxy);
    let mut response = match state
        .oauth
        .finish(
            services,
            &provider,
            &params,
            browser_state,
            signed_in_as,
            &origin,
        )
        .await
    {
        Ok((signed_in, landing)) => {
            let Ok(location) = HeaderValue::from_str(landing.as_str()) else {
                return failure(&OAuthError::Internal, &state);
            };
            let mut response = (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
            let cookie = services
                .cookies
                .set(&signed_in.started.token, signed_in.started.session.expires);
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(err) => failure(&err, &state),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, services.cookies.clear_oauth_state());
    response
}

fn failure(err: &OAuthError, state: &AppState) -> Response {
    let status = match err {
        OAuthError::Unreachable => StatusCode::BAD_GATEWAY,
        OAuthError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        OAuthError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        OAuthError::EmailTaken => StatusCode::CONFLICT,
        OAuthError::LinkNeedsVerifiedEmail => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    let app = text(state.services.config.app_url().as_str()).into_owned();
    let body = format!(
        "<p>{}</p><p><a href=\"{app}\">Back to the app</a></p>",
        text(&err.to_string())
    );
    let mut response = page(status, "Sign-in failed", &body);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        crate::http::unavailable::mark(&mut response);
    }
    response
}
