/**
 * The contract binding on every transport: typed calls reach the implementation, and
 * input that breaks the contract is refused at the server boundary with INVALID_ARGUMENT
 * naming the field — the same way whatever carried it.
 */
import { TRANSPORT_KINDS, TransportError } from '@chirp/transport';
import { TestWorld, eventually } from '@chirp/transport/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auth } from './auth.js';
import { client, handlersFor, publish, subscribe, type Implementation } from './bind.js';
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
  ])('refuses %j with INVALID_ARGUMENT naming the field, before the implementation runs', async (request, message) => {
    const caller = client(world.transport(), auth) as unknown as Record<string, (r: unknown) => Promise<unknown>>;
    const err = (await caller.signUp!(request).catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(message);
    expect(calls).toEqual([]);
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
});
