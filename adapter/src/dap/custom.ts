/*
 * Custom DAP requests and events (extension <-> adapter), typed like the
 * standard ones, and the extra launch/attach arguments.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';

export type ForkModeArg = 'debug' | 'run' | 'stopped';

/** customRequest('forkAllThreads', …) */
export interface ForkAllThreadsArguments {
	mode?: ForkModeArg;
	/** The thread the user picked (informational: every thread is forked). */
	threadId?: number;
	/** Copy MADV_DONTFORK memory into the child (default true: V8's heap lives there). */
	copyDontfork?: boolean;
	/** The child keeps the parent's pid and tids (needs CAP_SYS_ADMIN in the debuggee). */
	sameTids?: boolean;
}

export interface ForkAllThreadsResponseBody {
	mode: ForkModeArg;
	parent: number;
	child: number;
	threads: { parentTid: number; childTid: number }[];
	timings: { pauseUs: number; forkUs: number; threadsUs: number; totalUs: number };
	warnings: string[];
	/** mode "debug": the startDebugging request was sent for the child. */
	childSession?: boolean;
}

/** One row of the LWP table (customRequest('lwps') and event 'lwpsChanged'). */
export interface LwpRow {
	tid: number;
	name: string;
	state: string;
	stateName: string;
	pthread: string | null;
	syscall: number | null;
	pc: string;
	sp: string;
	fsBase: string | null;
	stack: { low: string; high: string; guard: number; source: string | null } | null;
	spInStack: boolean;
	isMain: boolean;
	/** A thread this fork child lost (its parent's tid; state as at the fork): nothing runs it. */
	dead?: boolean;
	/** Frozen (Freeze Thread): stays stopped while the others run. */
	frozen?: boolean;
}

export interface LwpsResponseBody {
	pid: number;
	pauseUs: number;
	lwps: LwpRow[];
}

/** customRequest('forkInfo') on a session of a process the program forked (followForks). */
export interface ForkInfoResponseBody {
	parent: number;
	child: number;
	kind: 'fork' | 'clone';
	forkingTid: number;
	/** The parent's threads the child did not get, as they were at the fork. */
	deadThreads: {
		parentTid: number;
		name: string;
		pc: string;
		function: string | null;
		file: string | null;
		line: number | null;
		stack: { low: string; high: string } | null;
	}[];
	/** Locks a dead thread held at the fork (DWARF-visible pthread mutexes/rwlocks): the child waits forever on them. */
	heldLocks: {
		address: string;
		symbol: string;
		type: string;
		ownerParentTid: number;
		ownerName: string;
		/** where the owner was at the fork: "hold_table (deadlock.c:30)" */
		ownerWas: string | null;
	}[];
}

/** customRequest('recreateDeadThreads') on a fork child session: the dead threads, rebuilt inside it. */
export interface RecreateDeadThreadsResponseBody {
	threads: { parentTid: number; childTid: number; name: string }[];
	/** mutexes/rwlocks (DWARF-visible) whose owner field now names the new thread */
	locksFixed: number;
	robustOwnersFixed: number;
	/** struct pthreads handed back to glibc (its fork() had given them up) */
	descriptorsRestored: number;
	/** step-outs that ran the child out of glibc's fork() first (0 unless it was stopped inside it) */
	stepsOutOfFork: number;
	us: number;
	warnings: string[];
}

/** Event 'lwpsChanged': after every stop (and fork). */
export type LwpsChangedEventBody = LwpsResponseBody & { reason: string };

export interface LaunchArguments extends DebugProtocol.LaunchRequestArguments {
	program?: string;
	args?: string[];
	cwd?: string;
	env?: Record<string, string | null>;
	/** Stop at main (default false). */
	stopAtEntry?: boolean;
	/** The signal table in gdb's words: {"SIGUSR1": "nostop noprint pass"} (model/signals.ts). */
	signals?: Record<string, string>;
	/** A process the program forks: its own debug session ("both", the default), detached ("parent"), or followed by this session ("child"). */
	followForks?: 'both' | 'parent' | 'child';
	/** Ending the program ends the child processes followed in child sessions too (default true). */
	terminateChildren?: boolean;
	/** Save a checkpoint at each of the last N stops (Step Back returns to the previous one); 0 (default): off. */
	autoCheckpoint?: number;
	/** A restored checkpoint gets the pid and tids the program had at the save, in a PID namespace of its own (default false). */
	checkpointSameTids?: boolean;
	/** Who runs during a step: every thread ("all", default) or the stepping thread alone ("current", gdb's scheduler-locking step). */
	stepThreads?: 'all' | 'current';
}

