//! The requests of the load, the sequences the clients cycle through, and
//! the one `send` that makes each of them over HTTP.

use std::time::Duration;

use serde_json::json;
use shared::api::{ErrorBody, ErrorCode};

use crate::support::client::{PASSWORD, Reply};
use crate::support::stack::TestStack;

/// What "never a hang" means to the clients.
pub(super) const HANG: Duration = Duration::from_secs(20);

/// One request of the load.
#[derive(Clone, Copy, Debug)]
pub(super) enum Op {
    Signup,
    Login,
    Refresh,
    /// Two refreshes of one token at once (two tabs).
    TwoTabs,
    Me,
    Patch,
}

impl Op {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Login => "login",
            Self::Refresh => "refresh",
            Self::TwoTabs => "two tabs",
            Self::Me => "me",
            Self::Patch => "patch",
        }
    }
}

/// What an ordinary client does, in turn.
pub(super) const MIXED: &[Op] = &[
    Op::Signup,
    Op::Login,
    Op::Refresh,
    Op::Me,
    Op::Patch,
    Op::Refresh,
    Op::Patch,
    Op::Me,
    Op::Login,
];
/// Mostly rotations, some of them from two tabs at once.
pub(super) const ROTATIONS: &[Op] = &[
    Op::Refresh,
    Op::TwoTabs,
    Op::Refresh,
    Op::TwoTabs,
    Op::Refresh,
    Op::TwoTabs,
    Op::Login,
];
/// The clients whose rows the pool test holds locked: one per service.
pub(super) const SESSION_VICTIM: &[Op] = &[Op::Refresh];
pub(super) const PROFILE_VICTIM: &[Op] = &[Op::Patch, Op::Me];

/// The stack's URLs and an HTTP client that gives up after [`HANG`].
#[derive(Clone)]
pub(super) struct Api {
    http: reqwest::Client,
    auth: String,
    profile: String,
}

impl Api {
    pub(super) fn of(stack: &TestStack) -> Self {
        let http = reqwest::Client::builder().no_proxy().timeout(HANG).build();
        Self {
            http: http.unwrap(),
            auth: stack.auth.base_url.clone(),
            profile: stack.profile.base_url.clone(),
        }
    }

    /// One request; `Err` when no response came (refused, reset, hung).
    pub(super) async fn send(
        &self,
        op: Op,
        token_or_email: &str,
        bio: &str,
    ) -> Result<Reply, String> {
        let (http, auth, me) = (&self.http, &self.auth, format!("{}/me", self.profile));
        let request = match op {
            Op::Signup => http
                .post(format!("{auth}/signup"))
                .json(&json!({"email": token_or_email, "password": PASSWORD})),
            Op::Login => http
                .post(format!("{auth}/login"))
                .form(&[("username", token_or_email), ("password", PASSWORD)]),
            Op::Refresh | Op::TwoTabs => http
                .post(format!("{auth}/refresh"))
                .json(&json!({"refresh_token": token_or_email})),
            Op::Me => http.get(me).bearer_auth(token_or_email),
            Op::Patch => http
                .patch(me)
                .bearer_auth(token_or_email)
                .json(&json!({"bio": bio})),
        };
        let response = request.send().await.map_err(|e| e.to_string())?;
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.text().await.map_err(|e| e.to_string())?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// A 503 as the contract has it: `unavailable`, with `Retry-After`.
pub(super) fn is_unavailable(reply: &Reply) -> bool {
    reply.status.as_u16() == 503
        && reply.header("retry-after").is_some()
        && serde_json::from_str::<ErrorBody>(&reply.body)
            .is_ok_and(|body| body.error == ErrorCode::Unavailable)
}
