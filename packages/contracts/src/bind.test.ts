/**
 * The contract binding on every transport: typed calls reach the implementation, and
 * input that breaks the contract is refused at the server boundary with INVALID_ARGUMENT
 * naming the field — the same way whatever carried it. Idempotent methods ride out a
 * service that is briefly unavailable; the others fail at once. An implementation's refusals
 * (DomainError) reach the caller with their code and words; its bugs only as INTERNAL.
 */
import { TRANSPORT_KINDS, TransportError } from '@chirp/transport';
import { TestWorld, eventually, failure, sleep } from '@chirp/transport/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auth } from './auth.js';
import { client, handlersFor, publish, subscribe, type Implementation } from './bind.js';
import { DomainError } from './domain-error.js';
import { follows } from './follows.js';
import { posts } from './posts.js';

const user = { id: 'u1', username: 'alice', createdAt: '2026-11-22T10:00:00.000Z' };

describe.each(TRANSPORT_KINDS)('contracts over %s', (kind) => {
  let world: TestWorld;
  let calls: unknown[];

  beforeEach(async () => {
    world = new TestWorld(kind);
    calls = [];
    const implementation = {
      signUp: (request) => {
        calls.push(request);
        return { user: { ...user, username: request.username.toLowerCase() } };
      },
    } as Partial<Implementation<typeof auth>> as Implementation<typeof auth>;
    await world.serve('auth', handlersFor(auth, implementation));
  });
  afterEach(() => world.close());

  it('calls a method with a typed request and gets the typed reply', async () => {
    const reply = await client(world.transport(), auth).signUp({ username: 'Alice', password: 'correct horse' });
    expect(reply.user.username).toBe('alice');
    expect(calls).toEqual([{ username: 'Alice', password: 'correct horse' }]);
  });

  it.each([
    [{ username: 'al', password: 'correct horse' }, /auth\.signUp: username: .*3/],
    [{ username: 'alice!', password: 'correct horse' }, /username/],
    [{ username: 'alice', password: 'short' }, /password/],
    [{ username: 'alice' }, /password/],
    [{ username: 'alice', password: 'correct horse', admin: true }, /admin|additional/i],
    ['not an object', /auth\.signUp: .*object/i],
    // bcrypt stops at a NUL: 'abcd\0abcd' would be the password 'abcd', under the minimum.
    [{ username: 'alice', password: 'abcd\0abcd' }, /auth\.signUp: password: must not contain NUL/],
    [{ username: 'alice', password: '\0'.repeat(8) }, /password: must not contain NUL/],
    [{ username: 'alice', password: 'lone \ud800 half' }, /password: .*unpaired surrogate/],
  ])('refuses %j with INVALID_ARGUMENT naming the field, before the implementation runs', async (request, message) => {
    const caller = client(world.transport(), auth) as unknown as Record<string, (r: unknown) => Promise<unknown>>;
    const err = (await caller.signUp!(request).catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(message);
    expect(calls).toEqual([]);
  });

  it("sends an implementation's DomainError as the same code and words, thrown or rejected; any other error as INTERNAL", async () => {
    const implementation = {
      get: ({ id }: { id: string }) => {
        if (id === 'thrown') throw new DomainError('NOT_FOUND', 'no post thrown');
        if (id === 'busy')
          return Promise.reject(new DomainError('RESOURCE_EXHAUSTED', 'slow down', { retryAfterS: 7 }));
        return Promise.reject(new Error('secret database detail'));
      },
    };
    await world.serve(
      'posts',
      handlersFor(posts, implementation as Partial<Implementation<typeof posts>> as Implementation<typeof posts>),
    );
    const caller = client(world.transport(), posts);
    const thrown = await failure(caller.get({ id: 'thrown' }));
    expect(thrown).toBeInstanceOf(TransportError);
    expect([thrown.code, thrown.message]).toEqual(['NOT_FOUND', 'no post thrown']);
    const busy = await failure(caller.get({ id: 'busy' }, { timeoutMs: 300 }));
    expect([busy.code, busy.message, busy.retryAfterS]).toEqual(['RESOURCE_EXHAUSTED', 'slow down', 7]);
    const bug = await failure(caller.get({ id: 'bug' }));
    expect(bug.code).toBe('INTERNAL');
    expect(bug.message).not.toMatch(/secret/);
  });

  it('checks events against the contract on both sides', async () => {
    const publisher = world.transport();
    await world.serve('posts', {}, publisher);
    const received: unknown[] = [];
    await subscribe(world.transport(), posts, 'post.created', (event) => void received.push(event.post.text));
    const post = { id: 'p1', authorId: 'u1', authorUsername: 'alice', text: 'hello', createdAt: user.createdAt };
    await publish(publisher, posts, 'post.created', { post, traceId: 't1' });
    await expect(
      publish(publisher, posts, 'post.created', { post: { ...post, text: 7 } } as never),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await eventually(() => expect(received).toEqual(['hello']));
  });

  it('retries an idempotent method while its service is unavailable, within the deadline; not the others', async () => {
    const caller = world.transport();
    await world.unreachable('follows');
    const address = world.config.services.follows!.addresses![0]!;
    const counts = client(caller, follows).counts({ userId: 'u1' }, { timeoutMs: 10_000 });
    await sleep(300); // a few failed attempts
    const implementation = { counts: () => ({ followers: 1, following: 2 }) };
    await world.serve(
      'follows',
      handlersFor(follows, implementation as Partial<Implementation<typeof follows>> as Implementation<typeof follows>),
      world.transport(),
      address,
    );
    expect(await counts).toEqual({ followers: 1, following: 2 });

    await world.unreachable('posts');
    let started = Date.now();
    const read = await failure(client(caller, posts).get({ id: 'p1' }, { timeoutMs: 600 }));
    expect(read.code).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(2_000); // retries stop at the deadline (600 ms, + a loaded machine)
    started = Date.now();
    const write = client(caller, posts).create(
      { authorId: 'u1', authorUsername: 'alice', text: 'hi' },
      { timeoutMs: 5_000 },
    );
    expect((await failure(write)).code).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(1_000); // not retried: the caller decides, with an idempotency key
  });
});
