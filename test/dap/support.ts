/*
 * Support for the debug adapter tests: a DebugClient on `bin/forkall dap`
 * (stdio) or on a `forkall dap --server=0` process, reverse requests,
 * markers in test/fixtures/dapdemo.c, time limits, and golden transcripts
 * (test/dap/golden/<name>.txt; a mismatch writes <name>.actual next to it;
 * RESET_RESULTS=1 rewrites them).
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { FIXTURES_SRC, FORKALL_BIN, ROOT } from '../helpers/paths';

export const GOLDEN_DIR = path.join(ROOT, 'test', 'dap', 'golden');
export const DAPDEMO_SRC = path.join(FIXTURES_SRC, 'dapdemo.c');

/** Line (1-based) of the "// #NAME" marker in a fixture source. */
export function findMarker(name: string, file = DAPDEMO_SRC): number {
	const lines = fs.readFileSync(file, 'utf8').split('\n');
	const re = new RegExp(`//\\s*#${name}\\b`);
	const i = lines.findIndex((l) => re.test(l));
	if (i < 0) throw new Error(`marker #${name} not found in ${file}`);
	return i + 1;
}

/** Reject if p does not settle within ms ("no hang"). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
	let t: NodeJS.Timeout;
	return Promise.race([
		p.finally(() => clearTimeout(t)),
		new Promise<T>((_, reject) => {
			t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
		}),
	]);
}

export interface ReverseRequest {
	seq: number;
	command: string;
	arguments: unknown;
}

/** DebugClient that also sees reverse requests (startDebugging) and can answer them. */
export class DapClient extends DebugClient {
	readonly reverse: ReverseRequest[] = [];
	private reverseWaiters: ((r: ReverseRequest) => void)[] = [];
	/** Every event since the client started, in order. */
	readonly events: DebugProtocol.Event[] = [];
	private readonly eventWaiters = new Set<() => void>();

