/**
 * Seeded randomness for the fault proxies: the same seed gives the same sequence, so a
 * run that found a bug can be replayed.
 */

/** A tiny seeded PRNG (mulberry32, public domain), good enough to pick which packets to hurt. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for a proxy that was not given one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}
