/**
 * Runs once when the Next.js server starts: traces and metrics (lib/telemetry.ts), before the
 * first request, so Next.js's own request spans are recorded and every call the app makes is a
 * child of the request that made it. Node.js runtime only (proxy.ts runs on the edge runtime's
 * rules and makes no calls).
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { startWebTelemetry } = await import('./lib/telemetry');
  startWebTelemetry();
}
