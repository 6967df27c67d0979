//! Outgoing POST requests (webhook deliveries, the Analytics Engine SQL API,
//! the Analytics Engine hand-over), built on the runtime's own `Request`:
//! workers-rs' `RequestInit` conversion sets every `cf` option there is and
//! costs ≈ 12 KB of wasm for the method, headers and body used here. Sent
//! with a deadline where an upstream may hang.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{select, Either};
use wasm_bindgen::JsValue;
use worker::{AbortController, Delay, Fetch, Headers, Request, Response};

/// A POST of `body` (text) with `headers` to `url`.
pub fn post(url: &str, headers: &Headers, body: &str) -> worker::Result<Request> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_headers(headers.0.as_ref());
    init.set_body(&JsValue::from_str(body));
    Ok(web_sys::Request::new_with_str_and_init(url, &init)?.into())
}

/// Sends `request`, abandoning it after `timeout`: `Ok(None)` when no answer came in time.
pub async fn send_within(request: Request, timeout: Duration) -> worker::Result<Option<Response>> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let sent = pin!(fetch.send_with_signal(&signal));
    match select(sent, pin!(Delay::from(timeout))).await {
        Either::Left((answer, _)) => answer.map(Some),
        Either::Right(_) => {
            controller.abort();
            Ok(None)
        }
    }
}
