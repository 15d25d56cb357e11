/*
 * DebugHost: what every debug session of one adapter process shares — ONE
 * native tracer (a forked child kept traced can only be driven by the
 * tracer that holds it; a second attach from another process could be
 * refused), the debuggees by pid, and forked children waiting for their own
 * session. No DAP types.
 */
import { Tracer } from '../engine/tracer';
import { Debuggee } from './debuggee';

export interface PendingChild {
	pid: number;
	parentPid: number;
	/** When the child was made (ms since the epoch). */
	at: number;
}

/** Native operations the debug adapter can use (the library's handshake). */
export interface NativeFeatures {
	launch: boolean;
	step: boolean;
	breakpoints: boolean;
	stack: boolean;
	symbols: boolean;
}

export class DebugHost {
	/**
	 * dataBreakpointInfo's answers, dataId → what the user picked
	 * ("counter (8 bytes at 0x…)") and how to show its bytes: for every
	 * session of this adapter, so that a fork child's session, to which
	 * VS Code sends the parent's data breakpoints, names them too.
	 */
	readonly dataNames = new Map<string, { what: string; show?: (b: Buffer) => string }>();
	private tracerInstance: Tracer | null = null;
	private readonly debuggees = new Map<number, Debuggee>();
	private readonly pending = new Map<number, PendingChild>();
	private features: Promise<NativeFeatures> | null = null;

	/** The tracer, started on first use (throws NativeLoadError without the library). */
	get tracer(): Tracer {
		if (!this.tracerInstance) {
			const t = Tracer.open();
			// FORKALL_LOG_LEVEL=debug|info|warn|error: libforkall's own log lines
			// go to the adapter's stderr (the extension shows it in its channel).
			const level = (process.env.FORKALL_LOG_LEVEL ?? '').toLowerCase();
			const known = { trace: 'debug', debug: 'debug', info: 'info', warn: 'warn', error: 'error' } as const;
			const l = known[level as keyof typeof known];
			if (l) {
				t.setLogLevel(l);
				t.on('log', (lvl, msg) => process.stderr.write(`libforkall ${lvl}: ${msg}\n`));
			}
			this.tracerInstance = t;
		}
		return this.tracerInstance;
	}

	/**
	 * Which operations this library has, from its handshake (fk_protocol()):
	 * no request is sent. Throws NativeLoadError without the library and
	 * ProtocolError when it speaks another protocol version.
	 */
	nativeFeatures(): Promise<NativeFeatures> {
		if (!this.features) {
			this.features = (async () => {
				const ops = new Set<string>(Tracer.handshake().ops);
				return {
					launch: ops.has('launch'),
					step: ops.has('step'),
					breakpoints: ops.has('bpInsert') && ops.has('bpRemove'),
					stack: ops.has('stack'),
					symbols: ops.has('symbols'),
				};
			})();
		}
		return this.features;
	}

	register(d: Debuggee): void {
		this.debuggees.set(d.pid, d);
		d.once('exited', () => this.debuggees.delete(d.pid));
	}

	unregister(d: Debuggee): void {
		if (this.debuggees.get(d.pid) === d) {
			this.debuggees.delete(d.pid);
		}
	}

	get(pid: number): Debuggee | undefined {
		return this.debuggees.get(pid);
	}

	/** A forked child (kept traced) waits for a session to claim it. */
	addPendingChild(c: PendingChild): void {
		this.pending.set(c.pid, c);
	}

	/** Claim a pending child: its Debuggee (attached, stopped), or null. */
	claimChild(pid: number): Debuggee | null {
		if (!this.pending.has(pid)) {
			return null;
		}
		const parent = this.pending.get(pid)?.parentPid ?? null;
		this.pending.delete(pid);
		const d = Debuggee.adopt(this.tracer, pid);
		d.parentPid = parent;
		this.register(d);
		return d;
	}

	/**
	 * End every process traced here that descends from pid through followed
	 * forks (children held for a session or in one, their children, ...).
	 * Returns how many were killed.
	 */
	async endTree(pid: number): Promise<number> {
		const tree = new Set<number>([pid]);
		for (let grew = true; grew;) {
			grew = false;
			for (const c of this.pending.values()) {
				if (tree.has(c.parentPid) && !tree.has(c.pid)) {
					tree.add(c.pid);
					grew = true;
				}
			}
			for (const d of this.debuggees.values()) {
				if (d.parentPid !== null && tree.has(d.parentPid) && !tree.has(d.pid)) {
					tree.add(d.pid);
					grew = true;
				}
			}
		}
		tree.delete(pid);
		let n = 0;
		for (const c of tree) {
			const d = this.debuggees.get(c);
			if (this.pending.delete(c)) {
				await this.tracer.request('kill', { pid: c }).catch(() => undefined);
				n++;
			} else if (d && d.state !== 'exited') {
				await d.kill().catch(() => undefined);
				n++;
			}
		}
		return n;
	}

	/** A pending child nobody claimed: let it go (detach: it runs on). */
	async releaseChild(pid: number): Promise<void> {
		if (!this.pending.delete(pid)) {
			return;
		}
		await this.tracer.request('detach', { pid }).catch(() => undefined);
	}

	/**
	 * End every session's debuggee and stop the tracer thread: a launched
	 * program is killed (as a disconnect would), an attached process or a
	 * forked child is detached with every breakpoint removed (the library
	 * first rewinds threads caught just past an int3). What is not
	 * registered here (an attach in flight) is released by the tracer's own
	 * close, the same way.
	 */
	async close(): Promise<void> {
		for (const pid of [...this.pending.keys()]) {
			await this.releaseChild(pid);
		}
		for (const d of [...this.debuggees.values()]) {
			if (d.origin === 'launch') {
				await d.kill().catch(() => undefined);
				await d.waitExit(2000);
				d.dispose();
			} else {
				await d.detach().catch(() => undefined);
			}
		}
		this.debuggees.clear();
		if (this.tracerInstance) {
			await this.tracerInstance.close().catch(() => undefined);
		}
	}
}
