import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/** Unit and integration tests, inside workerd with real D1, KV and Durable Objects. */
export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => {
      const upstream = `http://127.0.0.1:${inject("upstreamPort")}`;
      return {
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: await readD1Migrations("./migrations"),
            MOCK_PROVIDER: "on",
            KEY_CACHE_TTL_SECONDS: "1",
            MAX_BODY_BYTES: "65536",
            BODY_TIMEOUT_MS: "1500",
            UPSTREAM_HEADERS_TIMEOUT_MS: "1000",
            ADMIN_TOKEN: "test-admin-token-0123456789",
            AUDIT_SIGNING_KEY: "test-audit-signing-key-0123456789",
            OPENAI_API_KEY: "sk-test-upstream",
            OPENAI_BASE_URL: `${upstream}/v1`,
            ANTHROPIC_API_KEY: "sk-ant-test-upstream",
            ANTHROPIC_BASE_URL: upstream,
            GEMINI_API_KEY: "gemini-test-upstream",
            GEMINI_BASE_URL: `${upstream}/v1beta`,
            ACME_API_KEY: "sk-acme-test",
            CONFIG_CACHE_TTL_SECONDS: "0",
            UPSTREAM_ORIGIN: upstream,
            // Routing tests: two more OpenAI-compatible providers on the same fake upstream, small circuit
            // timings, a policy cache short enough to see a push take effect.
            GROQ_BASE_URL: `${upstream}/v1`,
            DEEPSEEK_BASE_URL: `${upstream}/v1`,
            CIRCUIT_FAILURES: "10",
            CIRCUIT_OPEN_MS: "400",
            POLICY_CACHE_TTL_SECONDS: "1",
          },
        },
      };
    }),
  ],
  test: {
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
    globalSetup: ["./test/support/global-setup.ts"],
    setupFiles: ["./test/support/apply-migrations.ts"],
    // Generous: the suite must pass on a 2-core machine with another CPU-heavy process beside it; a hang still fails.
    testTimeout: 90_000,
  },
});
