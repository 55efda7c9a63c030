//! Where a sign-in may land: a path, or a URL on APP_URL's origin. Anything
//! else lands on APP_URL, so the sign-in can never be an open redirect.

use url::Url;

/// The landing URL for `requested` (a `redirect_to` parameter).
pub fn landing(app_url: &Url, requested: Option<&str>) -> Url {
    let Some(requested) = requested.map(str::trim).filter(|r| !r.is_empty()) else {
        return app_url.clone();
    };
    // A path: "/x" but not "//host" or "/\host" (browsers read both as hosts).
    if requested.starts_with('/') && !requested.starts_with("//") && !requested.starts_with("/\\") {
        if let Ok(url) = app_url.join(requested)
            && url.origin() == app_url.origin()
        {
            return url;
        }
        return app_url.clone();
    }
    match Url::parse(requested) {
        Ok(url) if url.origin() == app_url.origin() => url,
        _ => app_url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_and_the_app_origin_are_accepted() {
        let app: Url = "https://app.example.com/".parse().unwrap();
        let land = |r: &str| landing(&app, Some(r)).to_string();
        assert_eq!(
            land("/settings?tab=1"),
            "https://app.example.com/settings?tab=1"
        );
        assert_eq!(
            land("https://app.example.com/x"),
            "https://app.example.com/x"
        );
        for evil in [
            "https://evil.example.com/",
            "//evil.example.com",
            "/\\evil.example.com",
            "javascript:alert(1)",
            "https://app.example.com.evil.com/",
            "http://app.example.com/",
        ] {
            assert_eq!(land(evil), "https://app.example.com/", "{evil}");
        }
        assert_eq!(landing(&app, None).as_str(), "https://app.example.com/");
    }
}
