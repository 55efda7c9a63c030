//! OpenID Connect: discovery, and ID token verification (signature from the
//! JWKS, issuer, audience, authorized party, expiry, not-before, nonce). Discovery and keys are cached per
//! instance; keys are fetched again when a token names an unknown key id.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{OnceCell, RwLock};
use url::Url;

use crate::oauth::{Identity, OAuthError};

/// Provider metadata from discovery.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
    pub userinfo_endpoint: Option<Url>,
}

/// An issuer and what was learned about it.
#[derive(Debug)]
pub struct OidcMetadata {
    pub issuer: Url,
    discovery: OnceCell<Discovery>,
    keys: RwLock<Option<JwkSet>>,
}

/// The claims read from an ID token or userinfo.
#[derive(Debug, Clone, Deserialize)]
struct Claims {
    sub: String,
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    name: Option<String>,
    picture: Option<String>,
    nonce: Option<String>,
    /// The client the token was issued to (OpenID Connect Core 3.1.3.7).
    azp: Option<String>,
}

fn unreachable(err: impl std::fmt::Display) -> OAuthError {
    tracing::warn!(error = %err, "an OpenID Connect provider is unreachable");
    OAuthError::Unreachable
}

impl OidcMetadata {
    /// Metadata to be discovered for `issuer`.
    pub fn new(issuer: Url) -> Self {
        Self {
            issuer,
            discovery: OnceCell::new(),
            keys: RwLock::new(None),
        }
    }

    fn issuer_str(&self) -> &str {
        self.issuer.as_str().trim_end_matches('/')
    }

    /// The provider's discovery document (fetched once; a failure is retried next time).
    pub async fn discovery(&self, http: &reqwest::Client) -> Result<&Discovery, OAuthError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.issuer_str());
                let response = http.get(&url).send().await.map_err(unreachable)?;
                let discovery: Discovery =
                    response.error_for_status().map_err(unreachable)?.json().await.map_err(unreachable)?;
                if discovery.issuer.trim_end_matches('/') != self.issuer_str() {
                    tracing::error!(expected = %self.issuer, got = %discovery.issuer, "discovery names another issuer");
                    return Err(OAuthError::Verification);
                }
                Ok(discovery)
            })
            .await
    }

    async fn key_set(&self, http: &reqwest::Client, refresh: bool) -> Result<JwkSet, OAuthError> {
        if !refresh && let Some(keys) = self.keys.read().await.as_ref() {
            return Ok(keys.clone());
        }
        let discovery = self.discovery(http).await?;
        let response = http
            .get(discovery.jwks_uri.clone())
            .send()
            .await
            .map_err(unreachable)?;
        let keys: JwkSet = response
            .error_for_status()
            .map_err(unreachable)?
            .json()
            .await
            .map_err(unreachable)?;
        *self.keys.write().await = Some(keys.clone());
        Ok(keys)
    }

    /// Verifies an ID token and returns who it names. `access_token` reads
    /// userinfo when the token carries no email.
    pub async fn identity(
        &self,
        http: &reqwest::Client,
        id_token: &str,
        client_id: &str,
        nonce: &str,
        access_token: &str,
    ) -> Result<Identity, OAuthError> {
        let header = jsonwebtoken::decode_header(id_token).map_err(|_| OAuthError::Verification)?;
        let asymmetric = matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::EdDSA
        );
        if !asymmetric {
            return Err(OAuthError::Verification);
        }
        let mut keys = self.key_set(http, false).await?;
        if header
            .kid
            .as_ref()
            .is_some_and(|kid| keys.find(kid).is_none())
        {
            keys = self.key_set(http, true).await?;
        }
        let jwk = match &header.kid {
            Some(kid) => keys.find(kid),
            None if keys.keys.len() == 1 => keys.keys.first(),
            None => None,
        }
        .ok_or(OAuthError::Verification)?;
        let key = DecodingKey::from_jwk(jwk).map_err(|_| OAuthError::Verification)?;
        let discovery = self.discovery(http).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[client_id]);
        validation.set_issuer(&[discovery.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // A token not valid yet is refused, with the same leeway as expiry.
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Claims>(id_token, &key, &validation)
            .map_err(|err| {
                tracing::warn!(error = %err, "an ID token failed verification");
                OAuthError::Verification
            })?
            .claims;
        // A token whose audience includes us but that was issued to another
        // client is that client's token, not a sign-in to this server.
        if claims.azp.as_deref().is_some_and(|azp| azp != client_id) {
            tracing::warn!("an ID token was issued to another client (azp)");
            return Err(OAuthError::Verification);
        }
        if claims.nonce.as_deref() != Some(nonce) {
            tracing::warn!("an ID token carried the wrong nonce");
            return Err(OAuthError::Verification);
        }
        let claims = match (&claims.email, &discovery.userinfo_endpoint) {
            (None, Some(userinfo)) => {
                self.userinfo(http, userinfo, access_token, claims.clone())
                    .await
            }
            _ => claims,
        };
        Ok(Identity {
            provider_account_id: claims.sub,
            email_verified: verified(claims.email_verified.as_ref()),
            email: claims.email,
            name: claims.name,
            image: claims.picture,
        })
    }

    /// Fills email, name and picture from userinfo; keeps the token's claims on any failure.
    async fn userinfo(
        &self,
        http: &reqwest::Client,
        url: &Url,
        access_token: &str,
        claims: Claims,
    ) -> Claims {
        let fetched = async {
            let response = http
                .get(url.clone())
                .bearer_auth(access_token)
                .send()
                .await
                .ok()?;
            response
                .error_for_status()
                .ok()?
                .json::<Claims>()
                .await
                .ok()
        }
        .await;
        match fetched {
            // userinfo must describe the same subject (OpenID Connect Core 5.3.2).
            Some(info) if info.sub == claims.sub => Claims {
                email: info.email,
                email_verified: info.email_verified,
                name: claims.name.or(info.name),
                picture: claims.picture.or(info.picture),
                ..claims
            },
            _ => claims,
        }
    }
}

/// `email_verified` is a boolean, but some providers send "true".
fn verified(value: Option<&serde_json::Value>) -> bool {
    match value {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}
