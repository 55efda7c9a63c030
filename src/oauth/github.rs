//! GitHub: who the user is, from the REST API.

use serde::Deserialize;
use url::Url;

use crate::oauth::{Identity, OAuthError};

#[derive(Deserialize)]
struct GitHubUser {
    id: u64,
    login: String,
    name: Option<String>,
    avatar_url: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
struct GitHubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

fn unreachable(err: impl std::fmt::Display) -> OAuthError {
    tracing::warn!(error = %err, "the GitHub API failed");
    OAuthError::Unreachable
}

/// The user's id, name, avatar, and verified primary email.
pub async fn identity(
    http: &reqwest::Client,
    api_url: &Url,
    access_token: &str,
) -> Result<Identity, OAuthError> {
    let get = |path: &str| {
        let url = format!("{}{path}", api_url.as_str().trim_end_matches('/'));
        http.get(url)
            .bearer_auth(access_token)
            .header("accept", "application/vnd.github+json")
            .header("user-agent", "growth-diary")
            .send()
    };
    let user: GitHubUser = get("/user")
        .await
        .map_err(unreachable)?
        .error_for_status()
        .map_err(unreachable)?
        .json()
        .await
        .map_err(unreachable)?;
    let emails: Vec<GitHubEmail> = match get("/user/emails").await {
        Ok(response) => response
            .error_for_status()
            .map_err(unreachable)?
            .json()
            .await
            .unwrap_or_default(),
        Err(err) => return Err(unreachable(err)),
    };
    let (email, email_verified) = match emails.into_iter().find(|e| e.primary && e.verified) {
        Some(primary) => (Some(primary.email), true),
        None => (user.email, false),
    };
    Ok(Identity {
        provider_account_id: user.id.to_string(),
        email,
        email_verified,
        name: user.name.or(Some(user.login)),
        image: user.avatar_url,
    })
}
