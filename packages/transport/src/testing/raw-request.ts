/**
 * One request sent the way a foreign client would, with trace fields of the test's choosing
 * (malformed, missing, from another system), on whichever wire a TestWorld runs: an HTTP POST
 * with headers, a TCP frame or UDP datagram whose envelope has them, an AMQP message with them
 * as headers, a NATS message with them as headers. Unsigned: worlds with a TRANSPORT_SECRET refuse it. Resolves with the reply body.
 * On UDP it answers a retry as any client must (udp/address-check.ts): the same request again,
 * with the cookie.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import amqp from 'amqplib';
import { request as httpRequest } from 'undici';
import { connect as connectNats, headers as natsHeaders } from '@nats-io/transport-node';
import { DIRECT_REPLY_TO, Topology } from '../amqp/topology.js';
import { HEADER_METHOD, HEADER_TIMEOUT_MS, Subjects } from '../nats/wire.js';
import { parseHostPort } from '../endpoints.js';
import { decodeEnvelope, encodeEnvelope, type Envelope, type ReplyBody } from '../envelope.js';
import { FrameDecoder, encodeFrame } from '../tcp/framing.js';
import type { TestWorld } from './index.js';

const TIMEOUT_MS = 2_000;

export async function rawRequest(
  world: TestWorld,
  service: string,
  method: string,
  payload: unknown,
  trace: Record<string, string>,
): Promise<ReplyBody> {
  const address = world.config.services[service]?.addresses?.[0] ?? 'nowhere:0';
  const request: Extract<Envelope, { type: 'request' }> = {
    type: 'request',
    id: 'raw-1',
    service,
    method,
    payload,
    timeoutMs: TIMEOUT_MS,
    ...trace,
  };
  const envelope = encodeEnvelope(request);
  const replyOf = (bytes: Buffer): ReplyBody => decodeEnvelope(bytes) as ReplyBody;
  switch (world.kind) {
    case 'http': {
      const response = await httpRequest(`http://${address}/${service}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...trace },
        body: JSON.stringify(payload),
      });
      const text = await response.body.text();
      return response.statusCode === 200
        ? { ok: true, result: JSON.parse(text) as unknown }
        : { ok: false, error: JSON.parse(text) as never };
    }
    case 'tcp': {
      const { host, port } = parseHostPort(address);
      const socket = net.connect(port, host);
      const decoder = new FrameDecoder(1 << 20);
      try {
        return await new Promise((resolve, reject) => {
          socket.on('error', reject);
          socket.on('data', (chunk) => {
            const [frame] = decoder.push(chunk);
            if (frame !== undefined) resolve(replyOf(frame));
          });
          socket.write(encodeFrame(envelope));
        });
      } finally {
        socket.destroy();
      }
    }
    case 'udp': {
      const { host, port } = parseHostPort(address);
      const socket = dgram.createSocket('udp4');
      try {
        return await new Promise((resolve, reject) => {
          socket.on('error', reject);
          socket.on('message', (datagram) => {
            const message = decodeEnvelope(datagram);
            if (message.type !== 'retry') return resolve(message as ReplyBody);
            socket.send(encodeEnvelope({ ...request, cookie: message.cookie }), port, host);
          });
          socket.send(envelope, port, host);
        });
      } finally {
        socket.close();
      }
    }
    case 'amqp': {
      const connection = await amqp.connect(world.config.amqpUrl);
      try {
        const channel = await connection.createChannel();
        let answered: (body: ReplyBody) => void = () => {};
        const reply = new Promise<ReplyBody>((resolve) => (answered = resolve));
        await channel.consume(
          DIRECT_REPLY_TO,
          (message) => message && answered(JSON.parse(message.content.toString('utf8')) as ReplyBody),
          { noAck: true },
        );
        channel.sendToQueue(
          new Topology(world.config.amqpPrefix).requestQueue(service),
          Buffer.from(JSON.stringify(payload)),
          {
            type: method,
            replyTo: DIRECT_REPLY_TO,
            headers: trace,
            expiration: String(TIMEOUT_MS),
            timestamp: Date.now(),
          },
        );
        return await reply;
      } finally {
        await connection.close();
      }
    }
    case 'nats': {
      const connection = await connectNats({ servers: world.config.natsUrl.split(',') });
      try {
        const headers = natsHeaders();
        for (const [name, value] of Object.entries(trace)) headers.set(name, value);
        headers.set(HEADER_METHOD, method);
        headers.set(HEADER_TIMEOUT_MS, String(TIMEOUT_MS));
        const subject = new Subjects(world.config.natsPrefix).rpc(service);
        const reply = await connection.request(subject, JSON.stringify(payload), { timeout: TIMEOUT_MS, headers });
        return JSON.parse(reply.string()) as ReplyBody;
      } finally {
        await connection.close();
      }
    }
  }
}
