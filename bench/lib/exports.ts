// The admin exports of a tenant of 100,000 users (and its audit trail), as an admin downloads them:
// time to the last byte, size, lines, and the local runtime's memory while streaming, sampled from
// /proc. The keyset pages (src/admin/exports.ts) should keep memory flat whatever the tenant's size.
import type { DevServer } from "./processes";

export interface ExportFigures {
  path: string;
  seconds: number;
  megabytes: number;
  lines: number;
  /** The runtime's resident memory before the download, and its peak during it, in MiB. */
  rssBeforeMiB: number | null;
  rssPeakMiB: number | null;
  serverCpuMs: number | null;
}

const MIB = 1024 * 1024;

export async function measureExport(server: DevServer, path: string, token: string): Promise<ExportFigures> {
  const before = server.rssBytes();
  let peak = before ?? 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, server.rssBytes() ?? 0);
  }, 20);
  const cpuBefore = server.cpuMs();
  const started = performance.now();
  try {
    const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 200 || !response.body) throw new Error(`${path} answered ${response.status}`);
    let bytes = 0;
    let lines = 0;
    for await (const chunk of response.body) {
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 10) lines += 1;
    }
    const cpuAfter = server.cpuMs();
    return {
      path,
      seconds: Math.round(performance.now() - started) / 1000,
      megabytes: Math.round((bytes / MIB) * 10) / 10,
      lines,
      rssBeforeMiB: before === null ? null : Math.round(before / MIB),
      rssPeakMiB: before === null ? null : Math.round(peak / MIB),
      serverCpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
    };
  } finally {
    clearInterval(sampler);
  }
}
