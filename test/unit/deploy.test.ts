// `npm run deploy` refuses a wrangler.toml that could not serve, before anything is uploaded.
import { describe, expect, it } from "vitest";
import { checkDeployConfig } from "../../scripts/deploy-checks";
import shipped from "../../wrangler.toml?raw";

const ready = shipped
  .replace(/^database_id\s*=.*$/m, 'database_id = "3f0c2b4e-6a1d-4c8e-9b7a-2d5e8f1a0c9b"')
  .replace(/^PUBLIC_ORIGIN\s*=.*$/m, 'PUBLIC_ORIGIN = "https://sign-in.acme.io"')
  .replace(/^EMAIL_FROM\s*=.*$/m, 'EMAIL_FROM = "no-reply@acme.io"');

describe("the deploy checks", () => {
  it("refuse the wrangler.toml as shipped: placeholder database, no origin, no sender", () => {
    const problems = checkDeployConfig(shipped);
    expect(problems.join("\n")).toContain("database_id");
    expect(problems.join("\n")).toContain("PUBLIC_ORIGIN");
    expect(problems.join("\n")).toContain("EMAIL_FROM");
  });

  it("pass one with a real database id, an https origin and a real sender", () => {
    expect(checkDeployConfig(ready)).toEqual([]);
  });

  it("refuse development's values", () => {
    const local = ready.replace(/^PUBLIC_ORIGIN\s*=.*$/m, 'PUBLIC_ORIGIN = "http://localhost:8787"');
    expect(checkDeployConfig(local)).toEqual([expect.stringContaining("PUBLIC_ORIGIN")]);
  });
});
