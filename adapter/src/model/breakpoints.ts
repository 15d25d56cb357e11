/*
 * Breakpoints of one debuggee: logical breakpoints (what the user asked
 * for: a source line, a function, an instruction; or an internal one a step
 * uses) over int3 sites (one per address, shared, reference counted).
 * Plain values; no DAP types.
 */
import { hexArg, type Tracer } from '../engine/tracer';
import { hex } from '../common/format';
import { checkSyntax } from './expr/parser';
import { anyOf, compileCondition } from './expr/compile';

export type BreakpointKind = 'source' | 'function' | 'instruction' | 'internal' | 'data';

export interface Breakpoint {
	readonly id: number;
	readonly kind: BreakpointKind;
	/** Where int3s were inserted (empty when unresolved). */
	addresses: bigint[];
	verified: boolean;
	/** Why it is not verified, or a note. */
	message?: string;
	/** kind 'source': the file and the line asked for / the line that has code. */
	file?: string;
	requestedLine?: number;
	line?: number;
	/** kind 'function' */
	functionName?: string;
	/** DAP hit condition: "N", "== N", ">= N", "> N", "< N", "<= N", "% N" */
	hitCondition?: string;
	/** condition (a C expression, model/expr): stop only when it holds */
	condition?: string;
	/** a logpoint: print this ({expr} replaced by its value) instead of stopping */
	logMessage?: string;
	/** how many times a thread reached it */
	hits?: number;
	/** condition compiled for the tracer thread (model/expr/compile.ts); null: not of a simple shape */
	program?: string | null;
	/** kind 'data': the watched bytes and whether reads count too */
	data?: {
		addr: bigint;
		len: number;
		rw: boolean;
		what: string;
		/** how the watched bytes read (a scalar of the watched type), and what they held at the last look */
		show?: (b: Buffer) => string;
		last?: Buffer;
	};
}

/** Parse a hit condition; null when it is not one we understand. */
export function parseHitCondition(cond: string): ((hits: number) => boolean) | null {
	const m = /^\s*(==|>=|<=|>|<|%)?\s*(\d+)\s*$/.exec(cond);
	if (!m) return null;
	const n = Number(m[2]);
	switch (m[1] ?? '==') {
		case '==':
			return (h) => h === n;
		case '>=':
			return (h) => h >= n;
		case '<=':
			return (h) => h <= n;
		case '>':
			return (h) => h > n;
		case '<':
			return (h) => h < n;
		default:
			return n > 0 ? (h) => h % n === 0 : null;
	}
}

/** Count a hit on each breakpoint; true when at least one of them wants to stop. */
export function countHits(bps: readonly Breakpoint[]): boolean {
	let stop = bps.length === 0;
	for (const b of bps) {
		b.hits = (b.hits ?? 0) + 1;
		const test = b.hitCondition ? parseHitCondition(b.hitCondition) : null;
		if (!test || test(b.hits)) stop = true;
	}
	return stop;
}

interface Site {
	/** The byte the int3 replaced (read before inserting). */
	orig: number | null;
	owners: Set<number>;
	/** The compiled condition the native side has for it ('' none). */
	program: string;
	/** Why the native side did not take the last program. */
	note?: string;
}

/** The native counters of a breakpoint's compiled condition, summed over its addresses. */
export interface ConditionStats {
	/** every address evaluates it in the tracer thread */
	compiled: boolean;
	note?: string;
	passes: number;
	/** of those, through the breakpoint's slot (one stop per hit, native/src/ptrace/bpslot.h) */
	slotPasses: number;
	holds: number;
	errors: number;
}

export class BreakpointTable {
	private nextId = 1;
	private readonly bps = new Map<number, Breakpoint>();
	private readonly sites = new Map<bigint, Site>();

	constructor(
		private readonly tracer: Tracer,
		private readonly pid: number,
		private readonly readByte: (addr: bigint) => number | null,
	) {}

	/** Create a breakpoint and insert an int3 at each address. */
	async add(kind: BreakpointKind, addresses: bigint[], meta: Partial<Breakpoint> = {}): Promise<Breakpoint> {
		const bp: Breakpoint = { ...meta, id: this.nextId++, kind, addresses: [], verified: false };
		const failures = await this.place(bp, addresses);
		const notes: string[] = [];
		if (bp.condition) {
			try {
				checkSyntax(bp.condition);
			} catch (e) {
				notes.push(`${(e as Error).message}; it stops on every hit`);
			}
		}
		if (bp.hitCondition && !parseHitCondition(bp.hitCondition)) {
			notes.push(
				`hit condition "${bp.hitCondition}" not understood (use N, == N, >= N, > N, <= N, < N or % N); it stops on every hit`,
			);
		}
		if (failures.length) {
			notes.unshift(`cannot insert a breakpoint at ${failures.join('; ')}`);
		} else if (!bp.verified && !bp.message) {
			notes.unshift('no code found for this location');
		}
		if (notes.length) bp.message = notes.join('; ');
		this.bps.set(bp.id, bp);
		await this.syncConditions(bp.addresses);
		return bp;
	}

