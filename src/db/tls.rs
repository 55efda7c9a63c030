//! TLS to PostgreSQL as libpq understands `sslmode`, `sslrootcert`, `sslcert`
//! and `sslkey`, with rustls.
//!
//! | `sslmode` | encrypts | verifies |
//! |---|---|---|
//! | `disable` | never | - |
//! | `allow`, `prefer` (default) | when the server offers TLS | nothing, unless `sslrootcert` is given (then the chain) |
//! | `require` | always | nothing, unless `sslrootcert` is given (then the chain, as libpq does) |
//! | `verify-ca` | always | the chain, against `sslrootcert` or the public roots |
//! | `verify-full` | always | the chain and the host name |
//!
//! Unverified modes still check the handshake's signatures: they prove the
//! peer holds the key of the certificate it showed, only not who that is.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::db::conninfo::TlsParams;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain text only.
    Disable,
    /// Treated as `prefer`: TLS when the server offers it (libpq tries plain text first).
    Allow,
    /// TLS when the server offers it, else plain text.
    Prefer,
    /// TLS or no connection.
    Require,
    /// TLS with a certificate chain that leads to a trusted root.
    VerifyCa,
    /// `VerifyCa`, and the certificate names the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(raw: &str) -> Result<Self, TlsError> {
        Ok(match raw {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => return Err(TlsError::Mode(other.to_string())),
        })
    }

    /// What tokio-postgres is told: it knows only whether TLS is optional.
    fn driver_mode(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Driver;
        match self {
            Self::Disable => Driver::Disable,
            Self::Allow | Self::Prefer => Driver::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => Driver::Require,
        }
    }
}

/// Why the TLS settings of a connection string cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// An `sslmode` libpq does not have.
    #[error("sslmode={0} is not one of disable, allow, prefer, require, verify-ca, verify-full")]
    Mode(String),
    /// A certificate or key file that cannot be read or holds nothing usable.
    #[error("{param}={}: {reason}", path.display())]
    File {
        param: &'static str,
        path: PathBuf,
        reason: String,
    },
    /// `sslcert` without `sslkey` or the other way round.
    #[error("sslcert and sslkey go together: give both or neither")]
    HalfClientCert,
    /// rustls refused the settings (a key that does not match its certificate).
    #[error("{0}")]
    Config(String),
}

/// What a connection does about TLS, with its files loaded (once, at start).
#[derive(Clone)]
pub struct Tls {
    mode: SslMode,
    /// Absent for `disable`.
    config: Option<Arc<ClientConfig>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tls({:?})", self.mode)
    }
}

impl Tls {
    /// Loads the files `params` name and builds the rustls configuration.
    pub fn load(params: &TlsParams) -> Result<Self, TlsError> {
        let mode = params
            .mode
            .as_deref()
            .map_or(Ok(SslMode::Prefer), SslMode::parse)?;
        if mode == SslMode::Disable {
            return Ok(Self { mode, config: None });
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = verifier(mode, params.root_cert.as_deref(), &provider)?;
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| TlsError::Config(err.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match (&params.cert, &params.key) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(client_chain(cert)?, client_key(key)?)
                .map_err(client_cert_error)?,
            _ => return Err(TlsError::HalfClientCert),
        };
        Ok(Self {
            mode,
            config: Some(Arc::new(config)),
        })
    }

    /// No TLS at all (a Unix socket, where PostgreSQL offers none).
    pub fn disabled() -> Self {
        Self {
            mode: SslMode::Disable,
            config: None,
        }
    }

    /// The `sslmode` in effect.
    pub fn mode(&self) -> SslMode {
        self.mode
    }

    /// The mode tokio-postgres must be given alongside [`Tls::connector`].
    pub fn driver_mode(&self) -> tokio_postgres::config::SslMode {
        self.mode.driver_mode()
    }

    /// The connector to hand tokio-postgres; `None` means plain text.
    pub fn connector(&self) -> Option<MakeRustlsConnect> {
        self.config
            .as_ref()
            .map(|config| MakeRustlsConnect::new(ClientConfig::clone(config)))
    }
}

/// The verifier `mode` asks for. As libpq, a root certificate given to a
/// mode that does not verify turns chain verification on.
fn verifier(
    mode: SslMode,
    root_cert: Option<&Path>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, TlsError> {
    let algorithms = provider.signature_verification_algorithms;
    let verifies = matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull);
    if !verifies && root_cert.is_none() {
        return Ok(Arc::new(NameUnchecked {
            roots: None,
            algorithms,
        }));
    }
    let roots = Arc::new(roots(root_cert)?);
    if mode == SslMode::VerifyFull {
        let full = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|err| TlsError::Config(err.to_string()))?;
        return Ok(full);
    }
    Ok(Arc::new(NameUnchecked {
        roots: Some(roots),
        algorithms,
    }))
}

