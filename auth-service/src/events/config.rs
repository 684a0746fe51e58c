//! `EVENT_ENDPOINTS` and `EVENT_SECRET`.

use std::sync::Arc;

use service_kit::config::EnvReader;
use shared::events::EventSecret;
use url::Url;

/// Where events go and what signs them.
#[derive(Debug, Clone, Default)]
pub struct EventSettings {
    /// `EVENT_ENDPOINTS`: receiver URLs; none turns events off.
    pub endpoints: Vec<String>,
    /// `EVENT_SECRET` (or `EVENT_SECRET_FILE`); required with endpoints.
    pub secret: Option<Arc<EventSecret>>,
}

impl EventSettings {
    /// Reads both variables; problems go to `env`.
    pub fn read(env: &mut EnvReader) -> Self {
        let endpoints: Vec<String> = env
            .list("EVENT_ENDPOINTS")
            .into_iter()
            .filter_map(|item| match Url::parse(&item) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                    Some(url.to_string())
                }
                _ => {
                    env.problem(format!(
                        "EVENT_ENDPOINTS has {item:?}, which is not an http(s) URL"
                    ));
                    None
                }
            })
            .collect();
        let secret =
            env.secret_or_file("EVENT_SECRET").and_then(|secret| {
                match EventSecret::parse(&secret) {
                    Ok(secret) => Some(Arc::new(secret)),
                    Err(problem) => {
                        env.problem(format!("EVENT_SECRET {problem}"));
                        None
                    }
                }
            });
        if !endpoints.is_empty() && secret.is_none() && !env.names_problem("EVENT_SECRET") {
            env.problem("EVENT_SECRET is required when EVENT_ENDPOINTS is set");
        }
        Self { endpoints, secret }
    }
}
