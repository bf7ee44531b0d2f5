/**
 * Run a page's service calls and get either the value or the words to show instead. Only
 * ServiceErrors are caught: a redirect or notFound (which Next throws) and real bugs go on
 * to Next and to error.tsx.
 */
import 'server-only';
import { ServiceError } from './errors.js';

export type Attempt<T> = { ok: true; value: T } | { ok: false; message: string };

export async function attempt<T>(work: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    if (err instanceof ServiceError) return { ok: false, message: err.message };
    throw err;
  }
}
