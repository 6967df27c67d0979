// Wraps the real local queue producer and fails its sends while the test
// process says so (CONTROL answers "fail"). workers-rs checks the class name.
export default (env) => {
  const failing = async (op) => (await (await env.CONTROL.fetch(`http://control/${op}`)).text()) === "fail";
  class WorkerQueue {
    async send(...args) {
      if (await failing("send")) throw new Error("queue send refused (injected fault)");
      return env.INNER.send(...args);
    }
    async sendBatch(...args) {
      if (await failing("send")) throw new Error("queue send refused (injected fault)");
      return env.INNER.sendBatch(...args);
    }
  }
  return new WorkerQueue();
};
