/* Start fixtures (and other helper processes) and make sure every process a
 * test started is killed, even when the test fails.
 *
 * Test files call `after(killAll)` (node:test); a process 'exit' hook is the
 * last resort. Processes are only ever killed by the pid we started. */
import { spawn, ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fixturePath } from './paths';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
	if (exitHookInstalled) return;
	exitHookInstalled = true;
	process.on('exit', () => {
		for (const cp of live) {
			if (cp.pid !== undefined && cp.exitCode === null && cp.signalCode === null) {
				try {
					process.kill(cp.pid, 'SIGKILL');
				} catch {
					/* gone */
				}
			}
		}
	});
}

/* Track a child process so killAll() ends it. */
export function track(cp: ChildProcess): ChildProcess {
	installExitHook();
	live.add(cp);
	cp.once('exit', () => live.delete(cp));
	return cp;
}

/* SIGKILL one child by pid and wait until it has been reaped. */
export async function killChild(cp: ChildProcess): Promise<void> {
	if (cp.pid === undefined) return;
	if (cp.exitCode === null && cp.signalCode === null) {
		const exited = new Promise<void>((resolve) => cp.once('exit', () => resolve()));
		try {
			process.kill(cp.pid, 'SIGKILL');
		} catch {
			/* already gone */
		}
		await exited;
	}
	live.delete(cp);
}

/* Kill every process started through this module. */
export async function killAll(): Promise<void> {
	await Promise.all([...live].map((cp) => killChild(cp)));
}

export interface Progress {
	total: number;
	fields: Record<string, number>;
	at: number;
}

/* "PROGRESS <total> key=value ..." */
export function parseProgress(line: string): Progress | null {
	const m = /^PROGRESS (\d+)((?: \w+=\d+)*)\s*$/.exec(line);
	if (!m) return null;
	const fields: Record<string, number> = {};
	for (const kv of m[2].trim().split(' ').filter(Boolean)) {
		const [k, v] = kv.split('=');
		fields[k] = Number(v);
	}
	return { total: Number(m[1]), fields, at: Date.now() };
}

export class Fixture<T = any> {
	readonly pid: number;
	/* The fixture's JSON line (its own truth). */
	truth!: T;
	progress: Progress | null = null;
	stderr = '';
	exited: { code: number | null; signal: string | null } | null = null;
	private progressWaiters: Array<() => void> = [];

	constructor(
		readonly name: string,
		readonly proc: ChildProcess,
	) {
		this.pid = proc.pid!;
	}

	/* Resolve once a progress line satisfies pred (default: any new one). */
	waitProgress(pred: (p: Progress) => boolean, timeoutMs = 10000, what = 'progress'): Promise<Progress> {
		return new Promise((resolve, reject) => {
			const check = (): boolean => {
				if (this.progress && pred(this.progress)) {
					clearTimeout(timer);
					resolve(this.progress);
					return true;
				}
				if (this.exited) {
					clearTimeout(timer);
					reject(
						new Error(
							`${this.name} (pid ${this.pid}) exited (${JSON.stringify(this.exited)}) while waiting for ${what}; stderr: ${this.stderr}`,
						),
					);
					return true;
				}
				return false;
			};
			const timer = setTimeout(() => {
				this.progressWaiters = this.progressWaiters.filter((w) => w !== waiter);
				reject(
					new Error(`${this.name} (pid ${this.pid}): no ${what} within ${timeoutMs} ms; last: ${JSON.stringify(this.progress)}`),
				);
			}, timeoutMs);
			const waiter = (): void => {
				if (check()) this.progressWaiters = this.progressWaiters.filter((w) => w !== waiter);
			};
			if (!check()) this.progressWaiters.push(waiter);
		});
	}

	/* Wait until `field` (default: the total) has advanced by at least `by`
	 * beyond its current value, i.e. the program keeps running. */
	async waitAdvance(field: string | null = null, by = 1, timeoutMs = 10000): Promise<Progress> {
		const get = (p: Progress | null): number => (p === null ? -1 : field === null ? p.total : p.fields[field]);
		const start = get(this.progress);
		return this.waitProgress((p) => get(p) >= start + by, timeoutMs, `${field ?? 'total'} to advance by ${by} from ${start}`);
	}

	/* Every thread of the fixture runs: a PROGRESS line whose whole window
	 * lies after this call reports `field` (default "stalled") == 0. */
	async waitAllRunning(field = 'stalled', timeoutMs = 15000): Promise<Progress> {
		const t0 = Date.now();
		const first = await this.waitProgress((p) => p.at > t0, timeoutMs, 'a progress line');
		return this.waitProgress(
			(p) => p.at > first.at && p.fields[field] === 0,
			timeoutMs,
			`a progress line with ${field}=0 (every thread advancing)`,
		);
	}

