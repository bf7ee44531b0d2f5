/**
 * docker-compose.yml as the tests read it, in one place: what compose hands each container.
 * compose.test.ts runs the services with it; k8s.test.ts holds the Kubernetes manifests to it.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ROOT } from './processes.js';

export interface ComposeService {
  image?: string;
  command?: string[];
  working_dir?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

export const compose = parse(readFileSync(new URL('docker-compose.yml', ROOT), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

/**
 * What compose would hand the container: its environment with `${VAR:-default}` filled in from
 * `vars`, and each compose service's host name (in `host:port`, a URL's authority) passed through
 * `host`, which keeps it by default.
 */
export function containerEnv(
  service: string,
  vars: Record<string, string>,
  host: (name: string) => string = (name) => name,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, raw] of Object.entries(compose.services[service]?.environment ?? {})) {
    let value = String(raw).replace(
      /\$\{(\w+):-([^}]*)\}/g,
      (_, name: string, fallback: string) => vars[name] ?? fallback,
    );
    for (const name of Object.keys(compose.services)) {
      value = value.replace(
        new RegExp(`(//|@|^)${name}(?=:\\d)`, 'g'),
        (_, before: string) => `${before}${host(name)}`,
      );
    }
    env[key] = value;
  }
  return env;
}
