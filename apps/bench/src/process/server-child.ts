/**
 * The server process: forked by the load generator (server-process.ts), it serves one
 * target until told to stop, and reads out its own CPU time when asked, so the report can
 * say how busy the server was apart from the load generator. It exits with its parent.
 */
import { TARGETS, type ServedTarget } from '../targets/index.js';
import { readCpu, type FromServer, type ToServer } from './messages.js';

let served: ServedTarget | undefined;

function send(message: FromServer): void {
  process.send?.(message);
}

process.on('message', (message: ToServer) => {
  switch (message.type) {
    case 'serve':
      TARGETS[message.target].serve(message.context).then(
        (target) => {
          served = target;
          send({ type: 'ready', address: target.address });
        },
        (err: unknown) => send({ type: 'failed', message: err instanceof Error ? err.message : String(err) }),
      );
      break;
    case 'cpu':
      send({ type: 'cpu', id: message.id, reading: readCpu() });
      break;
    case 'stop':
      void (served?.close() ?? Promise.resolve())
        .catch((err: unknown) => console.error(`bench server: close failed: ${(err as Error).message}`))
        .finally(() => {
          send({ type: 'stopped' });
          process.disconnect();
        });
      break;
  }
});

process.on('disconnect', () => process.exit(0));
