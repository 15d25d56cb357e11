/* Fork targets: a program started under test/fixtures/reaper (so the
 * forkall child, whose parent is the TARGET's parent because of
 * CLONE_PARENT, is reaped), its stdout lines (the parent's and every
 * child's: they share the pipe), and cleanup of every forkall child.
 *
 * Nothing is killed by name: only pids this module recorded, and a recorded
 * child only while its /proc start time is the one recorded. */
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { eachLine, Fixture, sleep, track, untilReady } from './procs';
import { fixturePath } from './paths';

export interface ChildLine {
	/* OUTER ids (/proc/thread-self: what /proc, the tracer and --json see) */
	pid: number;
	tid: number;
	/* the thread's own view: == pid/tid by default, the parent's with --same-tids */
	getpid: number;
	gettid: number;
	/* the thread's PID namespace differs from the parent's */
	pidnsChanged: boolean;
	idx: number;
	kind: string;
	parentTid: number;
	ok: boolean;
	checks: Record<string, boolean>;
	detail: string;
	eintr: number;
	counter: number;
	errorcheckUnlock?: number;
	robustUnlock?: number;
	vec?: string;
	vecFail?: number;
	dontforkMapped?: boolean;
	dontforkIntact?: boolean;
}

export interface ChildReported {
	pid: number;
	reported: number;
	expected: number;
	missing: number[];
}
export interface ChildDone {
	pid: number;
	joined: number;
	joinFailed: number[];
	condPair: boolean;
}

/* ---- /proc helpers ---------------------------------------------------- */

export interface ProcStat {
	pid: number;
	comm: string;
	state: string;
	ppid: number;
	starttime: number;
}

export function procStat(pid: number): ProcStat | null {
	let s: string;
	try {
		s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
	} catch {
		return null;
	}
	const open = s.indexOf('(');
	const close = s.lastIndexOf(')');
	const rest = s.slice(close + 2).split(' ');
	return { pid, comm: s.slice(open + 1, close), state: rest[0], ppid: Number(rest[1]), starttime: Number(rest[19]) };
}

/* Every process (not thread) whose parent is ppid. */
export function childrenOf(ppid: number): ProcStat[] {
	const out: ProcStat[] = [];
	for (const ent of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(ent)) continue;
		const st = procStat(Number(ent));
		if (st && st.ppid === ppid) out.push(st);
	}
	return out;
}

export function statusField(pid: number, field: string, tid = pid): string | null {
	try {
		const m = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
		return m ? m[1].trim() : null;
	} catch {
		return null;
	}
}

/* Per-task kernel state visible in /proc, for "the parent is unchanged". */
export function taskSnapshot(pid: number): Record<number, string> {
	const snap: Record<number, string> = {};
	let tids: string[] = [];
	try {
		tids = fs.readdirSync(`/proc/${pid}/task`);
	} catch {
		return snap;
	}
	for (const t of tids) {
		const tid = Number(t);
		const fields = ['Name', 'SigBlk', 'Cpus_allowed_list', 'TracerPid'].map((f) => `${f}=${statusField(pid, f, tid)}`);
		snap[tid] = fields.join(' ');
	}
	return snap;
}

/* ---- forkall children registry ------------------------------------------ */

const children = new Map<number, number>(); /* pid -> starttime */

/* Remember a forkall child so cleanup kills it even when a test fails. */
export function registerChild(pid: number): void {
	const st = procStat(pid);
	if (st) children.set(pid, st.starttime);
}

function stillOurs(pid: number): boolean {
	const want = children.get(pid);
	const st = procStat(pid);
	return want !== undefined && st !== null && st.starttime === want;
}

/* SIGKILL a recorded child (also ends a stopped one). */
export function killChildPid(pid: number): void {
	if (!stillOurs(pid)) return;
	try {
		process.kill(pid, 'SIGKILL');
	} catch {
		/* gone */
	}
}

/* Wait until pid is gone from /proc (reaped, not just a zombie). */
export async function waitGone(pid: number, timeoutMs = 10000): Promise<boolean> {
	const t0 = Date.now();
	while (Date.now() - t0 < timeoutMs) {
		if (!fs.existsSync(`/proc/${pid}`)) return true;
		await sleep(5);
	}
	return !fs.existsSync(`/proc/${pid}`);
}

