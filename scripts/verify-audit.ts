// `npm run admin -- verify-audit`: checks a tenant's audit trail straight from D1, with the same
// verifier the Worker's GET /tenants/{id}/audit-events/verify runs (src/audit/chain.ts). It only
// reads: events not sealed yet are checked for their MAC and counted as pending. It cannot reach the
// chain's anchor (a Durable Object), so a trail cut short after its last checkpoint passes here and
// not in the Worker's verification.
import type { ChainedEvent, Checkpoint, TrailReader, Verification } from "../src/audit/chain";
import { verifyTrail } from "../src/audit/chain";
import { querySql, sqlText, type Target } from "./d1";

const EVENT_COLUMNS = `id, tenant_id AS tenantId, at, actor_id AS actorId, action, target_id AS targetId, ip,
  details, mac, seq, chain`;

/** The tenant's trail as `wrangler d1 execute` reads it, raw `details` text and all. */
function wranglerReader(target: Target, tenantId: string): TrailReader {
  const tenant = sqlText(tenantId);
  const events = (where: string, limit: number) =>
    querySql<ChainedEvent>(
      target,
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE tenant_id = ${tenant} AND ${where} LIMIT ${limit}`,
    );
  return {
    checkpoints: async () =>
      querySql<Checkpoint>(
        target,
        `SELECT tenant_id AS tenantId, seq, chain, at, kind, signature FROM audit_checkpoints WHERE tenant_id = ${tenant}`,
      ),
    sealedAfter: async (seq, limit) => events(`seq > ${Math.trunc(seq)} ORDER BY seq`, limit),
    waiting: async (limit) => events("seq IS NULL", limit),
  };
}

/** The same verification as the Worker's, without the anchor (a Durable Object the CLI cannot read). */
export function verifyAuditFromD1(target: Target, tenantId: string, key: Uint8Array): Promise<Verification> {
  return verifyTrail(key, tenantId, wranglerReader(target, tenantId), null);
}
