//! The user in the payload of `signUp`, `signIn` and `resetPassword` is the
//! viewer: the session it just got is in the same response, so the fields
//! only a viewer sees are there too (a SPA can show who just signed in).

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::mail::{MailServer, token_from};
use crate::harness::{TestDb, TestServer};

const PASSWORD: &str = "correct horse battery";
const VIEWER_FIELDS: &str = "id email linkedAccounts { provider } goals { edges { node { id } } } \
     posts { edges { node { title status } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payload_user_sees_their_own_email_and_owner_only_fields() {
    let mail = MailServer::start().await;
    let smtp_url = mail.smtp_url();
    let server = TestServer::start_with(TestDb::new().await, move |config| {
        config.email.smtp_url = Some(smtp_url.into());
    })
    .await;

    let signed_up = server
        .gql(
            &format!("mutation($i: SignUpInput!) {{ signUp(input: $i) {{ token user {{ {VIEWER_FIELDS} }} }} }}"),
            json!({ "i": { "email": " Payload@Example.com ", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(signed_up["errors"], Value::Null, "{signed_up}");
    let user = &signed_up["data"]["signUp"]["user"];
    assert_eq!(user["email"], "payload@example.com", "{signed_up}");
    assert_eq!(user["linkedAccounts"], json!([]));
    assert_eq!(user["goals"]["edges"], json!([]));
    let user_id = user["id"].as_str().unwrap().to_string();
    let token = signed_up["data"]["signUp"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let draft = server
        .gql_as(
            Some(&token),
            "mutation { createPost(input: { title: \"My draft\", content: \"Not yet\" }) { status } }",
            json!({}),
        )
        .await;
    assert_eq!(draft["data"]["createPost"]["status"], "DRAFT", "{draft}");

    // Anonymous, or as someone else: the viewer of the payload is still its user.
    let stranger = server
        .gql(
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "email": "stranger@example.com", "password": PASSWORD } }),
        )
        .await;
    let stranger_token = stranger["data"]["signUp"]["token"].as_str().unwrap();
    let signed_in = server
        .gql_as(
            Some(stranger_token),
            &format!("mutation($p: String!) {{ signIn(email: \"payload@example.com\", password: $p) {{ user {{ {VIEWER_FIELDS} }} }} }}"),
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(signed_in["errors"], Value::Null, "{signed_in}");
    let user = &signed_in["data"]["signIn"]["user"];
    assert_eq!(user["email"], "payload@example.com");
    assert_eq!(
        user["posts"]["edges"],
        json!([{ "node": { "title": "My draft", "status": "DRAFT" } }]),
        "their own drafts too"
    );

    // Elsewhere nothing changed: the user is a stranger to anonymous readers.
    let anonymous = server
        .gql(
            "query($id: ID!) { user(id: $id) { email posts { edges { node { title } } } } }",
            json!({ "id": user_id }),
        )
        .await;
    assert_eq!(anonymous["data"]["user"]["email"], Value::Null);
    assert_eq!(anonymous["data"]["user"]["posts"]["edges"], json!([]));

    server
        .gql(
            "mutation { requestPasswordReset(email: \"payload@example.com\") }",
            json!({}),
        )
        .await;
    let emails = mail
        .wait_for("payload@example.com", 2, Duration::from_secs(15))
        .await;
    let reset_email = emails
        .iter()
        .find(|e| e["subject"] == "Reset your password")
        .expect("the reset email arrives");
    let reset = server
        .gql(
            &format!("mutation($t: String!) {{ resetPassword(token: $t, newPassword: \"a brand new password\") {{ user {{ {VIEWER_FIELDS} }} }} }}"),
            json!({ "t": token_from(reset_email, "reset-password") }),
        )
        .await;
    assert_eq!(reset["errors"], Value::Null, "{reset}");
    assert_eq!(
        reset["data"]["resetPassword"]["user"]["email"],
        "payload@example.com"
    );
}
