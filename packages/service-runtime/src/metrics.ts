/**
 * Per-method call counts, errors by code and time spent, in Prometheus' text format on
 * the admin port's /metrics. Kept by wrapping the handlers, so every transport is counted
 * the same way. Also the process's memory (for soak runs: a slope in RSS is a leak) and
 * the service's own counters, if its start hands any over.
 */
import { TransportError, type CallContext, type Handlers } from '@chirp/transport';
import type { Logger } from 'pino';

interface MethodStats {
  calls: number;
  seconds: number;
  byCode: Map<string, number>;
}

export class Metrics {
  readonly #methods = new Map<string, MethodStats>();

  observe(method: string, code: string, seconds: number): void {
    let stats = this.#methods.get(method);
    if (stats === undefined) {
      stats = { calls: 0, seconds: 0, byCode: new Map() };
      this.#methods.set(method, stats);
    }
    stats.calls++;
    stats.seconds += seconds;
    stats.byCode.set(code, (stats.byCode.get(code) ?? 0) + 1);
  }

  render(service: string, counters: Record<string, number> = {}): string {
    const lines = [
      '# HELP chirp_requests_total Requests handled, by method and result code.',
      '# TYPE chirp_requests_total counter',
    ];
    for (const [method, stats] of this.#methods) {
      for (const [code, n] of stats.byCode) {
        lines.push(`chirp_requests_total{service="${service}",method="${method}",code="${code}"} ${n}`);
      }
    }
    lines.push(
      '# HELP chirp_request_seconds_total Time spent in handlers.',
      '# TYPE chirp_request_seconds_total counter',
    );
    for (const [method, stats] of this.#methods) {
      lines.push(`chirp_request_seconds_total{service="${service}",method="${method}"} ${stats.seconds.toFixed(6)}`);
    }
    const memory = process.memoryUsage();
    lines.push(
      '# HELP process_resident_memory_bytes Resident set size.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes{service="${service}"} ${memory.rss}`,
      '# HELP nodejs_heap_used_bytes V8 heap in use.',
      '# TYPE nodejs_heap_used_bytes gauge',
      `nodejs_heap_used_bytes{service="${service}"} ${memory.heapUsed}`,
    );
    for (const [name, value] of Object.entries(counters)) {
      lines.push(`chirp_${name}{service="${service}"} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

/** Wrap handlers so each call is timed, counted and logged with its trace id. */
export function instrument(handlers: Handlers, metrics: Metrics, logger: Logger): Handlers {
  const wrapped: Record<string, Handlers[string]> = {};
  for (const [method, handler] of Object.entries(handlers)) {
    wrapped[method] = async (payload: unknown, context: CallContext) => {
      const started = performance.now();
      let code = 'OK';
      try {
        return await handler(payload, context);
      } catch (err) {
        code = err instanceof TransportError ? err.code : 'INTERNAL';
        throw err;
      } finally {
        const ms = performance.now() - started;
        metrics.observe(method, code, ms / 1000);
        logger.debug(
          { traceId: context.traceId, method, transport: context.transport, code, ms: Math.round(ms * 100) / 100 },
          'call',
        );
      }
    };
  }
  return wrapped;
}
