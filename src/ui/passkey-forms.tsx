// The passkey forms of the UI: public/js/app.js runs the WebAuthn ceremony in the browser and puts
// its answer into hidden fields (passkey_challenge_id, passkey_credential, the JSON of
// PublicKeyCredential.toJSON()) before the form is sent; the routes read them back here.
import type { PasskeyAssertion, SecondFactorInput } from "../auth/second-factor";
import { AssertionCredential, RegistrationCredential } from "../auth/webauthn";
import { Icon } from "./components";

type Field = (name: string) => string;

/**
 * The assertion a form carries, if it carries one that parses: in passkey_* fields, or in proof_*
 * ones when it confirms the adding of another passkey.
 */
export function formAssertion(
  field: Field,
  prefix: "passkey" | "proof" = "passkey",
): PasskeyAssertion | undefined {
  const challengeId = field(`${prefix}_challenge_id`);
  const credential = AssertionCredential.safeParse(parseJson(field(`${prefix}_credential`)));
  return challengeId && credential.success ? { challengeId, credential: credential.data } : undefined;
}

/** A registration a form carries, if it parses. */
export function formRegistration(field: Field): RegistrationCredential | undefined {
  const credential = RegistrationCredential.safeParse(parseJson(field("passkey_credential")));
  return credential.success ? credential.data : undefined;
}

/** The second factor a confirmation form sends: a passkey's answer, or the code typed. */
export function formProof(field: Field, prefix: "passkey" | "proof" = "passkey"): SecondFactorInput {
  const passkey = formAssertion(field, prefix);
  return passkey ? { passkey } : { code: field("code").slice(0, 64) };
}

function parseJson(text: string): unknown {
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A form that public/js/app.js completes: it asks `options` for a challenge, runs the
 * ceremony, fills the hidden fields and sends the form to `action`.
 */
export const PasskeyForm = ({
  action,
  ceremony,
  options,
  target,
  include,
  confirm,
  children,
}: {
  action: string;
  ceremony: "create" | "get";
  options: string;
  target: string;
  /** Another field the options request and the form send too (hx-include). */
  include?: string;
  /** Where a passkey confirms the action first (in proof_* fields), when no code is typed. */
  confirm?: string;
  children: unknown;
}) => (
  <form
    class="stack"
    method="post"
    action={action}
    hx-post={action}
    hx-target={target}
    hx-swap={target === "#login-feedback" ? "innerHTML" : "outerHTML"}
    hx-include={include}
    data-passkey-ceremony={ceremony}
    data-passkey-options={options}
    data-passkey-confirm={confirm}
  >
    <PasskeyFields />
    {confirm && (
      <>
        <input type="hidden" name="proof_challenge_id" value="" />
        <input type="hidden" name="proof_credential" value="" />
      </>
    )}
    {children}
    <p class="hint" role="status" data-passkey-status="" />
  </form>
);

export const PasskeyButton = ({
  label,
  primary = false,
  block = false,
  options,
}: {
  label: string;
  primary?: boolean;
  block?: boolean;
  /** The options route, when the button is not in a PasskeyForm (the sign-in form's second step). */
  options?: string;
}) => (
  <div class="actions">
    <button
      type="button"
      class={`btn ${primary ? "btn-primary" : "btn-secondary"}${block ? " btn-block" : ""}`}
      data-passkey=""
      data-passkey-ceremony={options ? "get" : undefined}
      data-passkey-options={options}
    >
      <Icon name="key" /> {label}
    </button>
  </div>
);

/** The hidden fields a passkey's answer travels in, for a form that is not a PasskeyForm. */
export const PasskeyFields = () => (
  <>
    <input type="hidden" name="passkey_challenge_id" value="" />
    <input type="hidden" name="passkey_credential" value="" />
  </>
);
