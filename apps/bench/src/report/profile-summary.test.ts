import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeProfileSummary } from './profile-summary.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('profile summary', () => {
  it('says per process where the busy time went, by area and by function, idle left out', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'chirp-profiles-'));
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(idle)') },
        { id: 2, callFrame: frame('parse', 'file:///repo/node_modules/pg-protocol/dist/parser.js', 9) },
        { id: 3, callFrame: frame('decodeEnvelope', 'file:///repo/packages/transport/dist/envelope.js', 40) },
        { id: 4, callFrame: frame('(garbage collector)') },
      ],
      samples: [1, 2, 2, 3, 4, 1],
      timeDeltas: [0, 100_000, 1_000, 1_000, 1_000, 1_000, 1_000],
    };
    await writeFile(path.join(dir, 'posts.cpuprofile'), JSON.stringify(profile));
    const summary = await readFile((await writeProfileSummary(dir))!, 'utf8');
    expect(summary).toContain('## posts — 0.0 s busy');
    expect(summary).toContain('| pg-protocol | 50.0% |');
    expect(summary).toContain('| chirp transport | 25.0% |');
    expect(summary).toContain('| (garbage collector) | 25.0% |');
    expect(summary).toContain('| parse (parser.js:10) — pg-protocol | 50.0% |');
    expect(summary).not.toContain('(idle)');
  });

  it('writes nothing when no process was profiled', async () => {
    expect(await writeProfileSummary(await mkdtemp(path.join(tmpdir(), 'chirp-profiles-')))).toBeUndefined();
  });
});
