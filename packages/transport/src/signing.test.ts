import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { transportConfigFromEnv } from './config.js';
import { ReplayGuard, SEALED, SEALED_HEADER_BYTES, Sealer, secretBytes } from './signing.js';

const SECRET = secretBytes('0123456789abcdef0123456789abcdef');
const NOW = 1_800_000_000_000;

function message(text: string): Buffer {
  return Buffer.concat([Buffer.alloc(SEALED_HEADER_BYTES), Buffer.from(text)]);
}

describe('Sealer', () => {
  it('opens what it sealed, once', () => {
    const sealer = new Sealer(SECRET);
    const signed = message('{"hello":1}');
    sealer.seal(signed, SEALED.udpToServer, NOW);
    expect(new Sealer(SECRET).open(signed, SEALED.udpToServer, NOW + 1_000)).toBeUndefined();
    expect(sealer.open(signed, SEALED.udpToServer, NOW)).toBeUndefined();
    expect(sealer.open(signed, SEALED.udpToServer, NOW)).toBe('replayed');
  });

  it('refuses a changed byte anywhere, another key, another kind, or a cut', () => {
    const signed = message('{"hello":1}');
    new Sealer(SECRET).seal(signed, SEALED.udpToServer, NOW);
    for (let i = 0; i < signed.length; i++) {
      const changed = Buffer.from(signed);
      changed[i]! ^= 1;
      expect(new Sealer(SECRET).open(changed, SEALED.udpToServer, NOW), `byte ${i}`).toBe('unauthenticated');
    }
    const other = new Sealer(secretBytes('another secret, 32 bytes or more!'));
    expect(other.open(signed, SEALED.udpToServer, NOW)).toBe('unauthenticated');
    expect(new Sealer(SECRET).open(signed, SEALED.udpToClient, NOW)).toBe('unauthenticated');
    expect(new Sealer(SECRET).open(signed.subarray(0, signed.length - 1), SEALED.udpToServer, NOW)).toBe(
      'unauthenticated',
    );
  });

  it('refuses a timestamp outside the window either way', () => {
    const old = message('x');
    new Sealer(SECRET).seal(old, SEALED.udpToServer, NOW - 30_001);
    const future = message('x');
    new Sealer(SECRET).seal(future, SEALED.udpToServer, NOW + 30_001);
    expect(new Sealer(SECRET).open(old, SEALED.udpToServer, NOW)).toBe('stale');
    expect(new Sealer(SECRET).open(future, SEALED.udpToServer, NOW)).toBe('stale');
  });
});

describe('ReplayGuard', () => {
  it('forgets nonces once their timestamps have left the window, and only then', () => {
    const guard = new ReplayGuard(30_000);
    expect(guard.check(NOW, 'a', NOW)).toBeUndefined();
    expect(guard.check(NOW, 'a', NOW + 30_000)).toBe('replayed');
    expect(guard.check(NOW + 31_000, 'b', NOW + 31_000)).toBeUndefined(); // prunes a's second
    expect(guard.size).toBe(1);
    expect(guard.check(NOW, 'a', NOW + 31_000)).toBe('stale');
  });

  it('stays under its cap by forgetting the oldest second, which is refused as stale from then on', () => {
    const guard = new ReplayGuard(30_000, 3);
    for (const [second, nonce] of [
      [0, 'a'],
      [0, 'b'],
      [1, 'c'],
      [2, 'd'],
    ] as const) {
      expect(guard.check(NOW + second * 1_000, nonce, NOW + 2_000)).toBeUndefined();
    }
    expect(guard.size).toBe(2); // second 0 (a, b) went
    expect(guard.check(NOW, 'a', NOW + 2_000)).toBe('stale');
    expect(guard.check(NOW + 1_000, 'c', NOW + 2_000)).toBe('replayed');
  });
});

describe('TRANSPORT_SECRET from env', () => {
  it('is optional (empty is unset), and refused when shorter than 32 bytes with a one-line reason', () => {
    expect(transportConfigFromEnv({}, {}).secret).toBeUndefined();
    expect(transportConfigFromEnv({ TRANSPORT_SECRET: '' }, {}).secret).toBeUndefined();
    expect(transportConfigFromEnv({ TRANSPORT_SECRET: 'x'.repeat(32) }, {}).secret).toBe('x'.repeat(32));
    expect(() => transportConfigFromEnv({ TRANSPORT_SECRET: 'hunter2' }, {})).toThrow(
      /^TRANSPORT_SECRET is 7 bytes; it must be at least 32 \(e\.g\. `openssl rand -hex 32`\)$/,
    );
  });

  it('is read from TRANSPORT_SECRET_FILE when TRANSPORT_SECRET is unset or empty, and a missing or empty file stops the start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chirp-secret-'));
    const file = join(dir, 'secret');
    writeFileSync(file, `${'ab'.repeat(32)}\n`);
    expect(transportConfigFromEnv({ TRANSPORT_SECRET_FILE: file }, {}).secret).toBe('ab'.repeat(32));
    expect(transportConfigFromEnv({ TRANSPORT_SECRET: '', TRANSPORT_SECRET_FILE: file }, {}).secret).toBe(
      'ab'.repeat(32),
    );
    const own = 'y'.repeat(32);
    expect(transportConfigFromEnv({ TRANSPORT_SECRET: own, TRANSPORT_SECRET_FILE: file }, {}).secret).toBe(own);
    const missing = join(dir, 'missing');
    expect(() => transportConfigFromEnv({ TRANSPORT_SECRET_FILE: missing }, {})).toThrow(
      `TRANSPORT_SECRET_FILE=${missing} cannot be read (ENOENT)`,
    );
    writeFileSync(file, ' \n');
    expect(() => transportConfigFromEnv({ TRANSPORT_SECRET_FILE: file }, {})).toThrow(
      `TRANSPORT_SECRET_FILE=${file} is empty`,
    );
    writeFileSync(file, 'short');
    expect(() => transportConfigFromEnv({ TRANSPORT_SECRET_FILE: file }, {})).toThrow(/TRANSPORT_SECRET is 5 bytes/);
    rmSync(dir, { recursive: true });
  });
});
