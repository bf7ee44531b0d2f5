/**
 * No cluster runs here, so the Kubernetes manifests (deploy/k8s) are proven offline: each overlay
 * is rendered by the real `kubectl kustomize`, every object is validated against the Kubernetes
 * API schemas (kubernetes-models), and each container is held to docker-compose.yml — the same
 * image, command and environment compose gives it (those compose.test.ts runs the services with),
 * apart from the differences listed below — so compose, Kubernetes and the tests cannot drift.
 *
 * kubernetes-models checks types, required fields and enumerations, not unknown field names;
 * the assertions below check by name every field that matters to Chirp.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chirpTransportConfig, CONTRACTS } from '@chirp/contracts';
import { TRANSPORTS, type TransportKind } from '@chirp/transport';
import { Deployment, StatefulSet, type IDeployment, type IStatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import {
  ConfigMap,
  Service,
  type IConfigMap,
  type IContainer,
  type IPodSpec,
  type IService,
} from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { compose, containerEnv } from './compose-file.js';
import { ROOT } from './processes.js';

const K8S = new URL('deploy/k8s/', ROOT);
const OVERLAYS = ['http', 'amqp', 'tcp', 'udp', 'nats', 'mixed'] as const;
/** Chirp's own processes, one Deployment each, named as in compose. */
const CHIRP = ['auth', 'follows', 'posts', 'notify', 'web'] as const;
/** The servers compose runs beside them: a Deployment or StatefulSet each, named as in compose. */
const INFRASTRUCTURE = ['postgres', 'rabbitmq', 'nats', 'jaeger'] as const;
/** compose's other services, and what stands for each here. */
const NOT_DEPLOYED: Record<string, string> = {
  'transport-secret': 'the Secret `chirp` holds the transport secret',
  prometheus: "the cluster's own Prometheus scrapes the admin ports (prometheus.io/* pod annotations)",
};
/** The one image compose builds (`image: chirp`), as the manifests name it. */
const IMAGE = 'chirp:latest';

/** What Kubernetes takes from the Secret `chirp`: compose's variables of the same names. */
const FROM_SECRET: Record<string, string> = {
  TRANSPORT_SECRET: 'transport-secret',
  POSTGRES_PASSWORD: 'postgres-password',
  RABBITMQ_PASSWORD: 'rabbitmq-password',
};
const secretValue = (name: string, key: string) => `<Secret ${name}, key ${key}>`;

/**
 * The only differences allowed between a container's environment and compose's, per container
 * ('chirp': each of CHIRP), and why. Host names need none: the Services are named as compose's.
 */
const ONLY_IN_COMPOSE: Record<string, Record<string, string>> = {
  chirp: {
    TRANSPORT_SECRET_FILE: "compose's generated secret, in a volume; here TRANSPORT_SECRET comes from the Secret",
  },
};
const ONLY_IN_KUBERNETES: Record<string, Record<string, string>> = {
  chirp: {
    POSTGRES_PASSWORD: 'compose interpolates it into DATABASE_URL; here it is read from the Secret and spliced in',
    RABBITMQ_PASSWORD: 'compose interpolates it into AMQP_URL; here it is read from the Secret and spliced in',
  },
  postgres: { PGDATA: "a directory below the volume's root, which may hold lost+found" },
};

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string } } & Record<string, unknown>;
type Workload = IDeployment | IStatefulSet;

/** A schema per kind the manifests use; a kind missing here fails the test rather than going unchecked. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
};

const rendered = new Map<string, K8sObject[]>();

/** The overlay as `kubectl kustomize` renders it (once; a failure fails every test that needs it). */
function render(overlay: string): K8sObject[] {
  let objects = rendered.get(overlay);
  if (objects === undefined) {
    const dir = fileURLToPath(new URL(`overlays/${overlay}`, K8S));
    const yaml = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    objects = parseAllDocuments(yaml).map((document) => document.toJS() as K8sObject);
    rendered.set(overlay, objects);
  }
  return objects;
}

