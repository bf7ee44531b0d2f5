/** POST /api/posts {text, idempotencyKey?} → 201 {post}: publish a post of at most 141 characters. */
import { randomUUID } from 'node:crypto';
import { apiRoute, invalid, json, optionalTextField, readJson, requireApiViewer, textField } from '../../../lib/api';
import { postProblem } from '../../../lib/input';

export const dynamic = 'force-dynamic';

export const POST = apiRoute(async (request) => {
  const body = await readJson(request);
  const text = textField(body, 'text');
  const problem = postProblem(text);
  if (problem !== undefined) throw invalid(problem);
  const viewer = await requireApiViewer(request, 'post');
  const { post } = await viewer.call.posts.create({
    authorId: viewer.user.id,
    authorUsername: viewer.user.username,
    text,
    idempotencyKey: optionalTextField(body, 'idempotencyKey') ?? randomUUID(),
  });
  return json(201, { post });
});
