/*
 * The LWP table as the views show it: stack usage from the adapter's rows
 * (custom request 'lwps' / event 'lwpsChanged'), overflow flags, the
 * parent -> child tid map of a fork. No `vscode` import: unit-tested.
 */
import type { ForkAllThreadsResponseBody, LwpRow, LwpsResponseBody } from '../../adapter/src/dap/custom';
import { syscallName } from '../../adapter/src/common/syscalls';

export { syscallName };

export type { ForkAllThreadsResponseBody, LwpRow, LwpsResponseBody };

export interface StackUsage {
	low: bigint;
	high: bigint;
	sp: bigint;
	/** Mapping size (high - low), guard included. */
	size: number;
	guard: number;
	/** Size minus guard: what the thread can use. */
	usable: number;
	/** high - sp (0 when SP is outside the stack). */
	used: number;
	/** usable - used. */
	free: number;
	/** used / usable, 0..100 (rounded to 0.1). */
	percent: number;
	spInStack: boolean;
}

function big(hex: string): bigint {
	return BigInt(hex);
}

/** Stack usage of one LWP, or null when the adapter found no stack. */
export function stackUsage(row: LwpRow): StackUsage | null {
	if (!row.stack) return null;
	const low = big(row.stack.low);
	const high = big(row.stack.high);
	const sp = big(row.sp);
	const size = Number(high - low);
	const guard = Math.min(row.stack.guard, size);
	const usable = size - guard;
	const spInStack = row.spInStack && sp >= low && sp <= high;
	const used = spInStack ? Math.max(0, Math.min(usable, Number(high - sp))) : 0;
	const free = usable - used;
	const percent = usable > 0 ? Math.round((used / usable) * 1000) / 10 : 0;
	return { low, high, sp, size, guard, usable, used, free, percent, spInStack };
}

/**
 * Near overflow: used >= threshold % of the usable stack, for stacks with a
 * fixed size. The main thread's [stack] mapping grows on demand (up to
 * RLIMIT_STACK), so its mapping size says nothing about the limit.
 */
export function nearOverflow(row: LwpRow, thresholdPercent: number): boolean {
	if (row.isMain) return false;
	const u = stackUsage(row);
	return !!u && u.spInStack && u.percent >= thresholdPercent;
}

