import type { D1Migration } from "cloudflare:test";

// The test Worker's environment: the gateway's bindings (Cloudflare.Env, from `wrangler types`) and these.
declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      UPSTREAM_ORIGIN: string;
    }
  }
}
