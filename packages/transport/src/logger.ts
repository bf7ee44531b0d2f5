/** The slice of pino's logger the transports use; pass a pino logger, or get silence. */
export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentLogger: Logger = { error: noop, warn: noop, info: noop, debug: noop };
