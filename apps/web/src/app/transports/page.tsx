/**
 * Transports: which transport each service is reached on right now (this web process's
 * TRANSPORT / <SERVICE>_TRANSPORT and addresses), and for the viewer's last few actions the
 * whole trace of each — every span from every process it crossed (the web request, each call on
 * both sides, each query, the event to notify, the push to each follower's socket), with where
 * the request's time went. The comparison the benchmark makes with numbers, made visible — and
 * made on the spot: one of the viewer's actions run over every transport in turn (lib/compare.ts).
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { TRANSPORTS } from '@chirp/transport';
import { webConfig } from '../../lib/config';
import { SERVICES, transport } from '../../lib/services';
import { pageViewer } from '../../lib/session';
import { recentActions, type ActionTrace } from '../../lib/traces';
import { gatherSpans, treeOf } from '../../lib/trace-tree';
import { attempt } from '../../lib/attempt';
import { BUDGET_PER_TRANSPORT_MS, COMPARE_ACTIONS, comparableKinds, latestComparison } from '../../lib/compare';
import type { Viewer } from '../../lib/viewer';
import { CompareForm } from '../../components/CompareForm';
import { ComparisonView } from '../../components/ComparisonView';
import { Problem } from '../../components/Problem';
import { TraceTree } from '../../components/TraceTree';

export const metadata: Metadata = { title: 'Transports' };

const TIME = new Intl.DateTimeFormat('en-GB', { timeStyle: 'medium', timeZone: 'UTC' });

export default async function TransportsPage() {
  const routed = transport();
  const signedIn = await attempt(() => pageViewer('view transports'));

  return (
    <>
      <h1>Transports</h1>
      <p className="muted">
        Every call from this web server to a service goes through one transport interface. Which one is set by{' '}
        <code>TRANSPORT</code> (one for all, or a preset such as <code>mixed</code>) and{' '}
        <code>&lt;SERVICE&gt;_TRANSPORT</code> per service.
      </p>
      <div className="table-wrap">
        <table className="transports" aria-label="Service transports">
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Transport</th>
              <th scope="col">Reached at</th>
            </tr>
          </thead>
          <tbody>
            {SERVICES.map((service) => {
              const kind = routed.kindOf(service);
              return (
                <tr key={service} data-service={service}>
                  <th scope="row">{service}</th>
                  <td>
                    <span className={`kind kind-${kind}`}>{kind.toUpperCase()}</span>
                  </td>
                  <td>
                    <code>{TRANSPORTS[kind].where(routed.config, service)}</code>
                  </td>
                </tr>
              );
            })}
            <tr data-service="notify">
              <th scope="row">notify</th>
              <td>
                <span className="kind kind-ws">WEBSOCKET</span>
              </td>
              <td>
                <code>{webConfig().notifyUrl}</code> for browsers; new posts reach it as events over{' '}
                <span className={`kind kind-${routed.eventsKindOf('posts')}`}>
                  {routed.eventsKindOf('posts').toUpperCase()}
                </span>
              </td>
            </tr>
          </tbody>
        </table>
      </div>

      <h2>Compare them</h2>
      <Compare signedIn={signedIn.ok ? signedIn.value : null} />

      <h2>Your last actions</h2>
      <p className="muted">
        Each action is one trace (W3C Trace Context, carried by every transport): below, every span it left in every
        process — the web request, each call as its caller and its handler saw it, each database query, and for a post
        the event to notify and the push to each follower&apos;s open page. &ldquo;Hop&rdquo; is a call&apos;s time
        minus its handler&apos;s: what the transport itself cost.
      </p>
      {!signedIn.ok ? (
        <Problem message={signedIn.message} />
      ) : signedIn.value === null ? (
        <p>
          <Link href="/login">Log in</Link> to see the trace of each of your actions.
        </p>
      ) : (
        <Traces
          actions={recentActions(signedIn.value.token).filter(
            (a) => a.traceId !== signedIn.value?.call.trace.traceId && a.action !== 'compare transports',
          )}
        />
      )}
    </>
  );
}

function Compare({ signedIn }: { signedIn: Viewer | null }) {
  const kinds = comparableKinds();
  if (kinds.length < 2) {
    return (
      <p className="muted">
        To compare the transports here, the services must serve more than one: start them with{' '}
        <code>COMPARE_TRANSPORTS=http,tcp,udp,amqp</code> (<code>npm start</code> does).
      </p>
    );
  }
  const latest = signedIn === null ? undefined : latestComparison(signedIn.token);
  return (
    <>
      <p className="muted">
        The services also serve {kinds.map((k) => k.toUpperCase()).join(', ')} side by side. Run one of your own actions
        over each in turn — every hop of it, the services&apos; calls to each other included — and see the latency
        distributions next to each other, with one request of each taken apart hop by hop.
      </p>
      {signedIn === null ? (
        <p>
          <Link href="/login">Log in</Link> to compare the transports on your own timeline.
        </p>
      ) : (
        <CompareForm
          kinds={kinds}
          maxSeconds={Math.ceil((kinds.length * BUDGET_PER_TRANSPORT_MS) / 1000) + kinds.length}
          actions={Object.entries(COMPARE_ACTIONS).map(([name, a]) => ({ name, label: a.label, runs: a.runs }))}
        />
      )}
      {latest && <ComparisonView comparison={latest} />}
    </>
  );
}

async function Traces({ actions }: { actions: ActionTrace[] }) {
  if (actions.length === 0) return <p className="empty">No actions yet: post, follow or search, then come back.</p>;
  const { spans, unreachable } = await gatherSpans(actions.map((action) => action.traceId));
  return (
    <>
      {unreachable.length > 0 && (
        <p className="muted" role="status">
          Not shown: the spans kept by {unreachable.join(', ')} (the admin port did not answer; see{' '}
          <code>&lt;SERVICE&gt;_ADMIN_ADDR</code>).
        </p>
      )}
      <ol className="traces">
        {actions.map((action) => {
          const tree = treeOf(spans, action.traceId);
          return (
            <li key={action.traceId} className="trace" data-trace={action.traceId}>
              <div className="trace-head">
                <strong>{action.action}</strong>
                <span className="muted">
                  {TIME.format(new Date(action.startedAt))} UTC · trace <code>{action.traceId}</code>
                </span>
              </div>
              {tree.rows.length === 0 ? (
                <p className="muted">No spans kept for this action (tracing is off, or it was not sampled).</p>
              ) : (
                <TraceTree tree={tree} label={action.action} />
              )}
            </li>
          );
        })}
      </ol>
    </>
  );
}

/** host:port of the broker, without the credentials an AMQP URL carries. */
