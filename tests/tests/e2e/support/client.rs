//! Talking to a [`TestStack`]: typed request helpers that share one
//! [`send`], and [`Reply`] with the contract's assertions.

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use shared::api::{ErrorBody, ErrorCode, TokenResponse};

use crate::support::smtp::{MAIL_WAIT, SmtpSink};
use crate::support::stack::{StackBuilder, TestStack};

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as `T`; panics with the body when it is not.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("{error} in {} body: {}", self.status, self.body))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the contract's error format with `status` and `code`.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: ErrorCode) -> ErrorBody {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "content-type {content_type:?}"
        );
        let body: ErrorBody = self.json();
        assert_eq!(body.error, code, "body: {}", self.body);
        assert!(!body.detail.is_empty());
        body
    }

    /// Asserts `status` and an empty body (a 204).
    #[track_caller]
    pub fn expect_status(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert!(self.body.is_empty(), "body: {}", self.body);
    }

    /// Asserts `status` and returns the body as `T`.
    #[track_caller]
    pub fn expect<T: DeserializeOwned>(&self, status: u16) -> T {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        self.json()
    }
}

/// Sends `request` and reads the whole response.
pub async fn send(request: RequestBuilder) -> Reply {
    let response = request
        .send()
        .await
        .unwrap_or_else(|error| panic!("request failed: {error}"));
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Reply {
        status,
        headers,
        body,
    }
}

/// A fresh, valid email for this test.
pub fn new_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// A password that meets the rules.
pub const PASSWORD: &str = "correct horse battery staple";

impl TestStack {
    /// Starts a stack with the defaults of the tests.
    pub async fn start() -> Self {
        StackBuilder::default().start().await
    }

    /// A stack with some variables changed.
    pub fn builder() -> StackBuilder {
        StackBuilder::default()
    }

    /// The auth service's URL for `path`.
    pub fn auth_url(&self, path: &str) -> String {
        format!("{}{path}", self.auth.base_url)
    }

    /// The profile service's URL for `path`.
    pub fn profile_url(&self, path: &str) -> String {
        format!("{}{path}", self.profile.base_url)
    }

    /// A request with a raw `body` and, if given, `content_type`: for
    /// bodies the typed helpers cannot send.
    pub fn raw(
        &self,
        method: reqwest::Method,
        url: String,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> RequestBuilder {
        let request = self.client.request(method, url).body(body);
        match content_type {
            Some(content_type) => request.header("content-type", content_type),
            None => request,
        }
    }

    /// `POST /signup`.
    pub async fn signup(&self, email: &str, password: &str) -> Reply {
        let body = serde_json::json!({"email": email, "password": password});
        send(self.client.post(self.auth_url("/signup")).json(&body)).await
    }

    /// `POST /login` with the password grant.
    pub async fn login(&self, email: &str, password: &str) -> Reply {
        send(
            self.client
                .post(self.auth_url("/login"))
                .form(&[("username", email), ("password", password)]),
        )
        .await
    }

    /// `POST /login` with the refresh-token grant.
    pub async fn refresh_grant(&self, refresh_token: &str) -> Reply {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        send(self.client.post(self.auth_url("/login")).form(&form)).await
    }

    /// `POST /refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        let body = serde_json::json!({"refresh_token": refresh_token});
        send(self.client.post(self.auth_url("/refresh")).json(&body)).await
    }

    /// `POST /logout`.
    pub async fn logout(&self, refresh_token: &str) -> Reply {
        let body = serde_json::json!({"refresh_token": refresh_token});
        send(self.client.post(self.auth_url("/logout")).json(&body)).await
    }

    /// `POST` of the JSON `body` to the auth service's `path`, with `bearer`
    /// as the access token if given.
    pub async fn post(&self, path: &str, body: serde_json::Value, bearer: Option<&str>) -> Reply {
        let request = self.client.post(self.auth_url(path)).json(&body);
        send(match bearer {
            Some(token) => request.bearer_auth(token),
            None => request,
        })
        .await
    }

    /// `POST /recover` for `email` (202 `{}`), then the token of the reset
    /// mail it brings: `sink`'s `nth` mail to that address, counting from 1
    /// (signup's verification mail is the first).
    pub async fn reset_token(&self, sink: &SmtpSink, email: &str, nth: usize) -> String {
        let body: serde_json::Value = self
            .post("/recover", serde_json::json!({"email": email}), None)
            .await
            .expect(202);
        assert_eq!(body, serde_json::json!({}));
        let mails = sink.wait_for(email, nth, MAIL_WAIT).await;
        mails[nth - 1]
            .token()
            .unwrap_or_else(|| panic!("mail {nth} to {email} carries no token: {mails:?}"))
    }

    /// `POST /reset` with a mailed `token` and the new `password`.
    pub async fn reset(&self, token: &str, password: &str) -> Reply {
        let body = serde_json::json!({"token": token, "password": password});
        self.post("/reset", body, None).await
    }

    /// `GET /me` with `token` as bearer.
    pub async fn me(&self, token: &str) -> Reply {
        send(self.client.get(self.profile_url("/me")).bearer_auth(token)).await
    }

    /// `PATCH /me` with `token` as bearer and `body` as JSON.
    pub async fn patch_me(&self, token: &str, body: &serde_json::Value) -> Reply {
        send(
            self.client
                .patch(self.profile_url("/me"))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    /// Signs up a fresh user and logs in: (email, tokens).
    pub async fn new_session(&self) -> (String, TokenResponse) {
        let email = new_email();
        self.signup(&email, PASSWORD)
            .await
            .expect::<serde_json::Value>(201);
        let tokens = self.login(&email, PASSWORD).await.expect(200);
        (email, tokens)
    }
}
