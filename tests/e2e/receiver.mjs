// A webhook receiver on 127.0.0.1 for the alerting tests: records every
// request (headers, body, the status it answered) and can fail the next ones.
import { createServer } from "node:http";

export async function startReceiver() {
  const requests = [];
  let failures = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const status = failures > 0 ? (failures--, 500) : 200;
      requests.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), status });
      res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "failing on purpose");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks/alerts`,
    requests,
    /** Answers the next `n` requests with 500. */
    failNext: (n) => { failures = n; },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
