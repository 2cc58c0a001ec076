// Settings → Compliance: the frameworks the product documentation maps MFA to, each with the live
// evidence behind it, the audit trail's integrity (verify now), coverage over time and the exports.
import { Hono } from "hono";
import { type ComplianceEvidence, complianceEvidence } from "../admin/compliance";
import { verifyAuditTrail } from "../audit/seal";
import type { AppEnv } from "../context";
import { adminOnly } from "./admin";
import { Alert, LocalTime, Pill } from "./components";
import { CoverageChart } from "./coverage-chart";
import { page, redirect } from "./http";
import { AppPage, PageHeader, SettingsTabs } from "./layout";
import { viewerOf } from "./profile";

export const complianceRoutes = new Hono<AppEnv>();

complianceRoutes.get("/compliance", ...adminOnly, async (c) => {
  const viewer = viewerOf(c);
  const evidence = await complianceEvidence({ env: c.env, db: c.var.db }, viewer.tenant);
  return page(
    c,
    <AppPage viewer={viewer} title="Compliance" section="settings">
      <PageHeader title="Settings" lead={`Evidence of how people in ${viewer.tenant.name} sign in.`} />
      <SettingsTabs current="compliance" />
      <ControlsCard evidence={evidence} />
      <IntegrityCard evidence={evidence} />
      <section class="card" aria-labelledby="history-title">
        <h2 id="history-title">MFA coverage, last 30 days</h2>
        <CoverageChart days={evidence.history} />
      </section>
      <ExportsCard tenantId={viewer.tenant.id} />
    </AppPage>,
  );
});

/**
 * Verify now: checks the whole trail (sealing what waits first), then the page again, so the
 * controls that cite the verification show it too.
 */
complianceRoutes.post("/compliance/verify", ...adminOnly, async (c) => {
  await verifyAuditTrail({ env: c.env, db: c.var.db }, c.var.auth.tenant.id);
  return redirect(c, "/ui/settings/compliance");
});

/** The audit export form: empty dates are left out, then the API's export answers the download. */
complianceRoutes.get("/compliance/audit-export", ...adminOnly, (c) => {
  const query = new URLSearchParams({ format: c.req.query("format") === "jsonl" ? "jsonl" : "csv" });
  for (const name of ["from", "to"]) {
    const value = c.req.query(name);
    if (value && /^\d{4}-\d{2}-\d{2}$/.test(value)) query.set(name, value);
  }
  return redirect(
    c,
    `/api/v1/tenants/${encodeURIComponent(c.var.auth.tenant.id)}/audit-events/export?${query}`,
  );
});

const percentOf = ({ total, enrolled }: { total: number; enrolled: number }) =>
  total === 0 ? 100 : Math.floor((enrolled / total) * 100);

const Status = ({ met }: { met: boolean }) =>
  met ? <Pill tone="success">Evidence in place</Pill> : <Pill tone="warning">Gap</Pill>;

