import { describe, expect, it } from 'vitest';
import type { ServiceConfig } from './config.js';
import { expandReplicas, type Lookup } from './replicas.js';

// A name with several replicas cannot be made to resolve for real here without editing the
// machine's hosts file, so a stand-in resolver answers as Docker's DNS would under --scale.
const dockerDns: Lookup = async (host) => {
  const answers: Record<string, { address: string; family: number }[]> = {
    posts: [1, 2, 3].map((n) => ({ address: `172.18.0.${n}`, family: 4 })),
    auth: [{ address: '172.18.0.9', family: 4 }],
    dual: [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ],
  };
  const answer = answers[host];
  if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return answer;
};

describe('expanding a service name into its replicas', () => {
  it('turns a name that resolves to several addresses into one address per replica, same port', async () => {
    const services: Record<string, ServiceConfig> = {
      posts: { addresses: ['posts:4102'], also: { tcp: ['posts:4122'], amqp: [] } },
    };
    await expandReplicas(services, dockerDns);
    expect(services.posts?.addresses).toEqual(['172.18.0.1:4102', '172.18.0.2:4102', '172.18.0.3:4102']);
    expect(services.posts?.also).toEqual({ tcp: ['172.18.0.1:4122', '172.18.0.2:4122', '172.18.0.3:4122'], amqp: [] });
  });

  it('keeps IP literals, single-address names and names that do not resolve as they are', async () => {
    const services: Record<string, ServiceConfig> = {
      follows: { addresses: ['127.0.0.1:4103', '[::1]:4103'] },
      auth: { addresses: ['auth:4101'] },
      notify: { addresses: ['nowhere:4104'] },
    };
    await expandReplicas(services, dockerDns);
    expect(services.follows?.addresses).toEqual(['127.0.0.1:4103', '[::1]:4103']);
    expect(services.auth?.addresses).toEqual(['auth:4101']);
    expect(services.notify?.addresses).toEqual(['nowhere:4104']);
  });

  it('uses one address family, so a name on both IPv4 and IPv6 loopback stays one endpoint', async () => {
    const services: Record<string, ServiceConfig> = { posts: { addresses: ['dual:4102'] } };
    await expandReplicas(services, dockerDns);
    expect(services.posts?.addresses).toEqual(['dual:4102']);
  });

  it('resolves real names with the system resolver', async () => {
    const services: Record<string, ServiceConfig> = { posts: { addresses: ['localhost:4102', '127.0.0.1:4102'] } };
    await expandReplicas(services);
    expect(services.posts?.addresses).toEqual(['localhost:4102', '127.0.0.1:4102']);
  });
});
