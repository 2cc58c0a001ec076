import { describe, expect, it } from "vitest";
import {
  buildOtpauthUri,
  findTotpStep,
  generateHotp,
  generateTotpSecret,
  type HotpAlgorithm,
  TOTP_DIGITS,
  TOTP_PERIOD_SECONDS,
  TOTP_WINDOW,
  totpStep,
} from "../../src/auth/totp";
import { decodeBase32, encodeBase32 } from "../../src/encoding";

const ascii = (text: string) => new TextEncoder().encode(text);

describe("HOTP (RFC 4226 Appendix D)", () => {
  const secret = ascii("12345678901234567890");
  const expected = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
  ];

  it.each(expected.map((code, counter) => [counter, code] as const))(
    "counter %i gives %s",
    async (counter, code) => {
      expect(await generateHotp(secret, counter)).toBe(code);
    },
  );
});

describe("TOTP (RFC 6238 Appendix B, 8 digits)", () => {
  // Appendix A's reference code uses a seed of the hash's own length for each algorithm.
  const seeds: Record<HotpAlgorithm, Uint8Array> = {
    "SHA-1": ascii("12345678901234567890"),
    "SHA-256": ascii("12345678901234567890123456789012"),
    "SHA-512": ascii("1234567890123456789012345678901234567890123456789012345678901234"),
  };
  const vectors: [number, HotpAlgorithm, string][] = [
    [59, "SHA-1", "94287082"],
    [59, "SHA-256", "46119246"],
    [59, "SHA-512", "90693936"],
    [1111111109, "SHA-1", "07081804"],
    [1111111109, "SHA-256", "68084774"],
    [1111111109, "SHA-512", "25091201"],
    [1111111111, "SHA-1", "14050471"],
    [1111111111, "SHA-256", "67062674"],
    [1111111111, "SHA-512", "99943326"],
    [1234567890, "SHA-1", "89005924"],
    [1234567890, "SHA-256", "91819424"],
    [1234567890, "SHA-512", "93441116"],
    [2000000000, "SHA-1", "69279037"],
    [2000000000, "SHA-256", "90698825"],
    [2000000000, "SHA-512", "38618901"],
    // Beyond 32 bits of seconds: the counter must not be cut to 32 bits.
    [20000000000, "SHA-1", "65353130"],
    [20000000000, "SHA-256", "77737706"],
    [20000000000, "SHA-512", "47863826"],
  ];

  it.each(vectors)("t = %i with %s gives %s", async (seconds, algorithm, code) => {
    const counter = totpStep(seconds * 1000);
    expect(await generateHotp(seeds[algorithm], counter, { algorithm, digits: 8 })).toBe(code);
  });

  it("uses the parameters RFC 6238 §5.2 recommends", () => {
    expect(TOTP_PERIOD_SECONDS).toBe(30);
    expect(TOTP_DIGITS).toBe(6);
    expect(TOTP_WINDOW).toBe(1);
  });

  it("refuses counters outside 0..2^53 and digit counts outside 6..8", async () => {
    const secret = seeds["SHA-1"];
    await expect(generateHotp(secret, -1)).rejects.toThrow(RangeError);
    await expect(generateHotp(secret, 2 ** 53)).rejects.toThrow(RangeError);
    await expect(generateHotp(secret, 1.5)).rejects.toThrow(RangeError);
    await expect(generateHotp(secret, 0, { digits: 5 })).rejects.toThrow(RangeError);
    await expect(generateHotp(secret, 0, { digits: 9 })).rejects.toThrow(RangeError);
    expect(await generateHotp(secret, 2 ** 53 - 1)).toMatch(/^\d{6}$/);
  });
});

