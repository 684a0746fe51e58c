//! What a metric label may hold: nothing a client makes up. A flood of
//! made-up methods (the attack sent 2,000-character ones) shares one
//! `method="other"` and adds no series.

use crate::support::client::send;
use crate::support::stack::TestStack;

/// The sample lines of the HTTP metrics in a scrape, the only ones a
/// request's method is a label of: what Prometheus stores a series for.
/// (Background work may add other series between two scrapes: once in CI
/// the profile service had one more non-HTTP series in the second.)
fn series(scrape: &str) -> usize {
    scrape
        .lines()
        .filter(|line| line.starts_with("http_"))
        .count()
}

#[tokio::test]
async fn made_up_methods_share_one_label_and_add_no_series() {
    let stack = TestStack::start().await;
    // Every series a request to these routes can make, made once with a
    // method of the standard set and once with one from outside it.
    let targets = [
        stack.auth_url("/login"),
        stack.auth_url("/no/such/path"),
        stack.profile_url("/me"),
    ];
    for (n, method) in ["PUT", "MKCOL"].into_iter().enumerate() {
        for url in &targets {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let reply = send(stack.client.request(method, url)).await;
            assert!(
                [404, 405].contains(&reply.status.as_u16()),
                "{n}: {}",
                reply.body
            );
        }
    }
    let scrape = |url: &String| send(stack.client.get(url));
    let before = [
        scrape(&stack.auth.metrics_url).await.body,
        scrape(&stack.profile.metrics_url).await.body,
    ];
    // What the attack sent: 2,000-character methods, each one new.
    for n in 0..30 {
        let method = format!("{}{n}", "Z".repeat(2000));
        for url in &targets {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let reply = send(stack.client.request(method, url)).await;
            assert!(
                [404, 405].contains(&reply.status.as_u16()),
                "{}",
                reply.body
            );
        }
    }
    let after = [
        scrape(&stack.auth.metrics_url).await.body,
        scrape(&stack.profile.metrics_url).await.body,
    ];
    for (before, after) in before.iter().zip(&after) {
        assert!(!after.contains("ZZZ"), "a made-up method became a label");
        assert!(after.contains(r#"method="other""#), "{after}");
        assert_eq!(series(before), series(after), "new series:\n{after}");
    }
}
