/**
 * The web page's Content-Security-Policy: CloudFront sends it on every behaviour
 * (infra/stacks/stateful-stack.ts) and the local runtime on every file it serves
 * (local/web-assets.ts), so the browser tests run the page under the policy it is
 * deployed with.
 *
 * The ID token in sessionStorage is enough to download a whole tenant: no script may
 * come from anywhere but the page's own files (no inline script or style, no eval),
 * nothing may frame the page, no plugin may load, a `<base>` cannot redirect relative
 * URLs, and the page may only call its own origin, the API and the sign-in domain.
 *
 * @param connectTo origins (`https://host`) of the API and the Cognito hosted domain,
 *   when they are not the page's own origin; CDK tokens are fine (joined at deploy time).
 */
export function contentSecurityPolicy(connectTo: string[]): string {
  return [
    "default-src 'self'",
    `connect-src ${["'self'", ...connectTo].join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}
