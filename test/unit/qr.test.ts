import { decode } from "fast-png";
import jsQR from "jsqr";
import { describe, expect, it } from "vitest";
import { renderQrPngDataUri } from "../../src/auth/qr";
import { buildOtpauthUri, generateTotpSecret } from "../../src/auth/totp";
import { fromBase64 } from "../../src/encoding";

const DATA_URI_PREFIX = "data:image/png;base64,";

async function renderPng(text: string): Promise<Uint8Array> {
  const uri = await renderQrPngDataUri(text);
  expect(uri.startsWith(DATA_URI_PREFIX)).toBe(true);
  return fromBase64(uri.slice(DATA_URI_PREFIX.length));
}

/** Reads the QR code back the way a phone would: decode the PNG, then scan its pixels. */
function scanPng(png: Uint8Array): string | undefined {
  const image = decode(png);
  expect(image.channels).toBe(1);
  const rgba = new Uint8ClampedArray(image.width * image.height * 4);
  image.data.forEach((gray, i) => {
    rgba.set([gray, gray, gray, 255], i * 4);
  });
  return jsQR(rgba, image.width, image.height)?.data;
}

describe("renderQrPngDataUri", () => {
  it("renders an otpauth URI that a QR reader decodes back exactly", async () => {
    const uri = buildOtpauthUri({
      issuer: "Acme Corp",
      accountName: "alice.liddell@example.com",
      secret: generateTotpSecret(),
    });
    expect(uri.length).toBeGreaterThan(110);
    expect(scanPng(await renderPng(uri))).toBe(uri);
  });

  it("writes a PNG: signature, then IHDR first", async () => {
    const png = await renderPng("otpauth://totp/A:b?secret=AAAA");
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(new TextDecoder().decode(png.subarray(12, 16))).toBe("IHDR");
    expect(new TextDecoder().decode(png.subarray(-8, -4))).toBe("IEND");
  });

  it("leaves a light quiet zone around the symbol", async () => {
    const image = decode(await renderPng("otpauth://totp/A:b?secret=AAAA"));
    const margin = 4 * 6;
    for (let x = 0; x < image.width; x++) {
      for (const y of [0, margin - 1, image.height - margin, image.height - 1]) {
        expect(image.data[y * image.width + x]).toBe(255);
      }
    }
  });

  it("refuses text that is not printable ASCII", async () => {
    await expect(renderQrPngDataUri("héllo")).rejects.toThrow(RangeError);
    await expect(renderQrPngDataUri("")).rejects.toThrow(RangeError);
  });
});