function find<T>(objects: K8sObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in the rendered overlay`);
  return found as unknown as T;
}

function workload(objects: K8sObject[], name: string): Workload {
  const found = objects.find((o) => ['Deployment', 'StatefulSet'].includes(o.kind) && o.metadata.name === name);
  if (found === undefined) throw new Error(`no Deployment or StatefulSet ${name} in the rendered overlay`);
  return found as unknown as Workload;
}

const composeService = (name: string) => compose.services[name]!;
const podOf = (w: Workload): IPodSpec => w.spec!.template.spec!;
/** The container named like its workload (compose's service). */
const mainContainer = (w: Workload): IContainer => podOf(w).containers.find((c) => c.name === w.metadata!.name)!;

/**
 * The environment Kubernetes gives the container: its envFrom ConfigMaps, then env in order,
 * `$(VAR)` expanded from the variables defined before it (as the kubelet does), a Secret's
 * value shown as `<Secret name, key key>`.
 */
function environmentOf(container: IContainer, objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef === undefined) throw new Error(`${container.name}: envFrom other than a ConfigMap`);
    Object.assign(env, find<IConfigMap>(objects, 'ConfigMap', source.configMapRef.name!).data);
  }
  for (const { name, value, valueFrom } of container.env ?? []) {
    if (valueFrom?.secretKeyRef) env[name] = secretValue(valueFrom.secretKeyRef.name!, valueFrom.secretKeyRef.key);
    else if (valueFrom?.configMapKeyRef) {
      const { name: map, key } = valueFrom.configMapKeyRef;
      env[name] = find<IConfigMap>(objects, 'ConfigMap', map!).data![key]!;
    } else if (valueFrom !== undefined)
      throw new Error(`${container.name}: ${name} from neither a Secret nor a ConfigMap`);
    else env[name] = (value ?? '').replace(/\$\((\w+)\)/g, (ref, variable: string) => env[variable] ?? ref);
  }
  return env;
}

/** What compose gives the same container for TRANSPORT=overlay, its variables from the Secret as here. */
function composeEnvironment(service: string, overlay: string): Record<string, string> {
  const vars = Object.fromEntries(Object.entries(FROM_SECRET).map(([name, key]) => [name, secretValue('chirp', key)]));
  return containerEnv(service, { ...vars, TRANSPORT: overlay });
}

function without(env: Record<string, string>, ...lists: (Record<string, string> | undefined)[]) {
  const left = { ...env };
  for (const name of lists.flatMap((list) => Object.keys(list ?? {}))) delete left[name];
  return left;
}

/** A container port by number or name, as a probe names it. */
function portNumber(container: IContainer, port: number | string | undefined): number | undefined {
  return typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
}

/** `port/PROTOCOL` for each port listed, sorted. */
const portSet = (ports: { port?: number; containerPort?: number; protocol?: string }[] | undefined) =>
  (ports ?? []).map((p) => `${p.containerPort ?? p.port}/${p.protocol ?? 'TCP'}`).sort();

/**
 * Where `service` listens with this environment, worked out from the transport config itself: its
 * own transport and its events' at its address, and each COMPARE_TRANSPORTS one at its own address;
 * nothing for a brokered transport (AMQP, NATS name their queues and subjects after the service).
 */
function listeningPorts(service: string, env: Record<string, string>): string[] {
  const config = chirpTransportConfig({ ...env, TRANSPORT_SECRET: '' }).services[service]!; // where, not how it signs
  const at = (addresses: string[] | undefined) => Number(addresses?.[0]?.split(':').pop());
  const listens = new Map<TransportKind, number>();
  for (const kind of [config.transport!, config.events ?? config.transport!]) listens.set(kind, at(config.addresses));
  for (const [kind, addresses] of Object.entries(config.also ?? {})) listens.set(kind as TransportKind, at(addresses));
  return [...listens]
    .filter(([kind]) => !TRANSPORTS[kind].brokered)
    .map(([kind, port]) => `${port}/${kind === 'udp' ? 'UDP' : 'TCP'}`) // the one kind on datagrams
    .sort();
}

describe.each(OVERLAYS)('deploy/k8s/overlays/%s', (overlay) => {
  const objects = () => render(overlay);

  it('renders with kubectl kustomize into objects that validate against the Kubernetes API schemas', () => {
    const problems = objects().flatMap((object) => {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      if (Model === undefined) return [`${object.kind} ${object.metadata.name}: no schema for ${object.apiVersion}`];
      try {
        new Model(object as never).validate();
        return [];
      } catch (err) {
        return [`${object.kind} ${object.metadata.name}: ${(err as Error).message}`];
      }
    });
    expect(problems).toEqual([]);
    const services = [...CHIRP, ...INFRASTRUCTURE];
    expect([...services, ...Object.keys(NOT_DEPLOYED)].sort()).toEqual(Object.keys(compose.services).sort());
    for (const name of services) {
      expect(workload(objects(), name), name).toBeDefined();
      expect(find<IService>(objects(), 'Service', name), name).toBeDefined();
    }
  });

  it.each(CHIRP)(
    `runs %s with the image, command and environment compose gives it for TRANSPORT=${overlay}`,
    (name) => {
      const container = mainContainer(workload(objects(), name));
      const service = compose.services[name]!;
      expect(container.image).toBe(IMAGE);
      expect(service.image).toBe(IMAGE.split(':')[0]);
      // compose's `command` replaces the image's CMD and keeps its entrypoint, as `args` does here.
      expect(container.command).toBeUndefined();
      expect(container.args).toEqual(service.command);
      expect(container.workingDir).toEqual(service.working_dir);

      const env = environmentOf(container, objects());
      expect(env.TRANSPORT).toBe(overlay);
      expect(env.TRANSPORT_SECRET).toBe(secretValue('chirp', 'transport-secret'));
      expect(Object.keys(env)).toEqual(expect.arrayContaining(Object.keys(ONLY_IN_KUBERNETES.chirp!)));
      const expected = composeEnvironment(name, overlay);
      expect(Object.keys(expected)).toEqual(expect.arrayContaining(Object.keys(ONLY_IN_COMPOSE.chirp!)));
      expect(without(env, ONLY_IN_KUBERNETES.chirp)).toEqual(without(expected, ONLY_IN_COMPOSE.chirp));
    },
  );

  it.each(INFRASTRUCTURE)(
    'runs %s with the image, arguments, environment and health check compose gives it',
    (name) => {
      const container = mainContainer(workload(objects(), name));
      const service = compose.services[name]!;
      expect(container.image).toBe(service.image);
      expect(container.command).toBeUndefined();
      expect(container.args).toEqual(service.command);
      expect(without(environmentOf(container, objects()), ONLY_IN_KUBERNETES[name])).toEqual(
        composeEnvironment(name, overlay),
      );
      const [form, ...test] = service.healthcheck?.test ?? [];
      const probe = container.readinessProbe?.exec?.command;
      if (form === 'CMD') expect(probe).toEqual(test);
      else if (form === 'CMD-SHELL') expect(probe).toEqual(['sh', '-c', ...test]);
      else expect(form, `${name} has a compose healthcheck of a form this test knows`).toBeUndefined();
    },
  );

  it('probes every service on its admin port: ready on /readyz, alive on /healthz; the web app alive on /healthz, ready once it accepts', () => {
    for (const name of CHIRP) {
      const container = mainContainer(workload(objects(), name));
      const env = environmentOf(container, objects());
      const ready = container.readinessProbe;
      const alive = container.livenessProbe;
      if (name === 'web') {
        const port = Number(composeService(name).command![composeService(name).command!.indexOf('--port') + 1]);
        expect(portNumber(container, ready?.tcpSocket?.port), 'web readiness: its port accepts').toBe(port);
        expect(alive?.httpGet?.path).toBe('/healthz');
        expect(portNumber(container, alive?.httpGet?.port), 'web liveness: its admin port').toBe(4000);
        continue;
      }
      expect(ready?.httpGet?.path, name).toBe('/readyz');
      expect(portNumber(container, ready?.httpGet?.port), name).toBe(Number(env.ADMIN_PORT));
      expect(alive?.httpGet?.path, name).toBe('/healthz');
      expect(portNumber(container, alive?.httpGet?.port), name).toBe(Number(env.ADMIN_PORT));
    }
  });

  it('runs every container as a non-root user without privileges, with CPU and memory requests and limits', () => {
    for (const name of [...CHIRP, ...INFRASTRUCTURE]) {
      const pod = podOf(workload(objects(), name));
      expect(pod.enableServiceLinks, `${name}: no injected *_PORT variables beside the listed env`).toBe(false);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const where = `${name}/${container.name}`;
        const nonRoot = container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
        const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
        expect(nonRoot, where).toBe(true);
        expect(user, where).toBeGreaterThan(0);
        expect(container.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(container.securityContext?.capabilities?.drop, where).toEqual(['ALL']);
        for (const bound of ['requests', 'limits'] as const) {
          expect(Object.keys(container.resources?.[bound] ?? {}).sort(), `${where} ${bound}`).toEqual([
            'cpu',
            'memory',
          ]);
        }
      }
    }
  });

  it(`lists on each service and its headless Service exactly the ports it listens on with TRANSPORT=${overlay}, UDP where UDP listens`, () => {
    for (const name of Object.keys(CONTRACTS)) {
      const container = mainContainer(workload(objects(), name));
      const env = environmentOf(container, objects());
      const expected = [...listeningPorts(name, env), `${env.ADMIN_PORT}/TCP`].sort();
      expect(portSet(container.ports), `${name}'s container`).toEqual(expected);

      // Its address is the headless Service's name: one DNS record per ready pod, every replica reached.
      const host = env[`${name.toUpperCase()}_ADDR`]!.split(':')[0]!;
      const headless = find<IService>(objects(), 'Service', host);
      expect(headless.spec?.clusterIP, `${host} is headless`).toBe('None');
      expect(headless.spec?.selector).toEqual(workload(objects(), name).spec?.selector.matchLabels);
      expect(portSet(headless.spec?.ports), `Service ${host}`).toEqual(expected);
    }
  });

  it("starts each Chirp process only once what compose's depends_on waits for is ready", () => {
    for (const name of CHIRP) {
      const pod = podOf(workload(objects(), name));
      const wait = pod.initContainers?.find((c) => c.name === 'wait-for');
      expect(wait?.image, name).toBe(IMAGE);
      const [node, script, ...targets] = wait?.args ?? [];
      expect([node, script]).toEqual(['node', '/wait-for/wait-for.mjs']);
      const healthy = Object.entries(composeService(name).depends_on ?? {})
        .filter(([, { condition }]) => condition === 'service_healthy')
        .map(([dependency]) => dependency);
      expect(targets.map((target) => target.split(':')[0]).sort(), name).toEqual(healthy.sort());
      for (const target of targets) {
        const [host, port] = target.split(':');
        const tcpPorts = find<IService>(objects(), 'Service', host!).spec?.ports?.filter((p) => p.protocol !== 'UDP');
        expect(
          tcpPorts?.map((p) => p.port),
          `${name} waits for a TCP port of ${host}`,
        ).toContain(Number(port));
      }
    }
  });

  it('scales posts on CPU with a HorizontalPodAutoscaler, which alone sets its replica count', () => {
    const hpa = find<IHorizontalPodAutoscaler>(objects(), 'HorizontalPodAutoscaler', 'posts');
    expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'posts' });
    expect(hpa.spec?.metrics?.map((m) => m.resource?.name)).toEqual(['cpu']);
    expect(hpa.spec?.maxReplicas).toBeGreaterThan(hpa.spec?.minReplicas ?? 1);
    const posts = workload(objects(), 'posts') as IDeployment;
    expect(posts.spec?.replicas, 'a replicas field would reset the count on every apply').toBeUndefined();
    expect(mainContainer(posts).resources?.requests?.cpu, 'utilization is a share of the request').toBeDefined();
  });
});

describe('deploy/k8s/base/wait-for.mjs', () => {
  const script = fileURLToPath(new URL('base/wait-for.mjs', K8S));
  const run = (...args: string[]) =>
    new Promise<number | null>((resolve) => spawn(process.execPath, [script, ...args]).on('exit', resolve));

  it('exits 0 once every host:port accepts a connection, waiting for one that opens later', async () => {
    const early = createServer().listen(0, '127.0.0.1');
    const late = createServer().listen(0, '127.0.0.1');
    await Promise.all([early, late].map((server) => new Promise((resolve) => server.once('listening', resolve))));
    const latePort = (late.address() as AddressInfo).port;
    late.close(); // not there yet
    const exited = run(`127.0.0.1:${(early.address() as AddressInfo).port}`, `127.0.0.1:${latePort}`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    late.listen(latePort, '127.0.0.1');
    expect(await exited).toBe(0);
    early.close();
    late.close();
  }, 10_000);

  it('refuses a target that is not host:port', async () => {
    expect(await run('postgres')).toBe(2);
  });
});
