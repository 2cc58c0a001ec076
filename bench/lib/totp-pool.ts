// Fresh TOTP codes for a stream of logins. The Worker accepts each user's step once and only a step
// later than the last one it accepted, within one step either side of now; so each request takes
// the next user in turn with the current step (or the next one, if the current is spent). Users come
// round again in order, so two requests of one user are a whole pool apart and never overtake.
import { totpStep } from "../../src/auth/totp";
import { codeFor, type EnrolledUser } from "./seed";

export class TotpPool {
  private cursor = 0;
  private readonly codes = new Map<string, string>();

  constructor(private readonly users: EnrolledUser[]) {
    if (users.length === 0) throw new Error("an empty TOTP pool");
  }

  /** Computes every code the next `seconds` can ask for, so handing one out never waits. */
  async prepare(seconds: number): Promise<void> {
    this.codes.clear();
    const first = totpStep(Date.now());
    const last = totpStep(Date.now() + seconds * 1000) + 1;
    await Promise.all(
      this.users.map(async (user, i) => {
        for (let step = first; step <= last; step++)
          this.codes.set(`${i}:${step}`, await codeFor(user.secret, step));
      }),
    );
  }

  /** The next user with a code nobody has used, or null when every user has spent the window. */
  next(): { user: EnrolledUser; code: string } | null {
    const now = totpStep(Date.now());
    for (let tries = 0; tries < this.users.length; tries++) {
      const i = this.cursor;
      this.cursor = (this.cursor + 1) % this.users.length;
      const user = this.users[i] as EnrolledUser;
      const step = Math.max(user.lastStep + 1, now);
      const code = this.codes.get(`${i}:${step}`);
      if (step <= now + 1 && code !== undefined) {
        user.lastStep = step;
        return { user, code };
      }
    }
    return null;
  }
}
