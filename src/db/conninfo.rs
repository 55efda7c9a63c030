//! Takes libpq's TLS parameters (`sslmode`, `sslrootcert`, `sslcert`,
//! `sslkey`) out of a connection string, in URL or `key=value` form.
//!
//! tokio-postgres refuses `verify-ca`, `verify-full` and the certificate
//! files, so they are read here and the rest goes to the driver unchanged.

use std::path::PathBuf;

/// The TLS parameters of a connection string, as written there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsParams {
    /// `sslmode`, unparsed (absent: libpq's default, `prefer`).
    pub mode: Option<String>,
    /// `sslrootcert`: a PEM file of trusted roots, or `system`.
    pub root_cert: Option<PathBuf>,
    /// `sslcert`: the client's certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// `sslkey`: the client's private key (PEM).
    pub key: Option<PathBuf>,
}

impl TlsParams {
    /// Records `key=value` when it is one of ours; false when it is not.
    fn take(&mut self, key: &str, value: String) -> bool {
        match key {
            "sslmode" => self.mode = Some(value),
            "sslrootcert" => self.root_cert = Some(value.into()),
            "sslcert" => self.cert = Some(value.into()),
            "sslkey" => self.key = Some(value.into()),
            _ => return false,
        }
        true
    }
}

/// Splits `raw` into the connection string without the TLS parameters and
/// those parameters.
pub fn split_tls(raw: &str) -> Result<(String, TlsParams), String> {
    let raw = raw.trim();
    if ["postgres://", "postgresql://"]
        .iter()
        .any(|prefix| raw.starts_with(prefix))
    {
        split_url(raw)
    } else {
        split_key_values(raw)
    }
}

fn split_url(raw: &str) -> Result<(String, TlsParams), String> {
    let mut params = TlsParams::default();
    let Some((base, query)) = raw.split_once('?') else {
        return Ok((raw.to_string(), params));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !params.take(&percent_decode(key)?, percent_decode(value)?) {
            kept.push(pair);
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, params))
}

fn split_key_values(raw: &str) -> Result<(String, TlsParams), String> {
    let mut params = TlsParams::default();
    let mut kept = Vec::new();
    for (key, value) in key_values(raw)? {
        if !params.take(&key, value.clone()) {
            kept.push(format!("{key}='{}'", quote(&value)));
        }
    }
    Ok((kept.join(" "), params))
}

/// The pairs of a libpq `key=value` string: values plain or single-quoted,
/// with backslash escapes in both.
fn key_values(raw: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut chars = raw.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            if chars.peek().is_some() {
                return Err("a parameter has no name".into());
            }
            return Ok(pairs);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!("`{key}` has no `=` and value"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let quoted = chars.next_if_eq(&'\'').is_some();
        let mut value = String::new();
        let mut closed = !quoted;
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.extend(chars.next()),
                '\'' if quoted => {
                    closed = true;
                    break;
                }
                c if c.is_whitespace() && !quoted => break,
                c => value.push(c),
            }
        }
        if !closed {
            return Err(format!("the value of `{key}` has no closing quote"));
        }
        pairs.push((key, value));
    }
}

/// Escapes a value for a single-quoted `key='value'`.
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

/// Decodes `%XX` escapes, as libpq does in URLs (`+` stays a plus).
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text
                .get(at + 1..at + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| format!("a bad %-escape in the URL parameter `{text}`"))?;
            decoded.push(hex);
            at += 3;
        } else {
            decoded.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| "a URL parameter is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parameters_are_split_off() {
        let (rest, params) = split_tls(
            "postgres://u:p@db.example.com/app?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca%201.pem&sslcert=/c.pem&sslkey=/k.pem",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u:p@db.example.com/app?application_name=x");
        assert_eq!(params.mode.as_deref(), Some("verify-full"));
        assert_eq!(params.root_cert, Some(PathBuf::from("/etc/ca 1.pem")));
        assert_eq!(params.cert, Some(PathBuf::from("/c.pem")));
        assert_eq!(params.key, Some(PathBuf::from("/k.pem")));

        let (rest, params) = split_tls("postgres://u@h/app?sslmode=require").unwrap();
        assert_eq!(rest, "postgres://u@h/app");
        assert_eq!(params.mode.as_deref(), Some("require"));
        let (rest, params) = split_tls("postgresql://u@h/app").unwrap();
        assert_eq!(rest, "postgresql://u@h/app");
        assert_eq!(params, TlsParams::default());
        assert!(split_tls("postgres://u@h/app?sslrootcert=%zz").is_err());
    }

    #[test]
    fn key_value_parameters_are_split_off() {
        let (rest, params) = split_tls(
            r"host=localhost  dbname = 'my db' sslmode=verify-ca sslrootcert='/etc/it\'s.pem' password=a\ b",
        )
        .unwrap();
        assert_eq!(rest, r"host='localhost' dbname='my db' password='a b'");
        assert_eq!(params.mode.as_deref(), Some("verify-ca"));
        assert_eq!(params.root_cert, Some(PathBuf::from("/etc/it's.pem")));
        let config: tokio_postgres::Config = rest.parse().unwrap();
        assert_eq!(config.get_dbname(), Some("my db"));
        assert_eq!(config.get_password(), Some(&b"a b"[..]));
        assert!(split_tls("host='unclosed").is_err());
        assert!(split_tls("host").is_err());
        assert!(split_tls("=x").is_err());
    }
}
