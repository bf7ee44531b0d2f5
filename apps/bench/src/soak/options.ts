/**
 * The soak's command line: `npm run soak -- --minutes=N --transport=X[,Y] --clients=M`, plus
 * AMQP_URL and BENCH_POSTGRES_URL from the environment as for the benchmark. The whole object
 * goes into the soak's results.json.
 */
import { STACK_TRANSPORTS, type StackTransport } from '../stack/stack.js';
import { DEFAULT_POSTGRES_URL } from '../stack/databases.js';

export interface SoakOptions {
  minutes: number;
  transports: StackTransport[];
  /** WebSocket clients, each a signed-in user watching their live timeline. */
  clients: number;
  /** Requests per second of the social mix, through the web API. */
  rate: number;
  /** Users in the generated graph (the clients are among them). */
  users: number;
  /** Progress and /proc samples this often. */
  sampleEveryMs: number;
  amqpUrl: string;
  postgresUrl: string;
  /** Where the soak-<timestamp> folder is made (default: bench/results at the repository root). */
  outDir: string | null;
}

export const SOAK_USAGE = `Usage: npm run soak -- [options]

  --minutes=N          how long each transport is soaked (default 10; fractions allowed)
  --transport=LIST     of ${STACK_TRANSPORTS.join(', ')} (default tcp), one after another
  --clients=M          WebSocket clients watching their live timeline (default 300)
  --rate=R             requests per second of the social mix through the web API (default 40)
  --users=U            users in the generated graph (default: clients + 100, at least 200)
  --out=DIR            write soak-<timestamp>/ under DIR instead of bench/results
  --help               this text

Environment: AMQP_URL (default amqp://guest:guest@127.0.0.1:5672), BENCH_POSTGRES_URL (default
${DEFAULT_POSTGRES_URL}).`;

export class SoakUsageError extends Error {
  override readonly name = 'SoakUsageError';
}

export function parseSoakArgs(argv: string[], env: Record<string, string | undefined>): SoakOptions | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const options: SoakOptions = {
    minutes: 10,
    transports: ['tcp'],
    clients: 300,
    rate: 40,
    users: 0,
    sampleEveryMs: 5_000,
    amqpUrl: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    postgresUrl: env.BENCH_POSTGRES_URL ?? DEFAULT_POSTGRES_URL,
    outDir: null,
  };
  for (const arg of argv) {
    const match = /^--([a-z]+)=(.+)$/.exec(arg);
    if (match === null) throw new SoakUsageError(`unknown argument ${JSON.stringify(arg)}`);
    const [, flag, value] = match as unknown as [string, string, string];
    switch (flag) {
      case 'minutes':
        options.minutes = positive(value, arg, false);
        break;
      case 'transport':
      case 'transports':
        options.transports = value.split(',').map((t) => {
          const kind = t.trim().toLowerCase() as StackTransport;
          if (!STACK_TRANSPORTS.includes(kind))
            throw new SoakUsageError(`${arg}: ${t} is not one of ${STACK_TRANSPORTS.join(', ')}`);
          return kind;
        });
        break;
      case 'clients':
        options.clients = positive(value, arg, true);
        break;
      case 'rate':
        options.rate = positive(value, arg, false);
        break;
      case 'users':
        options.users = positive(value, arg, true);
        break;
      case 'out':
        options.outDir = value;
        break;
      default:
        throw new SoakUsageError(`unknown option --${flag}`);
    }
  }
  options.users = Math.max(options.users || options.clients + 100, options.clients, 200);
  return options;
}

function positive(value: string, arg: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new SoakUsageError(`${arg}: ${JSON.stringify(value)} is not a positive ${integer ? 'integer' : 'number'}`);
  }
  return n;
}
