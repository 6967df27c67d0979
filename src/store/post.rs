//! Outgoing POST requests (webhook deliveries, the Analytics Engine SQL API,
//! the Analytics Engine hand-over), built on the runtime's own `Request`:
//! workers-rs' `RequestInit` conversion sets every `cf` option there is and
//! costs ≈ 12 KB of wasm for the method, headers and body used here.

use wasm_bindgen::JsValue;
use worker::{Headers, Request};

/// A POST of `body` (text) with `headers` to `url`.
pub fn post(url: &str, headers: &Headers, body: &str) -> worker::Result<Request> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_headers(headers.0.as_ref());
    init.set_body(&JsValue::from_str(body));
    Ok(web_sys::Request::new_with_str_and_init(url, &init)?.into())
}
