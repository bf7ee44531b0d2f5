/**
 * The machine a run was made on and the versions of everything measured, for results.json:
 * a figure without these cannot be compared with anything. RabbitMQ's version comes from
 * the broker itself (the server properties it sends when a connection opens).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'amqplib';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  os: string;
  node: string;
  packages: Record<string, string | null>;
  rabbitmq: string | null;
  /** Load average when the run started: a busy machine makes every figure worse. */
  loadAverage: number[];
}

const MEASURED_PACKAGES = ['amqplib', 'fastify', 'undici', 'hdr-histogram-js'];

export async function describeMachine(amqpUrl: string): Promise<Machine> {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    packages: Object.fromEntries(MEASURED_PACKAGES.map((name) => [name, packageVersion(name)])),
    rabbitmq: await rabbitmqVersion(amqpUrl),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** The installed version: walk up from the package's entry point to its package.json. */
function packageVersion(name: string): string | null {
  try {
    let dir = path.dirname(createRequire(import.meta.url).resolve(name));
    for (;;) {
      try {
        const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (manifest.name === name) return manifest.version ?? null;
      } catch {
        // no package.json at this level
      }
      const parent = path.dirname(dir);
      if (parent === dir) return null;
      dir = parent;
    }
  } catch {
    return null;
  }
}

async function rabbitmqVersion(url: string): Promise<string | null> {
  try {
    const model = await connect(url, { timeout: 3_000 });
    const version = model.connection.serverProperties.version;
    await model.close();
    return typeof version === 'string' ? version : null;
  } catch {
    return null;
  }
}
