// Computing codes the way an authenticator app does, from the secret the setup returned.
import { expect } from "vitest";
import { generateHotp, totpStep } from "../../src/auth/totp";
import { advanceClock, now } from "../../src/clock";
import { decodeBase32 } from "../../src/encoding";
import type { TestUser } from "./factory";
import { call, sessionToken } from "./http";

export const STEP_MS = 30_000;

/** The code for the current step of the server clock, shifted by `offset` steps. */
export function totpCode(secret: string, offset = 0): Promise<string> {
  return generateHotp(decodeBase32(secret), totpStep(now()) + offset);
}

/** Moves the clock to the next time step, so a fresh code exists (each step is accepted once). */
export function nextStep(): void {
  advanceClock(STEP_MS);
}

export interface EnrolledUser extends TestUser {
  secret: string;
  backupCodes: string[];
  /** A session opened before MFA was turned on ends at verify; this one was opened after. */
  token: string;
}

/** Signs the user in, sets up and verifies MFA, and returns the secret and backup codes. */
export async function enrollMfa(user: TestUser): Promise<EnrolledUser> {
  const token = await sessionToken(user);
  const setup = await call("POST", "/api/v1/mfa/setup", { token });
  expect(setup.status).toBe(200);
  const verify = await call("POST", "/api/v1/mfa/verify", {
    token,
    body: { code: await totpCode(setup.json.secret) },
  });
  expect(verify.status).toBe(200);
  nextStep();
  return { ...user, secret: setup.json.secret, backupCodes: setup.json.backup_codes, token };
}