/* Kill a forkall child and make sure it is reaped; returns false if it
 * stayed (e.g. as a zombie). */
export async function killAndReap(pid: number, timeoutMs = 10000): Promise<boolean> {
	killChildPid(pid);
	const gone = await waitGone(pid, timeoutMs);
	if (gone) children.delete(pid);
	return gone;
}

/* ---- the target under a reaper ----------------------------------------- */

const targets = new Set<ForkTarget>();

type LineWaiter = { pred: (l: string) => boolean; resolve: (l: string) => void };

export class ForkTarget<T = any> {
	readonly reaperPid: number;
	pid = 0;
	truth!: T;
	/* every stdout line after READY that is not a PROGRESS line */
	readonly lines: string[] = [];
	/* pid -> wait status, from the reaper's REAPED lines */
	readonly reaped = new Map<number, number>();
	/* every REAPED line in order (pids repeat once pid_max wraps: 32768 here) */
	readonly reapedLog: number[] = [];
	/* parent progress (PROGRESS lines carry no pid: only the parent prints them) */
	readonly fx: Fixture;
	private waiters: LineWaiter[] = [];

	constructor(
		readonly label: string,
		readonly proc: ChildProcess,
	) {
		this.reaperPid = proc.pid!;
		this.fx = new Fixture(label, proc);
	}

	/* what the reaper and the target wrote to stderr, but the REAPED lines */
	get stderr(): string {
		return this.fx.stderr;
	}

	/** @internal */
	onLine(line: string): void {
		this.lines.push(line);
		for (const w of [...this.waiters]) {
			if (w.pred(line)) {
				this.waiters = this.waiters.filter((x) => x !== w);
				w.resolve(line);
			}
		}
	}

	/* The first line (already seen or future) that satisfies pred. */
	waitLine(pred: (l: string) => boolean, timeoutMs: number, what: string): Promise<string> {
		const seen = this.lines.find(pred);
		if (seen !== undefined) return Promise.resolve(seen);
		return new Promise((resolve, reject) => {
			const w: LineWaiter = {
				pred,
				resolve: (l) => {
					clearTimeout(timer);
					resolve(l);
				},
			};
			const timer = setTimeout(() => {
				this.waiters = this.waiters.filter((x) => x !== w);
				reject(
					new Error(
						`${this.label} (target ${this.pid}): no ${what} within ${timeoutMs} ms; last lines: ${this.lines.slice(-5).join(' | ').slice(0, 1500)}`,
					),
				);
			}, timeoutMs);
			this.waiters.push(w);
		});
	}

	childLines(childPid: number): ChildLine[] {
		return this.lines
			.filter((l) => l.startsWith('CHILD {'))
			.map((l) => JSON.parse(l.slice(6)) as ChildLine)
			.filter((c) => c.pid === childPid);
	}

	async waitReported(childPid: number, timeoutMs: number): Promise<ChildReported> {
		const l = await this.waitLine(
			(x) => x.startsWith('CHILD-REPORTED ') && JSON.parse(x.slice(15)).pid === childPid,
			timeoutMs,
			`CHILD-REPORTED of ${childPid}`,
		);
		return JSON.parse(l.slice(15)) as ChildReported;
	}

	async waitDone(childPid: number, timeoutMs: number): Promise<ChildDone> {
		const l = await this.waitLine(
			(x) => x.startsWith('CHILD-DONE ') && JSON.parse(x.slice(11)).pid === childPid,
			timeoutMs,
			`CHILD-DONE of ${childPid}`,
		);
		return JSON.parse(l.slice(11)) as ChildDone;
	}

