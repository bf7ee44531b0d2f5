/**
 * The door's rule on its own: whose forwarding headers are believed, and which address auth is
 * given as the client's. (security.test.ts proves the same through the running app.)
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { webConfigFromEnv } from './config.js';
import { CLIENT_ADDRESS_HEADER, admitRequest, clientAddressOf, trustedProxySet } from './forwarding.js';

function admitted(peer: string, headers: Record<string, string | string[]>, trusted: string[] = []) {
  const request = { socket: { remoteAddress: peer }, headers: { ...headers } } as unknown as IncomingMessage;
  admitRequest(request, trustedProxySet(trusted));
  return { address: clientAddressOf(request), headers: request.headers };
}

describe('forwarding headers', () => {
  it('are dropped, with any client-address header, when the peer is not a trusted proxy', () => {
    const { address, headers } = admitted('203.0.113.5', {
      host: 'chirp.example',
      'x-forwarded-for': '198.51.100.1',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
      forwarded: 'for=198.51.100.1',
      'x-real-ip': '198.51.100.1',
      [CLIENT_ADDRESS_HEADER]: '198.51.100.1',
    });
    expect(address).toBe('203.0.113.5');
    expect(headers).toEqual({ host: 'chirp.example', [CLIENT_ADDRESS_HEADER]: '203.0.113.5' });
    expect(admitted('::ffff:203.0.113.5', {}).address).toBe('203.0.113.5');
  });

  it('are believed from a trusted proxy: the client is the rightmost address that is not a proxy', () => {
    const proxies = ['10.0.0.0/8', '::1'];
    expect(admitted('10.1.2.3', { 'x-forwarded-for': '198.51.100.1' }, proxies).address).toBe('198.51.100.1');
    // A client's own X-Forwarded-For is left of what the proxies appended: not believed.
    expect(admitted('10.1.2.3', { 'x-forwarded-for': '6.6.6.6, 198.51.100.1, 10.9.9.9' }, proxies).address).toBe(
      '198.51.100.1',
    );
    expect(admitted('::1', { 'x-forwarded-for': ['192.0.2.7:4711', '10.0.0.2'] }, proxies).address).toBe('192.0.2.7');
    expect(admitted('::1', { 'x-forwarded-for': '[2001:db8::5]:443' }, proxies).address).toBe('2001:db8::5');
    expect(admitted('10.1.2.3', { 'x-forwarded-for': 'unknown' }, proxies).address).toBe('10.1.2.3');
    expect(admitted('10.1.2.3', {}, proxies).address).toBe('10.1.2.3');
    const kept = admitted('10.1.2.3', { 'x-forwarded-host': 'chirp.example', 'x-forwarded-proto': 'https' }, proxies);
    expect(kept.headers).toMatchObject({ 'x-forwarded-host': 'chirp.example', 'x-forwarded-proto': 'https' });
    // Outside the range: a stranger.
    expect(admitted('11.0.0.1', { 'x-forwarded-for': '198.51.100.1' }, proxies).address).toBe('11.0.0.1');
  });

  it('come from WEB_TRUSTED_PROXIES, none by default, a bad entry named', () => {
    expect(webConfigFromEnv({}).trustedProxies).toEqual([]);
    expect(webConfigFromEnv({ WEB_TRUSTED_PROXIES: ' 10.0.0.0/8, 127.0.0.1,::1 ,fd00::/8' }).trustedProxies).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'fd00::/8',
    ]);
    for (const bad of ['proxy.internal', '10.0.0.0/33', '10.0.0.1/8/8', '::1/129', '10.0.0.0/x']) {
      expect(() => webConfigFromEnv({ WEB_TRUSTED_PROXIES: bad })).toThrow(`WEB_TRUSTED_PROXIES: ${bad} is not`);
    }
  });
});
