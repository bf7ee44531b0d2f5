/**
 * A transport comparison (lib/compare.ts) drawn: per transport, the runs' p50, p99 and mean, and a
 * histogram on a log scale every transport shares, so their shapes can be set side by side; under
 * it, one request per transport hop by hop, with where its time went.
 */
import { COMPARE_ACTIONS, type Comparison, type KindResult } from '../lib/compare';
import { gatherSpans, treeOf } from '../lib/trace-tree';
import { SplitLine, TraceTree } from './TraceTree';

const ms = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;

export async function ComparisonView({ comparison }: { comparison: Comparison }) {
  const action = COMPARE_ACTIONS[comparison.action];
  const { spans } = await gatherSpans(comparison.results.map((r) => r.traceId));
  const [low, high] = [comparison.edgesMs[0], comparison.edgesMs.at(-1)];
  return (
    <section className="comparison" aria-label="Comparison" data-action={comparison.action}>
      <p>
        <strong>{action.label}</strong>, over each transport, the transports taking turns (
        {(comparison.elapsedMs / 1000).toFixed(1)} s in all). <span className="muted">{action.hops}.</span>
      </p>
      <div className="table-wrap">
        <table className="compare" aria-label="Latency by transport">
          <thead>
            <tr>
              <th scope="col">Transport</th>
              <th scope="col" className="num">
                Runs
              </th>
              <th scope="col" className="num">
                p50
              </th>
              <th scope="col" className="num">
                p99
              </th>
              <th scope="col" className="num">
                Mean
              </th>
              <th scope="col">
                Distribution{' '}
                {low !== undefined && high !== undefined && (
                  <span className="muted">
                    ({ms(low)} to {ms(high)}, log scale)
                  </span>
                )}
              </th>
            </tr>
          </thead>
          <tbody>
            {comparison.results.map((result) => (
              <tr key={result.kind} data-kind={result.kind}>
                <th scope="row">
                  <span className={`kind kind-${result.kind}`}>{result.kind.toUpperCase()}</span>
                </th>
                <td className="num" data-runs>
                  {result.runs}
                  {result.errors > 0 && (
                    <span className="problem" title={result.firstError}>
                      {' '}
                      + {result.errors} failed
                    </span>
                  )}
                </td>
                <td className="num" data-p50>
                  {ms(result.p50Ms)}
                </td>
                <td className="num" data-p99>
                  {ms(result.p99Ms)}
                </td>
                <td className="num">{ms(result.meanMs)}</td>
                <td>
                  <Histogram result={result} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ul className="compare-traces">
        {comparison.results.map((result) => {
          const tree = treeOf(spans, result.traceId);
          const label = `One request over ${result.kind.toUpperCase()}`;
          return (
            <li key={result.kind} data-kind={result.kind}>
              <details>
                <summary>
                  <span className={`kind kind-${result.kind}`}>{result.kind.toUpperCase()}</span>{' '}
                  {tree.split ? <SplitLine split={tree.split} /> : 'no spans kept (tracing is off)'}
                </summary>
                {tree.rows.length > 0 && <TraceTree tree={tree} label={label} split={false} />}
              </details>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

const WIDTH = 240;
const HEIGHT = 40;

function Histogram({ result }: { result: KindResult }) {
  const tallest = Math.max(1, ...result.histogram);
  const bar = WIDTH / Math.max(1, result.histogram.length);
  return (
    <svg
      className="histogram"
      style={{ color: `var(--${result.kind})` }}
      width={WIDTH}
      height={HEIGHT}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={`${result.kind.toUpperCase()}: ${result.runs} runs, median ${ms(result.p50Ms)}, 99th percentile ${ms(result.p99Ms)}`}
      data-histogram={result.histogram.join(',')}
    >
      {result.histogram.map((count, i) => {
        const height = count === 0 ? 0 : Math.max(1, (HEIGHT * count) / tallest);
        return <rect key={i} x={i * bar + 0.5} y={HEIGHT - height} width={bar - 1} height={height} />;
      })}
    </svg>
  );
}