/// The roots in `sslrootcert`, or the public (Mozilla) roots when it is
/// absent or `system`.
fn roots(root_cert: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let Some(path) = root_cert.filter(|path| *path != Path::new("system")) else {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    let mut store = RootCertStore::empty();
    for cert in certificates("sslrootcert", path)? {
        store.add(cert).map_err(|err| TlsError::File {
            param: "sslrootcert",
            path: path.to_path_buf(),
            reason: format!("not a usable root certificate: {err}"),
        })?;
    }
    Ok(store)
}

fn client_cert_error(err: rustls::Error) -> TlsError {
    let reason = match err {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            "the key in sslkey is not the key of the certificate in sslcert".to_string()
        }
        other => other.to_string(),
    };
    TlsError::Config(format!("sslcert and sslkey: {reason}"))
}

fn client_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    certificates("sslcert", path)
}

fn client_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|err| file_error("sslkey", path, &err))
}

/// Every certificate of a PEM file; at least one.
fn certificates(
    param: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|err| file_error(param, path, &err))?;
    if certs.is_empty() {
        return Err(file_error(
            param,
            path,
            &rustls::pki_types::pem::Error::NoItemsFound,
        ));
    }
    Ok(certs)
}

fn file_error(param: &'static str, path: &Path, err: &rustls::pki_types::pem::Error) -> TlsError {
    use rustls::pki_types::pem::Error;
    let reason = match err {
        Error::Io(io) => format!("cannot read it: {io}"),
        Error::NoItemsFound => "no PEM item of the expected kind in it".to_string(),
        other => format!("not valid PEM: {other}"),
    };
    TlsError::File {
        param,
        path: path.to_path_buf(),
        reason,
    }
}

/// Every mode short of `verify-full`: the host name is never checked. With
/// `roots` (`verify-ca`, or a root certificate given to a weaker mode) the
/// chain must lead to one of them; without (`require` and the like) any
/// certificate is accepted, as libpq accepts it. Either way the handshake
/// must be signed by the certificate's key.
#[derive(Debug)]
struct NameUnchecked {
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NameUnchecked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(mode: &str) -> TlsParams {
        TlsParams {
            mode: Some(mode.into()),
            ..TlsParams::default()
        }
    }

    #[test]
    fn modes_are_libpqs() {
        assert!(Tls::load(&params("disable")).unwrap().connector().is_none());
        for mode in ["allow", "prefer", "require", "verify-ca", "verify-full"] {
            assert!(Tls::load(&params(mode)).unwrap().connector().is_some());
        }
        let default = Tls::load(&TlsParams::default()).unwrap();
        assert_eq!(default.mode(), SslMode::Prefer);
        let err = Tls::load(&params("sometimes")).unwrap_err().to_string();
        assert!(err.contains("sslmode=sometimes"), "{err}");
    }

    #[test]
    fn bad_files_are_named() {
        let missing = TlsParams {
            root_cert: Some("/nonexistent/root.pem".into()),
            ..params("verify-full")
        };
        let err = Tls::load(&missing).unwrap_err().to_string();
        assert!(
            err.starts_with("sslrootcert=/nonexistent/root.pem: cannot read it"),
            "{err}"
        );
        let not_pem = TlsParams {
            root_cert: Some("Cargo.toml".into()),
            ..params("verify-ca")
        };
        let err = Tls::load(&not_pem).unwrap_err().to_string();
        assert!(err.contains("no PEM item"), "{err}");
        let half = TlsParams {
            cert: Some("/c.pem".into()),
            ..params("require")
        };
        assert!(matches!(Tls::load(&half), Err(TlsError::HalfClientCert)));
    }
}
