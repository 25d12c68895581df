import { describe, expect, it } from "vitest";
import { chat, eventually, generationOf, newTeamKey, userMsg } from "./helpers";

describe("smoke", () => {
  it("mock/echo answers and is recorded", async () => {
    const k = await newTeamKey();
    const r = await chat(k.key, { model: "mock/echo", messages: userMsg("hi there") });
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body.choices[0].message.content).toBe("hi there");
    const id = r.headers.get("x-request-id")!;
    const g = await eventually(() => generationOf(k.key, id));
    expect(g.status).toBe("ok");
  });
});
