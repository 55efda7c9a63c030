//! The configured providers and their endpoints.

use std::sync::Arc;

use secrecy::SecretString;
use url::Url;

use crate::config::OAuthConfig;
use crate::oauth::oidc::OidcMetadata;

/// What kind of provider, and how to learn who the user is.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per provider, made once at start"
)]
pub enum ProviderKind {
    /// GitHub: OAuth 2 plus the REST API (user and verified emails).
    GitHub {
        authorize_url: Url,
        token_url: Url,
        api_url: Url,
    },
    /// OpenID Connect: endpoints by discovery, identity from the verified ID token.
    Oidc(OidcMetadata),
}

/// A configured provider.
#[derive(Debug)]
pub struct Provider {
    /// Its name in URLs and in `accounts.provider`.
    pub name: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub kind: ProviderKind,
    pub scopes: Vec<&'static str>,
}

/// Why the providers' settings are unusable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProviderConfigError(String);

/// Every enabled provider. A provider with only half of its settings is an error.
pub fn from_config(config: &OAuthConfig) -> Result<Vec<Arc<Provider>>, ProviderConfigError> {
    let mut providers = Vec::new();
    if let Some((client_id, client_secret)) = pair(
        "OAUTH_GITHUB",
        &config.oauth_github_client_id,
        &config.oauth_github_client_secret,
    )? {
        let join = |base: &Url, path: &str| {
            base.join(path)
                .map_err(|err| ProviderConfigError(format!("OAUTH_GITHUB_URL: {err}")))
        };
        providers.push(Arc::new(Provider {
            name: "github".into(),
            client_id,
            client_secret,
            kind: ProviderKind::GitHub {
                authorize_url: join(&config.oauth_github_url, "/login/oauth/authorize")?,
                token_url: join(&config.oauth_github_url, "/login/oauth/access_token")?,
                api_url: config.oauth_github_api_url.clone(),
            },
            scopes: vec!["read:user", "user:email"],
        }));
    }
    if let Some((client_id, client_secret)) = pair(
        "OAUTH_GOOGLE",
        &config.oauth_google_client_id,
        &config.oauth_google_client_secret,
    )? {
        let issuer = Url::parse("https://accounts.google.com").expect("a valid constant URL");
        providers.push(Arc::new(oidc_provider(
            "google",
            issuer,
            client_id,
            client_secret,
        )));
    }
    if let Some((client_id, client_secret)) = pair(
        "OAUTH_OIDC",
        &config.oauth_oidc_client_id,
        &config.oauth_oidc_client_secret,
    )? {
        let issuer = config.oauth_oidc_issuer.clone().ok_or_else(|| {
            ProviderConfigError("OAUTH_OIDC_ISSUER is required with OAUTH_OIDC_CLIENT_ID".into())
        })?;
        if providers.iter().any(|p| p.name == config.oauth_oidc_name) {
            return Err(ProviderConfigError(format!(
                "OAUTH_OIDC_NAME {} is taken by a built-in provider",
                config.oauth_oidc_name
            )));
        }
        providers.push(Arc::new(oidc_provider(
            &config.oauth_oidc_name,
            issuer,
            client_id,
            client_secret,
        )));
    }
    Ok(providers)
}

fn oidc_provider(
    name: &str,
    issuer: Url,
    client_id: String,
    client_secret: SecretString,
) -> Provider {
    Provider {
        name: name.into(),
        client_id,
        client_secret,
        kind: ProviderKind::Oidc(OidcMetadata::new(issuer)),
        scopes: vec!["openid", "email", "profile"],
    }
}

fn pair(
    prefix: &str,
    id: &Option<String>,
    secret: &Option<SecretString>,
) -> Result<Option<(String, SecretString)>, ProviderConfigError> {
    match (id, secret) {
        (None, None) => Ok(None),
        (Some(id), Some(secret)) => Ok(Some((id.clone(), secret.clone()))),
        (Some(_), None) => Err(ProviderConfigError(format!(
            "{prefix}_CLIENT_SECRET is required with {prefix}_CLIENT_ID"
        ))),
        (None, Some(_)) => Err(ProviderConfigError(format!(
            "{prefix}_CLIENT_ID is required with {prefix}_CLIENT_SECRET"
        ))),
    }
}
