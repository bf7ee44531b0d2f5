/**
 * Next.js settings for Chirp's web app (its pages and server actions; the JSON API is served
 * beside Next by src/server.ts).
 *
 * The workspace packages (@chirp/contracts, @chirp/transport, @chirp/telemetry) are not bundled:
 * the server requires their builds from node_modules at run time, like the JSON API does, so
 * the process holds one copy of each — one transport, one TransportError class (an error thrown
 * by one copy is not `instanceof` another's), one telemetry. Build them first (`npm run build`,
 * which turbo orders). Server-only dependencies (amqplib, fastify, undici, the OpenTelemetry SDK,
 * prom-client) stay unbundled too; no client component imports @chirp/* values (only types), so
 * none of it reaches a browser.
 *
 * The app's own files import each other as `./x.js` (so the JSON API's server can run them as
 * compiled by tsc); webpack maps those to `./x.ts` (resolve.extensionAlias). That is why the
 * scripts pass --webpack: Turbopack (Next 16's default) cannot yet map `.js` imports to `.ts`
 * files (vercel/next.js#82945).
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
  '@opentelemetry/otlp-transformer',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace-base',
];

interface WebpackResolve {
  extensionAlias?: Record<string, string[]>;
}

const config: NextConfig = {
  serverExternalPackages: [
    '@chirp/contracts',
    '@chirp/transport',
    '@chirp/telemetry',
    'amqplib',
    'fastify',
    'undici',
    'prom-client',
    '@opentelemetry/api',
    ...OTEL_SDK,
  ],
  poweredByHeader: false,
  typescript: { ignoreBuildErrors: process.env.CHIRP_WEB_SKIP_TYPECHECK === '1' },
  webpack(webpackConfig: { resolve: WebpackResolve }) {
    const resolve = webpackConfig.resolve;
    resolve.extensionAlias = { ...resolve.extensionAlias, '.js': ['.ts', '.tsx', '.js'] };
    return webpackConfig;
  },
};

export default config;
