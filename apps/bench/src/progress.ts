/**
 * The progress display: one line per measured case on stderr, with its result, so a long
 * run shows where it is and what it is finding. Silent in tests.
 */
export interface Progress {
  section(title: string): void;
  line(text: string): void;
}

export const silentProgress: Progress = { section() {}, line() {} };

export function stderrProgress(startedAt = Date.now()): Progress {
  const stamp = (): string => `[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s]`;
  return {
    section: (title) => process.stderr.write(`\n${stamp()} ${title}\n`),
    line: (text) => process.stderr.write(`${stamp()}   ${text}\n`),
  };
}
