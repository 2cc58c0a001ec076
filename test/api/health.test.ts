import { describe, expect, it } from "vitest";
import { call } from "../helpers/http";

describe("health", () => {
  it("answers ok once the database answers", async () => {
    const response = await call("GET", "/api/v1/health");
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ ok: true });
  });
});