	constructor(spawnOpts: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}) {
		super(
			FORKALL_BIN,
			'dap',
			'forkall',
			{ env: spawnOpts.env ?? process.env, uid: spawnOpts.uid, gid: spawnOpts.gid },
			!!process.env.FORKALL_DAP_STDERR,
		);
		this.defaultTimeout = 20000;
		// ProtocolClient drops messages of type "request": catch them first.
		const self = this as unknown as { dispatch(body: string): void };
		const orig = self.dispatch.bind(this);
		self.dispatch = (body: string) => {
			const msg = JSON.parse(body) as { type: string; seq: number; command: string; arguments: unknown; event?: string };
			if (msg.type === 'request') {
				const r = { seq: msg.seq, command: msg.command, arguments: msg.arguments };
				this.reverse.push(r);
				for (const w of this.reverseWaiters.splice(0)) w(r);
				return;
			}
			if (msg.type === 'event') this.events.push(msg as unknown as DebugProtocol.Event);
			orig(body);
			if (msg.type === 'event') for (const w of [...this.eventWaiters]) w();
		};
	}

	waitReverse(command: string, ms = 10000): Promise<ReverseRequest> {
		const seen = this.reverse.find((r) => r.command === command);
		if (seen) return Promise.resolve(seen);
		return within(
			new Promise((resolve) => {
				const w = (r: ReverseRequest) => {
					if (r.command === command) resolve(r);
					else this.reverseWaiters.push(w);
				};
				this.reverseWaiters.push(w);
			}),
			ms,
			`reverse request ${command}`,
		);
	}

	respond(r: ReverseRequest, success: boolean, body?: unknown, message?: string): void {
		const out = (this as unknown as { outputStream: NodeJS.WritableStream }).outputStream;
		const json = JSON.stringify({ type: 'response', seq: 0, request_seq: r.seq, command: r.command, success, body, message });
		out.write(`Content-Length: ${Buffer.byteLength(json, 'utf8')}\r\n\r\n${json}`, 'utf8');
	}

	/**
	 * look()'s first value other than undefined: looked at now and again after
	 * each event that arrives (`events` holds every event from the start, so a
	 * look at it misses none). `what` names it in the timeout's error.
	 */
	until<T>(look: () => T | undefined, ms: number, what: () => string): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			const check = (): void => {
				const v = look();
				if (v === undefined) return;
				this.eventWaiters.delete(check);
				clearTimeout(t);
				resolve(v);
			};
			const t = setTimeout(() => {
				this.eventWaiters.delete(check);
				reject(new Error(`${what()}: not within ${ms} ms`));
			}, ms);
			this.eventWaiters.add(check);
			check();
		});
	}

	/** The stopped events since the client started, in order. */
	stops(): DebugProtocol.StoppedEvent[] {
		return this.events.filter((e): e is DebugProtocol.StoppedEvent => e.event === 'stopped');
	}

	/** The session's n-th stopped event (1-based, counted from the client's start: none is missed). */
	stopNumber(n: number, ms = 20000): Promise<DebugProtocol.StoppedEvent> {
		return this.until(
			() => this.stops()[n - 1],
			ms,
			() => `stop #${n} (stops so far: ${JSON.stringify(this.stops().map((x) => x.body))})`,
		);
	}

	/**
	 * From the session's stop #from on (1-based, as stopNumber), each stop is
	 * passed to `onStop` and then continued (its own thread, all threads),
	 * until the program exits: the stops met and the exit code. `ms` bounds the
	 * wait for each next stop or the exit.
	 */
	async continueToExit(
		from: number,
		onStop: (ev: DebugProtocol.StoppedEvent) => Promise<void> = async () => undefined,
		ms = 20000,
	): Promise<{ stops: DebugProtocol.StoppedEvent[]; exitCode: number | undefined }> {
		const stops: DebugProtocol.StoppedEvent[] = [];
		for (let n = from; ; n++) {
			const ev = await this.until<DebugProtocol.Event>(
				() => this.stops()[n - 1] ?? this.events.find((e) => e.event === 'exited'),
				ms,
				() => `stop #${n} or the exit (${stops.length} stops met)`,
			);
			if (ev.event === 'exited') return { stops, exitCode: (ev as DebugProtocol.ExitedEvent).body.exitCode };
			const st = ev as DebugProtocol.StoppedEvent;
			stops.push(st);
			await onStop(st);
			await this.continueRequest({ threadId: st.body.threadId! });
		}
	}

	/** The next event `name` that arrives after this call. */
	next(name: string, ms = 20000): Promise<DebugProtocol.Event> {
		return this.waitForEvent(name, ms);
	}

	/** initialize with the capabilities VS Code declares. */
	init(extra: Partial<DebugProtocol.InitializeRequestArguments> = {}): Promise<DebugProtocol.InitializeResponse> {
		return this.initializeRequest({
			adapterID: 'forkall',
			clientID: 'test',
			linesStartAt1: true,
			columnsStartAt1: true,
			pathFormat: 'path',
			supportsMemoryReferences: true,
			supportsProgressReporting: true,
			supportsInvalidatedEvent: true,
			supportsMemoryEvent: true,
			supportsStartDebuggingRequest: true,
			supportsRunInTerminalRequest: false,
			...extra,
		});
	}

	/**
	 * launch + initialized + a source breakpoint at each `// #MARKER` line of
	 * `src` + configurationDone; resolves with the first stop (a breakpoint).
	 */
	async launchToBreakpoint(
		program: string,
		src: string,
		markers: string[],
		extra: Record<string, unknown> = {},
	): Promise<DebugProtocol.StoppedEvent> {
		const initialized = this.next('initialized');
		await within(this.launchRequest({ program, ...extra } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		const bps = await this.setBreakpointsRequest({
			source: { path: src },
			breakpoints: markers.map((m) => ({ line: findMarker(m, src) })),
		});
		assert.ok(
			bps.body.breakpoints.every((b) => b.verified),
			`breakpoints verified: ${JSON.stringify(bps.body.breakpoints)}`,
		);
		const stopped = this.next('stopped');
		await this.configurationDoneRequest();
		return (await stopped) as DebugProtocol.StoppedEvent;
	}

	/** attach + initialized + configurationDone; resolves with the first stop when stopOnAttach. */
	async attachStopped(pid: number): Promise<DebugProtocol.StoppedEvent> {
		const initialized = this.next('initialized');
		await this.attachRequest({ pid, stopOnAttach: true } as DebugProtocol.AttachRequestArguments);
		await initialized;
		const stopped = this.next('stopped');
		await this.configurationDoneRequest();
		return (await stopped) as DebugProtocol.StoppedEvent;
	}

	/** A request that must fail: returns the error message. */
	async expectError(command: string, args: unknown, ms = 20000): Promise<string> {
		try {
			await within(this.send(command, args), ms, command);
		} catch (e) {
			const msg = (e as Error).message;
			if (/no answer within/.test(msg)) throw e;
			return msg;
		}
		assert.fail(`${command} ${JSON.stringify(args)} should have failed`);
	}
}

/** `forkall dap --server=0 --insecure-tcp`: a server process and its port (tests only: TCP is open to every local user). */
export class DapServer {
	constructor(
		readonly proc: ChildProcess,
		readonly port: number,
	) {}

	static async start(env: NodeJS.ProcessEnv = process.env): Promise<DapServer> {
		const proc = spawn(FORKALL_BIN, ['dap', '--server=0', '--insecure-tcp'], { stdio: ['ignore', 'pipe', 'pipe'], env });
		let err = '';
		proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
			err += d;
			if (process.env.FORKALL_DAP_STDERR) process.stderr.write(d);
		});
		const port = await within(
			new Promise<number>((resolve, reject) => {
				let out = '';
				proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
					out += d;
					const m = /listening on [^:]+:(\d+)/.exec(out);
					if (m) resolve(Number(m[1]));
				});
				proc.once('exit', (code) => reject(new Error(`forkall dap --server exited (${code}): ${err}`)));
			}),
			20000,
			'forkall dap --server=0',
		);
		return new DapServer(proc, port);
	}

	async client(): Promise<DapClient> {
		const c = new DapClient();
		await c.start(this.port);
		return c;
	}

	async stop(): Promise<void> {
		if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
		const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
		this.proc.kill('SIGTERM');
		const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
		await gone;
		clearTimeout(t);
	}
}

