import { defineConfig } from "vitest/config";

/**
 * End-to-end tests, in Node: the bundled gateway served by workerd (scripts/gateway.mjs), the official SDKs
 * and the admin CLI against it, a fake provider on 127.0.0.1.
 */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["./test/e2e/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
