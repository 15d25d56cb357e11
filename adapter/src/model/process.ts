/*
 * Process: a pid plus the tracer that talks to it. Snapshots and register
 * reads are requests to the native tracer thread. No DAP types.
 */
import type { Tracer } from '../engine/tracer';
import type { ForkBody, ForkRequest, ThreadsBody } from '../engine/protocol';
import { Lwp } from './lwp';
import { Registers } from './registers';

export interface ThreadsSnapshot {
	pid: number;
	/** How long the process was paused to take the snapshot, in µs. */
	pauseUs: number;
	/** The process was already attached in a session (captured in place). */
	attachedBefore: boolean;
	lwps: Lwp[];
	/** The native body as received (for --json and diagnostics). */
	raw: ThreadsBody;
}

/** What the forked child does once it is built. */
export type ForkMode = 'run' | 'stopped' | 'debug';

export interface ForkOptions {
	mode?: ForkMode;
	/** Copy MADV_DONTFORK memory (V8's heap) into the child. Default true. */
	copyDontfork?: boolean;
	/** Same pid and tids in a new PID namespace (needs CAP_SYS_ADMIN). */
	sameTids?: boolean;
}

/** The "fork" request's switches for these options. */
export function forkArgs(o: ForkOptions): Omit<ForkRequest, 'pid'> {
	return {
		stopped: o.mode === 'stopped',
		keepTraced: o.mode === 'debug',
		copyDontfork: o.copyDontfork ?? true,
		sameTids: o.sameTids ?? false,
	};
}

export class Process {
	constructor(
		readonly tracer: Tracer,
		readonly pid: number,
	) {}

	/** Stop every LWP briefly, describe each, resume. Sorted by tid, main first. */
	async threads(): Promise<ThreadsSnapshot> {
		const body = await this.tracer.request('threads', { pid: this.pid });
		const lwps = body.threads.map((t) => new Lwp(body.pid, t));
		lwps.sort((a, b) => (a.isMain === b.isMain ? a.tid - b.tid : a.isMain ? -1 : 1));
		return {
			pid: body.pid,
			pauseUs: body.pauseUs,
			attachedBefore: body.attachedBefore ?? false,
			lwps,
			raw: body,
		};
	}

	/** The multithreaded fork: a child with every thread of this process. */
	async fork(opts: ForkOptions = {}): Promise<ForkBody> {
		return this.tracer.request('fork', { pid: this.pid, ...forkArgs(opts) });
	}

	/** All registers of one LWP (only that LWP is stopped, unless attached). */
	async registers(tid: number): Promise<Registers> {
		return new Registers(await this.tracer.request('regs', { pid: this.pid, tid }));
	}
}
