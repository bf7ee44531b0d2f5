/** The slice of pino's logger the transports use; pass a pino logger, or get silence. */
export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentLogger: Logger = { error: noop, warn: noop, info: noop, debug: noop };

/** How long one cause of warning stays quiet after its first line. */
export const WARNING_INTERVAL_MS = 10_000;

/**
 * A logger whose warnings and errors cannot flood the log: the first line of each message is
 * written at once; repeats of the same message within `intervalMs` are only counted, and one line
 * at the end of the interval says how many there were (`repeated`), with the last repeat's fields.
 * A stranger sending 3,000 bad hellos costs two lines, not 3,000. Info and debug pass through.
 * The counters that matter (rejected frames, dropped events) stay in /metrics.
 */
export function rateLimitedLogger(logger: Logger, intervalMs = WARNING_INTERVAL_MS): Logger {
  return {
    error: limit(logger, 'error', intervalMs),
    warn: limit(logger, 'warn', intervalMs),
    info: (obj, msg) => logger.info(obj, msg),
    debug: (obj, msg) => logger.debug(obj, msg),
  };
}

function limit(logger: Logger, level: 'error' | 'warn', intervalMs: number): (obj: object, msg?: string) => void {
  const quiet = new Map<string, { repeated: number; last: object }>();
  return (obj, msg = '') => {
    const entry = quiet.get(msg);
    if (entry) {
      entry.repeated += 1;
      entry.last = obj;
      return;
    }
    logger[level](obj, msg);
    const fresh = { repeated: 0, last: obj };
    quiet.set(msg, fresh);
    setTimeout(() => {
      quiet.delete(msg);
      if (fresh.repeated > 0) {
        logger[level](
          { ...fresh.last, repeated: fresh.repeated, intervalMs },
          `${msg} (${fresh.repeated} more in ${intervalMs / 1000} s)`,
        );
      }
    }, intervalMs).unref();
  };
}
