/*
 * A raw DAP client on `forkall dap` (stdio) for the tests that send what a
 * well-behaved client never would: malformed frames and bodies, huge
 * messages, arguments of the wrong types, a stream closed at odd times. It
 * frames the adapter's output itself, keeps its stderr, and is killed by
 * pid (tracked by test/helpers/procs: `after(killAll)` ends it on failure).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { FORKALL_BIN } from '../helpers/paths';
import { killChild, track } from '../helpers/procs';
import { within } from './support';

export type Message = DebugProtocol.Response | DebugProtocol.Event | DebugProtocol.Request;

export class RawDap {
	readonly proc: ChildProcess;
	readonly pid: number;
	stderr = '';
	readonly messages: Message[] = [];
	private waiters: (() => void)[] = [];
	private out: Buffer[] = [];
	private outSize = 0;
	private seq = 1;
	readonly exit: Promise<{ code: number | null; signal: string | null }>;
	exited: { code: number | null; signal: string | null } | null = null;

	constructor(args: string[] = ['dap'], env: NodeJS.ProcessEnv = process.env) {
		this.proc = track(spawn(FORKALL_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'], env }));
		this.pid = this.proc.pid!;
		this.proc.stdin!.on('error', () => undefined);
		this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
			if (this.stderr.length < 1 << 20) this.stderr += d;
			if (process.env.FORKALL_DAP_STDERR) process.stderr.write(d);
		});
		this.proc.stdout!.on('data', (d: Buffer) => this.onData(d));
		this.exit = new Promise((resolve) =>
			this.proc.once('exit', (code, signal) => {
				this.exited = { code, signal };
				this.wake();
				resolve(this.exited);
			}),
		);
	}

	private wake(): void {
		for (const w of this.waiters.splice(0)) w();
	}

	private onData(d: Buffer): void {
		this.out.push(d);
		this.outSize += d.length;
		let buf = Buffer.concat(this.out, this.outSize);
		for (;;) {
			const end = buf.indexOf('\r\n\r\n');
			if (end < 0) break;
			const m = /Content-Length: (\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
			if (!m) throw new Error(`adapter wrote a bad header: ${buf.subarray(0, end).toString('latin1')}`);
			const len = Number(m[1]);
			if (buf.length < end + 4 + len) break;
			this.messages.push(JSON.parse(buf.subarray(end + 4, end + 4 + len).toString('utf8')) as Message);
			buf = buf.subarray(end + 4 + len);
		}
		this.out = buf.length ? [buf] : [];
		this.outSize = buf.length;
		this.wake();
	}

	/** Resolve with the first message (seen so far or later) that pred accepts. */
	waitFor<T extends Message>(pred: (m: Message) => boolean, ms: number, what: string): Promise<T> {
		return within(
			new Promise<T>((resolve, reject) => {
				const check = () => {
					const m = this.messages.find(pred);
					if (m) return resolve(m as T);
					if (this.exited)
						return reject(new Error(`${what}: the adapter exited (${JSON.stringify(this.exited)}); stderr: ${this.stderr}`));
					this.waiters.push(check);
				};
				check();
			}),
			ms,
			what,
		);
	}

	/** The adapter's stderr from offset `from` on, once it matches re (stderr and stdout are separate pipes: no order between them). */
	async stderrAfter(from: number, re: RegExp, ms = 10000): Promise<string> {
		const end = Date.now() + ms;
		for (;;) {
			const s = this.stderr.slice(from);
			if (re.test(s) || Date.now() > end) return s;
			await new Promise((r) => setTimeout(r, 20));
		}
	}

	response(seq: number, ms = 20000): Promise<DebugProtocol.Response> {
		return this.waitFor(
			(m) => m.type === 'response' && (m as DebugProtocol.Response).request_seq === seq,
			ms,
			`response to seq ${seq}`,
		);
	}

	event(name: string, ms = 20000): Promise<DebugProtocol.Event> {
		return this.waitFor((m) => m.type === 'event' && (m as DebugProtocol.Event).event === name, ms, `event ${name}`);
	}

	nextSeq(): number {
		return this.seq++;
	}

	/** Frame and send a request; returns its seq. */
	send(command: string, args?: unknown, seq = this.nextSeq()): number {
		const msg: Record<string, unknown> = { seq, type: 'request', command };
		if (args !== undefined) msg.arguments = args;
		this.sendBody(JSON.stringify(msg));
		return seq;
	}

	/** A well-framed body (any text). */
	sendBody(body: string | Buffer): void {
		const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
		this.write(Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`, 'latin1'), b]));
	}

	write(data: Buffer | string): void {
		if (!this.proc.stdin!.destroyed) this.proc.stdin!.write(data);
	}

	/** Send and wait for the response. */
	async request(command: string, args?: unknown, ms = 20000): Promise<DebugProtocol.Response> {
		return this.response(this.send(command, args), ms);
	}

	closeInput(): void {
		this.proc.stdin!.end();
	}

	/** The adapter's child processes (a launched program is one). */
	children(): number[] {
		const out: number[] = [];
		for (const t of fs.readdirSync(`/proc/${this.pid}/task`)) {
			try {
				out.push(
					...fs.readFileSync(`/proc/${this.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
				);
			} catch {
				/* thread gone */
			}
		}
		return out;
	}

	get alive(): boolean {
		return this.exited === null;
	}

	async waitExit(ms: number): Promise<{ code: number | null; signal: string | null }> {
		return within(this.exit, ms, 'adapter exit');
	}

	kill(): Promise<void> {
		return killChild(this.proc);
	}
}

/** SIGKILL what a test had the adapter launch (by pid), if it is still there. */
export function killLaunched(pids: Iterable<number>): void {
	for (const pid of pids) {
		if (!running(pid)) continue;
		try {
			process.kill(pid, 'SIGKILL');
		} catch {
			/* gone */
		}
	}
}

/** True while /proc/pid exists and is not a zombie. */
export function running(pid: number): boolean {
	try {
		const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		return !/\) [ZX] /.test(st);
	} catch {
		return false;
	}
}
