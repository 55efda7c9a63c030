//! The sign-in flow: start (authorize URL, state, PKCE, nonce) and finish
//! (state check, code exchange, identity, account, session).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;

use crate::accounts::SignedIn;
use crate::auth::secretbox::SecretBox;
use crate::auth::{session, tokens};
use crate::db::models::audit_event::{self, AuditKind, Origin};
use crate::db::models::oauth_account::OAuthTokens;
use crate::db::models::oauth_state::{self, OAuthState};
use crate::oauth::provider::{Provider, ProviderKind};
use crate::oauth::{OAuthError, github, linking, redirect};
use crate::services::Services;

/// How long a started sign-in may take.
const STATE_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);
/// Timeout of every call to a provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The `id_token` beside the access token (OpenID Connect).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type ProviderTokens = StandardTokenResponse<IdTokenField, BasicTokenType>;
type OAuthClient = Client<
    BasicErrorResponse,
    ProviderTokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The providers and what talking to them needs.
pub struct OAuthService {
    providers: Vec<Arc<Provider>>,
    http: reqwest::Client,
    secrets: Option<SecretBox>,
}

/// What the provider sent back to the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

impl OAuthService {
    /// The service for these providers; with `secrets`, provider tokens are stored encrypted.
    pub fn new(providers: Vec<Arc<Provider>>, secrets: Option<SecretBox>) -> Self {
        let http = reqwest::Client::builder()
            // Token endpoints must not redirect (SSRF guard; RFC 6749 section 3.2).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            providers,
            http,
            secrets,
        }
    }

    /// The enabled provider named `name`.
    pub fn provider(&self, name: &str) -> Option<Arc<Provider>> {
        self.providers
            .iter()
            .find(|provider| provider.name == name)
            .cloned()
    }

    /// Names of the enabled providers.
    pub fn names(&self) -> Vec<&str> {
        self.providers
            .iter()
            .map(|provider| provider.name.as_str())
            .collect()
    }

    async fn client(
        &self,
        services: &Services,
        provider: &Provider,
    ) -> Result<OAuthClient, OAuthError> {
        let (authorize, token) = match &provider.kind {
            ProviderKind::GitHub {
                authorize_url,
                token_url,
                ..
            } => (authorize_url.clone(), token_url.clone()),
            ProviderKind::Oidc(metadata) => {
                let discovery = metadata.discovery(&self.http).await?;
                (
                    discovery.authorization_endpoint.clone(),
                    discovery.token_endpoint.clone(),
                )
            }
        };
        let callback = services
            .config
            .public_url
            .join(&format!("/auth/{}/callback", provider.name))
            .map_err(|_| OAuthError::Internal)?;
        Ok(Client::new(ClientId::new(provider.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                provider.client_secret.expose_secret().to_owned(),
            ))
            .set_auth_uri(AuthUrl::from_url(authorize))
            .set_token_uri(TokenUrl::from_url(token))
            .set_redirect_uri(RedirectUrl::from_url(callback)))
    }

    /// Starts a sign-in: returns the provider's URL to send the browser to,
    /// and the state to bind to the browser.
    pub async fn start(
        &self,
        services: &Services,
        provider: &Provider,
        redirect_to: Option<&str>,
    ) -> Result<(Url, String), OAuthError> {
        let client = self.client(services, provider).await?;
        let (state, state_sha256) = tokens::generate();
        let (nonce, _) = tokens::generate();
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let landing = redirect::landing(services.config.app_url(), redirect_to);
        let mut request = client
            .authorize_url(|| CsrfToken::new(state.clone()))
            .add_scopes(
                provider
                    .scopes
                    .iter()
                    .map(|scope| Scope::new((*scope).to_owned())),
            )
            .set_pkce_challenge(challenge);
        if matches!(provider.kind, ProviderKind::Oidc(_)) {
            request = request.add_extra_param("nonce", nonce.clone());
        }
        let (url, _) = request.url();
        let pending = OAuthState {
            state_sha256: state_sha256.to_vec(),
            provider: provider.name.clone(),
            pkce_verifier: verifier.secret().clone(),
            nonce,
            redirect_to: landing.to_string(),
            expires_at: Utc::now() + STATE_LIFETIME,
        };
        let mut conn = services.pool.get().await?;
        let inserted = oauth_state::insert(&mut conn, &pending).await;
        conn.finish(inserted).await?;
        Ok((url, state))
    }

    /// Finishes a sign-in and audits the outcome, whatever it is.
    pub async fn finish(
        &self,
        services: &Services,
        provider: &Provider,
        params: &CallbackParams,
        browser_state: Option<&str>,
        signed_in_as: Option<Uuid>,
        origin: &Origin,
    ) -> Result<(SignedIn, Url), OAuthError> {
        let result = self
            .complete(services, provider, params, browser_state, signed_in_as)
            .await;
        let (kind, user_id) = match &result {
            Ok((signed_in, _, kind)) => (*kind, Some(signed_in.user.id)),
            Err(err) => {
                tracing::info!(provider = %provider.name, reason = %err, "an OAuth sign-in failed");
                (AuditKind::OAuthFailed, signed_in_as)
            }
        };
        if let Ok(mut conn) = services.pool.get().await
            && let Err(err) = audit_event::record(&mut conn, kind, user_id, origin).await
        {
            tracing::error!(error = %err, "cannot audit an OAuth sign-in");
        }
        result.map(|(signed_in, landing, _)| (signed_in, landing))
    }

    async fn complete(
        &self,
        services: &Services,
        provider: &Provider,
        params: &CallbackParams,
        browser_state: Option<&str>,
        signed_in_as: Option<Uuid>,
    ) -> Result<(SignedIn, Url, AuditKind), OAuthError> {
        let state = params.state.as_deref().ok_or(OAuthError::BadState)?;
        let pending = {
            let mut conn = services.pool.get().await?;
            oauth_state::consume(&mut conn, &tokens::sha256(state), &provider.name)
                .await?
                .ok_or(OAuthError::BadState)?
        };
        // The state must come back to the browser that started the sign-in.
        if browser_state != Some(state) {
            return Err(OAuthError::BadState);
        }
        if let Some(error) = &params.error {
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Err(OAuthError::Denied(error));
        }
        let code = params.code.as_deref().ok_or(OAuthError::Exchange)?;
        let client = self.client(services, provider).await?;
        let provider_tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|err| {
                tracing::warn!(provider = %provider.name, error = %err, "the code exchange failed");
                OAuthError::Exchange
            })?;
        let access_token = provider_tokens.access_token().secret();
        let identity = match &provider.kind {
            ProviderKind::GitHub { api_url, .. } => {
                github::identity(&self.http, api_url, access_token).await?
            }
            ProviderKind::Oidc(metadata) => {
                let id_token = provider_tokens
                    .extra_fields()
                    .id_token
                    .as_deref()
                    .ok_or(OAuthError::Verification)?;
                metadata
                    .identity(
                        &self.http,
                        id_token,
                        &provider.client_id,
                        &pending.nonce,
                        access_token,
                    )
                    .await?
            }
        };
        let stored = self.stored_tokens(&provider_tokens);
        let mut conn = services.pool.get().await?;
        let signed_in = async {
            let linked =
                linking::link(&mut conn, &provider.name, &identity, &stored, signed_in_as).await?;
            let started = session::start(&mut conn, linked.user.id).await?;
            Ok::<_, OAuthError>((linked, started))
        }
        .await;
        let (linked, started) = conn.finish(signed_in).await?;
        let landing =
            Url::parse(&pending.redirect_to).unwrap_or_else(|_| services.config.app_url().clone());
        Ok((
            SignedIn {
                started,
                user: linked.user,
            },
            landing,
            linked.outcome,
        ))
    }

    /// The token columns: encrypted with ENCRYPTION_KEY, or empty without one.
    fn stored_tokens(&self, response: &ProviderTokens) -> OAuthTokens {
        let scope = response.scopes().map(|scopes| {
            scopes
                .iter()
                .map(|scope| scope.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        });
        let expires_at = response
            .expires_in()
            .and_then(|d| i64::try_from(d.as_secs()).ok())
            .map(|s| Utc::now().timestamp() + s);
        let token_type = Some(response.token_type().as_ref().to_owned());
        let Some(secrets) = &self.secrets else {
            return OAuthTokens {
                expires_at,
                token_type,
                scope,
                ..OAuthTokens::default()
            };
        };
        OAuthTokens {
            access_token: Some(secrets.seal(response.access_token().secret())),
            refresh_token: response
                .refresh_token()
                .map(|token| secrets.seal(token.secret())),
            id_token: response
                .extra_fields()
                .id_token
                .as_deref()
                .map(|token| secrets.seal(token)),
            expires_at,
            token_type,
            scope,
        }
    }
}
