/**
 * Compiled TypeBox validators, cached per schema: the check on every request's hot path
 * is generated code, not a schema walk. A failure names the field and what was expected.
 */
import { isIP } from 'node:net';
import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { TransportError } from '@chirp/transport';

// TypeBox knows no string formats until told; these are the ones the contracts use.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)));
}
/** An IPv4 or IPv6 address in text, as Node's sockets report them (no port, no brackets). */
if (!FormatRegistry.Has('ip')) FormatRegistry.Set('ip', (value) => isIP(value) !== 0);

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checkerFor(schema: TSchema): TypeCheck<TSchema> {
  let check = compiled.get(schema);
  if (check === undefined) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check;
}

/**
 * A NUL, or half of a surrogate pair without its other half. Both pass a JSON schema, but
 * PostgreSQL's text cannot hold a NUL and UTF-8 has no form for a lone surrogate: let through,
 * they would come back from the database as INTERNAL.
 */
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The path of the first string in `value` that holds an unstorable character, if any. */
function unstorableAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const key in value) {
    const found = unstorableAt((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Throws INVALID_ARGUMENT like `username: Expected string length greater or equal to 3`, or
 * `text: must not contain NUL or unpaired surrogate characters` for any string field.
 */
export function assertValid(schema: TSchema, value: unknown, what: string): void {
  const check = checkerFor(schema);
  if (check.Check(value)) {
    const field = unstorableAt(value, '');
    if (field === undefined) return;
    throw new TransportError(
      'INVALID_ARGUMENT',
      `${what}: ${field ? `${field}: ` : ''}must not contain NUL or unpaired surrogate characters`,
    );
  }
  const first = check.Errors(value).First();
  const field = first?.path ? first.path.slice(1).replaceAll('/', '.') : '';
  const reason = first?.message ?? 'does not match the schema';
  throw new TransportError('INVALID_ARGUMENT', `${what}: ${field ? `${field}: ` : ''}${reason}`);
}
