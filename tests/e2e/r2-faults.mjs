// Wraps the real local R2 bucket and fails its puts or deletes while the test
// process says so (CONTROL answers "fail"). workers-rs checks the class name.
export default (env) => {
  const failing = async (op) => (await (await env.CONTROL.fetch(`http://control/${op}`)).text()) === "fail";
  class R2Bucket {
    async put(...args) {
      if (await failing("put")) throw new Error("R2 put refused (injected fault)");
      return env.INNER.put(...args);
    }
    get(...args) { return env.INNER.get(...args); }
    head(...args) { return env.INNER.head(...args); }
    list(...args) { return env.INNER.list(...args); }
    async delete(...args) {
      if (await failing("delete")) throw new Error("R2 delete refused (injected fault)");
      return env.INNER.delete(...args);
    }
  }
  return new R2Bucket();
};
