// Types for the part of qrcode-svg 1.1 (CommonJS, untyped) that src/auth/qr.ts uses.
declare module "qrcode-svg" {
  interface QRCodeOptions {
    content: string;
    ecl?: "L" | "M" | "Q" | "H";
    padding?: number;
    width?: number;
    height?: number;
    join?: boolean;
  }

  class QRCode {
    constructor(options: QRCodeOptions | string);
    /** The underlying model: `modules[row][column]` is true for a dark module. */
    qrcode: { modules: boolean[][]; moduleCount: number };
    svg(): string;
  }

  export = QRCode;
}
