/**
 * Next.js settings for Chirp's web app.
 *
 * How the workspace packages are built in: @chirp/contracts and @chirp/transport publish their
 * TypeScript sources under the "source" export condition (and `dist` only after a build), and
 * their sources import each other as `./x.js` (NodeNext style). We bundle the sources, so
 * `next build` and `next dev` need no prior build of the packages and pick up edits to them:
 *   - transpilePackages runs them through Next's compiler;
 *   - webpack resolves the "source" condition first and `./x.js` to `./x.ts`
 *     (resolve.conditionNames / resolve.extensionAlias).
 * That is why the scripts pass --webpack: Turbopack (Next 16's default) cannot yet map `.js`
 * imports to `.ts` files (vercel/next.js#82945), nor be given extra export conditions.
 *
 * Server-only dependencies of the transports (amqplib, fastify, undici) and of telemetry (the
 * OpenTelemetry SDK, prom-client) are never bundled:
 * serverExternalPackages makes the server require them from node_modules at run time, and no
 * client component imports @chirp/* values (only types), so they never reach a browser.
 *
 * The Content-Security-Policy is set per request in src/proxy.ts (it needs a nonce and the
 * run-time NOTIFY_URL). CHIRP_WEB_SKIP_TYPECHECK=1 skips the build's own type check, for the
 * browser tests: `npm test` has type-checked everything just before.
 */
import type { NextConfig } from 'next';

/** The OpenTelemetry SDK's packages, required from node_modules: one copy, shared with Next's own tracer. */
const OTEL_SDK = [
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/core',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace-base',
];

interface WebpackResolve {
  conditionNames?: string[];
  extensionAlias?: Record<string, string[]>;
}

const config: NextConfig = {
  transpilePackages: ['@chirp/contracts', '@chirp/transport', '@chirp/telemetry'],
  serverExternalPackages: ['amqplib', 'fastify', 'undici', 'prom-client', '@opentelemetry/api', ...OTEL_SDK],
  poweredByHeader: false,
  typescript: { ignoreBuildErrors: process.env.CHIRP_WEB_SKIP_TYPECHECK === '1' },
  webpack(webpackConfig: { resolve: WebpackResolve }) {
    const resolve = webpackConfig.resolve;
    resolve.conditionNames = ['source', ...(resolve.conditionNames ?? ['...'])];
    resolve.extensionAlias = { ...resolve.extensionAlias, '.js': ['.ts', '.tsx', '.js'] };
    return webpackConfig;
  },
};

export default config;