	/** @internal */
	onExit(code: number | null, signal: string | null): void {
		this.exited = { code, signal };
		for (const w of [...this.progressWaiters]) w();
	}

	/** @internal */
	onProgress(p: Progress): void {
		this.progress = p;
		for (const w of [...this.progressWaiters]) w();
	}

	kill(): Promise<void> {
		return killChild(this.proc);
	}
}

export interface SpawnOptions {
	readyTimeoutMs?: number;
	env?: NodeJS.ProcessEnv;
}

/* Start test/fixtures/build/<name> args..., wait for its "READY" line, parse
 * the JSON line printed before it. Stdout is consumed for the whole life of
 * the process (PROGRESS lines), so the fixture never blocks on a full pipe. */
export function spawnFixture<T = any>(name: string, args: string[] = [], opts: SpawnOptions = {}): Promise<Fixture<T>> {
	return spawnProgram<T>(fixturePath(name), args, opts, name);
}

export function spawnProgram<T = any>(file: string, args: string[], opts: SpawnOptions = {}, label = file): Promise<Fixture<T>> {
	const cp = track(spawn(file, args, { detached: false, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env }));
	if (cp.pid === undefined) return new Promise((_resolve, reject) => cp.once('error', (e) => reject(e)));
	const fx = new Fixture<T>(label, cp);
	cp.stderr!.setEncoding('utf8').on('data', (d: string) => {
		if (fx.stderr.length < 65536) fx.stderr += d;
	});
	return untilReady(
		fx,
		args,
		opts.readyTimeoutMs ?? 30000,
		() => void fx.kill(),
		(jsonLine) => {
			fx.truth = jsonLine === null ? (undefined as T) : (JSON.parse(jsonLine) as T);
			return fx;
		},
	);
}

/* Call f with each whole line (without its newline) of a stream, read as UTF-8. */
export function eachLine(stream: Readable, f: (line: string) => void): void {
	let buf = '';
	stream.setEncoding('utf8').on('data', (d: string) => {
		buf += d;
		let nl: number;
		while ((nl = buf.indexOf('\n')) >= 0) {
			const line = buf.slice(0, nl);
			buf = buf.slice(nl + 1);
			f(line);
		}
	});
}

/* Read a started fixture's stdout for its whole life (so it never blocks on
 * a full pipe): resolves with ready(the last line before "READY" that starts
 * with "{", or null) at READY — a throw there rejects ("bad JSON line");
 * rejects when it exits first or prints no READY within timeoutMs (kill() is
 * called then). After READY, PROGRESS lines go to fx, the others to other.
 * Its stderr, for the errors, is fx.stderr. */
export function untilReady<R>(
	fx: Fixture,
	args: string[],
	timeoutMs: number,
	kill: () => void,
	ready: (jsonLine: string | null) => R,
	other: (line: string) => void = () => undefined,
): Promise<R> {
	const what = `${fx.name} ${args.join(' ')}`;
	return new Promise((resolve, reject) => {
		let seen = false;
		let jsonLine: string | null = null;
		const timer = setTimeout(() => {
			if (!seen) {
				kill();
				reject(new Error(`${what}: no READY within ${timeoutMs} ms; stderr: ${fx.stderr}`));
			}
		}, timeoutMs);
		eachLine(fx.proc.stdout!, (line) => {
			if (seen) {
				const p = parseProgress(line);
				if (p) fx.onProgress(p);
				else other(line);
			} else if (line.startsWith('{')) jsonLine = line;
			else if (line === 'READY') {
				seen = true;
				clearTimeout(timer);
				try {
					resolve(ready(jsonLine));
				} catch (e) {
					reject(new Error(`${fx.name}: bad JSON line: ${(e as Error).message}`));
				}
			}
		});
		fx.proc.once('exit', (code, signal) => {
			clearTimeout(timer);
			fx.onExit(code, signal);
			if (!seen) reject(new Error(`${what} exited before READY (code ${code}, signal ${signal}); stderr: ${fx.stderr}`));
		});
	});
}

/* A pid that names no process: the pid of a child that has exited and been
 * reaped (re-checked against /proc). */
export async function deadPid(): Promise<number> {
	const fs = await import('node:fs');
	for (let i = 0; i < 20; i++) {
		const cp = spawn('/bin/true', [], { stdio: 'ignore' });
		const pid = cp.pid!;
		await new Promise((r) => cp.once('exit', r));
		if (!fs.existsSync(`/proc/${pid}`)) return pid;
	}
	throw new Error('could not find an unused pid');
}

export function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}
