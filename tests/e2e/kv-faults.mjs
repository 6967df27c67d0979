// Wraps the real local KV namespace and fails its puts while the test
// process says so (CONTROL answers "fail" for kvPut).
export default (env) => {
  const failing = async () => (await (await env.CONTROL.fetch("http://control/kvPut")).text()) === "fail";
  return {
    async put(...args) {
      if (await failing()) throw new Error("KV put refused (injected fault)");
      return env.INNER.put(...args);
    },
    get: (...args) => env.INNER.get(...args),
    getWithMetadata: (...args) => env.INNER.getWithMetadata(...args),
    list: (...args) => env.INNER.list(...args),
    delete: (...args) => env.INNER.delete(...args),
  };
};
