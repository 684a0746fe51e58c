//! Slow bodies: a request body that has not fully arrived [`BODY_TIMEOUT`]
//! after its headers fails with a timed-out payload error (which the
//! extractors answer 408 `request_timeout`), and the connection is closed.
//! actix bounds slow *headers* by itself (`client_request_timeout`), but
//! not a body that stalls after them.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures::Stream;

/// How long a body may take to arrive, counted from its headers.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `error` is this module's deadline running out.
pub fn is_body_timeout(error: &PayloadError) -> bool {
    matches!(error, PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// Middleware: puts [`BODY_TIMEOUT`] on the request body, and closes the
/// connection of a request whose body ran out of time.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, WithUnread>>, actix_web::Error> {
    let stalled = Rc::new(RefCell::new(None));
    let inner = req.take_payload();
    let timed = Deadline {
        inner,
        sleep: Box::pin(tokio::time::sleep(BODY_TIMEOUT)),
        stalled: Rc::clone(&stalled),
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(timed),
    });
    let mut response = next.call(req).await?;
    let unread = stalled.borrow_mut().take();
    let Some(unread) = unread else {
        return Ok(response.map_into_left_body());
    };
    tracing::info!("request body did not arrive in time; closing the connection");
    response
        .response_mut()
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    // While the unread body is alive, actix closes the connection once the
    // response is written; dropped, actix would wait to drain a chunked
    // body that never comes. So it lives as long as the response body.
    Ok(response
        .map_body(|_, body| WithUnread {
            body: body.boxed(),
            _unread: unread,
        })
        .map_into_right_body())
}

/// A response body that keeps the unread rest of the request body alive.
pub struct WithUnread {
    body: BoxBody,
    _unread: Payload,
}

impl MessageBody for WithUnread {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// Where the unread payload goes once the deadline passes.
    stalled: Rc<RefCell<Option<Payload>>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if matches!(self.inner, Payload::None) {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            let unread = std::mem::replace(&mut self.inner, Payload::None);
            *self.stalled.borrow_mut() = Some(unread);
            let error = std::io::Error::new(std::io::ErrorKind::TimedOut, "request body timed out");
            return Poll::Ready(Some(Err(PayloadError::Io(error))));
        }
        Poll::Pending
    }
}