	/* Kill a forkall child of this target and check that the reaper reaped it.
	 * With namespaceInit (--same-tids: the child's parent is that init, pid 1
	 * of the child's PID namespace): only the child is killed; the init must
	 * reap it, exit by itself and be reaped by the reaper. */
	async killChild(childPid: number, namespaceInit?: number): Promise<void> {
		const gone = await killAndReap(childPid);
		if (!gone) throw new Error(`child ${childPid} still in /proc after SIGKILL: ${JSON.stringify(procStat(childPid))}`);
		const reapedBy = namespaceInit ?? childPid;
		if (namespaceInit !== undefined) {
			const initGone = await waitGone(namespaceInit, 10000);
			if (!initGone)
				throw new Error(
					`namespace init ${namespaceInit} still in /proc after its child ${childPid} died: ${JSON.stringify(procStat(namespaceInit))}`,
				);
			children.delete(namespaceInit);
		}
		for (let i = 0; i < 200 && !this.reaped.has(reapedBy); i++) await sleep(10);
		if (!this.reaped.has(reapedBy))
			throw new Error(
				`${reapedBy === childPid ? 'child' : 'namespace init'} ${reapedBy} is gone but the reaper (${this.reaperPid}) did not reap it`,
			);
	}

	/* Forkall children still around: processes whose parent is the reaper
	 * (other than the target) or the target. */
	strays(): ProcStat[] {
		return [...childrenOf(this.reaperPid).filter((p) => p.pid !== this.pid), ...childrenOf(this.pid)];
	}

	/* Kill the target and every child (the reaper does it on SIGTERM). */
	async stop(): Promise<void> {
		targets.delete(this);
		for (const p of this.strays()) {
			registerChild(p.pid);
			killChildPid(p.pid);
		}
		if (this.fx.exited) return;
		const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
		try {
			process.kill(this.reaperPid, 'SIGTERM');
		} catch {
			/* gone */
		}
		const t = setTimeout(() => {
			try {
				process.kill(this.reaperPid, 'SIGKILL');
			} catch {
				/* gone */
			}
		}, 5000);
		await exited;
		clearTimeout(t);
	}
}

export interface SpawnReapedOptions {
	readyTimeoutMs?: number;
	env?: NodeJS.ProcessEnv;
	/* run the reaper and the target as this user (the test runs as root) */
	uid?: number;
	gid?: number;
}

/* reaper <file> args...: resolves after READY with the JSON line before it
 * as truth; truth.pid (or the JSON's "pid") is the target pid. */
export function spawnReaped<T = any>(file: string, args: string[], opts: SpawnReapedOptions = {}, label = file): Promise<ForkTarget<T>> {
	const cp = track(
		spawn(fixturePath('reaper'), [file, ...args], {
			stdio: ['ignore', 'pipe', 'pipe'],
			env: opts.env ?? process.env,
			uid: opts.uid,
			gid: opts.gid,
		}),
	);
	if (cp.pid === undefined) return new Promise((_resolve, reject) => cp.once('error', (e) => reject(e)));
	const t = new ForkTarget<T>(label, cp);
	targets.add(t);
	eachLine(cp.stderr!, (line) => {
		const m = /^REAPED (\d+) (-?\d+)$/.exec(line);
		if (m) {
			t.reaped.set(Number(m[1]), Number(m[2]));
			t.reapedLog.push(Number(m[1]));
		} else if (t.fx.stderr.length < 65536) t.fx.stderr += line + '\n';
	});
	return untilReady(
		t.fx,
		args,
		opts.readyTimeoutMs ?? 60000,
		() => void t.stop(),
		(jsonLine) => {
			t.truth = JSON.parse(jsonLine ?? 'null') as T;
			t.pid = (t.truth as any)?.pid ?? 0;
			return t;
		},
		(line) => t.onLine(line),
	);
}

export function spawnForkcheck(args: string[], opts: SpawnReapedOptions = {}): Promise<ForkTarget> {
	return spawnReaped(fixturePath('forkcheck'), args, opts, `forkcheck ${args.join(' ')}`);
}

/* after(): kill every recorded forkall child and stop every target. */
export async function cleanupFork(): Promise<void> {
	for (const pid of [...children.keys()]) {
		killChildPid(pid);
	}
	await Promise.all([...targets].map((t) => t.stop()));
	for (const pid of [...children.keys()]) {
		await waitGone(pid, 2000);
		children.delete(pid);
	}
}
