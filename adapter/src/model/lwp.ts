/*
 * Lwp: one kernel thread (light-weight process) of a traced process, as
 * captured by a "threads" snapshot. Plain values; no DAP types.
 */
import type { PthreadSource, ThreadInfo, ThreadState } from '../engine/protocol';

export interface StackRange {
	low: bigint;
	high: bigint;
	/** Size of the PROT_NONE guard mapping just below `low` (0 if none). */
	guard: number;
	/** Where the range came from: "maps:[stack]", "maps:pthread", "maps:sp". */
	source: string | null;
}

const STATE_NAMES: Record<ThreadState, string> = {
	R: 'running',
	S: 'sleeping',
	D: 'disk sleep',
	T: 'stopped',
	t: 'tracing stop',
	Z: 'zombie',
	X: 'dead',
	I: 'idle',
};

export class Lwp {
	readonly tid: number;
	/** glibc pthread_t (address of struct pthread), or null for non-glibc threads. */
	readonly pthread: bigint | null;
	readonly pthreadSource: PthreadSource | null;
	/** /proc/PID/task/TID/comm. */
	readonly name: string;
	/** State letter read before the process was stopped. */
	readonly state: ThreadState;
	/** System call number when stopped inside one, else null. */
	readonly syscall: number | null;
	readonly pc: bigint;
	readonly sp: bigint;
	readonly fsBase: bigint | null;
	readonly stack: StackRange | null;
	/** false when SP is outside the stack range (e.g. an alternate signal stack). */
	readonly spInStack: boolean;

	constructor(
		readonly pid: number,
		info: ThreadInfo,
	) {
		this.tid = info.tid;
		this.pthread = info.pthread === null ? null : BigInt(info.pthread);
		this.pthreadSource = info.pthreadSource ?? null;
		this.name = info.name;
		this.state = info.state;
		this.syscall = info.syscall ?? null;
		this.pc = BigInt(info.pc);
		this.sp = BigInt(info.sp);
		this.fsBase = info.fsBase ? BigInt(info.fsBase) : null;
		this.stack = info.stack
			? {
					low: BigInt(info.stack.low),
					high: BigInt(info.stack.high),
					guard: info.stack.guard,
					source: info.stack.source ?? null,
				}
			: null;
		this.spInStack = info.spInStack ?? (this.stack ? this.sp >= this.stack.low && this.sp < this.stack.high : true);
	}

	/** The main thread has tid == pid. */
	get isMain(): boolean {
		return this.tid === this.pid;
	}

	get stateName(): string {
		return STATE_NAMES[this.state];
	}
}
