//! The bodies of a user's own sessions and account (part two): listing and
//! ending sessions, logging out with a scope, deleting the account.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /logout` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"refresh_token": "eyJhbGciOiJIUzI1NiJ9…", "scope": "others"}))]
pub struct LogoutRequest {
    pub refresh_token: String,
    /// `local` (the default: this session), `others` (every session of the
    /// user but this one) or `global` (all of them).
    #[serde(default)]
    #[schema(value_type = Option<LogoutScope>)]
    pub scope: Option<String>,
}

/// Which sessions `POST /logout` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogoutScope {
    #[default]
    Local,
    Others,
    Global,
}

impl LogoutScope {
    /// The scope a request names (`None`: the default), or the problem to
    /// report in `fields.scope`.
    pub fn parse(scope: Option<&str>) -> Result<Self, &'static str> {
        match scope {
            None | Some("local") => Ok(Self::Local),
            Some("others") => Ok(Self::Others),
            Some("global") => Ok(Self::Global),
            Some(_) => Err("must be one of local, others, global"),
        }
    }
}

/// One live session, as `GET /sessions` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "2f0e7c56-7a54-4b8e-9c3b-6a1de0a3b1f4", "created_at": "2026-12-06T10:00:00Z", "last_used_at": "2026-12-06T10:30:00Z", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "ip": "203.0.113.7", "current": true}))]
pub struct SessionInfo {
    /// The `sid` of the session's tokens.
    pub id: Uuid,
    /// When the session was opened (login), RFC 3339, UTC.
    pub created_at: DateTime<Utc>,
    /// When its refresh token was last used (or the login).
    pub last_used_at: DateTime<Utc>,
    /// The `User-Agent` of the last use, cut to 256 characters.
    pub user_agent: Option<String>,
    /// The client network of the last use: an IPv4 address or an IPv6 /64.
    pub ip: Option<String>,
    /// Whether this is the session of the token presented.
    pub current: bool,
}

/// `DELETE /account` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"password": "correct horse battery staple"}))]
pub struct DeleteAccountRequest {
    #[schema(format = Password)]
    pub password: String,
}

#[cfg(test)]
mod tests {
    use super::LogoutScope;

    #[test]
    fn a_scope_is_one_of_three_words_and_local_by_default() {
        assert_eq!(LogoutScope::parse(None), Ok(LogoutScope::Local));
        assert_eq!(LogoutScope::parse(Some("local")), Ok(LogoutScope::Local));
        assert_eq!(LogoutScope::parse(Some("others")), Ok(LogoutScope::Others));
        assert_eq!(LogoutScope::parse(Some("global")), Ok(LogoutScope::Global));
        for bad in ["", "Global", "all", "local "] {
            assert!(LogoutScope::parse(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
