// `npm run admin -- verify-audit`: checks a tenant's audit trail straight from D1, with the same
// verifier the Worker's GET /tenants/{id}/audit-events/verify runs (src/audit/chain.ts). It only
// reads: events not sealed yet are checked for their MAC and counted as pending. It cannot reach the
// chain's anchor (a Durable Object), so a trail cut short after its last checkpoint passes here and
// not in the Worker's verification.
import {
  type ChainedEvent,
  ChainVerifier,
  type Checkpoint,
  chainStart,
  type Verification,
} from "../src/audit/chain";
import { querySql, sqlText, type Target } from "./d1";

const PAGE = 1000;

const EVENT_COLUMNS = `id, tenant_id AS tenantId, at, actor_id AS actorId, action, target_id AS targetId, ip,
  details, mac, seq, chain`;

export function verifyAuditFromD1(target: Target, tenantId: string, key: Uint8Array): Verification {
  const tenant = sqlText(tenantId);
  const checkpoints = querySql<Checkpoint>(
    target,
    `SELECT tenant_id AS tenantId, seq, chain, at, kind, signature FROM audit_checkpoints WHERE tenant_id = ${tenant}`,
  );
  const verifier = new ChainVerifier(key, tenantId, checkpoints);
  let after = chainStart(key, checkpoints).seq;
  while (!verifier.isBroken) {
    const page = querySql<ChainedEvent>(
      target,
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE tenant_id = ${tenant} AND seq > ${after} ORDER BY seq LIMIT ${PAGE}`,
    );
    for (const event of page) verifier.checkEvent(event);
    const last = page.at(-1);
    if (!last || page.length < PAGE) break;
    after = last.seq ?? after;
  }
  const waiting = querySql<ChainedEvent>(
    target,
    `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE tenant_id = ${tenant} AND seq IS NULL LIMIT ${PAGE}`,
  );
  for (const event of waiting) verifier.checkPending(event);
  return verifier.finish();
}
