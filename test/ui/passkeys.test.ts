// The passkey forms of the UI in the Workers runtime: the options routes answer JSON for
// public/js/app.js, the forms take the ceremony's answer from hidden fields, and adding a second
// factor asks for a current one, exactly as the API does.
import { describe, expect, it } from "vitest";
import { listPasskeys } from "../../src/auth/passkeys";
import { SoftAuthenticator } from "../helpers/authenticator";
import { addUser, createTenant, db } from "../helpers/factory";
import { signInUi, UiClient } from "./helpers";

async function ceremony(client: UiClient, path: string, form: Record<string, string> = {}) {
  const response = await client.post(path, form);
  expect(response.status, response.html).toBe(200);
  return JSON.parse(response.html) as { challenge_id: string; options: never };
}

async function addPasskey(client: UiClient, device: SoftAuthenticator, form: Record<string, string> = {}) {
  const begun = await ceremony(client, "/ui/passkeys/options");
  const credential = await device.register(begun.options);
  return client.post("/ui/passkeys", {
    name: "Laptop",
    passkey_credential: JSON.stringify(credential),
    ...form,
  });
}

describe("passkeys in the UI", () => {
  it("a first passkey shows its backup codes; a second needs a current factor, a passkey's answer will do", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId, { username: "nia" });
    const client = await signInUi(user);
    const device = await SoftAuthenticator.create();
    const first = await addPasskey(client, device);
    expect(first.status).toBe(200);
    expect(first.html).toContain('id="backup-codes"');

    const other = await SoftAuthenticator.create();
    const refused = await addPasskey(client, other);
    expect(refused.status).toBe(401);
    expect(refused.html).toContain("That code didn&#39;t work");
    expect(await listPasskeys(db, user.user.id)).toHaveLength(1);

    const confirm = await ceremony(client, "/ui/passkeys/confirm-options");
    const proof = await device.assert(confirm.options);
    const added = await addPasskey(client, other, {
      name: "Phone",
      proof_challenge_id: confirm.challenge_id,
      proof_credential: JSON.stringify(proof),
    });
    expect(added.status).toBe(200);
    expect(added.html).toContain("Added Phone.");
    expect((await listPasskeys(db, user.user.id)).map((p) => p.name)).toEqual(["Laptop", "Phone"]);
  });

  it("refuses a name with control characters, as the API does", async () => {
    const { tenantId } = await createTenant();
    const client = await signInUi(await addUser(tenantId, { username: "oto" }));
    const answer = await addPasskey(client, await SoftAuthenticator.create(), { name: "evil\u202ename" });
    expect(answer.status).toBe(400);
  });

  it("the sign-in page's passkey options need a tenant, and the second step names the passkey first", async () => {
    const { tenantId } = await createTenant();
    const user = await addUser(tenantId, { username: "pax" });
    const client = await signInUi(user);
    await addPasskey(client, await SoftAuthenticator.create());
    const anonymous = new UiClient();
    const missing = await anonymous.post("/ui/login/passkey/options", { tenant_id: "" });
    expect(missing.status).toBe(422);
    expect(JSON.parse(missing.html).error).toContain("tenant");
    const first = await anonymous.post("/ui/login", {
      username: user.username,
      password: user.password,
      tenant_id: tenantId,
    });
    expect(first.html).toContain("Use your passkey");
    expect(first.html).not.toContain('type="password"');
  });
});
