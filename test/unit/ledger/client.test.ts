import { describe, expect, it } from "vitest";
import { GatewayError } from "../../../src/core/errors";
import type { Env } from "../../../src/env";
import { ledgerClient } from "../../../src/ledger/client";

/** An Env whose Ledger namespace hands out stubs that fail the first `failures` calls. */
function envFailing(failures: number) {
  const seen = { calls: 0, teams: [] as string[] };
  const stub = {
    allowances: async () => {
      seen.calls++;
      if (seen.calls <= failures) throw new Error("Durable Object reset because its code was updated");
      return { granted: true };
    },
  };
  const LEDGER = {
    idFromName: (name: string) => {
      seen.teams.push(name);
      return name;
    },
    get: () => stub,
  };
  return { env: { LEDGER } as unknown as Env, seen };
}

describe("ledgerClient", () => {
  it("tries a failed call once more, on the team's own object", async () => {
    const { env, seen } = envFailing(1);
    await expect(ledgerClient(env, "team-a").allowances({} as never)).resolves.toEqual({ granted: true });
    expect(seen.calls).toBe(2);
    expect(new Set(seen.teams)).toEqual(new Set(["team-a"]));
  });

  it("fails closed after two failures: a 503 the client may retry, without the runtime's words", async () => {
    const { env, seen } = envFailing(2);
    const err = await ledgerClient(env, "team-a").allowances({} as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(503);
    expect((err as GatewayError).message).toBe("spend limits cannot be checked right now; retry shortly");
    expect(seen.calls).toBe(2);
  });
});
