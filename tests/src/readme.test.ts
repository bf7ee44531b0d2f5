/**
 * The README's API section is rendered from the contracts, so the docs cannot drift from
 * the code. After changing a contract: `UPDATE_README=1 npx vitest run tests/src/readme.test.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { CONTRACTS, DEFAULT_PORTS, type ServiceContract } from '@chirp/contracts';
import type { TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';

const README = new URL('../../README.md', import.meta.url);
const BEGIN = '<!-- api:begin (rendered from packages/contracts by tests/src/readme.test.ts) -->';
const END = '<!-- api:end -->';

describe('README', () => {
  it('documents every service method and event exactly as the contracts define them', () => {
    const readme = readFileSync(README, 'utf8');
    const start = readme.indexOf(BEGIN);
    const end = readme.indexOf(END);
    expect(start, `README.md needs a section between ${BEGIN} and ${END}`).toBeGreaterThan(-1);
    const rendered = `${BEGIN}\n\n${renderApi()}\n${END}`;
    if (process.env.UPDATE_README) {
      writeFileSync(README, readme.slice(0, start) + rendered + readme.slice(end + END.length));
      return;
    }
    expect(readme.slice(start, end + END.length)).toBe(rendered);
  });
});

function renderApi(): string {
  return Object.values(CONTRACTS as Record<string, ServiceContract>)
    .map((contract) => {
      const lines = [
        `### ${contract.name} (port ${DEFAULT_PORTS[contract.name]}, admin ${DEFAULT_PORTS[contract.name]! + 1000})`,
        '',
        '| method | request | reply | what it does |',
        '| ------ | ------- | ----- | ------------ |',
      ];
      for (const [method, spec] of Object.entries(contract.methods)) {
        lines.push(`| \`${method}\` | ${shape(spec.request)} | ${shape(spec.reply)} | ${spec.summary ?? ''} |`);
      }
      for (const [topic, schema] of Object.entries(contract.events)) {
        lines.push(`| event \`${topic}\` | | ${shape(schema)} | published to every subscriber |`);
      }
      return `${lines.join('\n')}\n`;
    })
    .join('\n');
}

/** `{ username, password, idempotencyKey? }`: the top-level fields of an object schema. */
function shape(schema: TSchema): string {
  const properties = schema.properties as Record<string, TSchema> | undefined;
  if (!properties) return '';
  const required = new Set<string>((schema.required as string[] | undefined) ?? []);
  const fields = Object.keys(properties).map((k) => (required.has(k) ? k : `${k}?`));
  return fields.length ? `\`{ ${fields.join(', ')} }\`` : '`{}`';
}
