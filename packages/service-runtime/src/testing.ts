/**
 * Run a real service process's life (runService: admin port, transport, start, stop)
 * inside a test, on a TestWorld's transport config, so clients made by the world reach it.
 */
import type { TestWorld } from '@chirp/transport/testing';
import { TRANSPORTS } from '@chirp/transport';
import { runService, type RunningService, type Runtime, type Started } from './run.js';

export async function startTestService(
  world: TestWorld,
  service: string,
  start: (runtime: Runtime) => Promise<Started>,
): Promise<RunningService> {
  const own = world.config.services[service];
  // A restarted service keeps the address it had (listen stays what the first start bound).
  world.config.services[service] = { ...own, listen: own?.listen ?? '127.0.0.1:0', addresses: own?.addresses ?? [] };
  const running = await runService(
    {
      service,
      logLevel: process.env.LOG_LEVEL ?? 'silent',
      admin: { host: '127.0.0.1', port: 0 },
      transport: world.config,
    },
    start,
  );
  const address = running.listening()[0];
  const kind = world.config.services[service]?.transport ?? world.kind;
  if (!TRANSPORTS[kind].brokered && address !== undefined) {
    world.config.services[service] = { ...world.config.services[service], listen: address, addresses: [address] };
  }
  return running;
}