	/** An unresolved breakpoint (kept so the client sees an id). */
	addUnverified(kind: BreakpointKind, message: string, meta: Partial<Breakpoint> = {}): Breakpoint {
		const bp: Breakpoint = { ...meta, id: this.nextId++, kind, addresses: [], verified: false, message };
		this.bps.set(bp.id, bp);
		return bp;
	}

	async remove(id: number): Promise<void> {
		const bp = this.bps.get(id);
		if (!bp) {
			return;
		}
		this.bps.delete(id);
		if (bp.kind === 'data') {
			if (bp.verified && bp.data)
				await this.tracer.request('unwatch', { pid: this.pid, addr: hexArg(bp.data.addr) }).catch(() => undefined);
			return;
		}
		for (const a of bp.addresses) {
			await this.removeSite(a, id).catch(() => undefined);
		}
		await this.syncConditions(bp.addresses);
	}

	/** Remove every breakpoint of a kind (and, for 'source', of one file). */
	async removeWhere(pred: (bp: Breakpoint) => boolean): Promise<void> {
		for (const bp of [...this.bps.values()]) {
			if (pred(bp)) {
				await this.remove(bp.id);
			}
		}
	}

	/** A data breakpoint (hardware watchpoint) on [addr, addr+len): every thread, new ones too. */
	async addData(addr: bigint, len: number, rw: boolean, what: string, show?: (b: Buffer) => string): Promise<Breakpoint> {
		const bp: Breakpoint = {
			id: this.nextId++,
			kind: 'data',
			addresses: [],
			verified: false,
			data: { addr, len, rw, what, ...(show ? { show } : {}) },
		};
		try {
			await this.tracer.request('watch', { pid: this.pid, addr: hexArg(addr), len, rw });
			bp.addresses.push(addr);
			bp.verified = true;
		} catch (e) {
			bp.message = (e as Error).message;
		}
		this.bps.set(bp.id, bp);
		return bp;
	}

	/** The data breakpoints watching addr. */
	dataAt(addr: bigint): Breakpoint[] {
		return [...this.bps.values()].filter((b) => b.kind === 'data' && b.data?.addr === addr);
	}

	/** Logical breakpoints with an int3 at addr. */
	at(addr: bigint): Breakpoint[] {
		const site = this.sites.get(addr);
		if (!site) {
			return [];
		}
		return [...site.owners].map((id) => this.bps.get(id)).filter((b): b is Breakpoint => b !== undefined);
	}

	all(): Breakpoint[] {
		return [...this.bps.values()];
	}

	/** The original bytes of every int3 site in [addr, addr+len). */
	patches(addr: bigint, len: number): { offset: number; byte: number }[] {
		const out: { offset: number; byte: number }[] = [];
		for (const [a, site] of this.sites) {
			if (a >= addr && a < addr + BigInt(len) && site.orig !== null) {
				out.push({ offset: Number(a - addr), byte: site.orig });
			}
		}
		return out;
	}

	/**
	 * The process runs a new program (execve): every int3 went with the old
	 * memory. Each breakpoint is placed again where `resolve` finds it now
	 * (null: dropped — internal ones). Returns the breakpoints kept.
	 */
	async rebind(
		resolve: (b: Breakpoint) => Promise<{ addresses: bigint[]; line?: number; message?: string } | null>,
	): Promise<Breakpoint[]> {
		this.sites.clear();
		const kept: Breakpoint[] = [];
		for (const bp of [...this.bps.values()]) {
			let r: Awaited<ReturnType<typeof resolve>>;
			try {
				r = await resolve(bp);
			} catch (e) {
				r = { addresses: [], message: (e as Error).message };
			}
			if (!r) {
				this.bps.delete(bp.id);
				continue;
			}
			bp.addresses = [];
			bp.message = r.message;
			if (r.line !== undefined) bp.line = r.line;
			await this.placeNoting(bp, r.addresses);
			kept.push(bp);
		}
		await this.syncConditions([...this.sites.keys()]);
		return kept;
	}

	/** Insert bp's int3s at addrs (bp.addresses: those that took; verified if any did). Returns "addr: why" of the others. */
	private async place(bp: Breakpoint, addrs: readonly bigint[]): Promise<string[]> {
		const failures: string[] = [];
		for (const a of addrs) {
			try {
				await this.insertSite(a, bp.id);
				bp.addresses.push(a);
			} catch (e) {
				failures.push(`${hex(a)}: ${(e as Error).message}`);
			}
		}
		bp.verified = bp.addresses.length > 0;
		return failures;
	}

