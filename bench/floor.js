// The floor: the least a Worker can do in front of a provider. It forwards the client's body to the
// upstream with fetch and returns the upstream's response as it comes, on the same runtime as the gateway.
export default {
  async fetch(request, env) {
    return fetch(env.UPSTREAM_URL, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
      body: request.body,
    });
  },
};
