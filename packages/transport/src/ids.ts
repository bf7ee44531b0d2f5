import { randomBytes } from 'node:crypto';

/** 128 random bits as 32 hex characters, the shape of a W3C trace id. */
export function newTraceId(): string {
  return randomBytes(16).toString('hex');
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
