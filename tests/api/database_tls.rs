//! Database TLS as libpq understands `sslmode`, against the local
//! PostgreSQL's own certificate (Debian's snakeoil pair by default). The
//! server must have `ssl = on`: these tests fail, never skip, when it does not.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use growth_diary::config::{DatabaseConfig, DatabaseUrl};
use growth_diary::db::connect;

use crate::harness::{TestDb, TestServer, server};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A test TLS file of `tests/api/tls/`.
fn fixture(name: &str) -> String {
    format!("{}/tests/api/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn url(host: &str, database: &str, params: &str) -> String {
    format!("postgres://postgres@{host}:5432/{database}?{params}")
}

/// Whether the connection behind `client` is encrypted, as the server sees it.
async fn encrypted(client: &tokio_postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl answers")
        .get(0)
}

/// The local server's certificate file, after checking that it speaks TLS.
async fn server_certificate() -> PathBuf {
    let plain = DatabaseUrl::parse(&url("127.0.0.1", "postgres", "sslmode=disable")).unwrap();
    let client = connect::client(&plain, TIMEOUT)
        .await
        .expect("the local PostgreSQL answers on 127.0.0.1:5432");
    let row = client
        .query_one("SELECT current_setting('ssl'), current_setting('ssl_cert_file'), current_setting('data_directory')", &[])
        .await
        .expect("the TLS settings can be read");
    let (ssl, cert, data_dir): (String, String, String) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        ssl, "on",
        "the local PostgreSQL has ssl = off, so database TLS cannot be tested: set `ssl = on` \
         with ssl_cert_file and ssl_key_file (Debian: /etc/ssl/certs/ssl-cert-snakeoil.pem and \
         /etc/ssl/private/ssl-cert-snakeoil.key, from `make-ssl-cert generate-default-snakeoil`) \
         in postgresql.conf, then `SELECT pg_reload_conf()`"
    );
    let cert = PathBuf::from(cert);
    if cert.is_absolute() {
        cert
    } else {
        PathBuf::from(data_dir).join(cert)
    }
}

/// A DNS name the certificate holds that resolves to this machine, so
/// `verify-full` can be tested honestly against the local server.
fn local_name_in(cert_path: &PathBuf) -> String {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_file(cert_path)
        .unwrap_or_else(|err| panic!("read {}: {err}", cert_path.display()));
    let cert = webpki::EndEntityCert::try_from(&der).expect("the server's certificate parses");
    let names: Vec<String> = cert.valid_dns_names().map(str::to_string).collect();
    names
        .iter()
        .find(|name| {
            (name.as_str(), 5432)
                .to_socket_addrs()
                .is_ok_and(|mut addrs| addrs.any(|addr| addr.ip().is_loopback()))
        })
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the server's certificate {} names {names:?}, none of which resolves to this \
                 machine: make one of them resolve to 127.0.0.1 (/etc/hosts)",
                cert_path.display()
            )
        })
}

/// Why connecting to `raw` fails (it must fail).
async fn refusal(raw: &str) -> String {
    let url = DatabaseUrl::parse(raw).expect("the URL parses");
    match connect::client(&url, TIMEOUT).await {
        Ok(_) => panic!("{raw} must not connect"),
        Err(err) => connect::describe(&err),
    }
}

