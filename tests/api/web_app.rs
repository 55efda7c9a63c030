//! The reference web app (`examples/web`) in Chromium: every user flow, run
//! by its Playwright suite against this server, with the app served from an
//! origin of its own (`vite preview`), maildev for the emailed links, an
//! OpenID Connect provider, and only the app's own trusted documents.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;

use crate::harness::mail::MailServer;
use crate::harness::oauth::{OAuthProvider, use_provider};
use crate::harness::{TestDb, TestServer, tools};

/// How long `vite preview` may take to say where it listens.
const PREVIEW_START: Duration = Duration::from_secs(60);
/// What the sign-in page calls the test's provider.
const PROVIDER_LABEL: &str = "Mock ID";

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/web")
}

/// `vite preview` serving a build, on a port it binds itself.
struct Preview {
    child: Child,
    origin: String,
}

impl Preview {
    fn start(web: &Path, dist: &Path) -> Self {
        let mut child = Command::new(web.join("node_modules/.bin/vite"))
            .current_dir(web)
            // Its own build directory: a developer's preview of the same
            // project may run beside it (Vite refuses a second one otherwise).
            .args(["preview", "--port", "0", "--strictPort", "--bypass-lock"])
            .arg("--outDir")
            .arg(dist)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("vite runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads until the address, then keeps draining so vite never blocks on its pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent && let Some(at) = line.find("http://127.0.0.1:") {
                    let origin: String = line[at..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    let _ = tx.send(origin.trim_end_matches('/').to_owned());
                    sent = true;
                }
            }
        });
        let origin = rx.recv_timeout(PREVIEW_START).unwrap_or_else(|_| {
            panic!("vite preview did not say where it listens within {PREVIEW_START:?} (its errors are above)")
        });
        Self { child, origin }
    }
}

impl Drop for Preview {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_of_the_web_app_passes_in_chromium() {
    let web = web_dir();
    tools::require(
        &web.join("node_modules/.bin/playwright"),
        "the web app's packages (examples/web/node_modules)",
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    tools::require(Path::new(&chromium), "Debian chromium");

    let mail = MailServer::start().await;
    let provider = OAuthProvider::start(json!({
        "sub": "olivia-oidc",
        "email": "olivia.oidc@example.com",
        "email_verified": true,
        "name": "Olivia Oidc",
    }));
    // The app is built against the server's address, and the server needs
    // the app's: bind first, build and serve the app, then start the server.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let api = format!("http://{}", listener.local_addr().expect("local address"));
    let dist = std::env::temp_dir().join(format!("growth-diary-web-{}", uuid::Uuid::now_v7()));
    let mut build = Command::new("npm");
    build
        .current_dir(&web)
        .args(["run", "build", "--", "--emptyOutDir", "--outDir"])
        .arg(&dist)
        .env("VITE_API_URL", &api)
        .env("VITE_OAUTH_PROVIDERS", format!("mock:{PROVIDER_LABEL}"));
    let built = tools::run(build).await;
    assert!(
        built.status.success(),
        "npm run build failed:\n{}",
        tools::transcript(&built)
    );
    let preview = Preview::start(&web, &dist);

    // Trusted documents only: the manifest the app's own build just wrote.
    let manifest = web.join("src/gql/persisted-documents.json");
    let (app, smtp, issuer) = (
        preview.origin.clone(),
        mail.smtp_url(),
        provider.issuer.clone(),
    );
    let server = TestServer::start_on(listener, TestDb::new().await, move |config| {
        config.app_url = Some(app.parse().expect("the preview's URL"));
        config.cors_origins = vec![app];
        config.email.smtp_url = Some(smtp.into());
        use_provider(config, &issuer, None);
        config.documents.trusted_documents = Some(manifest);
        config.documents.trusted_documents_only = true;
        config.graphiql = false;
    })
    .await;
    assert_eq!(server.base, api);

    let mut flows = Command::new(web.join("node_modules/.bin/playwright"));
    flows
        .current_dir(&web)
        .arg("test")
        .env("WEB_APP_URL", &preview.origin)
        .env("WEB_API_URL", &api)
        .env("MAILDEV_URL", mail.web_url())
        .env("OAUTH_PROVIDER_LABEL", PROVIDER_LABEL)
        .env("CHROMIUM", &chromium)
        .env("CI", "1");
    let ran = tools::run(flows).await;
    let _ = std::fs::remove_dir_all(&dist);
    println!("{}", String::from_utf8_lossy(&ran.stdout));
    assert!(
        ran.status.success(),
        "a flow of the web app failed:\n{}",
        tools::transcript(&ran)
    );
}
