// The passkey fields of the UI's forms: public/passkeys.js runs the WebAuthn ceremony in the browser
// and puts its answer into hidden fields (passkey_challenge_id, passkey_credential, the JSON of
// PublicKeyCredential.toJSON()) before the form is sent.
import type { PasskeyAssertion, SecondFactorInput } from "../auth/second-factor";
import { AssertionCredential, RegistrationCredential } from "../auth/webauthn";

type Field = (name: string) => string;

/** The assertion a form carries, if it carries one that parses. */
export function formAssertion(field: Field): PasskeyAssertion | undefined {
  const challengeId = field("passkey_challenge_id");
  const credential = AssertionCredential.safeParse(parseJson(field("passkey_credential")));
  return challengeId && credential.success ? { challengeId, credential: credential.data } : undefined;
}

/** A registration a form carries, if it parses. */
export function formRegistration(field: Field): RegistrationCredential | undefined {
  const credential = RegistrationCredential.safeParse(parseJson(field("passkey_credential")));
  return credential.success ? credential.data : undefined;
}

/** The second factor a confirmation form sends: a passkey's answer, or the code typed. */
export function formProof(field: Field): SecondFactorInput {
  const passkey = formAssertion(field);
  return passkey ? { passkey } : { code: field("code").slice(0, 64) };
}

function parseJson(text: string): unknown {
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
