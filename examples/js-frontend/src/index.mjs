// Example JavaScript Worker instrumented with @microlabs/otel-cf-workers and
// exporting to the collector: `GET /orders/:id` asks the Rust `orders`
// Worker (examples/orders) through the ORDERS service binding. The package
// traces the handler and the binding call (with `traceparent`), so the Rust
// Worker's spans join the same trace.
import { instrument } from "@microlabs/otel-cf-workers";
import { trace } from "@opentelemetry/api";

const handler = {
  async fetch(request, env) {
    const id = new URL(request.url).pathname.split("/").pop();
    trace.getActiveSpan()?.setAttribute("order.id", id);
    const answer = await env.ORDERS.fetch(`https://orders/orders/${id}`);
    const body = await answer.text();
    return new Response(`order ${id}: ${body}`, { status: answer.status >= 500 ? 502 : answer.status });
  },
};

// The collector's OTLP/HTTP traces endpoint and an ingest key (a secret).
export default instrument(handler, (env) => ({
  exporter: {
    url: `${env.COLLECTOR_URL}/v1/traces`,
    headers: { authorization: `Bearer ${env.COLLECTOR_INGEST_KEY}` },
  },
  service: { name: env.SERVICE_NAME ?? "js-frontend", version: "1.0.0" },
}));