export interface AttachArguments extends DebugProtocol.AttachRequestArguments {
	pid?: number | string;
	/** Report a stop right after attaching (default false: the process keeps running). */
	stopOnAttach?: boolean;
	/** Internal: bind this session to a forked child the adapter already traces. */
	__forkallChild?: number;
	name?: string;
	/** As for launch. */
	signals?: Record<string, string>;
	followForks?: 'both' | 'parent' | 'child';
	terminateChildren?: boolean;
	/** Internal: the forked child was made by the program (followForks), not by Fork All Threads Here. */
	__forkallFollowed?: boolean;
	/** Internal: the process a checkpoint restore kept (restoreCheckpoint keepCurrent). */
	__forkallKept?: boolean;
	autoCheckpoint?: number;
	checkpointSameTids?: boolean;
	stepThreads?: 'all' | 'current';
}

/** customRequest('checkpoint'): save one of the stopped program (every thread). */
export interface CheckpointArguments {
	note?: string;
}

export interface CheckpointLocation {
	function?: string;
	file?: string;
	line?: number;
}

export interface CheckpointResponseBody {
	id: number;
	/** the checkpoint's own (frozen) process */
	pid: number;
	threads: number;
	location: CheckpointLocation;
	/** ms since the epoch */
	created: number;
	/** how long the program was stopped for the save, and the whole save */
	pauseUs: number;
	us: number;
	/** kept for every restore: queued signals, POSIX timers, armed itimers */
	pendingSignals: number;
	timers: number;
	itimers: number;
}

/** customRequest('checkpoints') */
export interface CheckpointsResponseBody {
	checkpoints: (CheckpointResponseBody & { note: string; auto: boolean; memoryBytes: number })[];
}

/** customRequest('restoreCheckpoint') */
export interface RestoreCheckpointArguments {
	id: number;
	/** keep the process debugged until now, as a child session of its own (default: killed) */
	keepCurrent?: boolean;
	/** the launch configuration's "checkpointSameTids" for this restore */
	sameTids?: boolean;
}

export interface RestoreCheckpointResponseBody {
	/** the new process the session now debugs */
	pid: number;
	threads: number;
	us: number;
	/** the program sees the pid and tids of the save (in a PID namespace of its own); pid and thread ids here are the numbers outside it */
	sameTids: boolean;
}

/** customRequest('deleteCheckpoint') */
export interface DeleteCheckpointArguments {
	id: number;
}

/** Event 'checkpointsChanged': a checkpoint was saved, deleted or restored. */
export type CheckpointsChangedEventBody = CheckpointsResponseBody;

/** customRequest('conditionStats'): the native counters of a breakpoint's compiled condition (its DAP id). */
export interface ConditionStatsArguments {
	id: number;
}

export interface ConditionStatsResponseBody {
	/** the tracer thread evaluates the condition at each of its addresses */
	compiled: boolean;
	/** why it is not compiled (the native side refused the program) */
	note?: string;
	/** hits passed because the condition was false (no stop, no adapter round trip) */
	passes: number;
	/** of those, passed through the breakpoint's slot: a copy of the instruction that jumps back (one stop per hit) */
	slotPasses: number;
	/** hits reported because it held */
	holds: number;
	/** hits reported because it could not be evaluated natively (the adapter evaluated them) */
	errors: number;
}

/** customRequest('freezeThread'): a frozen thread stays stopped while the others run (continue, steps). */
export interface FreezeThreadArguments {
	threadId: number;
	/** false: thaw (default true) */
	frozen?: boolean;
}

export interface FreezeThreadResponseBody {
	/** every frozen thread of the process now */
	frozen: number[];
}
