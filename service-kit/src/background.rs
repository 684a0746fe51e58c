//! Work a service runs beside its server (an outbox runner, say): spawned
//! at start-up, told to stop by the same graceful shutdown once the server
//! has drained, and waited for.

use std::future::Future;

/// Work a service runs beside its server (an outbox runner), stopped by
/// the same graceful shutdown once the server has drained.
pub struct Background {
    name: &'static str,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// What a [`Background`] task watches to know it should stop.
pub struct Stop(tokio::sync::watch::Receiver<bool>);

impl Stop {
    /// Resolves once the service is stopping.
    pub async fn requested(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

impl Background {
    /// Spawns `run` on the runtime; it gets the [`Stop`] to watch.
    pub fn spawn<F, Fut>(name: &'static str, run: F) -> Self
    where
        F: FnOnce(Stop) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, watch) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(run(Stop(watch)));
        Self { name, stop, task }
    }

    /// Asks the task to stop and waits for it, 10 s at most.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        let name = self.name;
        match tokio::time::timeout(std::time::Duration::from_secs(10), self.task).await {
            Ok(_) => tracing::info!(task = name, "background task stopped"),
            Err(_) => tracing::warn!(task = name, "background task did not stop within 10 s"),
        }
    }
}
