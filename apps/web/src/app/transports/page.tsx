/**
 * Transports: which transport each service is reached on right now (this web process's
 * TRANSPORT / <SERVICE>_TRANSPORT and addresses), and for the viewer's last few actions each
 * call the web app made — service, method, transport, when it started and how long it took —
 * drawn as a waterfall. The comparison the benchmark makes with numbers, made visible.
 */
import type { Metadata } from 'next';
import Link from 'next/link';
import { webConfig } from '../../lib/config';
import { SERVICES, transport } from '../../lib/services';
import { pageViewer } from '../../lib/session';
import { recentActions, type ActionTrace } from '../../lib/traces';
import { attempt } from '../../lib/attempt';
import { Problem } from '../../components/Problem';

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
                    <code>
                      {kind === 'amqp'
                        ? `RabbitMQ ${brokerHost(routed.config.amqpUrl)}, queues ${routed.config.amqpPrefix}.*`
                        : (routed.config.services[service]?.addresses ?? []).join(', ')}
                    </code>
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

      <h2>Your last actions</h2>
      <p className="muted">
        Each action has one trace id, sent with every call it makes. Shown here: the calls this web server made, with
        the time each took end to end. Calls the services made in turn (posts → follows, …) carry the same id: find them
        in the services&apos; logs.
      </p>
      {!signedIn.ok ? (
        <Problem message={signedIn.message} />
      ) : signedIn.value === null ? (
        <p>
          <Link href="/login">Log in</Link> to see the trace of each of your actions.
        </p>
      ) : (
        <Traces
          actions={recentActions(signedIn.value.token).filter((a) => a.traceId !== signedIn.value?.call.trace.traceId)}
        />
      )}
    </>
  );
}

function Traces({ actions }: { actions: ActionTrace[] }) {
  if (actions.length === 0) return <p className="empty">No actions yet: post, follow or search, then come back.</p>;
  return (
    <ol className="traces">
      {actions.map((action) => {
        const total = Math.max(1, ...action.hops.map((h) => h.startMs + h.ms));
        return (
          <li key={action.traceId} className="trace">
            <div className="trace-head">
              <strong>{action.action}</strong>
              <span className="muted">
                {TIME.format(new Date(action.startedAt))} UTC · {total.toFixed(1)} ms · trace{' '}
                <code>{action.traceId}</code>
              </span>
            </div>
            <div className="table-wrap">
              <table className="hops" aria-label={`Calls for ${action.action}`}>
                <thead>
                  <tr>
                    <th scope="col">Call</th>
                    <th scope="col">Transport</th>
                    <th scope="col" className="num">
                      Time
                    </th>
                    <th scope="col">Result</th>
                    <th scope="col" className="bar-col">
                      <span className="visually-hidden">Timeline</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {action.hops.map((hop, i) => (
                    <tr key={i}>
                      <td>
                        <code>
                          {hop.service}.{hop.method}
                        </code>
                      </td>
                      <td>
                        <span className={`kind kind-${hop.transport}`}>{hop.transport.toUpperCase()}</span>
                      </td>
                      <td className="num">{hop.ms.toFixed(1)} ms</td>
                      <td className={hop.outcome === 'OK' ? 'ok' : 'failed'}>{hop.outcome}</td>
                      <td className="bar-col" aria-hidden="true">
                        <span
                          className={`bar kind-${hop.transport}`}
                          style={{
                            marginLeft: `${(100 * hop.startMs) / total}%`,
                            width: `${Math.max(1, (100 * hop.ms) / total)}%`,
                          }}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </li>
        );
      })}
    </ol>
  );
}

/** host:port of the broker, without the credentials an AMQP URL carries. */
function brokerHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'broker';
  }
}
