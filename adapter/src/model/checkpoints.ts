/*
 * Checkpoints of one debug session (issue 12): in-memory copies of the
 * stopped program with every thread (native `checkpoint`: a frozen
 * copy-on-write fork plus every thread's saved state), numbered 1, 2, 3…
 * in the session. A restore makes a new process from one (native
 * `restore`: forked again, every thread rebuilt) and hands back its
 * Debuggee, stopped, breakpoints in place; the checkpoint stays, so it can
 * be restored again. Automatic checkpoints (launch.json "autoCheckpoint":
 * N) keep the last N stops for Step Back. No DAP types here.
 */
import type { CheckpointInfo, RestoreBody } from '../engine/protocol';
import type { Tracer } from '../engine/tracer';
import { Debuggee } from './debuggee';

export interface Checkpoint {
	id: number;
	/** the frozen copy's pid */
	pid: number;
	/** the process it copies */
	of: number;
	note: string;
	auto: boolean;
	threads: number;
	/** where the stopped thread was */
	location: { function?: string; file?: string; line?: number };
	/** the thread that was stopped (the one a restore reports) */
	tid: number;
	created: number;
	saveUs: number;
	pauseUs: number;
	pendingSignals: number;
	timers: number;
	itimers: number;
}

export class CheckpointError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'CheckpointError';
	}
}

export class Checkpoints {
	private readonly list: Checkpoint[] = [];
	private nextId = 1;

	constructor(private readonly tracer: Tracer) {}

	get size(): number {
		return this.list.length;
	}

	all(): readonly Checkpoint[] {
		return this.list;
	}

	get(id: number): Checkpoint {
		const c = this.list.find((x) => x.id === id);
		if (!c)
			throw new CheckpointError(
				`there is no checkpoint ${id}${this.list.length ? ` (have: ${this.list.map((x) => x.id).join(', ')})` : ''}`,
			);
		return c;
	}

	/** The newest one older than checkpoint `before` (all when null); automatic ones only with autoOnly. */
	newest(before: number | null, autoOnly = false): Checkpoint | undefined {
		for (let i = this.list.length - 1; i >= 0; i--) {
			const c = this.list[i];
			if (before !== null && c.id >= before) continue;
			if (autoOnly && !c.auto) continue;
			return c;
		}
		return undefined;
	}

	/** Save one of the stopped debuggee. */
	async save(d: Debuggee, note: string, auto: boolean, tid: number, location: Checkpoint['location']): Promise<Checkpoint> {
		const b = await d.checkpoint();
		const c: Checkpoint = {
			id: this.nextId++,
			pid: b.checkpoint,
			of: d.pid,
			note,
			auto,
			threads: b.threads,
			location,
			tid,
			created: b.created,
			saveUs: b.us,
			pauseUs: b.pauseUs,
			pendingSignals: b.pendingSignals,
			timers: b.timers,
			itimers: b.itimers,
		};
		this.list.push(c);
		return c;
	}

	/** Keep only the newest `keep` automatic checkpoints. */
	async trimAuto(keep: number): Promise<void> {
		const autos = this.list.filter((c) => c.auto);
		for (const c of autos.slice(0, Math.max(0, autos.length - keep))) await this.delete(c.id);
	}

	/** What each costs now (memory), from the library. */
	async infos(): Promise<Map<number, CheckpointInfo>> {
		const b = await this.tracer.request('checkpoints', { pid: 0 });
		return new Map(b.checkpoints.map((i) => [i.checkpoint, i]));
	}

	/** A new process from checkpoint id: stopped, every thread rebuilt (sameTids: with the saved pid and tids, in a PID namespace of its own); breakpoints copied from `from`. */
	async restore(
		id: number,
		from: Debuggee | null,
		sameTids = false,
	): Promise<{ debuggee: Debuggee; body: RestoreBody; checkpoint: Checkpoint }> {
		const c = this.get(id);
		const body = await this.tracer.request('restore', { checkpoint: c.pid, sameTids });
		const d = Debuggee.adopt(this.tracer, body.pid);
		if (from) await d.breakpoints.copyFrom(from.breakpoints);
		return { debuggee: d, body, checkpoint: c };
	}

	async delete(id: number): Promise<void> {
		const i = this.list.findIndex((x) => x.id === id);
		if (i < 0) throw new CheckpointError(`there is no checkpoint ${id}`);
		const [c] = this.list.splice(i, 1);
		await this.tracer.request('checkpointDelete', { checkpoint: c.pid }).catch(() => undefined);
	}

	/** Every one, killed (the session ends). */
	async clear(): Promise<void> {
		for (const c of [...this.list]) await this.delete(c.id);
	}
}