export function formatBytes(n: number): string {
	if (n < 1024) return `${n} B`;
	if (n < 1024 * 1024) return `${+(n / 1024).toFixed(1)} KiB`;
	if (n < 1024 * 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MiB`;
	return `${+(n / (1024 * 1024 * 1024)).toFixed(1)} GiB`;
}

/**
 * What the LWP is doing: "in futex" when it sits in a system call, "user
 * code" when stopped elsewhere ('t': the debugger holds it), else the
 * kernel state.
 */
export function stateText(row: LwpRow): string {
	if (row.dead) return 'dead: lost in the fork';
	if (row.syscall !== null) return `in ${syscallName(row.syscall)}`;
	if (row.state === 't' || row.state === 'T') return 'user code';
	return row.stateName || row.state;
}

/** parent tid -> child tid, and back. */
export interface TidMap {
	parentPid: number;
	childPid: number;
	toChild: Map<number, number>;
	toParent: Map<number, number>;
}

export function tidMap(fork: ForkAllThreadsResponseBody): TidMap {
	const toChild = new Map<number, number>();
	const toParent = new Map<number, number>();
	for (const t of fork.threads) {
		toChild.set(t.parentTid, t.childTid);
		toParent.set(t.childTid, t.parentTid);
	}
	return { parentPid: fork.parent, childPid: fork.child, toChild, toParent };
}

/** One bar of the stack picture: everything as plain numbers and strings (postMessage-safe). */
export interface StackBar {
	tid: number;
	name: string;
	state: string;
	isMain: boolean;
	/** a thread the fork child lost: its stack is still mapped, nothing runs it */
	dead: boolean;
	fn: string | null;
	low: string;
	high: string;
	sp: string;
	/** Fractions of the bar (0..1): guard at the low end, then free, then used up to high. */
	guardFrac: number;
	freeFrac: number;
	usedFrac: number;
	/**
	 * Bar width (0.35..1): logarithmic in the stack size between the smallest
	 * and the biggest stack, so a 64 KiB stack next to 8 MiB ones is still a
	 * bar whose fill (its own percentage) can be read; the size is in the text.
	 */
	widthFrac: number;
	size: string;
	used: string;
	free: string;
	guard: string;
	percent: number;
	spInStack: boolean;
	nearOverflow: boolean;
	/** After a fork: the matching tid on the other side. */
	peerTid: number | null;
	noStack: boolean;
}

export interface StackPicture {
	title: string;
	pid: number;
	reason: string | null;
	running: boolean;
	bars: StackBar[];
	/** After a fork: the tid pairs, and which side this session is. */
	fork: { parentPid: number; childPid: number; pairs: { parentTid: number; childTid: number }[]; side: 'parent' | 'child' } | null;
	threshold: number;
}

/** The narrowest bar of the stack picture (the smallest stack). */
const MIN_BAR = 0.35;

export function stackPicture(
	title: string,
	table: LwpsResponseBody,
	opts: {
		reason?: string | null;
		running?: boolean;
		functions?: Map<number, string>;
		threshold: number;
		fork?: { map: TidMap; side: 'parent' | 'child' } | null;
	},
): StackPicture {
	const usages = table.lwps.map((r) => stackUsage(r));
	const sizes = usages.filter((u) => u && u.size > 0).map((u) => u!.size);
	const maxSize = Math.max(1, ...sizes);
	const minSize = Math.min(maxSize, ...sizes);
	const span = Math.log2(maxSize / minSize);
	const width = (size: number) => (span > 0 ? MIN_BAR + (1 - MIN_BAR) * (Math.log2(Math.max(size, minSize) / minSize) / span) : 1);
	// Addresses high to low, like a memory map: the picture lists stacks from the top of the address space.
	const order = table.lwps
		.map((r, i) => ({ r, u: usages[i] }))
		.sort((a, b) => (a.u && b.u ? (a.u.high > b.u.high ? -1 : a.u.high < b.u.high ? 1 : 0) : a.u ? -1 : b.u ? 1 : a.r.tid - b.r.tid));
	const bars: StackBar[] = order.map(({ r, u }) => {
		const fork = opts.fork;
		const peer = fork ? ((fork.side === 'parent' ? fork.map.toChild.get(r.tid) : fork.map.toParent.get(r.tid)) ?? null) : null;
		const base = {
			tid: r.tid,
			name: r.name,
			state: stateText(r),
			isMain: r.isMain,
			dead: !!r.dead,
			fn: opts.functions?.get(r.tid) ?? null,
			sp: r.sp,
			peerTid: peer,
		};
		if (!u) {
			return {
				...base,
				low: '',
				high: '',
				guardFrac: 0,
				freeFrac: 0,
				usedFrac: 0,
				widthFrac: MIN_BAR,
				size: '',
				used: '',
				free: '',
				guard: '',
				percent: 0,
				spInStack: false,
				nearOverflow: false,
				noStack: true,
			};
		}
		return {
			...base,
			low: r.stack!.low,
			high: r.stack!.high,
			guardFrac: u.size ? u.guard / u.size : 0,
			freeFrac: u.size ? u.free / u.size : 0,
			usedFrac: u.size ? u.used / u.size : 0,
			widthFrac: width(u.size),
			size: formatBytes(u.size),
			used: formatBytes(u.used),
			free: formatBytes(u.free),
			guard: formatBytes(u.guard),
			percent: u.percent,
			spInStack: u.spInStack,
			nearOverflow: nearOverflow(r, opts.threshold),
			noStack: false,
		};
	});
	return {
		title,
		pid: table.pid,
		reason: opts.reason ?? null,
		running: !!opts.running,
		bars,
		threshold: opts.threshold,
		fork: opts.fork
			? {
					parentPid: opts.fork.map.parentPid,
					childPid: opts.fork.map.childPid,
					side: opts.fork.side,
					pairs: [...opts.fork.map.toChild].map(([parentTid, childTid]) => ({ parentTid, childTid })),
				}
			: null,
	};
}
