/**
 * TRANSPORT_SECRET on HTTP. Guards against anyone who can reach a service's port (or a
 * subscriber's callback port) calling a method, registering a webhook, or injecting an event:
 * without it, `curl -X POST host:4102/posts/create -d …` stores a forged post.
 *
 * Every request carries `x-chirp-seal`: the 57-byte sealed header of signing.ts (kind,
 * timestamp, nonce, HMAC-SHA256 with the secret), base64url, sealing the request's method,
 * path (with its query) and body bytes. `kind` says where the request goes (SEALED.httpToServer
 * for a service's listener, httpToCallback for a subscriber's callback), so one cannot be
 * replayed as the other. The receiver refuses, with 401 UNAUTHENTICATED and before any
 * handler or JSON parser runs: a request without the header (as soon as its headers arrive,
 * before reading its body), one sealed with another secret or altered, one dated more than
 * ±30 s from its clock, and one whose nonce it has already seen (a captured request sent again).
 *
 * What it does not cover: replies (the caller trusts what comes back on the connection it
 * opened; an attacker on the path could alter them — TLS closes that), the other headers
 * (x-timeout-ms, traceparent), and a captured request replayed once to another replica
 * within the window (nonces are remembered per process, as on TCP and UDP). Nor does it
 * hide anything: the bytes travel in clear unless TCP_TLS_* is set (mutual TLS).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logger.js';
import {
  SEALED_HEADER_BYTES,
  Sealer,
  emptyAuthStats,
  secretBytes,
  type AuthStats,
  type Refusal,
  type SealedKind,
} from '../signing.js';
import { sendError } from './app.js';

export const SEAL_HEADER = 'x-chirp-seal';

/** base64url of SEALED_HEADER_BYTES bytes, unpadded. */
const SEAL_TEXT = new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((SEALED_HEADER_BYTES * 4) / 3)}}$`);

const MESSAGES: Record<Refusal | 'missing', string> = {
  missing: `missing ${SEAL_HEADER}: this endpoint takes only requests signed with TRANSPORT_SECRET`,
  unauthenticated: `${SEAL_HEADER} does not match the request: signed with another TRANSPORT_SECRET, or altered on the way`,
  stale: `${SEAL_HEADER} is dated more than 30 s from this server's clock: check the clocks of both machines`,
  replayed: `${SEAL_HEADER} was already used: each signed request is accepted once`,
};

/** The signing of one HTTP transport: seals what it sends, checks what its servers receive. */
export class HttpSigning {
  /** Undefined without a secret: nothing is signed, nothing is checked. */
  readonly sealer: Sealer | undefined;
  /** Requests refused by this transport's servers, by reason ("missing" counts as unauthenticated). */
  readonly stats: AuthStats = emptyAuthStats();

  constructor(secret: string | undefined) {
    this.sealer = secret === undefined ? undefined : new Sealer(secretBytes(secret));
  }

  /** Append the seal of a request to `headers` (names and values, one after the other). */
  sign(headers: string[], kind: SealedKind, method: string, path: string, body: string | undefined): void {
    if (this.sealer === undefined) return;
    const seal = this.sealer.sealApart(kind, [method, path, body ?? '']);
    headers.push(SEAL_HEADER, seal.toString('base64url'));
  }

  /**
   * Refuse on `app` every request not sealed as `kind`: the header's presence when the request
   * arrives, the seal itself once the body is read (a JSON body is parsed only after it passed).
   */
  guard(app: FastifyInstance, kind: SealedKind, logger: Logger): void {
    const sealer = this.sealer;
    if (sealer === undefined) return;
    const checked = new WeakSet<IncomingMessage>();
    const note = (request: FastifyRequest, reason: Refusal | 'missing'): void => {
      this.stats[reason === 'missing' ? 'unauthenticated' : reason]++;
      const { method, url } = request;
      logger.warn(
        { peer: request.socket.remoteAddress, method, url: url.slice(0, 200), reason },
        'http: refused a request not signed with TRANSPORT_SECRET',
      );
    };
    const refuse = (request: FastifyRequest, reply: FastifyReply, reason: Refusal | 'missing'): void => {
      note(request, reason);
      void sendError(reply, 401, { code: 'UNAUTHENTICATED', message: MESSAGES[reason] });
    };
    const check = (request: FastifyRequest, body: Buffer | string): Refusal | undefined => {
      checked.add(request.raw);
      const header = Buffer.from(request.headers[SEAL_HEADER] as string, 'base64url');
      return sealer.openApart(header, kind, [request.method, request.url, body]);
    };

    app.addHook('onRequest', (request, reply, done) => {
      const seal = request.headers[SEAL_HEADER];
      // Answered without done(): nothing after this hook runs, the body is not read.
      if (typeof seal !== 'string' || !SEAL_TEXT.test(seal)) refuse(request, reply, 'missing');
      else done();
    });
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      const bytes = body as Buffer;
      const refusal = check(request, bytes);
      if (refusal !== undefined) {
        note(request, refusal);
        done(new SealRefused(refusal), undefined);
        return;
      }
      parseJson(request, bytes.toString('utf8'), done);
    });
    // A request without a body (or one no parser took) is checked here, still before its handler.
    app.addHook('preValidation', (request, reply, done) => {
      const refusal = checked.has(request.raw) ? undefined : check(request, '');
      if (refusal !== undefined) refuse(request, reply, refusal);
      else done();
    });
  }
}

/** A body whose seal did not hold: answered 401 by the app's error handler (app.ts). */
export class SealRefused extends Error {
  readonly statusCode = 401;
  readonly code = 'CHIRP_SEAL_REFUSED';
  readonly reason: Refusal;

  constructor(reason: Refusal) {
    super(MESSAGES[reason]);
    this.reason = reason;
  }
}
