/**
 * Baseline for HTTP: bare Fastify serving `POST /bench/<method>` with a JSON body, called
 * through an undici Pool with the transport's settings (32 keep-alive connections,
 * pipelining 1). No headers of our own, no error mapping: the floor under the HTTP transport.
 */
import Fastify from 'fastify';
import { Pool } from 'undici';
import { answer, type Target } from './target.js';

/** As packages/transport/src/http/client.ts. */
const CONNECTIONS = 32;

export const fastifyEcho: Target = {
  name: 'fastify',
  description: 'bare Fastify + undici Pool (32 connections, pipelining 1), JSON bodies',
  async serve() {
    const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, forceCloseConnections: true });
    app.post<{ Params: { method: string } }>('/bench/:method', async (request) =>
      answer(request.params.method, request.body),
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    return {
      address: `127.0.0.1:${port}`,
      close: () => app.close(),
    };
  },
  async connect(address, context) {
    const pool = new Pool(`http://${address}`, {
      connections: CONNECTIONS,
      pipelining: 1,
      headersTimeout: context.timeoutMs,
      bodyTimeout: context.timeoutMs,
    });
    return {
      async call(method, payload) {
        const response = await pool.request({
          method: 'POST',
          path: `/bench/${method}`,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(payload),
        });
        const body = await response.body.json();
        if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
        return body;
      },
      close: () => pool.destroy(),
    };
  },
};
