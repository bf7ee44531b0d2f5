/**
 * A unique index refused a row (PostgreSQL's unique_violation, 23505). Through the pg
 * adapter Prisma maps it to P2002; PGlite's adapter passes it on unmapped, as a
 * DriverAdapterError whose cause carries the code. Services ask here instead of knowing both.
 */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown; cause?: { code?: unknown; kind?: unknown } } | null;
  if (e?.name === 'PrismaClientKnownRequestError') return e.code === 'P2002';
  return (
    e?.name === 'DriverAdapterError' && (e.cause?.code === '23505' || e.cause?.kind === 'UniqueConstraintViolation')
  );
}
