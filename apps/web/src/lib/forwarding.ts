/**
 * Which forwarding headers to believe, decided once per request at the door (server.ts), before
 * the JSON API or Next.js sees it.
 *
 * X-Forwarded-For, -Host and -Proto are whatever the sender wrote. Believed from anyone, they let
 * a stranger pick the address auth's throttles count (a fresh budget per request, or someone
 * else's address to lock), and the host the Origin check compares with (so `Origin: evil` plus
 * `X-Forwarded-Host: evil` would pass). So they are believed only from a peer listed in
 * WEB_TRUSTED_PROXIES (default: nobody); from anyone else they are removed from the request.
 *
 * The client's address: the socket's peer; behind trusted proxies, X-Forwarded-For read from the
 * right (each proxy appends the peer it saw), skipping trusted proxies, up to the first address
 * that is not one, since everything left of it was written by the client. It is put on the
 * request as CLIENT_ADDRESS_HEADER, overwriting anything the client sent by that name, for the
 * API routes and the server actions to pass to auth.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

export const CLIENT_ADDRESS_HEADER = 'x-chirp-client-address';
const FORWARDING_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
];

/** WEB_TRUSTED_PROXIES' entries (checked by config.ts) as a set to test peers against. */
export function trustedProxySet(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** Drop forwarding headers a trusted proxy did not send, and say who the client is (see above). */
export function admitRequest(request: IncomingMessage, trusted: BlockList): void {
  const peer = plainAddress(request.socket.remoteAddress ?? '');
  const viaProxy = peer !== undefined && isTrusted(peer, trusted);
  if (!viaProxy) for (const name of FORWARDING_HEADERS) delete request.headers[name];
  const client = viaProxy ? forwardedClient(request.headers['x-forwarded-for'], peer, trusted) : peer;
  if (client === undefined) delete request.headers[CLIENT_ADDRESS_HEADER];
  else request.headers[CLIENT_ADDRESS_HEADER] = client;
}

/** The client's address admitRequest found, if the peer had one. */
export function clientAddressOf(request: IncomingMessage): string | undefined {
  const value = request.headers[CLIENT_ADDRESS_HEADER];
  return typeof value === 'string' ? value : undefined;
}

function forwardedClient(header: string | string[] | undefined, peer: string, trusted: BlockList): string {
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').reverse();
  let client = peer;
  for (const hop of hops) {
    if (!isTrusted(client, trusted)) break;
    const address = plainAddress(hop.trim());
    if (address === undefined) break; // garbage: the last proxy that wrote a real address is as far as we know
    client = address;
  }
  return client;
}

function isTrusted(address: string, trusted: BlockList): boolean {
  return trusted.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * An address as text, without what proxies and dual-stack sockets add: a port (`192.0.2.1:4711`,
 * `[2001:db8::1]:4711`) and the IPv4-mapped prefix (`::ffff:192.0.2.1`). Undefined for anything else.
 */
function plainAddress(text: string): string | undefined {
  const unwrapped = /^\[([^\]]+)\](?::\d+)?$/.exec(text)?.[1] ?? text.replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, '$1');
  const address = unwrapped.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  return isIP(address) === 0 ? undefined : address;
}
