/**
 * A fresh idempotency key for a form: a retried or double submit of the same draft is applied
 * once by the service. getRandomValues, unlike randomUUID, also works on plain-http pages.
 */
export function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