	/** place(), with the failures as the breakpoint's message. */
	private async placeNoting(bp: Breakpoint, addrs: readonly bigint[]): Promise<void> {
		const failures = await this.place(bp, addrs);
		if (failures.length) bp.message = `cannot insert a breakpoint at ${failures.join('; ')}`;
	}

	/**
	 * A followed fork child (or a restored checkpoint) takes over the
	 * breakpoints of its parent (a copy of its memory, so the same
	 * addresses): the same logical breakpoints, ids included, each
	 * inserted again here — data breakpoints too (a fork does not copy
	 * debug registers: they are set again in the child's threads).
	 */
	async copyFrom(other: BreakpointTable): Promise<Breakpoint[]> {
		const out: Breakpoint[] = [];
		for (const b of other.all()) {
			if (b.kind === 'internal') continue;
			if (b.kind === 'data') {
				if (!b.data || !b.verified) continue;
				const bp: Breakpoint = { ...b, addresses: [], verified: false, hits: 0, data: { ...b.data } };
				try {
					await this.tracer.request('watch', { pid: this.pid, addr: hexArg(b.data.addr), len: b.data.len, rw: b.data.rw });
					bp.addresses.push(b.data.addr);
					bp.verified = true;
				} catch (e) {
					bp.message = (e as Error).message;
				}
				this.bps.set(bp.id, bp);
				this.nextId = Math.max(this.nextId, bp.id + 1);
				out.push(bp);
				continue;
			}
			const bp: Breakpoint = { ...b, addresses: [], verified: false, hits: 0 };
			await this.placeNoting(bp, b.addresses);
			this.bps.set(bp.id, bp);
			this.nextId = Math.max(this.nextId, bp.id + 1);
			out.push(bp);
		}
		this.nextId = Math.max(this.nextId, other.nextId);
		await this.syncConditions([...this.sites.keys()]);
		return out;
	}

	/** Forget everything (the process is gone, or the native side removed them on detach). */
	clear(): void {
		this.bps.clear();
		this.sites.clear();
	}

	private async insertSite(addr: bigint, owner: number): Promise<void> {
		let site = this.sites.get(addr);
		if (!site) {
			const orig = this.readByte(addr);
			await this.tracer.request('bpInsert', { pid: this.pid, addr: hexArg(addr) });
			site = { orig, owners: new Set(), program: '' };
			this.sites.set(addr, site);
		}
		site.owners.add(owner);
	}

	/**
	 * Give the tracer the compiled condition of each of these sites: when
	 * every breakpoint there has a condition it can evaluate, their OR
	 * (a false one passes without an event); else none (every hit comes
	 * here). A program the native side refuses (a name it cannot resolve
	 * at that pc, a non-scalar) leaves the site without one.
	 */
	private async syncConditions(addrs: readonly bigint[]): Promise<void> {
		for (const addr of new Set(addrs)) {
			const site = this.sites.get(addr);
			if (!site) continue;
			const owners = [...site.owners].map((id) => this.bps.get(id));
			const programs: string[] = [];
			for (const b of owners) {
				if (!b?.condition) break;
				if (b.program === undefined) b.program = compileCondition(b.condition);
				if (!b.program) break;
				programs.push(b.program);
			}
			const want = programs.length === owners.length && owners.length ? anyOf(programs) : '';
			if (want === site.program) continue;
			try {
				const r = await this.tracer.request('bpCondition', { pid: this.pid, addr: hexArg(addr), program: want });
				site.program = r.compiled ? want : '';
				site.note = r.note ?? undefined;
			} catch (e) {
				site.program = '';
				site.note = (e as Error).message;
			}
		}
	}

	/** The native counters of bp's compiled condition (a debugging aid, and how tests see the native path is taken). */
	async conditionStats(id: number): Promise<ConditionStats | null> {
		const bp = this.bps.get(id);
		if (!bp) return null;
		const out: ConditionStats = { compiled: bp.addresses.length > 0, passes: 0, slotPasses: 0, holds: 0, errors: 0 };
		for (const a of bp.addresses) {
			const site = this.sites.get(a);
			if (site?.note) out.note = site.note;
			const r = await this.tracer.request('bpCondition', { pid: this.pid, addr: hexArg(a), query: true });
			out.compiled &&= r.compiled;
			out.passes += r.passes;
			out.slotPasses += r.slotPasses;
			out.holds += r.holds;
			out.errors += r.errors;
		}
		return out;
	}

	private async removeSite(addr: bigint, owner: number): Promise<void> {
		const site = this.sites.get(addr);
		if (!site) {
			return;
		}
		site.owners.delete(owner);
		if (site.owners.size === 0) {
			this.sites.delete(addr);
			await this.tracer.request('bpRemove', { pid: this.pid, addr: hexArg(addr) });
		}
	}
}
