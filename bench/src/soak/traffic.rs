//! The soak's traffic: a fixed mix of operations over a growing set of
//! users, each operation a real client step (sign up, log in, refresh,
//! read and change the profile) with the answer it should get. One
//! operation at a time per user, so refreshes never race into reuse
//! detection.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

const PASSWORD: &str = "correct horse battery staple";

/// The mix, for the report.
pub const MIX: &str = "2% sign-ups, 3% password logins, 10% refreshes, 70% GET /me, 15% PATCH /me";

/// One kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    Signup,
    Login,
    Refresh,
    GetMe,
    PatchMe,
}

impl Op {
    /// The kind of the `i`-th request: [`MIX`], spread evenly over time
    /// (37 and 100 share no factor, so each block of 100 has the mix).
    pub fn nth(i: u64) -> Self {
        match i.wrapping_mul(37) % 100 {
            0..2 => Self::Signup,
            2..5 => Self::Login,
            5..15 => Self::Refresh,
            15..85 => Self::GetMe,
            _ => Self::PatchMe,
        }
    }

    /// The route, for the report.
    pub fn route(self) -> &'static str {
        match self {
            Self::Signup => "POST /signup",
            Self::Login => "POST /login",
            Self::Refresh => "POST /refresh",
            Self::GetMe => "GET /me",
            Self::PatchMe => "PATCH /me",
        }
    }

    /// The status a healthy stack answers.
    pub fn intended(self) -> u16 {
        match self {
            Self::Signup => 201,
            _ => 200,
        }
    }
}

/// One finished request; `status` is `None` when no answer came.
#[derive(Debug, Clone)]
pub struct Sample {
    pub op: Op,
    pub status: Option<u16>,
    pub latency: Duration,
}

#[derive(Default)]
struct User {
    email: String,
    access: Option<String>,
    refresh: Option<String>,
}

/// The users and the client that acts for them.
pub struct Traffic {
    client: reqwest::Client,
    auth: String,
    profile: String,
    run: String,
    users: RwLock<Vec<Arc<Mutex<User>>>>,
}

impl Traffic {
    /// Traffic for the services at `auth` and `profile`.
    pub fn new(auth: &str, profile: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        let run = uuid::Uuid::new_v4().simple().to_string();
        Ok(Self {
            client,
            auth: auth.to_owned(),
            profile: profile.to_owned(),
            run: run.chars().take(8).collect(),
            users: RwLock::new(Vec::new()),
        })
    }

    /// Signs up and logs in `count` users before the clock starts.
    pub async fn seed(&self, count: usize) -> Result<(), String> {
        for i in 0..count {
            let email = format!("soak-{}-seed{i}@example.com", self.run);
            let signup = self.signup(&email).await;
            if signup.status != Some(201) {
                return Err(format!("seeding: sign-up answered {:?}", signup.status));
            }
            let user = self.newest_user().ok_or("seeding: no user")?;
            let mut user = user.lock().await;
            let login = self.login(&mut user).await;
            if login.status != Some(200) {
                return Err(format!("seeding: login answered {:?}", login.status));
            }
        }
        Ok(())
    }

    /// How many users exist now.
    pub fn users(&self) -> usize {
        self.users.read().map_or(0, |users| users.len())
    }

    /// Performs the `i`-th request of the run.
    pub async fn perform(&self, i: u64) -> Sample {
        let op = Op::nth(i);
        if op == Op::Signup {
            return self
                .signup(&format!("soak-{}-{i}@example.com", self.run))
                .await;
        }
        let Some(user) = self.pick(i) else {
            return self
                .signup(&format!("soak-{}-{i}@example.com", self.run))
                .await;
        };
        let mut user = user.lock().await;
        if user.access.is_none() {
            return self.login(&mut user).await;
        }
        match op {
            Op::Login => self.login(&mut user).await,
            Op::Refresh => self.refresh(&mut user).await,
            Op::GetMe => {
                let request = self
                    .client
                    .get(format!("{}/me", self.profile))
                    .bearer_auth(user.access.as_deref().unwrap_or_default());
                timed(op, request).await.0
            }
            // Sign-ups were answered above.
            Op::Signup | Op::PatchMe => {
                let body = serde_json::json!({"display_name": format!("soak {i}")});
                let request = self
                    .client
                    .patch(format!("{}/me", self.profile))
                    .bearer_auth(user.access.as_deref().unwrap_or_default())
                    .json(&body);
                timed(Op::PatchMe, request).await.0
            }
        }
    }

    /// A user not busy with another request, if any (else a busy one).
    fn pick(&self, i: u64) -> Option<Arc<Mutex<User>>> {
        let users = self.users.read().ok()?;
        let count = users.len();
        if count == 0 {
            return None;
        }
        // A cheap scramble of i, so consecutive requests hit different users.
        let start = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % count;
        (0..count.min(64))
            .map(|step| &users[(start + step) % count])
            .find(|user| user.try_lock().is_ok())
            .or_else(|| users.get(start))
            .cloned()
    }

    fn newest_user(&self) -> Option<Arc<Mutex<User>>> {
        self.users.read().ok()?.last().cloned()
    }

    async fn signup(&self, email: &str) -> Sample {
        let body = serde_json::json!({"email": email, "password": PASSWORD});
        let request = self
            .client
            .post(format!("{}/signup", self.auth))
            .json(&body);
        let (sample, _) = timed(Op::Signup, request).await;
        if sample.status == Some(201)
            && let Ok(mut users) = self.users.write()
        {
            users.push(Arc::new(Mutex::new(User {
                email: email.to_owned(),
                ..User::default()
            })));
        }
        sample
    }

    async fn login(&self, user: &mut User) -> Sample {
        let request = self
            .client
            .post(format!("{}/login", self.auth))
            .form(&[("username", user.email.as_str()), ("password", PASSWORD)]);
        let (sample, body) = timed(Op::Login, request).await;
        keep_tokens(user, &sample, body);
        sample
    }

    async fn refresh(&self, user: &mut User) -> Sample {
        let body =
            serde_json::json!({"refresh_token": user.refresh.as_deref().unwrap_or_default()});
        let request = self
            .client
            .post(format!("{}/refresh", self.auth))
            .json(&body);
        let (sample, body) = timed(Op::Refresh, request).await;
        keep_tokens(user, &sample, body);
        sample
    }
}

/// Sends `request`, reads the whole answer, and times both.
async fn timed(op: Op, request: reqwest::RequestBuilder) -> (Sample, Option<Vec<u8>>) {
    let sent = Instant::now();
    let answer = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.bytes().await.ok().map(|b| b.to_vec());
            Some((status, body))
        }
        Err(_) => None,
    };
    let latency = sent.elapsed();
    let status = answer.as_ref().map(|(status, _)| *status);
    let sample = Sample {
        op,
        status,
        latency,
    };
    (sample, answer.and_then(|(_, body)| body))
}

/// Takes the new token pair of a successful login or refresh.
fn keep_tokens(user: &mut User, sample: &Sample, body: Option<Vec<u8>>) {
    if sample.status != Some(200) {
        return;
    }
    let Some(tokens) = body.and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    else {
        return;
    };
    let token = |name: &str| tokens[name].as_str().map(str::to_owned);
    user.access = token("access_token").or(user.access.take());
    user.refresh = token("refresh_token").or(user.refresh.take());
}
