//! The two ways the services reach blocking work, both off the async
//! workers and inside the caller's tracing span: [`with_conn`] for
//! queries (it holds a pooled connection), [`with_passwords`] for bcrypt
//! (it holds none, so a login storm queues on the CPU, never on the pool).

use std::sync::Arc;

use diesel::PgConnection;
use service_kit::error::InfraError;

use crate::client_ip::ClientNetwork;
use crate::error::AuthError;
use crate::hash_gate::Turn;
use crate::passwords::Passwords;
use crate::state::AppState;

/// Runs `work` with a pooled connection and the state on the blocking
/// thread pool (see [`service_kit::db::blocking`]).
pub async fn with_conn<T, F>(state: &Arc<AppState>, work: F) -> Result<T, AuthError>
where
    F: FnOnce(&mut PgConnection, &AppState) -> Result<T, AuthError> + Send + 'static,
    T: Send + 'static,
{
    let shared_state = state.clone();
    service_kit::db::blocking(&state.pool, move |conn| work(conn, &shared_state)).await
}

/// Runs `work` (bcrypt) for a request from `client` on the blocking
/// thread pool once the hashing gate lets it in, holding no database
/// connection while it waits or hashes.
pub async fn with_passwords<T, F>(
    state: &Arc<AppState>,
    client: ClientNetwork,
    work: F,
) -> Result<T, AuthError>
where
    F: FnOnce(&Passwords) -> Result<T, AuthError> + Send + 'static,
    T: Send + 'static,
{
    let turn = state
        .hash_gate
        .take_turn(client.0)
        .map_err(AuthError::Shed)?;
    with_passwords_in(state, turn, work).await
}

/// [`with_passwords`] in a turn taken earlier (before the request's
/// database work, so a full gate sheds it before any statement).
pub async fn with_passwords_in<T, F>(
    state: &Arc<AppState>,
    turn: Turn,
    work: F,
) -> Result<T, AuthError>
where
    F: FnOnce(&Passwords) -> Result<T, AuthError> + Send + 'static,
    T: Send + 'static,
{
    let permit = turn.slot().await.map_err(AuthError::Shed)?;
    let state = state.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let started = std::time::Instant::now();
        let done = span.in_scope(|| work(&state.passwords));
        crate::measure::hash_duration(started.elapsed());
        drop(_permit);
        state.hash_gate.report();
        done
    })
    .await
    .map_err(|error| InfraError::internal(format!("the hashing task failed: {error}")))?
}
