import { describe, expect, it } from "vitest";
import { addUser, createTenant } from "../helpers/factory";
import { call, expectError, login, sessionToken } from "../helpers/http";

const usersPath = (tenantId: string) => `/api/v1/tenants/${tenantId}/users`;

describe("users API", () => {
  it("lets an admin create a user who can then sign in", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    const created = await call("POST", usersPath(tenantId), {
      token,
      body: { username: "Bob", email: "bob@example.com", password: "a long enough password", role: "member" },
    });
    expect(created.status).toBe(201);
    expect(created.json.user).toEqual({
      id: expect.any(String),
      username: "Bob",
      email: "bob@example.com",
      role: "member",
      tenant_id: tenantId,
      mfa_enabled: false,
      active: true,
    });
    const signIn = await login({
      username: "bob",
      password: "a long enough password",
      tenantId,
    });
    expect(signIn.status).toBe(200);
    expect(signIn.json.user.id).toBe(created.json.user.id);
  });

  it("refuses a username taken in any case with 409", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    const body = { username: "ADMIN", email: "x@example.com", password: "a long enough password" };
    expectError(await call("POST", usersPath(tenantId), { token, body }), 409, "username_taken");
  });

  it("refuses look-alike names that mix scripts, and width variants of a taken one", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    const create = (username: string) =>
      call("POST", usersPath(tenantId), {
        token,
        body: { username, email: "l@example.com", password: "a long enough password", role: "admin" },
      });
    for (const lookalike of ["\u0430dmin", "adm\u0456n", "\u0430dm\u0456n"]) {
      const refused = await create(lookalike);
      expectError(refused, 400, "invalid_request");
      expect(refused.json.error.details[0]).toMatchObject({
        path: "username",
        message: expect.stringContaining("one script"),
      });
    }
    expectError(await create("ａｄｍｉｎ"), 409, "username_taken");
    const japanese = await create("山田taro");
    expect(japanese.status).toBe(201);
    expect(japanese.json.user.username).toBe("山田taro");
    const fullwidth = await create("ｃａｒｏｌ");
    expect(fullwidth.json.user.username).toBe("carol"); // stored as it is compared
  });

  it("applies the password rules: 8 to 128 characters, no composition rules", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    const create = (password: string, username: string) =>
      call("POST", usersPath(tenantId), { token, body: { username, email: "p@example.com", password } });
    const short = await create("1234567", "short");
    expectError(short, 400, "invalid_request");
    expect(short.json.error.details[0].path).toBe("password");
    expectError(await create("x".repeat(129), "long"), 400, "invalid_request");
    expect((await create("qz7 vrk2", "eight")).status).toBe(201);
    expect((await create("ü".repeat(128), "unicode")).status).toBe(201);
  });

  it("lists users a page at a time with a cursor", async () => {
    const { tenantId, admin } = await createTenant();
    for (const name of ["carol", "dave", "erin", "frank"]) await addUser(tenantId, { username: name });
    const token = await sessionToken(admin);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
      const page = await call("GET", `${usersPath(tenantId)}${query}`, { token });
      expect(page.status).toBe(200);
      expect(page.json.users.length).toBeLessThanOrEqual(2);
      seen.push(...page.json.users.map((u: { username: string }) => u.username));
      cursor = page.json.next_cursor;
    } while (cursor);
    expect(seen).toEqual(["admin", "carol", "dave", "erin", "frank"]);
  });

  it("refuses a cursor it did not issue and a limit out of range", async () => {
    const { tenantId, admin } = await createTenant();
    const token = await sessionToken(admin);
    expectError(await call("GET", `${usersPath(tenantId)}?cursor=%%%`, { token }), 400, "invalid_request");
    expectError(await call("GET", `${usersPath(tenantId)}?limit=0`, { token }), 400, "invalid_request");
    expectError(await call("GET", `${usersPath(tenantId)}?limit=abc`, { token }), 400, "invalid_request");
  });

  it("refuses a member with 403", async () => {
    const { tenantId } = await createTenant();
    const member = await addUser(tenantId);
    const token = await sessionToken(member);
    expectError(await call("GET", usersPath(tenantId), { token }), 403, "forbidden");
    const body = { username: "mallory", email: "m@example.com", password: "a long enough password" };
    expectError(await call("POST", usersPath(tenantId), { token, body }), 403, "forbidden");
  });

  it("refuses another tenant's admin with 403", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const token = await sessionToken(a.admin);
    expectError(await call("GET", usersPath(b.tenantId), { token }), 403, "forbidden");
    const body = {
      username: "intruder",
      email: "i@example.com",
      password: "a long enough password",
      role: "admin",
    };
    expectError(await call("POST", usersPath(b.tenantId), { token, body }), 403, "forbidden");
    // Nothing was created in tenant b.
    const bToken = await sessionToken(b.admin);
    const list = await call("GET", usersPath(b.tenantId), { token: bToken });
    expect(list.json.users.map((u: { username: string }) => u.username)).toEqual(["admin"]);
  });

  it("refuses without a session with 401", async () => {
    const { tenantId } = await createTenant();
    expectError(await call("GET", usersPath(tenantId)), 401, "unauthorized");
  });
});
