//! The handles of the HTTP metrics' series, kept per worker thread, so
//! [`super::http_metrics`] records into them directly instead of building
//! and looking up labelled keys in the registry on every request.

use std::cell::RefCell;
use std::collections::HashMap;

use metrics::{Counter, Gauge, Histogram};

/// `2xx` for 200, ...
pub(super) fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// The label values of one request series: service, route template,
/// method, status class. Every one comes from a bounded set (see
/// [`super::method_label`]), so the handles kept per worker are bounded
/// too.
type SeriesKey = (&'static str, String, &'static str, &'static str);

/// The metric handles a worker thread has used, by series.
pub(super) struct SeriesHandles {
    requests: HashMap<SeriesKey, (Counter, Histogram)>,
    in_flight: HashMap<&'static str, Gauge>,
}

thread_local! {
    static SERIES: RefCell<SeriesHandles> = RefCell::new(SeriesHandles {
        requests: HashMap::new(),
        in_flight: HashMap::new(),
    });
}

impl SeriesHandles {
    /// `http_requests_in_flight{service}`.
    pub(super) fn in_flight(service: &'static str) -> Gauge {
        SERIES.with_borrow_mut(|series| {
            series
                .in_flight
                .entry(service)
                .or_insert_with(|| metrics::gauge!("http_requests_in_flight", "service" => service))
                .clone()
        })
    }

    /// `http_requests_total` and `http_request_duration_seconds` of one
    /// series.
    pub(super) fn request(
        service: &'static str,
        route: String,
        method: &'static str,
        class: &'static str,
    ) -> (Counter, Histogram) {
        SERIES.with_borrow_mut(|series| {
            let key = (service, route, method, class);
            if let Some(handles) = series.requests.get(&key) {
                return handles.clone();
            }
            let route = key.1.clone();
            let handles = (
                metrics::counter!("http_requests_total", "service" => service, "route" => route.clone(), "method" => method, "status" => class),
                metrics::histogram!("http_request_duration_seconds", "service" => service, "route" => route, "method" => method),
            );
            series.requests.insert(key, handles.clone());
            handles
        })
    }
}
