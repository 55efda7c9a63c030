//! GraphiQL, served from the binary: the page at `GET /graphql` (for
//! browsers) and its scripts and styles under `/graphiql/`, so it works on a
//! network without internet and under a strict Content-Security-Policy.
//!
//! The vendored builds (GraphiQL's UMD bundle, React and ReactDOM, with their
//! licences) live in `assets/`, fetched and checked by
//! `.ci/tools/fetch-graphiql.sh`. Their URLs carry their versions, and the
//! page's own files a hash of their content, so every asset is cached for a
//! year and a new version is a new URL.

use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::config::ServeConfig;
use crate::http::AppState;

/// One file under `/graphiql/`.
struct Asset {
    /// Its path after `/graphiql/`.
    path: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// The page's own script, which starts GraphiQL (no inline script: the CSP forbids it).
const START_JS: &[u8] = include_bytes!("start.js");
/// The page's own style.
const PAGE_CSS: &[u8] = include_bytes!("page.css");

/// Every asset, by the path the page uses.
static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    let own =
        |name: &str, extension: &str, content_type: &'static str, bytes: &'static [u8]| Asset {
            path: format!("{name}-{}.{extension}", short_digest(bytes)),
            content_type,
            bytes,
        };
    let vendored = |path: &str, content_type: &'static str, bytes: &'static [u8]| Asset {
        path: path.to_owned(),
        content_type,
        bytes,
    };
    vec![
        vendored(
            "react-18.3.1/react.production.min.js",
            JS,
            include_bytes!("assets/react-18.3.1/react.production.min.js"),
        ),
        vendored(
            "react-18.3.1/LICENSE",
            TEXT,
            include_bytes!("assets/react-18.3.1/LICENSE"),
        ),
        vendored(
            "react-dom-18.3.1/react-dom.production.min.js",
            JS,
            include_bytes!("assets/react-dom-18.3.1/react-dom.production.min.js"),
        ),
        vendored(
            "react-dom-18.3.1/LICENSE",
            TEXT,
            include_bytes!("assets/react-dom-18.3.1/LICENSE"),
        ),
        vendored(
            "4.1.2/graphiql.min.js",
            JS,
            include_bytes!("assets/graphiql-4.1.2/graphiql.min.js"),
        ),
        vendored(
            "4.1.2/graphiql.min.css",
            CSS,
            include_bytes!("assets/graphiql-4.1.2/graphiql.min.css"),
        ),
        vendored(
            "4.1.2/LICENSE",
            TEXT,
            include_bytes!("assets/graphiql-4.1.2/LICENSE"),
        ),
        own("start", "js", JS, START_JS),
        own("page", "css", CSS, PAGE_CSS),
    ]
});

/// 16 hex digits of the SHA-256 of `bytes`: enough to tell versions apart.
fn short_digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The URL of the asset whose path starts with `prefix`.
fn url_of(prefix: &str) -> String {
    ASSETS
        .iter()
        .find(|asset| asset.path.starts_with(prefix))
        .map(|asset| format!("/graphiql/{}", asset.path))
        .unwrap_or_default()
}

/// The page, built once: it only names the assets.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>GraphiQL · Growth Diary</title><link rel=\"icon\" href=\"data:,\">\
         <link rel=\"stylesheet\" href=\"{}\"><link rel=\"stylesheet\" href=\"{}\"></head>\
         <body><div id=\"graphiql\">Loading GraphiQL…</div>\
         <script src=\"{}\"></script><script src=\"{}\"></script>\
         <script src=\"{}\"></script><script src=\"{}\"></script></body></html>",
        url_of("4.1.2/graphiql.min.css"),
        url_of("page-"),
        url_of("react-18.3.1/"),
        url_of("react-dom-18.3.1/"),
        url_of("4.1.2/graphiql.min.js"),
        url_of("start-"),
    )
});

/// GET /graphql from a browser: the GraphiQL page, or a note when `GRAPHIQL=false`.
pub fn page(config: &ServeConfig) -> Response {
    if !config.graphiql {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT))],
            "GraphiQL is turned off on this server (GRAPHIQL=false). Send GraphQL requests to POST /graphql.\n",
        )
            .into_response();
    }
    let headers = [
        (
            HeaderName::from_static("content-security-policy"),
            content_security_policy(config),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    (headers, Html(PAGE.as_str())).into_response()
}

/// Scripts and styles from this server only (no inline script or style:
/// the browser test fails on any CSP violation); requests to it and its
/// WebSocket. GraphiQL's stylesheet embeds its fonts and icons as data URLs.
fn content_security_policy(config: &ServeConfig) -> HeaderValue {
    let origin = config.public_url.origin().ascii_serialization();
    let ws_origin = origin.replacen("http", "ws", 1);
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self' {ws_origin}; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; script-src 'self'"))
}

/// GET /graphiql/{asset}: one of GraphiQL's files, cached for a year.
pub async fn asset(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    let found = ASSETS.iter().find(|asset| asset.path == path);
    match found {
        Some(asset) if state.services.config.graphiql => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_embedded_files_are_the_fetched_ones() {
        let sums = include_str!("assets/SHA256SUMS");
        let vendored: Vec<&Asset> = ASSETS
            .iter()
            .filter(|asset| !asset.path.starts_with("start-") && !asset.path.starts_with("page-"))
            .collect();
        assert_eq!(sums.lines().count(), vendored.len(), "{sums}");
        for asset in vendored {
            let digest = Sha256::digest(asset.bytes);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            let file = asset.path.replacen("4.1.2/", "graphiql-4.1.2/", 1);
            assert!(
                sums.lines().any(|line| line == format!("{hex}  {file}")),
                "{file} differs from assets/SHA256SUMS: run .ci/tools/fetch-graphiql.sh"
            );
        }
    }

    #[test]
    fn the_page_names_only_served_assets() {
        for prefix in [
            "4.1.2/graphiql.min",
            "react-18",
            "react-dom-18",
            "start-",
            "page-",
        ] {
            assert!(!url_of(prefix).is_empty(), "{prefix}");
        }
        assert!(PAGE.contains("/graphiql/start-"));
        assert!(!PAGE.contains("<script>"), "no inline script");
    }
}
