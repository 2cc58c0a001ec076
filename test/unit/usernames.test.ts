// Usernames that look like another: one script per name (UTS #39 Highly Restrictive), NFKC keys.
import { describe, expect, it } from "vitest";
import { normalizeUsername, usernameProblem, usesOneScript } from "../../src/auth/usernames";

describe("usesOneScript", () => {
  it.each([
    ["admin", true],
    ["alice.smith+test@acme", true],
    ["user_42", true],
    ["Ελλάδα", true], // Greek
    ["Иван", true], // Cyrillic
    ["用户名", true], // Han
    ["やまだ太郎", true], // Hiragana with Han: Japanese
    ["ユーザー", true], // Katakana, with the prolonged sound mark kana share
    ["yamada太郎", true], // Latin with Han
    ["김민준kim", true], // Hangul with Latin
    ["مستخدم٣", true], // Arabic letters, Arabic-Indic digit
    ["\u0430dmin", false], // Cyrillic а among Latin letters
    ["adm\u0456n", false], // Cyrillic і
    ["p\u0430ypal", false],
    ["αlpha", false], // Greek α with Latin
    ["user\u0663", false], // Latin letters, an Arabic-Indic digit
    ["Иван太郎", false], // Cyrillic with Han is no writing system
    ["\u{10300}\u{10301}", false], // Old Italic: not recommended for identifiers
  ])("%s → %s", (name, expected) => {
    expect(usesOneScript(name)).toBe(expected);
  });
});

describe("normalizeUsername", () => {
  it("folds width and case into one key", () => {
    expect(normalizeUsername(" ＡＤＭＩＮ ")).toBe("admin");
  });
});

describe("usernameProblem", () => {
  it.each([
    ["admin⑴", "may hold"], // NFKC: admin(1)
    ["ﷺ", "may hold"], // NFKC: a phrase with spaces
    ["x¼", "may hold"], // NFKC: x1⁄4
  ])("checks %s as it is stored (NFKC)", (name, problem) => {
    expect(usernameProblem(name)).toContain(problem);
  });

  it.each(["देवनागरी", "தமிழ்", "বাংলা", "re\u0301sume\u0301", "résumé"])(
    "takes %s, whose script writes letters with marks",
    (name) => {
      expect(usernameProblem(name)).toBeNull();
    },
  );

  it("refuses a pile of combining marks on one letter", () => {
    expect(usernameProblem("a\u0301\u0302\u0303\u0304\u0306")).toContain("may hold");
  });
});
