import { randomBytes } from 'node:crypto';

/**
 * 128 random bits as 32 hex characters, the shape of a W3C trace id. Drawn from a pool
 * refilled 4 KiB at a time: one `randomBytes` call per request was 11–14% of a TCP or UDP
 * client's CPU in the benchmark profiles. The pool is turned into hex once per refill and ids
 * are slices of that text: a hex conversion per id (two per call) was a tenth of a call's
 * tracing cost.
 */
const TRACE_POOL_BYTES = 4096;
let tracePool = randomBytes(TRACE_POOL_BYTES).toString('hex');
/** Next unused position in tracePool, in hex characters. */
let traceOffset = 0;

function randomHex(chars: number): string {
  if (traceOffset + chars > tracePool.length) {
    tracePool = randomBytes(TRACE_POOL_BYTES).toString('hex');
    traceOffset = 0;
  }
  traceOffset += chars;
  return tracePool.slice(traceOffset - chars, traceOffset);
}

export function newTraceId(): string {
  return randomHex(32);
}

/**
 * Request ids: a random per-process prefix plus a counter. Unique across the clients of
 * one server (the UDP server de-duplicates by id) without a random draw per request.
 */
const processPrefix = randomBytes(6).toString('base64url');
let counter = 0;

export function newRequestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${processPrefix}.${counter.toString(36)}`;
}

export function newSubscriptionId(): string {
  return randomBytes(9).toString('base64url');
}

/** 64 random bits as 16 hex characters, the shape of a W3C span id; from the same pool. */
export function newSpanId(): string {
  return randomHex(16);
}
