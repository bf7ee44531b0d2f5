/** Types of app-processes.mjs, for the TypeScript that imports it (apps/bench). */
import type { ChildProcess } from 'node:child_process';

export declare const ROOT: string;
export declare const SERVICES: readonly ['auth', 'follows', 'posts', 'notify'];
export type AppService = (typeof SERVICES)[number];
export declare const ADMIN_PORT_OFFSET: number;

export interface Command {
  command: string;
  args: string[];
  cwd: string;
}

export interface LoggedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
}

export declare function serviceCommand(service: AppService): Command;
export declare function webCommand(port: number, hostname?: string): Command;
export declare function startLogged(
  name: string,
  command: Command,
  env: Record<string, string | undefined>,
  logFile: string,
): LoggedProcess;
export declare function waitUntilReady(
  process: LoggedProcess,
  url: string,
  timeoutMs: number,
): Promise<'ready' | 'exited' | 'timeout'>;
export declare function stopGracefully(process: LoggedProcess, graceMs: number): Promise<'stopped' | 'killed' | 'gone'>;
export declare function tail(file: string, lines?: number): string;
