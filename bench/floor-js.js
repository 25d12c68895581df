// The floor for a Worker that must read what passes through it: like floor.js, but the provider's body
// goes through JavaScript, as any gateway that prices an answer or checks a stream's events must do. A
// JSON answer is read whole and sent on; a stream is pumped chunk by chunk, read then written, untouched.
// Between floor.js and this lies what the runtime charges for touching the bytes at all.
export default {
  async fetch(request, env, ctx) {
    const upstream = await fetch(env.UPSTREAM_URL, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
      body: request.body,
    });
    const headers = { "content-type": upstream.headers.get("content-type") ?? "application/json" };
    if (!headers["content-type"].startsWith("text/event-stream")) {
      return new Response(await upstream.text(), { status: upstream.status, headers });
    }
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    const reader = upstream.body.getReader();
    ctx.waitUntil(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await writer.write(value);
        }
        await writer.close();
      })().catch(() => {}),
    );
    return new Response(readable, { status: upstream.status, headers });
  },
};
