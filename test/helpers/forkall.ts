/* Run the forkall CLI (bin/forkall) and collect its result. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { FORKALL_BIN, which } from './paths';

export interface RunResult {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
	/* wall time from spawn to exit, ms */
	ms: number;
}

export interface RunOptions {
	/* run as this uid/gid (root only), through setpriv or runuser */
	user?: { uid: number; gid: number; name: string };
	timeoutMs?: number;
	env?: NodeJS.ProcessEnv;
}

/* argv to start bin/forkall: directly when executable, else through node. */
export function forkallCommand(): string[] {
	try {
		fs.accessSync(FORKALL_BIN, fs.constants.X_OK);
		return [FORKALL_BIN];
	} catch {
		return [process.execPath, FORKALL_BIN];
	}
}

export function forkallAvailable(): boolean {
	return fs.existsSync(FORKALL_BIN);
}

export function runAsPrefix(user: { uid: number; gid: number; name: string }): string[] {
	if (which('setpriv')) return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'];
	if (which('runuser')) return ['runuser', '-u', user.name, '--'];
	throw new Error('neither setpriv nor runuser is installed');
}

export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
	const full = opts.user ? [...runAsPrefix(opts.user), ...argv] : argv;
	const t0 = process.hrtime.bigint();
	const cp = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
	let stdout = '';
	let stderr = '';
	cp.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
	cp.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
	const timeoutMs = opts.timeoutMs ?? 60000;
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			try {
				process.kill(cp.pid!, 'SIGKILL');
			} catch {
				/* gone */
			}
			reject(new Error(`${full.join(' ')}: timed out after ${timeoutMs} ms; stderr: ${stderr}`));
		}, timeoutMs);
		cp.once('error', (e) => {
			clearTimeout(timer);
			reject(e);
		});
		cp.once('close', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
		});
	});
}

/* forkall <args...> */
export function runForkall(args: string[], opts: RunOptions = {}): Promise<RunResult> {
	return run([...forkallCommand(), ...args], opts);
}

/* forkall <args...> --json, asserting exit 0 and parsing stdout. */
export async function forkallJson<T = any>(args: string[], opts: RunOptions = {}): Promise<{ res: RunResult; body: T }> {
	const res = await runForkall([...args, '--json'], opts);
	if (res.code !== 0) {
		throw new Error(`forkall ${args.join(' ')} --json: exit ${res.code} (signal ${res.signal}); stderr: ${res.stderr.trim()}`);
	}
	let body: T;
	try {
		body = JSON.parse(res.stdout) as T;
	} catch (e) {
		throw new Error(`forkall ${args.join(' ')} --json: stdout is not JSON (${(e as Error).message}): ${res.stdout.slice(0, 500)}`);
	}
	return { res, body };
}

/* `forkall threads --json` and `forkall regs --json` print the native
 * result bodies (native/PROTOCOL.md): the types are the generated ones. */
export type { RegsBody, ThreadsBody } from '../../adapter/src/engine/protocol';
export type { ThreadInfo as ThreadRow } from '../../adapter/src/engine/protocol';

export function hex(s: string | null | undefined): bigint {
	if (typeof s !== 'string' || !/^0x[0-9a-fA-F]+$/.test(s)) throw new Error(`not a hex string: ${JSON.stringify(s)}`);
	return BigInt(s);
}
