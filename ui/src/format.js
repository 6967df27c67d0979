// Numbers and times as the pages show them.
export function ms(value) {
  if (value === null || value === undefined) return "–";
  if (value >= 1000) return `${(value / 1000).toFixed(value >= 10000 ? 1 : 2)} s`;
  if (value >= 1) return `${value.toFixed(value >= 100 ? 0 : 1)} ms`;
  return `${(value * 1000).toFixed(0)} µs`;
}

export const percent = (value) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(value < 0.1 ? 2 : 1)} %`);

export const rate = (perSecond) => (perSecond === null || perSecond === undefined ? "–" : perSecond >= 1 ? `${perSecond.toFixed(1)}/s` : `${(perSecond * 60).toFixed(1)}/min`);

/** A nanosecond timestamp string as a local date and time with milliseconds. */
export function time(unixNano) {
  const date = new Date(Number(BigInt(unixNano) / 1000000n));
  return date.toLocaleString(undefined, { hour12: false }) + `.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

/** A unix-ms time as local date and time (to the second). */
export const dateTime = (unixMs) => new Date(unixMs).toLocaleString(undefined, { hour12: false });

/** Milliseconds between two nanosecond timestamp strings. */
export const nanosBetween = (from, to) => Number(BigInt(to) - BigInt(from)) / 1e6;

export const shortId = (id) => (id ? id.slice(0, 8) : "");
