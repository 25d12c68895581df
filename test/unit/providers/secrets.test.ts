import { describe, expect, it } from "vitest";
import { scrubSecrets } from "../../../src/providers/secrets";

describe("scrubSecrets", () => {
  it("takes out configured keys and anything shaped like a credential, and leaves ordinary text alone", () => {
    const secrets = ["tok_live_4be8a1", "plainsecretvalue"];
    const cases: [string, string][] = [
      ["Incorrect API key provided: Bearer sk-test-upstream.", "Incorrect API key provided: Bearer [redacted]."],
      ["bad key sk-proj-Ab12Cd34Ef56 here", "bad key [redacted] here"],
      ["x-api-key: sk-ant-api03-abcdefghij", "x-api-key: [redacted]"],
      ["key key-9f8e7d6c5b4a was revoked", "key [redacted] was revoked"],
      ["groq gsk_abcDEF123456789", "groq [redacted]"],
      ["google AIzaSyA1234567890abcdefg", "google [redacted]"],
      ["token 9f8e7d6c5b4a39281706f5e4d3c2b1a0fedcba98 expired", "token [redacted] expired"],
      ["Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [redacted]"],
      ["we got tok_live_4be8a1 and plainsecretvalue", "we got [redacted] and [redacted]"],
      ["invalid key-value pair in messages[0]", "invalid key-value pair in messages[0]"],
      ["model claude-haiku-4.5 does not support tool_choice", "model claude-haiku-4.5 does not support tool_choice"],
      ["This model's maximum context length is 128000 tokens", "This model's maximum context length is 128000 tokens"],
    ];
    for (const [input, out] of cases) expect(scrubSecrets(input, secrets), input).toBe(out);
  });
});
