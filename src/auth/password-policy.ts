// What a new password must be (NIST 800-63B §3.1.1.2): 8 to 128 characters of anything, no
// composition rules, not on the list of common passwords, and not made of the account's own name.
// Every way a password is set (an admin creating a user, changing it, resetting it, the operator
// CLI) checks it here.
import { ApiError } from "../errors";
import { type Assets, commonPasswords, foldPassword, isCommonPassword } from "./common-passwords";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./password";

/** Names too short to be worth refusing inside a password ("al" in "always"). */
const MIN_CONTEXT_LENGTH = 4;

export interface PasswordContext {
  /** The words of this account a password must not be built from: its username, its tenant. */
  words: string[];
}

/** Why the password may not be used, or null when it may. */
export async function passwordProblem(
  assets: Assets,
  password: string,
  context: PasswordContext,
): Promise<string | null> {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  if (await isCommonPassword(await commonPasswords(assets), password)) {
    return "is one of the most commonly used passwords; choose another";
  }
  const folded = foldPassword(password);
  for (const word of context.words) {
    const name = foldPassword(word.trim());
    if (name.length >= MIN_CONTEXT_LENGTH && folded.includes(name)) {
      return "must not contain your username or your organisation's name";
    }
  }
  return null;
}

/** Refuses a password that may not be used: 400 weak_password, the reason on `field`. */
export async function assertAcceptablePassword(
  assets: Assets,
  password: string,
  context: PasswordContext,
  field = "new_password",
): Promise<void> {
  const problem = await passwordProblem(assets, password, context);
  if (problem) throw new ApiError("weak_password", { details: [{ path: field, message: problem }] });
}
