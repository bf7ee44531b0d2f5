/**
 * One name, several replicas: `docker compose up --scale posts=3` makes the name `posts`
 * resolve to one address per replica. Expanding each configured host name into the
 * addresses it resolves to lets client-side balancing and event registrations (HTTP, TCP,
 * UDP) reach every replica, not whichever one the system resolver picks.
 *
 * Resolved once, when a process starts: a replica added later is reached only after its
 * callers restart. IP literals are kept as they are, as is a name that does not resolve
 * (connecting to it then fails with the usual clear error). Only addresses of the first
 * answer's family are used, so `localhost` stays one address rather than 127.0.0.1 + ::1.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ServiceConfig } from './config.js';
import type { TransportKind } from './transport.js';
import { formatHostPort, parseHostPort } from './endpoints.js';

export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

const systemLookup: Lookup = (host) => dnsLookup(host, { all: true });

/** Replace, in place, each service's host names by the replicas' addresses (COMPARE_TRANSPORTS' too). */
export async function expandReplicas(
  services: Record<string, ServiceConfig>,
  lookup: Lookup = systemLookup,
): Promise<void> {
  await Promise.all(
    Object.values(services).map(async (service) => {
      if (service.addresses?.length) service.addresses = await expandAll(service.addresses, lookup);
      if (service.also === undefined) return;
      const entries = Object.entries(service.also) as [TransportKind, string[]][];
      for (const [kind, addresses] of entries) service.also[kind] = await expandAll(addresses, lookup);
    }),
  );
}

async function expandAll(addresses: string[], lookup: Lookup): Promise<string[]> {
  const expanded = await Promise.all(addresses.map((address) => expand(address, lookup)));
  return [...new Set(expanded.flat())];
}

async function expand(address: string, lookup: Lookup): Promise<string[]> {
  const { host, port } = parseHostPort(address);
  if (isIP(host)) return [address];
  const answers = await lookup(host).catch(() => []);
  const family = answers[0]?.family;
  const same = answers.filter((a) => a.family === family);
  return same.length > 1 ? same.map((a) => formatHostPort({ host: a.address, port })) : [address];
}
