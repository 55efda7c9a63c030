//! The emails the server writes, each with a plain-text and an HTML part.

use html_escape::encode_double_quoted_attribute as attr;
use html_escape::encode_text as text;
use url::Url;

/// A rendered email.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `{APP_URL}/{page}?token=<token>`
pub fn link(app_url: &Url, page: &str, token: &str) -> Url {
    let mut url = app_url.clone();
    let path = format!("{}/{page}", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.query_pairs_mut().clear().append_pair("token", token);
    url
}

/// Asks a new user to confirm their address.
pub fn verify_email(link: &Url) -> Rendered {
    render(
        "Confirm your email address",
        "Welcome to Growth Diary! Confirm your email address by opening this link (valid for 24 hours):",
        "Confirm my email",
        link,
        "If you did not sign up, ignore this email.",
    )
}

/// Carries a password reset link.
pub fn reset_password(link: &Url) -> Rendered {
    render(
        "Reset your password",
        "Someone asked to reset the password of your Growth Diary account. Choose a new password here (valid for one hour, once):",
        "Choose a new password",
        link,
        "If it was not you, ignore this email: your password stays as it is.",
    )
}

fn render(subject: &str, intro: &str, button: &str, link: &Url, outro: &str) -> Rendered {
    let text_part = format!("{intro}\n\n{link}\n\n{outro}\n");
    let html_part = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>{}</p>\
         <p><a href=\"{}\">{}</a></p><p style=\"color:#666\">{}</p></body></html>",
        text(intro),
        attr(link.as_str()),
        text(button),
        text(outro),
    );
    Rendered {
        subject: subject.to_owned(),
        text: text_part,
        html: html_part,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_app_path_and_carry_the_token() {
        let app: Url = "https://example.com/app/".parse().unwrap();
        assert_eq!(
            link(&app, "reset-password", "a-b_c").as_str(),
            "https://example.com/app/reset-password?token=a-b_c"
        );
        let root: Url = "http://localhost:3000".parse().unwrap();
        assert_eq!(
            link(&root, "verify-email", "t").as_str(),
            "http://localhost:3000/verify-email?token=t"
        );
    }

    #[test]
    fn both_parts_carry_the_link() {
        let url = link(
            &"http://localhost:3000".parse().unwrap(),
            "reset-password",
            "tok",
        );
        let email = reset_password(&url);
        assert!(
            email
                .text
                .contains("http://localhost:3000/reset-password?token=tok")
        );
        assert!(
            email
                .html
                .contains("href=\"http://localhost:3000/reset-password?token=tok\"")
        );
    }
}