// ---- golden transcripts ------------------------------------------------------------

const ID_KEYS = new Set(['id', 'variablesReference', 'frameId', 'seq', 'request_seq', 'hitBreakpointIds']);

export class Golden {
	private readonly lines: string[] = [];
	private readonly aliases = new Map<string, string>();
	private readonly keep = new Set<string>();

	constructor(readonly name: string) {}

	/** Show a pid/tid/address as a name (whole-word matches in strings, equal numbers). */
	alias(value: number | string, name: string): this {
		this.aliases.set(String(value), `<${name}>`);
		return this;
	}

	/** A hex value that must stay as is (a known register value). */
	keepHex(v: string): this {
		this.keep.add(v.toLowerCase());
		return this;
	}

	log(label: string, value?: unknown): void {
		this.lines.push(value === undefined ? label : `${label}: ${JSON.stringify(this.normalize(value, ''), null, 2)}`);
	}

	private normalizeString(s: string): string {
		let out = s;
		for (const [v, n] of this.aliases) {
			out = out.replace(new RegExp(`(?<![0-9a-fx])${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![0-9a-f])`, 'gi'), n);
		}
		return out.replace(/0x[0-9a-f]{6,}/gi, (m) => (this.keep.has(m.toLowerCase()) ? m : '<addr>'));
	}

	private normalize(v: unknown, key: string): unknown {
		if (typeof v === 'number') {
			const a = this.aliases.get(String(v));
			if (a) return a;
			if (ID_KEYS.has(key)) return v > 0 ? '<id>' : v;
			return v;
		}
		if (typeof v === 'string') return this.normalizeString(v);
		if (Array.isArray(v)) return v.map((x) => this.normalize(x, key));
		if (v && typeof v === 'object') {
			const o: Record<string, unknown> = {};
			for (const [k, x] of Object.entries(v)) o[k] = this.normalize(x, k);
			return o;
		}
		return v;
	}

	text(): string {
		return `${this.lines.join('\n')}\n`;
	}

	/** Compare with test/dap/golden/<name>.txt (RESET_RESULTS=1: write it). */
	assertMatches(): void {
		const file = path.join(GOLDEN_DIR, `${this.name}.txt`);
		const actual = this.text();
		const actualFile = path.join(GOLDEN_DIR, `${this.name}.actual`);
		if (process.env.RESET_RESULTS || !fs.existsSync(file)) {
			fs.mkdirSync(GOLDEN_DIR, { recursive: true });
			fs.writeFileSync(file, actual);
			fs.rmSync(actualFile, { force: true });
			if (!process.env.RESET_RESULTS) {
				assert.fail(`golden file ${file} did not exist: written now, check it in and run again`);
			}
			return;
		}
		const expected = fs.readFileSync(file, 'utf8');
		if (expected !== actual) {
			fs.writeFileSync(actualFile, actual);
			assert.equal(
				actual,
				expected,
				`transcript differs from ${file} (actual written to ${actualFile}; RESET_RESULTS=1 regenerates)`,
			);
		}
		fs.rmSync(actualFile, { force: true });
	}
}

/** The stdout-ready JSON of dapdemo wait. */
export interface DapdemoTruth {
	pid: number;
	magic: string;
	text: string;
	tids: number[];
}
