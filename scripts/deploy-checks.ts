// What must be true of wrangler.toml before `npm run deploy` uploads anything (scripts/deploy.ts):
// a real D1 database id, and the variables a deployed Worker accepts (src/env.ts). Pure, so the
// tests can run it on any text.
import { deploymentProblems } from "../src/env";

const PLACEHOLDER_ID = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;

/** The problems with a wrangler.toml's text as a deployment; none means it can go. */
export function checkDeployConfig(toml: string): string[] {
  const problems: string[] = [];
  const databaseId = toml.match(/^database_id\s*=\s*"([^"]*)"/m)?.[1] ?? "";
  if (databaseId === "" || PLACEHOLDER_ID.test(databaseId)) {
    problems.push(
      "database_id in wrangler.toml is the placeholder: put the id `wrangler d1 create edge-mfa` printed",
    );
  }
  const value = (name: string) => toml.match(new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m"))?.[1];
  problems.push(
    ...deploymentProblems({ PUBLIC_ORIGIN: value("PUBLIC_ORIGIN"), EMAIL_FROM: value("EMAIL_FROM") }),
  );
  return problems;
}
