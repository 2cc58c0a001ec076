// The emails' headers: whatever a tenant or an operator typed, a subject is one line of text.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/env";
import { buildEmail, headerText } from "../../src/reminders/emails";
import { securityEmail } from "../../src/reminders/jobs";

describe("email headers", () => {
  it("carry no control or format characters, so no typed name can start a header", () => {
    const user = { id: "u1", username: "bob", email: "bob@acme.example", tenantId: "acme" };
    const job = securityEmail(user, "Acme\r\nBcc: everyone@elsewhere.example\u202e", "mfa_reset");
    const { subject } = buildEmail(job, loadConfig(env));
    expect(subject).not.toMatch(/[\r\n\u202e]/);
    expect(subject).toBe("An administrator reset two-factor authentication on your Infracast account");
    expect(headerText("Acme\r\nBcc: x@y.example")).toBe("Acme Bcc: x@y.example");
  });
});
