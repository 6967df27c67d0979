//! `/api/keys` (create, list, revoke, rotate) and the request-time side of
//! API keys: a presented key's row read through the isolate's cache, and the
//! per-caller rate limits (the Workers rate-limiting bindings).

use std::cell::RefCell;

use worker::{Env, Request, Response};

use super::{db, json, json_under, now_ms, read_body};
use crate::api::auth::{authorize, require, Authorized};
use crate::api::keys::{invalid_token, parse_grace_seconds, KeyRequest, KeyView, NewKey, StoredKey, KEY_RANDOM_BYTES};
use crate::api::{ApiError, KeyRoute, Scope};
use crate::storage::api_keys::{KeyCache, KeyStore, Rotation};
use crate::store::bindings::{self, API_RATE_LIMITER, INGEST_RATE_LIMITER};
use crate::store::d1::D1;

thread_local! {
    static CACHE: RefCell<KeyCache> = RefCell::new(KeyCache::default());
}

/// The rate limits' period (`period` of both `[[ratelimits]]` in wrangler.toml): a 429's Retry-After.
const RATE_LIMIT_PERIOD_SECONDS: u32 = 60;

/// Lets the request through if its bearer token covers `scope` and its caller is within its rate limit.
pub async fn admit(scope: Scope, authorization: Option<&str>, env: &Env) -> Result<(), ApiError> {
    let caller = match authorize(scope, authorization, &bindings::tokens(env))? {
        Authorized::Granted { caller } => caller.map(str::to_string),
        Authorized::Key { id, secret } => {
            let now = now_ms();
            let key = match CACHE.with_borrow(|cache| cache.get(id, now)) {
                Some(key) => key,
                None => {
                    let key = KeyStore::new(&D1::new(db(env)?)).find(id).await?;
                    CACHE.with_borrow_mut(|cache| cache.put(id, key.clone(), now));
                    key
                }
            };
            require(key.ok_or_else(invalid_token)?.check(secret, now)?, scope)?;
            Some(id.to_string())
        }
    };
    match caller {
        Some(caller) => limit_rate(env, scope, caller).await,
        None => Ok(()),
    }
}

/// 429 once `caller` used up its requests of the period; no binding, no limit.
/// The binding failing lets the request through (logged): a limiter outage is not an outage.
async fn limit_rate(env: &Env, scope: Scope, caller: String) -> Result<(), ApiError> {
    let binding = if scope == Scope::Ingest { INGEST_RATE_LIMITER } else { API_RATE_LIMITER };
    let Some(limiter) = js_sys::Reflect::get(env, &binding.into()).ok().filter(|b| !b.is_undefined()) else {
        return Ok(());
    };
    match admitted(&limiter, &caller).await {
        Ok(false) => Err(ApiError::too_many_requests(
            format!("rate limit of {binding} reached for {caller}: retry after {RATE_LIMIT_PERIOD_SECONDS} s"),
            RATE_LIMIT_PERIOD_SECONDS,
        )),
        Ok(true) => Ok(()),
        Err(e) => {
            worker::console_error!("{binding} did not answer, request let through: {e:?}");
            Ok(())
        }
    }
}

/// `limiter.limit({ key })` → its `success` (called directly: `RateLimiter::limit`
/// converts through serde, a second copy of it in the wasm).
async fn admitted(limiter: &wasm_bindgen::JsValue, caller: &str) -> Result<bool, wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"key".into(), &caller.into())?;
    let limit: js_sys::Function = js_sys::Reflect::get(limiter, &"limit".into())?.dyn_into()?;
    let promise: js_sys::Promise = limit.call1(limiter, &options)?.dyn_into()?;
    let outcome = worker::wasm_bindgen_futures::JsFuture::from(promise).await?;
    Ok(js_sys::Reflect::get(&outcome, &"success".into())?.as_bool().unwrap_or(true))
}

pub async fn handle(route: KeyRoute, req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let d1 = D1::new(db(env)?);
    let store = KeyStore::new(&d1);
    let now = now_ms();
    match route {
        KeyRoute::List => {
            let views: Vec<_> = store.list().await?.iter().map(|k| k.view(now)).collect();
            json_under(200, "keys", &views)
        }
        KeyRoute::Create => {
            let request = KeyRequest::parse(&read_body(req).await?, now)?;
            let key = NewKey::from_random(&random_bytes()?);
            let stored = store.create(&key, &request, now).await?;
            json(201, &KeyView { key: Some(key.token), ..stored.view(now) })
        }
        KeyRoute::Revoke(id) => {
            let revoked = store.revoke(&id, now).await?.ok_or_else(|| not_found(&id))?;
            forget(&id);
            json(200, &revoked.view(now))
        }
        KeyRoute::Rotate(id) => {
            let grace_ms = parse_grace_seconds(&read_body(req).await?)? * 1000.0;
            let key = NewKey::rotated(&id, &random_bytes()?);
            let rotated: StoredKey = match store.rotate(&key, grace_ms, now).await? {
                Rotation::Rotated(row) => row,
                Rotation::NotFound => return Err(not_found(&id)),
                Rotation::Revoked => {
                    return Err(ApiError::conflict(format!("key {id:?} is revoked: create a new one")))
                }
            };
            forget(&id);
            json(200, &KeyView { key: Some(key.token), ..rotated.view(now) })
        }
    }
}

/// This isolate reads the key again on its next use (others within `CACHE_MS`).
fn forget(id: &str) {
    CACHE.with_borrow_mut(|cache| cache.forget(id));
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("key {id:?} not found"))
}

/// Cryptographically random bytes from the runtime (`crypto.getRandomValues`).
fn random_bytes() -> Result<[u8; KEY_RANDOM_BYTES], ApiError> {
    use wasm_bindgen::JsCast;
    let fail = |_| ApiError::internal("crypto.getRandomValues is unavailable");
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).map_err(fail)?;
    let get_random_values: js_sys::Function =
        js_sys::Reflect::get(&crypto, &"getRandomValues".into()).map_err(fail)?.dyn_into().map_err(fail)?;
    let array = js_sys::Uint8Array::new_with_length(KEY_RANDOM_BYTES as u32);
    get_random_values.call1(&crypto, &array).map_err(fail)?;
    let mut bytes = [0u8; KEY_RANDOM_BYTES];
    array.copy_to(&mut bytes);
    Ok(bytes)
}
