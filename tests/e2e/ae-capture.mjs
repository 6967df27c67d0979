// Stand-in for an Analytics Engine binding: every writeDataPoint is posted to
// the test process (SINK), which records it. A point whose index is
// "ae-fails" makes writeDataPoint throw, as a failing binding would. Loaded
// as a wrapped binding, so only "cloudflare-internal:workers" is importable here.
import entrypoints from "cloudflare-internal:workers";

const plain = (v) =>
  v instanceof ArrayBuffer || ArrayBuffer.isView(v)
    ? { bytes: Array.from(new Uint8Array(v.buffer ?? v, v.byteOffset ?? 0, v.byteLength)) }
    : v;

export default (env) => ({
  writeDataPoint(point = {}) {
    if ((point.indexes ?? [])[0] === "ae-fails") throw new Error("writeDataPoint: simulated failure");
    const recorded = {
      dataset: env.dataset,
      indexes: (point.indexes ?? []).map(plain),
      blobs: (point.blobs ?? []).map(plain),
      doubles: point.doubles ?? [],
    };
    entrypoints.waitUntil(env.SINK.fetch("http://sink/", { method: "POST", body: JSON.stringify(recorded) }));
  },
});