describe("findTotpStep", () => {
  // A fixed secret and time keep the test deterministic: with random ones, a code of step −2
  // could coincide with one inside the window about once in 300,000 runs.
  const secret = ascii("12345678901234567890");
  const k = 56_789_012;
  const stepStart = k * TOTP_PERIOD_SECONDS * 1000;
  const codeAt = (step: number) => generateHotp(secret, step);

  it("places step boundaries at multiples of 30 s", () => {
    expect(totpStep(stepStart)).toBe(k);
    expect(totpStep(stepStart - 1)).toBe(k - 1);
    expect(totpStep(stepStart + 29_999)).toBe(k);
  });

  it.each([-1, 0, 1])("accepts the code of step %i relative to now", async (offset) => {
    const now = stepStart + 12_345;
    expect(await findTotpStep(secret, await codeAt(k + offset), now, 0)).toBe(k + offset);
  });

  it.each([-2, 2, -10, 10])("refuses the code of step %i relative to now", async (offset) => {
    const now = stepStart + 12_345;
    expect(await findTotpStep(secret, await codeAt(k + offset), now, 0)).toBeNull();
  });

  it("uses the window of the step that holds the first millisecond of a period", async () => {
    expect(await findTotpStep(secret, await codeAt(k - 1), stepStart, 0)).toBe(k - 1);
    expect(await findTotpStep(secret, await codeAt(k + 1), stepStart, 0)).toBe(k + 1);
    expect(await findTotpStep(secret, await codeAt(k - 2), stepStart, 0)).toBeNull();
  });

  it("uses the window of the step that holds the last millisecond of a period", async () => {
    expect(await findTotpStep(secret, await codeAt(k - 2), stepStart - 1, 0)).toBe(k - 2);
    expect(await findTotpStep(secret, await codeAt(k), stepStart - 1, 0)).toBe(k);
    expect(await findTotpStep(secret, await codeAt(k + 1), stepStart - 1, 0)).toBeNull();
  });

  it("refuses a step at or before the last accepted one (replay)", async () => {
    const now = stepStart + 1_000;
    const code = await codeAt(k);
    expect(await findTotpStep(secret, code, now, k - 1)).toBe(k);
    expect(await findTotpStep(secret, code, now, k)).toBeNull();
    expect(await findTotpStep(secret, code, now, k + 1)).toBeNull();
    // An earlier step after a later one succeeded.
    expect(await findTotpStep(secret, await codeAt(k - 1), now, k)).toBeNull();
  });

  it("refuses a wrong code", async () => {
    const code = await codeAt(k);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
    expect(await findTotpStep(secret, wrong, stepStart, 0)).toBeNull();
  });

  it("refuses malformed codes, including the right code in Unicode digits", async () => {
    const code = await codeAt(k);
    const fullWidth = [...code].map((d) => String.fromCharCode(0xff10 + Number(d))).join("");
    const arabicIndic = [...code].map((d) => String.fromCharCode(0x0660 + Number(d))).join("");
    const malformed = [
      code.slice(0, 5),
      `${code}0`,
      `${code.slice(0, 5)}a`,
      "abcdef",
      fullWidth,
      arabicIndic,
      ` ${code}`,
      `${code}\n`,
      "",
    ];
    for (const candidate of malformed) {
      expect(await findTotpStep(secret, candidate, stepStart, 0), candidate).toBeNull();
    }
  });
});

describe("TOTP secrets", () => {
  it("are 160 random bits (RFC 4226 R6)", () => {
    const first = generateTotpSecret();
    expect(first).toHaveLength(20);
    expect(encodeBase32(generateTotpSecret())).not.toBe(encodeBase32(first));
  });
});

describe("base32 (RFC 4648, no padding)", () => {
  const helloDeadbeef = Uint8Array.of(...ascii("Hello!"), 0xde, 0xad, 0xbe, 0xef);

  it("encodes and decodes the usual authenticator example", () => {
    expect(encodeBase32(helloDeadbeef)).toBe("JBSWY3DPEHPK3PXP");
    expect(decodeBase32("JBSWY3DPEHPK3PXP")).toEqual(helloDeadbeef);
    expect(decodeBase32("jbswy3dpehpk3pxp")).toEqual(helloDeadbeef);
  });

  it.each([
    ["", ""],
    ["f", "MY"],
    ["fo", "MZXQ"],
    ["foo", "MZXW6"],
    ["foob", "MZXW6YQ"],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI"],
  ])("matches RFC 4648 §10 for %j", (plain, encoded) => {
    expect(encodeBase32(ascii(plain))).toBe(encoded);
    expect(decodeBase32(encoded)).toEqual(ascii(plain));
  });

  it("round-trips every length from 0 to 40 bytes", () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      expect(decodeBase32(encodeBase32(bytes))).toEqual(bytes);
    }
  });

  it("refuses characters outside the alphabet", () => {
    expect(() => decodeBase32("JBSWY3DP1")).toThrow();
    expect(() => decodeBase32("JBSWY3D8")).toThrow();
  });
});

describe("buildOtpauthUri", () => {
  it("builds the exact provisioning URI, percent-encoding issuer and account", () => {
    const secret = decodeBase32("JBSWY3DPEHPK3PXP");
    expect(buildOtpauthUri({ issuer: "Acme Corp", accountName: "alice", secret })).toBe(
      "otpauth://totp/Acme%20Corp:alice?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30",
    );
  });

  it("keeps a colon inside the account from splitting the label", () => {
    const uri = buildOtpauthUri({
      issuer: "Acme",
      accountName: "a:b@example.com",
      secret: new Uint8Array(20),
    });
    expect(uri.startsWith("otpauth://totp/Acme:a%3Ab%40example.com?")).toBe(true);
  });
});