const ControlsCard = ({ evidence }: { evidence: ComplianceEvidence }) => {
  const { tenant, admins, members } = evidence;
  const lastVerification = evidence.lastVerification;
  const everyone = { total: admins.total + members.total, enrolled: admins.enrolled + members.enrolled };
  const enforced = tenant.mfaRequired && tenant.mfaEnforcedSince !== null;
  const allEnrolled = everyone.enrolled === everyone.total;
  const adminsEnrolled = admins.enrolled === admins.total;
  const enforcement = enforced ? (
    <>
      MFA required since <LocalTime at={tenant.mfaEnforcedSince ?? 0} /> (grace period{" "}
      {tenant.mfaGracePeriodDays} days).
    </>
  ) : (
    <>MFA is optional: it is not required of everyone.</>
  );
  const coverage = `${everyone.enrolled} of ${everyone.total} active users have MFA (${percentOf(everyone)}%).`;
  const adminCoverage = `${admins.enrolled} of ${admins.total} admins (privileged accounts) have MFA.`;
  const trail = lastVerification ? (
    <>
      Audit trail {lastVerification.ok ? "verified intact" : "found BROKEN"} at{" "}
      <LocalTime at={lastVerification.at} />.
    </>
  ) : (
    <>Audit trail not verified yet.</>
  );
  const rows = [
    {
      framework: "NIST 800-53",
      control: "IA-2(1), IA-2(2)",
      title: "Multi-factor authentication for privileged and non-privileged accounts",
      evidence: (
        <>
          {adminCoverage} {coverage}
        </>
      ),
      met: adminsEnrolled && allEnrolled,
    },
    {
      framework: "SOC 2",
      control: "CC6.1",
      title: "Logical access controls",
      evidence: (
        <>
          {enforcement} {trail}
        </>
      ),
      met: enforced && lastVerification?.ok === true,
    },
    {
      framework: "CIS Controls",
      control: "6.3, 6.4",
      title: "MFA required",
      evidence: (
        <>
          {enforcement} {coverage}
        </>
      ),
      met: enforced && allEnrolled,
    },
    {
      framework: "PCI DSS",
      control: "8.3",
      title: "Strong authentication",
      evidence: (
        <>
          {coverage} {enforcement}
        </>
      ),
      met: enforced && allEnrolled,
    },
    {
      framework: "CMMC",
      control: "IA.L2-3.5.3",
      title: "Multi-factor authentication",
      evidence: (
        <>
          {adminCoverage} {coverage}
        </>
      ),
      met: adminsEnrolled && allEnrolled,
    },
  ];
  return (
    <section class="card" aria-labelledby="controls-title">
      <h2 id="controls-title">Frameworks and controls</h2>
      <p class="muted">
        What each control asks of sign-in, and what this organisation can show for it today.
      </p>
      <table class="table evidence-table">
        <thead>
          <tr>
            <th scope="col">Framework</th>
            <th scope="col">Control</th>
            <th scope="col">Evidence now</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr data-control={row.control}>
              <td>{row.framework}</td>
              <td>
                <strong>{row.control}</strong>
                <div class="muted">{row.title}</div>
              </td>
              <td>{row.evidence}</td>
              <td>
                <Status met={row.met} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
};

const IntegrityCard = ({ evidence }: { evidence: ComplianceEvidence }) => {
  const last = evidence.lastVerification;
  const state = last ? (last.ok ? "ok" : "broken") : "none";
  return (
    <section class="card" id="integrity" aria-labelledby="integrity-title">
      <div class="card-title-row">
        <h2 id="integrity-title">Audit trail integrity</h2>
        <form
          method="post"
          action="/ui/settings/compliance/verify"
          hx-post="/ui/settings/compliance/verify"
          hx-disabled-elt="find button"
        >
          <button type="submit" class="btn btn-secondary">
            Verify now
          </button>
        </form>
      </div>
      <p class="muted">
        Every event is sealed into a chain keyed with a secret the database never holds, and the chain is
        signed daily: an edited, deleted, inserted or reordered event breaks it.
      </p>
      <div aria-live="polite" data-verification={state}>
        {state === "none" && <p>Not verified yet.</p>}
        {last?.ok && (
          <Alert tone="success">
            Intact: {last.checked} events checked at <LocalTime at={last.at} />.
          </Alert>
        )}
        {last && !last.ok && (
          <Alert tone="error">
            Broken at {last.brokenId ? `event ${last.brokenId}` : "a checkpoint"} ({last.reason}), found at{" "}
            <LocalTime at={last.at} />. {last.checked} events before it verified.
          </Alert>
        )}
        <p class="muted">
          {evidence.lastCheckpointAt ? (
            <>
              Last signed checkpoint: <LocalTime at={evidence.lastCheckpointAt} />.
            </>
          ) : (
            "No signed checkpoint yet: the daily job writes the first."
          )}
        </p>
      </div>
    </section>
  );
};

const ExportsCard = ({ tenantId }: { tenantId: string }) => {
  const users = `/api/v1/tenants/${encodeURIComponent(tenantId)}/users/export`;
  return (
    <section class="card" aria-labelledby="exports-title">
      <h2 id="exports-title">Exports</h2>
      <h3>Enrollment report</h3>
      <p class="muted">Every user: role, MFA status, factors, enrolled at, grace deadline, last sign-in.</p>
      <p class="actions">
        <a class="btn btn-secondary" href={`${users}?format=csv`} download="" data-export="users-csv">
          Download CSV
        </a>
        <a class="btn btn-secondary" href={`${users}?format=jsonl`} download="" data-export="users-jsonl">
          Download JSON Lines
        </a>
      </p>
      <h3>Audit trail</h3>
      <form
        method="get"
        action="/ui/settings/compliance/audit-export"
        class="inline-form"
        data-export="audit"
      >
        <label>
          From <input type="date" name="from" />
        </label>
        <label>
          To (not included) <input type="date" name="to" />
        </label>
        <label>
          Format{" "}
          <select name="format">
            <option value="csv">CSV</option>
            <option value="jsonl">JSON Lines</option>
          </select>
        </label>
        <button type="submit" class="btn btn-secondary">
          Download audit trail
        </button>
      </form>
    </section>
  );
};
