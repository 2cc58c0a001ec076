// What a username may be. Names are compared by their key (trimmed, NFKC, case-folded), so case and
// width variants are one name; and the letters and digits of a name come from one script, so
// "аdmin" with a Cyrillic "а" cannot stand beside "admin" looking the same (UTS #39 §5.2, the
// Highly Restrictive level).

/**
 * Letters (with the few combining marks a script writes them with), digits and . _ @ + -: no
 * spaces, controls, format characters or bidi overrides.
 */
const USERNAME_PATTERN = /^(?:[\p{L}\p{N}]\p{M}{0,3}|[._@+-])+$/u;
export const USERNAME_MAX_LENGTH = 64;

/**
 * Why a username cannot be used, or null. Checked on the form it is stored and compared in (NFKC),
 * so no character that normalises into a space, a parenthesis or another script slips through.
 */
export function usernameProblem(username: string): string | null {
  const name = username.trim().normalize("NFKC");
  if (name.length === 0 || name.length > USERNAME_MAX_LENGTH)
    return `must be 1 to ${USERNAME_MAX_LENGTH} characters`;
  if (!USERNAME_PATTERN.test(name)) return "may hold letters, digits and . _ @ + -";
  if (!usesOneScript(name)) return "must use letters and digits of one script (no look-alikes mixed in)";
  return null;
}

/** The key usernames are unique by and attempt counters are keyed on: trimmed, NFKC, case-folded. */
export function normalizeUsername(username: string): string {
  return username.trim().normalize("NFKC").toLowerCase();
}

// The scripts UTS #31 Table 5 recommends for identifiers. A letter of any other script (historic
// or limited-use ones, mostly) makes the name refused, as UTS #39's Highly Restrictive level does.
const RECOMMENDED_SCRIPTS = [
  "Arabic",
  "Armenian",
  "Bengali",
  "Bopomofo",
  "Cyrillic",
  "Devanagari",
  "Ethiopic",
  "Georgian",
  "Greek",
  "Gujarati",
  "Gurmukhi",
  "Han",
  "Hangul",
  "Hebrew",
  "Hiragana",
  "Kannada",
  "Katakana",
  "Khmer",
  "Lao",
  "Latin",
  "Malayalam",
  "Myanmar",
  "Oriya",
  "Sinhala",
  "Tamil",
  "Telugu",
  "Thaana",
  "Thai",
  "Tibetan",
] as const;

let scriptPatterns: [string, RegExp][] | undefined;
const NO_SCRIPT = /^[\p{scx=Zyyy}\p{scx=Zinh}]$/u; // digits 0-9, punctuation, combining marks

// UTS #39 §5.1: the writing systems that mix scripts by nature count as one script each.
const AUGMENTED: Record<string, string[]> = {
  Han: ["Jpan", "Kore", "Hanb"],
  Hiragana: ["Jpan"],
  Katakana: ["Jpan"],
  Hangul: ["Kore"],
  Bopomofo: ["Hanb"],
};
// UTS #39 §5.2: Latin may join the East Asian writing systems (a romanised part, say).
const LATIN_WITH_CJK = [
  ["Latin", "Han", "Hiragana", "Katakana"],
  ["Latin", "Han", "Bopomofo"],
  ["Latin", "Han", "Hangul"],
].map((combination) => new Set(combination));

/** The scripts a character is used in (its Script_Extensions, augmented), or null for none at all. */
function scriptsOf(char: string): Set<string> | null {
  scriptPatterns ??= RECOMMENDED_SCRIPTS.map((name) => [name, new RegExp(`^\\p{scx=${name}}$`, "u")]);
  const scripts = new Set<string>();
  for (const [name, pattern] of scriptPatterns) {
    if (!pattern.test(char)) continue;
    scripts.add(name);
    for (const extra of AUGMENTED[name] ?? []) scripts.add(extra);
  }
  return scripts.size > 0 || !NO_SCRIPT.test(char) ? scripts : null;
}

/**
 * True when the name's letters and digits share one script (or Latin with Han and Japanese kana,
 * Bopomofo or Hangul), all of them among the scripts recommended for identifiers.
 */
export function usesOneScript(name: string): boolean {
  const perCharacter: Set<string>[] = [];
  for (const char of name.normalize("NFKC")) {
    const scripts = scriptsOf(char);
    if (scripts === null) continue;
    if (scripts.size === 0) return false;
    perCharacter.push(scripts);
  }
  const [first, ...rest] = perCharacter;
  if (!first) return true;
  const shared = [...first].filter((script) => rest.every((scripts) => scripts.has(script)));
  if (shared.length > 0) return true;
  return LATIN_WITH_CJK.some((combination) =>
    perCharacter.every((scripts) => [...scripts].some((script) => combination.has(script))),
  );
}
