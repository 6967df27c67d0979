// Sequential timing of one API request, for the read benches: median and p90.

/** A `measure(name, path, check)` that sends `path` `rounds` times to collector `c`, checks each answer and logs the times. */
export function apiTimer(c, rounds) {
  return async (name, path, check) => {
    const times = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const { status, body } = await c.api(path);
      times.push(performance.now() - t0);
      if (status !== 200 || !check(body)) throw new Error(`${name}: unexpected answer ${status} ${JSON.stringify(body).slice(0, 200)}`);
    }
    times.sort((a, b) => a - b);
    const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1);
    console.log(`${name}: median ${at(0.5)} ms, p90 ${at(0.9)} ms (${rounds} sequential requests)`);
  };
}
