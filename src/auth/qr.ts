// QR codes for TOTP enrolment as PNG data URIs, drawn on the Worker: qrcode-svg supplies the module
// matrix and the PNG is assembled here, so the secret never leaves for a third-party renderer.
import QRCode from "qrcode-svg";
import { toBase64 } from "../encoding";

const MODULE_PIXELS = 6;
const QUIET_ZONE_MODULES = 4; // ISO/IEC 18004: a 4-module light margin around the symbol
const DARK = 0x00;
const LIGHT = 0xff;

// PNG (ISO/IEC 15948, W3C PNG 2nd ed.) §5.2 signature, and the IHDR fields used here.
const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const BIT_DEPTH = 8;
const COLOR_TYPE_GRAYSCALE = 0;
const FILTER_NONE = 0;

/** Renders `text` as a QR code (error correction M) in a grayscale PNG `data:` URI. */
export async function renderQrPngDataUri(text: string): Promise<string> {
  // qrcode-svg's UTF-8 encoding is wrong at some boundaries; otpauth URIs are ASCII once encoded.
  if (!/^[\x20-\x7e]+$/.test(text)) throw new RangeError("QR text must be printable ASCII");
  const modules = new QRCode({ content: text, ecl: "M" }).qrcode.modules;
  const png = await encodeGrayscalePng(drawModules(modules));
  return `data:image/png;base64,${toBase64(png)}`;
}

interface GrayImage {
  size: number;
  pixels: Uint8Array; // one byte per pixel, row by row
}

/** Scales each module to MODULE_PIXELS square pixels inside the quiet zone. */
function drawModules(modules: boolean[][]): GrayImage {
  const size = (modules.length + 2 * QUIET_ZONE_MODULES) * MODULE_PIXELS;
  const pixels = new Uint8Array(size * size).fill(LIGHT);
  modules.forEach((row, rowIndex) => {
    row.forEach((dark, columnIndex) => {
      if (!dark) return;
      const top = (rowIndex + QUIET_ZONE_MODULES) * MODULE_PIXELS;
      const left = (columnIndex + QUIET_ZONE_MODULES) * MODULE_PIXELS;
      for (let y = top; y < top + MODULE_PIXELS; y++) {
        pixels.fill(DARK, y * size + left, y * size + left + MODULE_PIXELS);
      }
    });
  });
  return { size, pixels };
}

async function encodeGrayscalePng({ size, pixels }: GrayImage): Promise<Uint8Array> {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, size);
  view.setUint32(4, size);
  // Compression, filter method and interlace stay 0: deflate, adaptive filtering, no interlace.
  header.set([BIT_DEPTH, COLOR_TYPE_GRAYSCALE], 8);
  return concatBytes([
    PNG_SIGNATURE,
    encodeChunk("IHDR", header),
    encodeChunk("IDAT", await deflate(addFilterBytes(size, pixels))),
    encodeChunk("IEND", new Uint8Array()),
  ]);
}

/** Each scanline starts with its filter type (PNG §7.3); "none" compresses well enough here. */
function addFilterBytes(size: number, pixels: Uint8Array): Uint8Array {
  const filtered = new Uint8Array(size * (size + 1));
  for (let y = 0; y < size; y++) {
    filtered[y * (size + 1)] = FILTER_NONE;
    filtered.set(pixels.subarray(y * size, (y + 1) * size), y * (size + 1) + 1);
  }
  return filtered;
}

/** PNG's IDAT wants a zlib stream (RFC 1950), which is what CompressionStream("deflate") writes. */
async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A chunk: length, type, data, and the CRC-32 of type and data (PNG §5.3). */
function encodeChunk(type: string, data: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(new TextEncoder().encode(type), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return chunk;
}

// CRC-32 with the reflected polynomial 0xEDB88320 (PNG §5.5, ISO 3309), one table entry per byte.
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const output = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    output.set(part, offset);
    offset += part.length;
  }
  return output;
}
