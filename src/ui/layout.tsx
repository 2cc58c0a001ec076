// The page shells: the signed-in layout (top bar, navigation, the grace banner) and the bare one for
// sign-in, enrollment and errors. Scripts and styles come from public/ only: the CSP allows nothing
// inline, so there is no <script> body and no style attribute anywhere in the UI.
import type { Child, PropsWithChildren } from "hono/jsx";
import type { Enforcement } from "../auth/enforcement";
import type { Tenant, User } from "../db/schema";
import { Countdown, Icon, LocalTime } from "./components";

export interface Viewer {
  user: User;
  tenant: Tenant;
  enforcement: Enforcement;
  productName: string;
}

export type Section = "profile" | "settings" | "audit";

const Head = ({ title }: { title: string }) => (
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light" />
    <title>{title}</title>
    <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
    <link rel="stylesheet" href="/css/app.css" />
    <script src="/vendor/htmx.min.js" defer></script>
    <script src="/js/app.js" defer></script>
  </head>
);

/** Sign-in, enrollment and anything shown without the signed-in chrome. */
export const BarePage = ({
  title,
  productName,
  children,
}: PropsWithChildren<{ title: string; productName: string }>) => (
  <html lang="en">
    <Head title={`${title} · ${productName}`} />
    <body class="auth-body">
      <main class="auth-main">
        <div class="brand brand-large">
          <Icon name="shield" />
          <span>{productName}</span>
        </div>
        {children}
      </main>
    </body>
  </html>
);

export const AppPage = ({
  viewer,
  title,
  section,
  children,
}: PropsWithChildren<{ viewer: Viewer; title: string; section: Section }>) => {
  const isAdmin = viewer.user.role === "admin";
  return (
    <html lang="en">
      <Head title={`${title} · ${viewer.productName}`} />
      <body>
        <a class="skip-link" href="#content">
          Skip to content
        </a>
        <header class="topbar">
          <div class="container topbar-inner">
            <a class="brand" href="/ui/profile">
              <Icon name="shield" />
              <span>{viewer.productName}</span>
            </a>
            <nav class="main-nav" aria-label="Main">
              <NavLink href="/ui/profile" current={section === "profile"}>
                Profile
              </NavLink>
              {isAdmin && (
                <NavLink href="/ui/settings/security" current={section === "settings"}>
                  Settings
                </NavLink>
              )}
              {isAdmin && (
                <NavLink href="/ui/audit" current={section === "audit"}>
                  Audit log
                </NavLink>
              )}
            </nav>
            <UserMenu viewer={viewer} />
          </div>
        </header>
        <GraceBanner viewer={viewer} />
        <main id="content" class="container page">
          {children}
        </main>
        <footer class="container footer">
          <span>
            {viewer.productName} · {viewer.tenant.name}
          </span>
        </footer>
      </body>
    </html>
  );
};

const NavLink = ({ href, current, children }: PropsWithChildren<{ href: string; current: boolean }>) => (
  <a href={href} class="nav-link" aria-current={current ? "page" : undefined}>
    {children}
  </a>
);

const UserMenu = ({ viewer }: { viewer: Viewer }) => (
  <details class="user-menu">
    {/* No aria-label: the name is the visible text plus a hidden hint, so a voice user who says
        the name they see reaches the button (WCAG 2.5.3, axe's label-content-name-mismatch). */}
    <summary>
      <span class="avatar" aria-hidden="true">
        {viewer.user.username.slice(0, 1).toUpperCase()}
      </span>
      <span class="user-menu-name">{viewer.user.username}</span>
      <span class="visually-hidden">, account menu</span>
      <Icon name="chevron" />
    </summary>
    <div class="menu">
      <div class="menu-header">
        <strong>{viewer.user.username}</strong>
        <span class="muted">{viewer.user.email}</span>
        <span class="muted">
          {viewer.tenant.name} · {viewer.user.role === "admin" ? "Admin" : "Member"}
        </span>
      </div>
      <a class="menu-item" href="/ui/profile">
        Profile
      </a>
      <form method="post" action="/ui/logout" hx-post="/ui/logout">
        <button type="submit" class="menu-item">
          Sign out
        </button>
      </form>
    </div>
  </details>
);

/**
 * Users in grace see this on every page until they enroll; public/js/app.js keeps the clock live.
 * `oob` marks it for htmx to replace the one on the page (after a change that starts or ends grace).
 */
export const GraceBanner = ({ viewer, oob = false }: { viewer: Viewer; oob?: boolean }) => {
  const { enforcement } = viewer;
  const swap = oob ? "true" : undefined;
  if (enforcement.kind !== "grace") return <div id="grace-banner" hidden hx-swap-oob={swap}></div>;
  return (
    <div id="grace-banner" class="banner banner-warning" role="status" hx-swap-oob={swap}>
      <div class="container banner-inner">
        <Icon name="alert" />
        <p>
          <strong>{viewer.tenant.name} requires two-step verification.</strong> Set it up before{" "}
          <LocalTime at={enforcement.deadline} /> or you will be asked to do it at your next sign-in.{" "}
          <Countdown to={enforcement.deadline} /> left.
        </p>
        <a class="btn btn-small btn-warning" href="/ui/profile#mfa-card">
          Set up now
        </a>
      </div>
    </div>
  );
};

/** The tabs under Settings. */
export const SettingsTabs = ({
  current,
}: {
  current: "security" | "mfa-status" | "users" | "compliance";
}) => (
  <nav class="tabs" aria-label="Settings">
    <TabLink href="/ui/settings/security" current={current === "security"}>
      Security
    </TabLink>
    <TabLink href="/ui/settings/security/mfa-status" current={current === "mfa-status"}>
      MFA Status
    </TabLink>
    <TabLink href="/ui/settings/users" current={current === "users"}>
      Users
    </TabLink>
    <TabLink href="/ui/settings/compliance" current={current === "compliance"}>
      Compliance
    </TabLink>
  </nav>
);

const TabLink = ({ href, current, children }: PropsWithChildren<{ href: string; current: boolean }>) => (
  <a href={href} class="tab" aria-current={current ? "page" : undefined}>
    {children}
  </a>
);

export const PageHeader = ({ title, lead, children }: PropsWithChildren<{ title: string; lead?: Child }>) => (
  <div class="page-header">
    <div>
      <h1>{title}</h1>
      {lead && <p class="lead">{lead}</p>}
    </div>
    {children}
  </div>
);
