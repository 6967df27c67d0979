// Builders for OTLP/JSON trace requests as exporters send them.
import { gzipSync } from "node:zlib";

export const hex = (n, bytes) => n.toString(16).padStart(bytes * 2, "0");
export const traceId = (n) => hex(0xabc00000 + n, 16);
export const spanId = (n) => hex(0x5000 + n, 8);

const value = (v) =>
  typeof v === "string" ? { stringValue: v }
  : typeof v === "boolean" ? { boolValue: v }
  : Number.isInteger(v) ? { intValue: String(v) }
  : { doubleValue: v };

export const attrs = (obj) => Object.entries(obj).map(([key, v]) => ({ key, value: value(v) }));

/** A span: times in ms offsets from `baseNs` (BigInt nanos, beyond 2^53). */
export const BASE_NS = 1_763_900_000_123_456_789n;
export function span({ trace, id, parent, name, kind = 1, startMs = 0, durationMs = 10, error = false, attributes = {}, events = [] }) {
  const start = BASE_NS + BigInt(Math.round(startMs * 1e6));
  return {
    traceId: traceId(trace),
    spanId: spanId(id),
    parentSpanId: parent === undefined ? "" : spanId(parent),
    name,
    kind,
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + BigInt(Math.round(durationMs * 1e6))),
    attributes: attrs(attributes),
    events,
    status: error ? { code: 2, message: "boom" } : { code: 1 },
  };
}

/** One request body: `{ service: [spans] }` → resourceSpans. */
export function request(byService, { version = "1.0.0", environment = "production" } = {}) {
  return {
    resourceSpans: Object.entries(byService).map(([service, spans]) => ({
      resource: { attributes: attrs({ "service.name": service, "service.version": version, "deployment.environment": environment }) },
      scopeSpans: [{ scope: { name: "e2e", version: "1" }, spans }],
    })),
  };
}

export const json = (body) => JSON.stringify(body);
export const gzip = (text) => gzipSync(Buffer.from(text));

/**
 * A checkout trace across three services plus an uninstrumented database
 * (starting at `atMs`, unix ms, when given):
 * gateway SERVER → gateway CLIENT → checkout SERVER → checkout CLIENT (postgres)
 *                                                   → payments SERVER (error).
 */
export function checkoutTrace(trace, { atMs } = {}) {
  const base = trace * 100;
  const shift = atMs === undefined ? 0 : atMs - Number(BASE_NS / 1_000_000n);
  const shifted = (s) => span({ ...s, startMs: (s.startMs ?? 0) + shift });
  return {
    gateway: [
      shifted({ trace, id: base + 1, name: "GET /checkout", kind: 2, durationMs: 120, attributes: { "http.request.method": "GET", "http.route": "/checkout", "http.response.status_code": 200 } }),
      shifted({ trace, id: base + 2, parent: base + 1, name: "POST checkout", kind: 3, startMs: 1, durationMs: 110, attributes: { "peer.service": "checkout" } }),
    ],
    checkout: [
      shifted({ trace, id: base + 3, parent: base + 2, name: "POST /orders", kind: 2, startMs: 2, durationMs: 100, attributes: { "http.route": "/orders", "customer.tier": "gold" } }),
      shifted({ trace, id: base + 4, parent: base + 3, name: "INSERT orders", kind: 3, startMs: 3, durationMs: 20, attributes: { "db.system": "postgresql", "db.name": "orders-db" } }),
      shifted({ trace, id: base + 5, parent: base + 3, name: "charge", kind: 3, startMs: 30, durationMs: 60 }),
    ],
    payments: [
      shifted({ trace, id: base + 6, parent: base + 5, name: "POST /charge", kind: 2, startMs: 31, durationMs: 55, error: true,
        events: [{ timeUnixNano: String(BASE_NS + 40_000_000n), name: "exception", attributes: attrs({ "exception.type": "CardDeclined" }) }] }),
    ],
  };
}

/**
 * Five services with a cycle and an uninstrumented database, starting at `atMs` (unix ms):
 * gateway → checkout → payments → ledger → checkout; checkout → orders-db; audit alone.
 */
export function fleetTrace(trace, { atMs }) {
  const shift = atMs - Number(BASE_NS / 1_000_000n);
  const at = (s) => span({ ...s, startMs: (s.startMs ?? 0) + shift });
  const b = trace * 100;
  return {
    gateway: [
      at({ trace, id: b + 1, name: "GET /buy", kind: 2, durationMs: 100 }),
      at({ trace, id: b + 2, parent: b + 1, name: "call checkout", kind: 3, durationMs: 90 }),
    ],
    checkout: [
      at({ trace, id: b + 3, parent: b + 2, name: "POST /checkout", kind: 2, durationMs: 80 }),
      at({ trace, id: b + 4, parent: b + 3, name: "INSERT", kind: 3, durationMs: 10, attributes: { "db.system": "postgresql", "db.name": "orders-db" } }),
      at({ trace, id: b + 5, parent: b + 3, name: "call payments", kind: 3, durationMs: 60 }),
      at({ trace, id: b + 10, parent: b + 9, name: "POST /refund-hook", kind: 2, durationMs: 20, error: true }),
    ],
    payments: [
      at({ trace, id: b + 6, parent: b + 5, name: "POST /pay", kind: 2, durationMs: 50 }),
      at({ trace, id: b + 7, parent: b + 6, name: "call ledger", kind: 3, durationMs: 40 }),
    ],
    ledger: [
      at({ trace, id: b + 8, parent: b + 7, name: "POST /entries", kind: 2, durationMs: 30 }),
      at({ trace, id: b + 9, parent: b + 8, name: "notify checkout", kind: 3, durationMs: 25 }),
    ],
    audit: [at({ trace, id: b + 11, name: "nightly", kind: 1, durationMs: 5 })],
  };
}