/// Waits until every connection the server holds to its database uses TLS
/// (the pool's and the LISTEN connection), and returns their application names.
async fn server_sessions_are_encrypted(db: &TestDb) -> Vec<String> {
    let watcher = DatabaseUrl::parse(&url(
        "127.0.0.1",
        db.url.database_name(),
        "sslmode=disable&application_name=tls-test",
    ))
    .unwrap();
    let client = connect::client(&watcher, TIMEOUT).await.unwrap();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let rows = client
            .query(
                "SELECT a.application_name, s.ssl FROM pg_stat_activity a \
                 JOIN pg_stat_ssl s USING (pid) \
                 WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        let sessions: Vec<(String, bool)> =
            rows.iter().map(|row| (row.get(0), row.get(1))).collect();
        assert!(
            sessions.iter().all(|(_, ssl)| *ssl),
            "a server session is in plain text: {sessions:?}"
        );
        let names: Vec<String> = sessions.into_iter().map(|(name, _)| name).collect();
        if names.iter().any(|name| name == "growth-diary-listener") {
            return names;
        }
        assert!(
            Instant::now() < deadline,
            "the LISTEN connection never showed up: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn server_on(db: TestDb, raw_url: &str) -> TestServer {
    let url = DatabaseUrl::parse(raw_url).expect("the URL parses");
    TestServer::start_with(db, move |config| {
        config.database = DatabaseConfig::for_url(url);
    })
    .await
}

async fn sign_up_works(server: &TestServer, email: &str) {
    let token = server::sign_up(server, email, "correct horse battery").await;
    assert!(
        server::me(server, &token).await.is_some(),
        "the signed-up user {email} is the viewer"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn require_encrypts_without_verifying_the_certificate() {
    server_certificate().await;
    let db = TestDb::new().await;
    let name = db.url.database_name().to_string();
    // Self-signed, not for 127.0.0.1: libpq's `require` connects anyway.
    let server = server_on(db, &url("127.0.0.1", &name, "sslmode=require")).await;
    sign_up_works(&server, "tls-require@example.com").await;
    let sessions = server_sessions_are_encrypted(&server.db).await;
    assert!(
        sessions.iter().any(|name| name == "growth-diary"),
        "{sessions:?}"
    );

    // No sslmode is libpq's `prefer`: TLS when the server offers it.
    let prefer = DatabaseUrl::parse(&url("127.0.0.1", &name, "application_name=x")).unwrap();
    assert!(encrypted(&connect::client(&prefer, TIMEOUT).await.unwrap()).await);
    let plain = DatabaseUrl::parse(&url("127.0.0.1", &name, "sslmode=disable")).unwrap();
    assert!(!encrypted(&connect::client(&plain, TIMEOUT).await.unwrap()).await);
    // A client certificate is loaded and offered (this server asks for none).
    let with_cert = url(
        "127.0.0.1",
        &name,
        &format!(
            "sslmode=require&sslcert={}&sslkey={}",
            fixture("client.pem"),
            fixture("client.key")
        ),
    );
    let with_cert = DatabaseUrl::parse(&with_cert).unwrap();
    assert!(encrypted(&connect::client(&with_cert, TIMEOUT).await.unwrap()).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_full_checks_the_root_and_the_host_name() {
    let cert = server_certificate().await;
    let host = local_name_in(&cert);
    let root = cert.display().to_string();
    let db = TestDb::new().await;
    let name = db.url.database_name().to_string();
    let full = format!("sslmode=verify-full&sslrootcert={root}");
    let server = server_on(db, &url(&host, &name, &full)).await;
    sign_up_works(&server, "tls-verify-full@example.com").await;
    server_sessions_are_encrypted(&server.db).await;

    // The certificate names `host`, not the address.
    let wrong_name = refusal(&url("127.0.0.1", &name, &full)).await;
    assert!(
        wrong_name.contains("certificate not valid for name \"127.0.0.1\""),
        "{wrong_name}"
    );
    // A root that did not sign it, with verify-full and with require (libpq
    // verifies the chain whenever sslrootcert is given).
    for mode in ["verify-full", "verify-ca", "require"] {
        let params = format!("sslmode={mode}&sslrootcert={}", fixture("other-root.pem"));
        let wrong_root = refusal(&url(&host, &name, &params)).await;
        assert!(
            wrong_root.contains("invalid peer certificate"),
            "{mode}: {wrong_root}"
        );
        assert!(wrong_root.contains("UnknownIssuer"), "{mode}: {wrong_root}");
    }
    // No sslrootcert: the public roots, which did not sign a self-signed certificate.
    let public = refusal(&url(&host, &name, "sslmode=verify-full")).await;
    assert!(public.contains("UnknownIssuer"), "{public}");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_ca_checks_the_root_but_not_the_name() {
    let cert = server_certificate().await;
    let db = TestDb::new().await;
    let name = db.url.database_name().to_string();
    let params = format!("sslmode=verify-ca&sslrootcert={}", cert.display());
    let server = server_on(db, &url("127.0.0.1", &name, &params)).await;
    sign_up_works(&server, "tls-verify-ca@example.com").await;
    server_sessions_are_encrypted(&server.db).await;
    let key_value = format!(
        "host=127.0.0.1 user=postgres dbname={name} sslmode=verify-ca sslrootcert='{}'",
        cert.display()
    );
    let client = connect::client(&DatabaseUrl::parse(&key_value).unwrap(), TIMEOUT)
        .await
        .expect("the key=value form connects too");
    assert!(encrypted(&client).await);
}

/// The binary with `DATABASE_URL`, until it exits (it must fail to start).
fn start_fails(database_url: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_growth-diary"))
        .env("DATABASE_URL", database_url)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("DATABASE_CONNECT_TIMEOUT_SECS", "5")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success(), "the start must fail");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got: {stderr}");
    lines[0].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tls_settings_stop_the_start_with_one_line() {
    let cert = server_certificate().await;
    let base = "postgres://app:s3cret@127.0.0.1:5432/growth_diary";
    let line = start_fails(&format!(
        "{base}?sslmode=verify-full&sslrootcert=/nonexistent/root.pem"
    ));
    assert!(
        line.contains("sslrootcert=/nonexistent/root.pem: cannot read it"),
        "{line}"
    );
    assert!(
        !line.contains("s3cret"),
        "the password stays out of the line: {line}"
    );
    let line = start_fails(&format!(
        "{base}?sslmode=require&sslcert={}&sslkey=/nonexistent/client.key",
        fixture("client.pem")
    ));
    assert!(
        line.contains("sslkey=/nonexistent/client.key: cannot read it"),
        "{line}"
    );
    let line = start_fails(&format!(
        "{base}?sslmode=require&sslcert={}&sslkey={}",
        fixture("client.pem"),
        fixture("other-root.key")
    ));
    assert!(line.contains("sslcert and sslkey"), "{line}");
    let line = start_fails(&format!("{base}?sslmode=verify-everything"));
    assert!(
        line.contains("sslmode=verify-everything is not one of"),
        "{line}"
    );
    // A certificate that does not name the host stops the start too.
    let line = start_fails(&format!(
        "postgres://postgres@127.0.0.1:5432/postgres?sslmode=verify-full&sslrootcert={}",
        cert.display()
    ));
    assert!(
        line.contains("cannot connect to the database at 127.0.0.1:5432/postgres")
            && line.contains("not valid for name"),
        "{line}"
    );
}
