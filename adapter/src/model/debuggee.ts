/*
 * Debuggee: one process held in a native session (attached, launched, or a
 * forked child kept traced), with all-stop run control, breakpoints,
 * stepping, stacks, registers and memory. Events are typed; there are no
 * DAP types here (the DAP session in ../dap maps them).
 *
 * Run control is all-stop: a stop of one LWP (signal, breakpoint) stops the
 * whole process before it is reported; continue resumes every LWP; a step
 * moves one LWP while the others stay stopped (gdb's scheduler-locking
 * "step"), except when a step runs a call to its return address (next over
 * a call, stepOut, a loop that calls), which resumes every LWP like
 * continue. Line steps and stepOut run in the tracer thread (one request;
 * native/src/engine/step.c); instruction steps are driven from here.
 */
import * as fs from 'node:fs';
import { TypedEmitter } from '../common/events';
import { hex } from '../common/format';
import { TracerError } from '../engine/errors';
import type {
	ChildProcessEvent,
	ExecEvent,
	ExitedEvent,
	CheckpointBody,
	ForkInfoBody,
	RecreateBody,
	ForkBody,
	FileScopeBody,
	FrameVarsBody,
	LocalVariable,
	SignalEvent,
	StepBody,
	StepRequest,
	StoppedEvent,
	ThreadCreatedEvent,
	ThreadExitedEvent,
} from '../engine/protocol';
import { hexArg, type Tracer } from '../engine/tracer';
import { BreakpointTable, type Breakpoint, countHits, parseHitCondition } from './breakpoints';
import { rawNumber } from './conditions';
import { Evaluator } from './expr/eval';
import { show } from './expr/display';
import { FrameTarget, type FrameSource } from './expr/frame';
import { showWatched, watchable, type Watchable } from './expr/watch';
import { membersOf } from './expr/complete';
import { TypeTable } from './expr/typetable';
import type { Node } from './expr/parser';
import { fromMasks, signalName, toMasks, type SignalTable } from './signals';
import { handledSignalHint } from './signalHint';
import { decodeOne, disassemble, type Instruction } from './disasm';
import { Memory, type MemoryRead } from './memory';
import { Process, forkArgs, type ForkMode, type ThreadsSnapshot } from './process';
import { Registers } from './registers';
import { encodeScalar, type ScalarKind } from './assign';
import { Symbols, frameFromInfo, isUnknownOp, type Frame, type Location } from './symbols';

export type StopReason = 'entry' | 'pause' | 'breakpoint' | 'step' | 'signal' | 'deadlock' | 'data';

export interface StopInfo {
	reason: StopReason;
	tid: number;
	/** reason 'signal' */
	signal?: number;
	signalName?: string;
	/** A signal that kills by default and points at a bug (SIGSEGV, SIGABRT, …). */
	fatal?: boolean;
	/** reason 'breakpoint': the int3 address and the user breakpoints there. */
	addr?: bigint;
	breakpoints: Breakpoint[];
	description?: string;
}

export interface ExitInfo {
	exitCode: number | null;
	signal: number | null;
}

export type OutputCategory = 'stdout' | 'stderr' | 'console';

/** A variable of a frame (DWARF), or a member/element/pointee of one. */
export interface Variable {
	name: string;
	/** C type name as declared (typedefs kept) */
	type: string;
	/** C-style text; "<optimized out>" and the like when there is no value */
	value: string;
	kind: 'param' | 'local' | 'member' | 'element' | 'deref' | string;
	/** where it is in memory (null: in a register or computed) */
	address: bigint | null;
	/** pointers: the address they hold */
	pointer: bigint | null;
	/** a C expression naming it ("pt.x", "numbers[2]", "*p") */
	expr: string | null;
	/** scalars: the number itself (from the native side's typed raw value),
	 * for conditions; null for aggregates and values not available */
	raw: number | bigint | boolean | null;
	/** scalars in memory: their kind and byte size (what an assignment writes) */
	rawKind: ScalarKind | null;
	size: number | null;
	/** null: no children (a scalar, or the depth limit) */
	children: Variable[] | null;
	/** globals: the DWARF type's id (expressions) */
	typeId?: string;
}

export interface FrameLocals {
	/** the function's DWARF name, null without debug information there */
	function: string | null;
	/** why there are no variables */
	note: string | null;
	/** innermost scope first, parameters before locals in a scope */
	variables: Variable[];
}

function toVariable(v: LocalVariable): Variable {
	return {
		name: v.name,
		type: v.type,
		value: v.value,
		kind: v.kind,
		address: v.address ? BigInt(v.address) : null,
		pointer: v.pointer ? BigInt(v.pointer) : null,
		expr: v.expr ?? null,
		raw: v.raw ? (rawNumber(v.raw) ?? null) : null,
		rawKind: v.raw?.kind ?? null,
		size: v.raw?.size ?? null,
		children: v.children ? v.children.map(toVariable) : null,
		...(v.typeId ? { typeId: v.typeId } : {}),
	};
}

export type DebuggeeEvents = {
	stopped: [StopInfo];
	continued: [];
	threadStarted: [number];
	threadExited: [number];
	exited: [ExitInfo];
	output: [OutputCategory, string];
	/** Program output streams closed (after exit, all output has been emitted). */
	outputClosed: [];
	/** The program forked; the library holds the child (stopped, traced) for a session of its own. */
	childHeld: [{ child: number; tid: number; kind: string }];
	/** A new program runs in the process (execve); its breakpoints were set again (those listed changed). */
	exec: [{ path: string; tid: number; breakpoints: Breakpoint[] }];
};

export type Origin = 'attach' | 'launch' | 'fork-child';
export type RunState = 'running' | 'stopping' | 'stopped' | 'exited';

export interface LaunchOptions {
	program: string;
	args?: string[];
	cwd?: string;
	/** Added to (null: removed from) the adapter's environment. */
	env?: Record<string, string | null>;
}

const FATAL_SIGNALS = new Set([4, 5, 6, 7, 8, 11, 31]); // ILL TRAP ABRT BUS FPE SEGV SYS

type NativeStop = StoppedEvent;
type Waiter = (ev: NativeStop | 'exited' | 'paused') => void;

/** A step or run that ended on something else than what it waited for. */
interface Foreign {
	foreign: NativeStop;
}
/** How a step ended when not simply done: a native stop, or a stop as shown. */
type StepEnd = Foreign | { info: StopInfo };

export class Debuggee extends TypedEmitter<DebuggeeEvents> implements FrameSource {
	readonly process: Process;
	readonly memory: Memory;
	readonly symbols: Symbols;
	readonly breakpoints: BreakpointTable;
	private runState: RunState;
	/** The one LWP the last continue ran (DAP singleThread), or undefined: all of them. */
	private resumedOnly: number | undefined;
	private lastStopInfo: StopInfo | null = null;
	private exitInfo: ExitInfo | null = null;
	private waiter: Waiter | null = null;
	private cancelStep = false;
	private stepping = false;
	private nativeStepping = false;
	private cancelSent = false;
	/** detach or kill under way */
	private leaving = false;
	private lastNativeStep: StepBody | null = null;
	private snapshot: Promise<ThreadsSnapshot> | null = null;
	private readonly regsCache = new Map<number, Promise<Registers>>();
	private readonly stackCache = new Map<number, Promise<Frame[]>>();
	private readonly localsCache = new Map<string, Promise<FrameLocals>>();
	private readonly frameVarsCache = new Map<string, Promise<FrameVarsBody>>();
	private readonly globalsCache = new Map<string, Promise<Variable[]>>();
	private readonly globalPlaces = new Map<string, Promise<{ typeId: string; address: bigint } | null>>();
	private readonly globalMisses = new Set<string>();
	/** fileScope answers (functions, constants) by name@pc: what was found is kept (until an exec), misses until the program runs */
	private readonly fileScopes = new Map<string, Promise<FileScopeBody>>();
	private readonly fileScopeMisses = new Set<string>();
	/** The program's DWARF types, for expressions (until it execs). */
	readonly types: TypeTable;
	private topFrames: Promise<Map<number, Frame>> | null = null;
	/** every LWP is stopped (settleAndReport) and breakpoint conditions are being evaluated */
	private conditionsRunning = false;
	private entryBreakpoint: Breakpoint | null = null;
	private readonly streams: fs.ReadStream[] = [];
	private openStreams = 0;
	private disposed = false;
	private readonly unsubscribe: () => void;
	/** A followed fork child: the process that forked it (host.endTree). */
	parentPid: number | null = null;

	private constructor(
		readonly tracer: Tracer,
		readonly pid: number,
		readonly origin: Origin,
		stopped: boolean,
	) {
		super();
		this.process = new Process(tracer, pid);
		this.breakpoints = new BreakpointTable(tracer, pid, (a) => this.memory.readByte(a));
		this.memory = new Memory(pid, (a, n) => this.breakpoints.patches(a, n));
		this.symbols = new Symbols(tracer, pid);
		this.types = new TypeTable(tracer, pid);
		this.runState = stopped ? 'stopped' : 'running';
		const onStopped = (e: StoppedEvent) => {
			if (e.pid === this.pid) this.onNativeStop(e);
		};
		const onExited = (e: ExitedEvent) => {
			if (e.pid === this.pid) this.onExited(e);
		};
		const onCreated = (e: ThreadCreatedEvent) => {
			if (e.pid === this.pid) this.emit('threadStarted', e.tid);
		};
		const onGone = (e: ThreadExitedEvent) => {
			if (e.pid === this.pid) this.emit('threadExited', e.tid);
		};
		/* a process the program created itself (fork): the library took
		 * our breakpoint bytes out of its copy and let it go */
		const onChild = (e: ChildProcessEvent) => {
			if (e.pid !== this.pid) return;
			if (e.detached) this.emit('output', 'console', `[detached child ${e.child} (${e.kind} by thread ${e.tid})]\n`);
			else this.emit('childHeld', { child: e.child, tid: e.tid, kind: e.kind });
		};
		/* execve: the library holds the new program until we resume it */
		const onExec = (e: ExecEvent) => {
			if (e.pid === this.pid) void this.onExec(e);
		};
		/* a signal set to nostop + print */
		const onSignal = (e: SignalEvent) => {
			if (e.pid === this.pid) {
				this.emit(
					'output',
					'console',
					`[thread ${e.tid} received ${signalName(e.signal)} (${e.signal})${e.passed ? '' : ', not passed'}]\n`,
				);
			}
		};
		tracer
			.on('stopped', onStopped)
			.on('exited', onExited)
			.on('threadCreated', onCreated)
			.on('threadExited', onGone)
			.on('childProcess', onChild)
			.on('exec', onExec)
			.on('signal', onSignal);
		this.unsubscribe = () => {
			tracer
				.off('stopped', onStopped)
				.off('exited', onExited)
				.off('threadCreated', onCreated)
				.off('threadExited', onGone)
				.off('childProcess', onChild)
				.off('exec', onExec)
				.off('signal', onSignal);
		};
	}

	// ---- creation ------------------------------------------------------------

	/** Attach a session to a running process and stop it (breakpoints can then be set). */
	static async attach(tracer: Tracer, pid: number): Promise<Debuggee> {
		const d = new Debuggee(tracer, pid, 'attach', true);
		try {
			await tracer.request('attach', { pid, stop: true });
		} catch (e) {
			d.dispose();
			throw e;
		}
		return d;
	}

	/** A forked child the tracer already holds, attached and stopped. */
	static adopt(tracer: Tracer, pid: number): Debuggee {
		return new Debuggee(tracer, pid, 'fork-child', true);
	}

	/** Start a program, stopped right after execve; its stdout/stderr become 'output' events. */
	static async launch(tracer: Tracer, o: LaunchOptions): Promise<Debuggee> {
		const env: Record<string, string> = {};
		for (const [k, v] of Object.entries(process.env)) {
			if (v !== undefined) env[k] = v;
		}
		for (const [k, v] of Object.entries(o.env ?? {})) {
			if (v === null) delete env[k];
			else env[k] = String(v);
		}
		const args = o.args ?? [];
		const body = await tracer.request('launch', {
			path: o.program,
			cwd: o.cwd ?? process.cwd(),
			argv: [o.program, ...args],
			env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
		});
		const d = new Debuggee(tracer, body.pid, 'launch', true);
		d.forward(body.stdoutFd, 'stdout');
		d.forward(body.stderrFd, 'stderr');
		return d;
	}

	private forward(fd: number, category: OutputCategory): void {
		if (!(fd >= 0)) return;
		const s = fs.createReadStream('', { fd, encoding: 'utf8', autoClose: true });
		this.openStreams++;
		s.on('data', (chunk: string | Buffer) => this.emit('output', category, String(chunk)));
		s.on('error', () => undefined);
		s.on('close', () => {
			if (--this.openStreams === 0) this.emit('outputClosed');
		});
		this.streams.push(s);
	}

	/** True while program output streams are still open. */
	get hasOpenOutput(): boolean {
		return this.openStreams > 0;
	}

	// ---- state ---------------------------------------------------------------

	/** A method, not a narrowed field read: the state changes across awaits. */
	private isExited(): boolean {
		return this.runState === 'exited';
	}

	get state(): RunState {
		return this.runState;
	}

	get lastStop(): StopInfo | null {
		return this.lastStopInfo;
	}

	get exit(): ExitInfo | null {
		return this.exitInfo;
	}

	private requireStopped(what: string): void {
		if (this.isExited()) {
			throw new DebuggeeError('exited', `${what}: process ${this.pid} has exited`);
		}
		if ((this.runState !== 'stopped' || this.stepping) && !this.conditionsRunning) {
			throw new DebuggeeError('running', `${what}: process ${this.pid} is running; pause it first`);
		}
	}

	private invalidate(): void {
		this.snapshot = null;
		this.regsCache.clear();
		this.stackCache.clear();
		this.localsCache.clear();
		this.frameVarsCache.clear();
		this.globalsCache.clear();
		this.types.forgetMisses();
		for (const n of this.globalMisses) this.globalPlaces.delete(n);
		this.globalMisses.clear();
		for (const n of this.fileScopeMisses) this.fileScopes.delete(n);
		this.fileScopeMisses.clear();
		this.topFrames = null;
	}

	// ---- native events -------------------------------------------------------

	private onNativeStop(e: NativeStop): void {
		if (this.waiter) {
			const w = this.waiter;
			this.waiter = null;
			w(e);
			return;
		}
		if (this.runState !== 'running') {
			return; // already stopping/stopped: the stop we are making
		}
		this.runState = 'stopping';
		void this.settleAndReport(e);
	}

	private async settleAndReport(e: NativeStop): Promise<void> {
		try {
			await this.stopAll();
		} catch {
			if (this.isExited()) return;
		}
		if (this.isExited()) return;
		const info = await this.classify(e);
		const stale = info.reason === 'breakpoint' && info.addr !== undefined && this.breakpoints.at(info.addr).length === 0;
		if (info.reason === 'breakpoint' && info.breakpoints.some((b) => b.condition)) {
			this.conditionsRunning = true;
			try {
				info.breakpoints = await this.conditionsHolding(info);
			} finally {
				this.conditionsRunning = false;
			}
		}
		const hitOk = info.reason === 'breakpoint' && info.breakpoints.length > 0 && countHits(info.breakpoints);
		if (hitOk && info.breakpoints.some((b) => b.logMessage)) {
			// logpoints print (each when its own hit condition is met) and do not stop
			this.conditionsRunning = true;
			try {
				for (const b of info.breakpoints) {
					const test = b.hitCondition ? parseHitCondition(b.hitCondition) : null;
					if (b.logMessage && (!test || test(b.hits ?? 0)))
						this.emit('output', 'console', `${await this.formatLog(b.logMessage, info.tid)}\n`);
				}
			} finally {
				this.conditionsRunning = false;
			}
			info.breakpoints = info.breakpoints.filter((b) => !b.logMessage);
		}
		if (
			stale ||
			(info.reason === 'breakpoint' && info.addr !== undefined && !info.breakpoints.length) ||
			(info.reason === 'breakpoint' && info.breakpoints.length && !hitOk)
		) {
			// every breakpoint here has a hit condition not met yet, or the
			// breakpoint was removed while this hit was on its way: go on
			this.invalidate();
			this.runState = 'running';
			try {
				// as the user resumed: a single-thread continue goes on with that thread alone
				const only = this.resumedOnly;
				await this.tracer.request('resume', only === undefined ? { pid: this.pid } : { pid: this.pid, tid: only });
				return;
			} catch {
				if (this.isExited()) return;
				this.runState = 'stopped';
			}
		}
		await this.report(info);
	}

	private onExited(e: ExitedEvent): void {
		if (this.isExited()) return;
		this.runState = 'exited';
		this.exitInfo = { exitCode: e.exitCode ?? null, signal: e.signal ?? null };
		this.invalidate();
		this.breakpoints.clear();
		if (this.waiter) {
			const w = this.waiter;
			this.waiter = null;
			w('exited');
		}
		this.emit('exited', this.exitInfo);
	}

	/**
	 * execve: a new program, stopped at its first instruction and held by
	 * the library. Symbols start over; every breakpoint is resolved again
	 * in the new program (a source line or function of it becomes
	 * verified, instruction breakpoints of the old one go), then it runs
	 * on — unless a pause, a step or a detach took over meanwhile.
	 */
	private async onExec(e: ExecEvent): Promise<void> {
		this.symbols.forget();
		this.types.clear();
		this.globalPlaces.clear();
		this.fileScopes.clear();
		this.invalidate();
		this.entryBreakpoint = null;
		this.emit('output', 'console', `[process ${this.pid}: thread ${e.tid} called execve: now running ${e.path}]\n`);
		let changed: Breakpoint[] = [];
		try {
			changed = await this.breakpoints.rebind((b) => this.resolve(b));
		} catch (err) {
			this.emit('output', 'console', `[breakpoints after the exec: ${(err as Error).message}]\n`);
		}
		if (this.isExited()) return;
		this.emit('exec', { path: e.path, tid: e.tid, breakpoints: changed });
		if (this.runState === 'running' && !this.stepping && !this.leaving) {
			await this.tracer.request('resume', { pid: this.pid }).catch((err: unknown) => {
				if (!this.isExited()) this.emit('output', 'console', `[resuming after the exec: ${(err as Error).message}]\n`);
			});
		}
	}

	/** Where a breakpoint the user asked for is in the current program (null: it has no address there). */
	private async resolve(b: Breakpoint): Promise<{ addresses: bigint[]; line?: number; message?: string } | null> {
		switch (b.kind) {
			case 'source': {
				if (!b.file || b.requestedLine === undefined) return null;
				const r = await this.symbols.lineAddresses(b.file, b.requestedLine);
				return r.addresses.length
					? { addresses: r.addresses, line: r.line ?? b.requestedLine }
					: { addresses: [], message: `no code at ${b.file.replace(/^.*\//, '')}:${b.requestedLine}` };
			}
			case 'function': {
				if (!b.functionName) return null;
				const a = await this.symbols.functionAddresses(b.functionName);
				return a.length ? { addresses: a } : { addresses: [], message: `no function named ${b.functionName}` };
			}
			case 'instruction':
				return { addresses: [], message: 'the process runs another program now (execve): this address was in the old one' };
			default:
				return null; // internal: dropped
		}
	}

	/**
	 * A logpoint's message for a hit of thread tid: each {expr} replaced by
	 * the value of that C expression in the top frame (expr/: variables,
	 * members, operators, casts, $registers); what cannot be evaluated says
	 * why, in the braces' place.
	 */
	private async formatLog(msg: string, tid: number): Promise<string> {
		if (!msg.includes('{')) return msg;
		let out = '';
		let i = 0;
		for (const m of msg.matchAll(/\{([^{}]*)\}/g)) {
			out += msg.slice(i, m.index);
			try {
				out += (await this.evaluate(tid, 0, m[1])).variable.value;
			} catch (e) {
				out += `<${(e as Error).message}>`;
			}
			i = m.index + m[0].length;
		}
		return out + msg.slice(i);
	}

	/** The breakpoints of a hit whose condition holds (or cannot be
	 * evaluated: then it stops, and says why in the description). */
	private async conditionsHolding(info: StopInfo): Promise<Breakpoint[]> {
		const out: Breakpoint[] = [];
		for (const b of info.breakpoints) {
			if (!b.condition) {
				out.push(b);
				continue;
			}
			try {
				if (await this.condition(info.tid, b.condition)) out.push(b);
			} catch (err) {
				info.description = `breakpoint condition "${b.condition}": ${(err as Error).message}`;
				out.push(b);
			}
		}
		return out;
	}

	/** Turn a native stop into what the user sees. */
	private async classify(e: NativeStop): Promise<StopInfo> {
		if (e.reason === 'watchpoint' && e.addr) {
			const addr = BigInt(e.addr);
			const bps = this.breakpoints.dataAt(addr);
			return { reason: 'data', tid: e.tid, addr, breakpoints: bps, description: this.dataHit(e.tid, addr, bps) };
		}
		if (e.reason === 'breakpoint' && e.addr) {
			const addr = BigInt(e.addr);
			if (this.entryBreakpoint && this.entryBreakpoint.addresses.includes(addr)) {
				const bp = this.entryBreakpoint;
				this.entryBreakpoint = null;
				await this.breakpoints.remove(bp.id).catch(() => undefined);
				const user = this.breakpoints.at(addr).filter((b) => b.kind !== 'internal');
				return { reason: user.length ? 'breakpoint' : 'entry', tid: e.tid, addr, breakpoints: user };
			}
			const user = this.breakpoints.at(addr).filter((b) => b.kind !== 'internal');
			return { reason: 'breakpoint', tid: e.tid, addr, breakpoints: user };
		}
		if (e.reason === 'breakpoint' || (e.reason === 'signal' && e.signal === 5 && e.addr)) {
			return { reason: 'breakpoint', tid: e.tid, breakpoints: [] };
		}
		const sig = e.signal ?? 0;
		const name = signalName(sig);
		return {
			reason: 'signal',
			tid: e.tid,
			signal: sig,
			signalName: name,
			fatal: FATAL_SIGNALS.has(sig),
			breakpoints: [],
			description: `Received signal ${name} (${sig})${FATAL_SIGNALS.has(sig) ? handledSignalHint(this.pid, sig, name) : ''}`,
		};
	}

	private async report(info: StopInfo): Promise<void> {
		this.invalidate();
		this.runState = 'stopped';
		this.lastStopInfo = info;
		this.emit('stopped', info);
	}

	// ---- run control ---------------------------------------------------------

	private async stopAll(): Promise<void> {
		await this.tracer.request('stop', { pid: this.pid });
	}

	/** Report the initial stop (attach/launch/fork child) as a stop event. */
	/** A process handed over stopped (a restored checkpoint): its stop is the caller's to report. */
	markStopped(): void {
		this.invalidate();
		this.runState = 'stopped';
	}

	async reportInitialStop(reason: StopReason, tid: number, description?: string): Promise<void> {
		await this.report({ reason, tid, breakpoints: [], description });
	}

	/** Hold this process's fork children for sessions of their own (true), or detach them (false). */
	async followForks(hold: boolean): Promise<void> {
		await this.tracer.request('followForks', { pid: this.pid, hold });
	}

	/**
	 * The signal table the library decides with (stop/print/pass per
	 * signal); with `set`, replace it first. Returns the table in effect.
	 */
	async signals(set?: SignalTable): Promise<SignalTable> {
		const hex = (v: bigint): `0x${string}` => `0x${v.toString(16)}`;
		const m = set ? toMasks(set) : null;
		const b = await this.tracer.request(
			'signals',
			m ? { pid: this.pid, nostop: hex(m.nostop), noprint: hex(m.noprint), nopass: hex(m.nopass) } : { pid: this.pid },
		);
		return fromMasks({ nostop: BigInt(b.nostop), noprint: BigInt(b.noprint), nopass: BigInt(b.nopass) });
	}

	/** Launch with stopAtEntry: run to main. False if main is not known. */
	async setEntryBreakpoint(): Promise<boolean> {
		const addrs = await this.symbols.functionAddresses('main').catch(() => [] as bigint[]);
		if (addrs.length === 0) return false;
		this.entryBreakpoint = await this.breakpoints.add('internal', addrs.slice(0, 1));
		return this.entryBreakpoint.verified;
	}

	/** Resume every LWP (steps over our breakpoints); with `only`, that LWP alone (the others stay stopped). */
	async resume(only?: number): Promise<void> {
		this.requireStopped('continue');
		this.invalidate();
		this.runState = 'running';
		this.resumedOnly = only;
		this.emit('continued');
		try {
			await this.tracer.request('resume', only === undefined ? { pid: this.pid } : { pid: this.pid, tid: only });
		} catch (e) {
			if (this.runState === 'running') this.runState = 'stopped';
			throw e;
		}
	}

	/** Stop every LWP; reports a 'pause' stop on tid (or the main thread). */
	async pause(tid?: number): Promise<void> {
		if (this.stepping) {
			this.cancelStep = true;
			const w = this.waiter;
			if (w) {
				// A step is running everything to a return address: stop it now.
				this.waiter = null;
				await this.stopAll();
				w('paused');
			} else {
				// The tracer thread is stepping: it stops at its next look.
				this.cancelNativeStep();
			}
			return;
		}
		if (this.runState !== 'running') {
			if (this.isExited()) throw new DebuggeeError('exited', `pause: process ${this.pid} has exited`);
			return; // already stopped or stopping: that stop is reported anyway
		}
		this.runState = 'stopping';
		try {
			await this.stopAll();
		} catch (e) {
			if (this.runState === 'stopping') this.runState = 'running';
			throw e;
		}
		if (this.runState !== 'stopping') return;
		await this.report({ reason: 'pause', tid: tid ?? this.pid, breakpoints: [] });
	}

	/** A native step in flight ends now: requests wait behind it. */
	private cancelNativeStep(): void {
		if (this.nativeStepping) {
			this.cancelSent = true;
			this.tracer.cancel();
		}
	}

	async detach(): Promise<void> {
		this.leaving = true;
		this.cancelNativeStep();
		this.waiter = null;
		if (!this.isExited()) {
			await this.tracer.request('detach', { pid: this.pid });
		}
		this.breakpoints.clear();
		this.dispose();
	}

	/** Kill the process; resolves once the kill was sent (exit follows as an event). */
	async kill(): Promise<void> {
		if (this.isExited()) return;
		this.leaving = true;
		this.cancelNativeStep();
		try {
			await this.tracer.request('kill', { pid: this.pid });
		} catch (e) {
			if (!isUnknownOp(e)) throw e;
			// Older library: SIGKILL ends a stopped, traced process too.
			try {
				process.kill(this.pid, 'SIGKILL');
			} catch {
				/* gone */
			}
		}
	}

	/** Wait until the process has exited (or the timeout passes). */
	waitExit(timeoutMs: number): Promise<boolean> {
		if (this.isExited()) return Promise.resolve(true);
		return new Promise((resolve) => {
			const t = setTimeout(() => {
				this.off('exited', done);
				resolve(false);
			}, timeoutMs);
			const done = () => {
				clearTimeout(t);
				resolve(true);
			};
			this.once('exited', done);
		});
	}

	dispose(): void {
		if (this.disposed) return;
		this.disposed = true;
		if (this.deadlockTimer) clearInterval(this.deadlockTimer);
		this.deadlockTimer = null;
		this.unsubscribe();
	}

	// ---- inspection ----------------------------------------------------------

	/** LWPs (cached while stopped). Works while running too (captured in place). */
	threads(): Promise<ThreadsSnapshot> {
		if (this.isExited()) {
			return Promise.reject(new DebuggeeError('exited', `process ${this.pid} has exited`));
		}
		if (this.runState !== 'stopped' || this.stepping) {
			return this.process.threads();
		}
		if (!this.snapshot) {
			this.snapshot = this.process.threads();
			this.snapshot.catch(() => {
				this.snapshot = null;
			});
		}
		return this.snapshot;
	}

	registers(tid: number): Promise<Registers> {
		this.requireStopped('registers');
		let p = this.regsCache.get(tid);
		if (!p) {
			p = this.process.registers(tid);
			p.catch(() => this.regsCache.delete(tid));
			this.regsCache.set(tid, p);
		}
		return p;
	}

	/** The innermost frame of one LWP. The first call after a stop fetches
	 * every thread's top frame in one native request (a client asks for each
	 * thread's top frame right after a stop: 1024 requests otherwise). */
	async topFrame(tid: number): Promise<Frame | undefined> {
		this.requireStopped('stack');
		const full = this.stackCache.get(tid);
		if (full) {
			return (await full)[0];
		}
		if (!this.topFrames) {
			const p = this.fetchTopFrames();
			p.catch(() => {
				if (this.topFrames === p) this.topFrames = null;
			});
			this.topFrames = p;
		}
		const m = await this.topFrames;
		return m.get(tid) ?? (await this.frames(tid))[0];
	}

	private async fetchTopFrames(): Promise<Map<number, Frame>> {
		const m = new Map<number, Frame>();
		try {
			const body = await this.tracer.request('stack', { pid: this.pid, tid: 0, maxFrames: 1 });
			for (const t of body.threads ?? []) {
				if (t.frames.length) m.set(t.tid, frameFromInfo(0, t.frames[0]));
			}
		} catch (e) {
			if (!isUnknownOp(e)) throw e;
		}
		return m;
	}

	/** Call stack of one LWP (innermost first; cached while stopped). */
	frames(tid: number): Promise<Frame[]> {
		this.requireStopped('stack');
		let p = this.stackCache.get(tid);
		if (!p) {
			p = this.unwind(tid);
			p.catch(() => this.stackCache.delete(tid));
			this.stackCache.set(tid, p);
		}
		return p;
	}

	private async unwind(tid: number): Promise<Frame[]> {
		try {
			const body = await this.tracer.request('stack', { pid: this.pid, tid });
			if (body.frames.length) {
				return body.frames.map((f, i) => frameFromInfo(i, f));
			}
		} catch (e) {
			if (!isUnknownOp(e)) throw e;
		}
		// No unwinder: the current pc only.
		const regs = await this.registers(tid);
		const loc = await this.locate(regs.pc);
		return [{ index: 0, pc: regs.pc, sp: regs.sp, ...loc, column: null }];
	}

	/** Parameters and locals of frame `index` of an LWP, from DWARF (cached
	 * while stopped). No debug information (or an older library without the
	 * op): no variables and a note. */
	locals(tid: number, index: number): Promise<FrameLocals> {
		this.requireStopped('locals');
		const key = `${tid}:${index}`;
		let p = this.localsCache.get(key);
		if (!p) {
			p = this.fetchLocals(tid, index);
			p.catch(() => this.localsCache.delete(key));
			this.localsCache.set(key, p);
		}
		return p;
	}

	private async fetchLocals(tid: number, index: number): Promise<FrameLocals> {
		try {
			const body = await this.tracer.request('locals', { pid: this.pid, tid, frame: index });
			return {
				function: body.function ?? null,
				note: body.note ?? null,
				variables: body.variables.map(toVariable),
			};
		} catch (e) {
			if (!isUnknownOp(e)) throw e;
			return { function: null, note: 'this libforkall has no locals operation', variables: [] };
		}
	}

	/** Global and file-static variables called `name` (DWARF of every module), as the Variables view shows them. */
	globals(name: string, pc?: bigint): Promise<Variable[]> {
		this.requireStopped('global');
		const key = pc === undefined ? name : `${name}@${pc.toString(16)}`;
		let p = this.globalsCache.get(key);
		if (!p) {
			p = this.tracer
				.request('global', { pid: this.pid, name, ...(pc !== undefined ? { pc: hexArg(pc) } : {}) })
				.then((b) => b.variables.map(toVariable));
			p.catch(() => this.globalsCache.delete(key));
			this.globalsCache.set(key, p);
		}
		return p;
	}

	// ---- C expressions (expr/): evaluate, setExpression, conditions, logpoints ----

	/** Where a global is and its type — with pc, the static of pc's compilation unit first (what was found is kept across
	 * stops: a static address; what was not, until the program runs). */
	globalPlace(name: string, pc?: bigint): Promise<{ typeId: string; address: bigint } | null> {
		const key = pc === undefined ? name : `${name}@${pc.toString(16)}`;
		let p = this.globalPlaces.get(key);
		if (!p) {
			p = this.globals(name, pc).then((vs) => {
				const g = vs.find((x) => x.typeId && x.address !== null);
				if (!g) this.globalMisses.add(key);
				return g ? { typeId: g.typeId!, address: g.address! } : null;
			});
			p.catch(() => this.globalPlaces.delete(key));
			this.globalPlaces.set(key, p);
		}
		return p;
	}

	/** The functions and constants called `name` (those of pc's compilation unit first): what a name is when no variable is. */
	fileScope(name: string, pc?: bigint): Promise<FileScopeBody> {
		const key = pc === undefined ? name : `${name}@${pc.toString(16)}`;
		let p = this.fileScopes.get(key);
		if (!p) {
			p = this.tracer.request('fileScope', { pid: this.pid, name, ...(pc !== undefined ? { pc: hexArg(pc) } : {}) });
			p.then(
				(b) => {
					if (!b.functions.length && !b.constants.length) this.fileScopeMisses.add(key);
				},
				() => this.fileScopes.delete(key),
			);
			this.fileScopes.set(key, p);
		}
		return p;
	}

	/** Names of globals, statics, constants and functions starting with prefix (sorted, at most max): completions. */
	async globalNames(prefix: string, max: number): Promise<{ names: string[]; more: boolean }> {
		this.requireStopped('globalNames');
		const b = await this.tracer.request('globalNames', { pid: this.pid, prefix, max });
		return { names: b.names, more: b.more };
	}

	/** Where the variables of a frame are, with their types' ids (cached while stopped). */
	frameVars(tid: number, frame: number): Promise<FrameVarsBody> {
		this.requireStopped('frameVars');
		const key = `${tid}:${frame}`;
		let p = this.frameVarsCache.get(key);
		if (!p) {
			p = this.tracer.request('frameVars', { pid: this.pid, tid, frame });
			p.catch(() => this.frameVarsCache.delete(key));
			this.frameVarsCache.set(key, p);
		}
		return p;
	}

	async framePcSp(tid: number, frame: number): Promise<{ pc: bigint; sp: bigint | null }> {
		if (frame === 0) {
			const r = await this.registers(tid);
			return { pc: r.pc, sp: r.sp };
		}
		const f = (await this.frames(tid))[frame];
		if (!f) throw new DebuggeeError('failed', `thread ${tid} has no frame ${frame}`);
		return { pc: f.pc, sp: f.sp };
	}

	readRaw(addr: bigint, n: number): Buffer {
		return this.memory.readRaw(addr, n);
	}

	/** An object of a DWARF type formatted as the Variables view shows a variable. */
	async typedValue(
		id: string,
		where: { address: bigint } | { bytes: Buffer },
		name: string,
		expr: string,
		count?: number,
	): Promise<Variable> {
		const place = 'address' in where ? { address: hexArg(where.address) } : { bytes: where.bytes.subarray(0, 64).toString('hex') };
		const b = await this.tracer.request('typedValue', {
			pid: this.pid,
			type: id as `${string}:${string}`,
			...place,
			name,
			expr,
			...(count ? { count } : {}),
		});
		return toVariable(b.variable);
	}

	async writeRegister(tid: number, name: string, value: bigint): Promise<void> {
		await this.assignRegister(tid, name, value);
	}

	/**
	 * A C expression in frame `frame` of thread tid (null: no thread, globals
	 * only), as a Variable tree; `assign`: `=` allowed (setExpression), and
	 * what it wrote is read back.
	 */
	async evaluate(tid: number | null, frame: number, text: string, assign = false): Promise<{ node: Node; variable: Variable }> {
		this.requireStopped('evaluate');
		const target = new FrameTarget(this, tid, frame);
		const ev = new Evaluator(target, { assign });
		const { node, val } = await ev.evaluate(text);
		if (assign) this.invalidate();
		const expr = text.trim();
		const variable = await show(ev, target, val, expr);
		if (node.k === 'reg' && node.name !== '_tid' && typeof val.v === 'bigint') {
			variable.value = `0x${BigInt.asUintN(64, val.v).toString(16).padStart(16, '0')}`;
			variable.pointer = BigInt.asUintN(64, val.v);
		}
		return { node, variable };
	}

	/**
	 * What a data breakpoint on expression `text` (in frame `frame` of tid;
	 * null: globals only) would watch: its address and size, or why it
	 * cannot be watched.
	 */
	async watchInfo(tid: number | null, frame: number, text: string): Promise<Watchable> {
		this.requireStopped('dataBreakpointInfo');
		const ev = new Evaluator(new FrameTarget(this, tid, frame));
		const { val } = await ev.evaluate(text);
		return watchable(ev, val, text.trim());
	}

	/** A data breakpoint (every thread, new ones too); `show`: its bytes as a value, for the old → new of a hit. */
	async addDataBreakpoint(addr: bigint, len: number, rw: boolean, what: string, show?: (b: Buffer) => string): Promise<Breakpoint> {
		const bp = await this.breakpoints.addData(addr, len, rw, what, show);
		const now = this.memory.readRaw(addr, len);
		if (bp.data && now.length === len) bp.data.last = now;
		return bp;
	}

	/** A data breakpoint's stop, said in one line: what, by which thread, old → new (the old value is from the last look). */
	private dataHit(tid: number, addr: bigint, bps: Breakpoint[]): string {
		const data = bps[0]?.data;
		let thread = String(tid);
		try {
			thread = `${fs.readFileSync(`/proc/${this.pid}/task/${tid}/comm`, 'utf8').trim()} (${tid})`;
		} catch {
			// the thread is gone: its tid alone
		}
		if (!data) return `Data breakpoint at ${hex(addr)} hit by thread ${thread}`;
		const now = this.memory.readRaw(addr, data.len);
		const show = (b: Buffer): string => (data.show ?? ((x: Buffer) => showWatched(null, x)))(b);
		let change = '';
		if (now.length === data.len) {
			const was = data.last ? show(data.last) : null;
			const is = show(now);
			change = was === null ? `: ${is}` : was === is ? `: ${is} (unchanged)` : `: ${was} → ${is}`;
			for (const b of bps) if (b.data) b.data.last = now;
		}
		return `Data breakpoint: ${data.what} was ${data.rw ? 'accessed' : 'written'} by thread ${thread}${change}`;
	}

	/** Completions after `base.` / `base->`: the members of base's struct or union (nothing when it is none). */
	async members(tid: number | null, frame: number, base: string, arrow: boolean): Promise<{ name: string; type: string }[]> {
		this.requireStopped('completions');
		const ev = new Evaluator(new FrameTarget(this, tid, frame));
		const { val } = await ev.evaluate(base);
		return membersOf(ev, val, arrow);
	}

	/** A breakpoint condition's truth in the innermost frame of tid. */
	async condition(tid: number, text: string): Promise<boolean> {
		const ev = new Evaluator(new FrameTarget(this, tid, 0));
		const { val } = await ev.evaluate(text);
		return ev.truth(val);
	}

	/** Function/line of an address ("unknown" without the symbols op). */
	async locate(addr: bigint): Promise<Location> {
		try {
			return await this.symbols.at(addr);
		} catch {
			return { function: null, offset: null, module: null, file: null, line: null };
		}
	}

	readMemory(addr: bigint, count: number): MemoryRead {
		return this.memory.read(addr, count);
	}

	/**
	 * `v = text` with C's conversions (setVariable): a scalar in memory is
	 * written there. Returns the new value as the Variables view shows it
	 * (read back: the caches are dropped).
	 */
	async assign(tid: number, frame: number, v: Variable, text: string): Promise<Variable> {
		this.requireStopped('setVariable');
		if (v.children) throw new DebuggeeError('unsupported', `${v.expr ?? v.name} is a ${v.type}: assign its members one by one`);
		if (v.rawKind && v.expr && (v.address === null || !v.size)) {
			// a register-located local or a bit-field: the expression evaluator writes it
			await this.evaluate(tid, frame, `${v.expr} = ${text}`, true);
			return (await this.evaluate(tid, frame, v.expr)).variable;
		}
		if (!v.rawKind || !v.size || v.address === null)
			throw new DebuggeeError('unsupported', `${v.expr ?? v.name} (${v.type}) cannot be written: ${v.value}`);
		const bytes = encodeScalar(v.rawKind, v.size, text);
		const n = this.writeMemory(v.address, bytes);
		if (n !== bytes.length)
			throw new DebuggeeError('failed', `writing ${v.expr ?? v.name} at ${hex(v.address)}: only ${n} of ${bytes.length} bytes`);
		this.invalidate();
		const after = await this.locals(tid, frame);
		const find = (vs: Variable[]): Variable | null => {
			for (const x of vs) {
				if (x.address === v.address && (x.expr ?? x.name) === (v.expr ?? v.name)) return x;
				const c = x.children ? find(x.children) : null;
				if (c) return c;
			}
			return null;
		};
		return find(after.variables) ?? { ...v, value: text };
	}

	/** A general register of one LWP = value (setVariable in Registers). Returns its new value. */
	async assignRegister(tid: number, name: string, value: bigint): Promise<bigint> {
		this.requireStopped('setVariable');
		const b = await this.tracer.request('setRegs', { pid: this.pid, tid, regs: { [name]: hexArg(value) } });
		this.invalidate();
		const got = (b.gpr as Record<string, string | undefined>)[name];
		return got !== undefined ? BigInt(got) : value;
	}

	writeMemory(addr: bigint, data: Uint8Array): number {
		if (this.isExited()) throw new DebuggeeError('exited', `process ${this.pid} has exited`);
		return this.memory.write(addr, data);
	}

	/** Exactly `count` instructions around base (see disasm.ts). */
	async disassemble(base: bigint, instructionOffset: number, count: number): Promise<Instruction[]> {
		let hint: bigint | undefined;
		if (instructionOffset < 0) {
			/* A known instruction boundary far enough before base: a
			 * function start, walking back function by function (at a
			 * function's first byte, scrolling up past it, the one before
			 * it) until -instructionOffset instructions fit between. */
			const want = BigInt(-instructionOffset) * 16n;
			let at = base;
			for (let i = 0; i < 64 && at > 0n && base - at < want; i++) {
				const loc = await this.locate(at);
				let start: bigint | null = loc.offset !== null && loc.function && loc.offset > 0 ? at - BigInt(loc.offset) : null;
				if (start === null) {
					const prev = await this.locate(at - 1n);
					start = prev.offset !== null && prev.function ? at - 1n - BigInt(prev.offset) : null;
				}
				if (start === null || start >= at) break;
				hint = at = start;
			}
		}
		return disassemble((a, n) => this.memory.readRaw(a, n), base, instructionOffset, count, hint);
	}

	// ---- what a followed fork child lost ----------------------------------------

	private forkInfoP: Promise<ForkInfoBody | null> | null = null;

	/**
	 * A child the program forked (followForks): its parent, the forking
	 * thread, and the parent's other threads — dead here, their stacks and
	 * locks still in this memory — as they were at the fork. null for any
	 * other process. Their tids work with frames(), locals(), registers().
	 */
	forkInfo(): Promise<ForkInfoBody | null> {
		if (this.origin !== 'fork-child' || this.parentPid === null) return Promise.resolve(null);
		if (!this.forkInfoP) {
			this.forkInfoP = this.tracer.request('forkInfo', { pid: this.pid }).then(
				(b) => {
					for (const t of b.deadThreads) this.lostTids.add(t.tid);
					return b;
				},
				(e: unknown) => {
					this.forkInfoP = null;
					if (isUnknownOp(e) || (e instanceof TracerError && e.kind === 'bad-request')) return null;
					throw e;
				},
			);
		}
		return this.forkInfoP;
	}

	private readonly lostTids = new Set<number>();
	private deadlockTimer: NodeJS.Timeout | null = null;

	/**
	 * A fork child whose dead threads held locks: while it runs, watch for
	 * a thread of it blocking on one of them (FUTEX_WAIT on the lock's
	 * futex word, from /proc/PID/task/TID/syscall, every `everyMs`), and
	 * stop it with reason "deadlock". Nothing is watched (no cost) when
	 * no lock is held by a dead thread.
	 */
	async watchDeadlocks(everyMs = 200): Promise<void> {
		const info = await this.forkInfo().catch(() => null);
		if (!info || info.heldLocks.length === 0 || this.deadlockTimer || this.disposed) return;
		const byFutex = new Map<bigint, (typeof info.heldLocks)[number]>();
		for (const l of info.heldLocks) byFutex.set(BigInt(l.futex), l);
		let busy = false;
		this.deadlockTimer = setInterval(() => {
			if (busy || this.runState !== 'running' || this.stepping || this.leaving) return;
			busy = true;
			void this.checkDeadlock(byFutex)
				.catch(() => undefined)
				.finally(() => (busy = false));
		}, everyMs);
		this.deadlockTimer.unref();
	}

	private async checkDeadlock(byFutex: Map<bigint, ForkInfoBody['heldLocks'][number]>): Promise<void> {
		let tids: string[];
		try {
			tids = fs.readdirSync(`/proc/${this.pid}/task`);
		} catch {
			return;
		}
		for (const t of tids) {
			let line: string;
			try {
				line = fs.readFileSync(`/proc/${this.pid}/task/${t}/syscall`, 'utf8');
			} catch {
				continue;
			}
			// "202 0x<uaddr> 0x<op> ...": futex(uaddr, FUTEX_WAIT…)
			const m = /^202 (0x[0-9a-f]+) (0x[0-9a-f]+)/.exec(line);
			if (!m) continue;
			const lock = byFutex.get(BigInt(m[1]));
			const op = Number(BigInt(m[2]) & 0x7fn);
			if (!lock || (op !== 0 && op !== 9)) continue; // FUTEX_WAIT, FUTEX_WAIT_BITSET
			if (this.runState !== 'running' || this.stepping) return;
			this.runState = 'stopping';
			try {
				await this.stopAll();
			} catch {
				if (this.isExited()) return;
			}
			if (this.isExited() || this.runState !== 'stopping') return;
			const tid = Number(t);
			const where = await this.whereWas(lock.ownerTid);
			await this.report({
				reason: 'deadlock',
				tid,
				breakpoints: [],
				description:
					`Deadlock: thread ${tid} waits for ${lock.symbol} (${lock.type} at ${lock.address}), held by "${lock.ownerName}" ` +
					`(was ${lock.ownerTid}), a thread that did not survive the fork${where ? ` — it was in ${where}` : ''}`,
			});
			return;
		}
	}

	/** Where a dead thread was at the fork: its innermost frame in the program's own sources ("hold_table (deadlock.c:30)"). */
	async whereWas(tid: number): Promise<string | null> {
		const frames = await this.unwind(tid).catch(() => [] as Frame[]);
		// the program's own code first (a source on this disk), then any line, then any name
		const f =
			frames.find((x) => x.file && x.line && fs.existsSync(x.file)) ??
			frames.find((x) => x.file && x.line) ??
			frames.find((x) => x.function);
		if (!f) return null;
		return f.file && f.line ? `${f.function ?? '??'} (${f.file.replace(/^.*\//, '')}:${f.line})` : (f.function ?? null);
	}

	/**
	 * Recreate Dead Threads: every thread this fork child lost is rebuilt
	 * from the parent's picture of it at the fork (native `recreate`: all
	 * or nothing). A child still inside glibc's fork() (stopped at its fork
	 * event) is first run out of it — glibc gives the other threads up on
	 * its way out — with step-outs of its main thread, each given
	 * `outOfForkMs` before it is paused and the recreation refused. The
	 * process stays stopped; the caller reports the new threads.
	 */
	async recreateDeadThreads(outOfForkMs = 3000): Promise<{ body: RecreateBody; stepsOutOfFork: number }> {
		if (this.origin !== 'fork-child')
			throw new DebuggeeError('unsupported', `recreateDeadThreads: process ${this.pid} was not forked by a process followed here`);
		this.requireStopped('recreateDeadThreads');
		let info = await this.forkInfo();
		if (!info)
			throw new DebuggeeError('unsupported', `recreateDeadThreads: process ${this.pid} was not forked by a process followed here`);
		if (info.deadThreads.length === 0)
			throw new DebuggeeError('failed', `recreateDeadThreads: process ${this.pid} has no dead threads left to recreate`);
		let steps = 0;
		this.stepping = true;
		this.invalidate();
		try {
			for (; info.inFork; steps++) {
				if (steps === 8)
					throw new DebuggeeError(
						'failed',
						`recreateDeadThreads: process ${this.pid} did not return from fork() after ${steps} step-outs`,
					);
				let cancelled = false;
				const timer = setTimeout(() => {
					cancelled = true;
					this.tracer.cancel();
				}, outOfForkMs);
				let body: StepBody;
				try {
					body = await this.tracer.request('step', { pid: this.pid, tid: this.pid, out: true });
				} finally {
					clearTimeout(timer);
					// a cancel that came as the step ended must not land in the next request
					if (cancelled) await this.tracer.request('ping', {}).catch(() => undefined);
				}
				if (body.reason !== 'step') {
					const why =
						body.reason === 'paused'
							? `it did not get out within ${outOfForkMs} ms (an atfork handler blocked?)`
							: `the step out ended with "${body.reason}"${body.signal ? ` (signal ${body.signal})` : ''}`;
					throw new DebuggeeError(
						'failed',
						`recreateDeadThreads: running process ${this.pid} out of glibc's fork() first: ${why}`,
					);
				}
				this.forkInfoP = null;
				info = await this.forkInfo();
				if (!info) throw new DebuggeeError('exited', `recreateDeadThreads: process ${this.pid} has exited`);
			}
			const body = await this.tracer.request('recreate', { pid: this.pid });
			if (this.deadlockTimer) clearInterval(this.deadlockTimer);
			this.deadlockTimer = null;
			return { body, stepsOutOfFork: steps };
		} finally {
			this.stepping = false;
			this.forkInfoP = null;
			this.lostTids.clear();
			this.invalidate();
		}
	}

	/** A thread this fork child lost (known once forkInfo() answered). */
	isLostThread(tid: number): boolean {
		return this.lostTids.has(tid);
	}

	// ---- frozen threads ------------------------------------------------------------

	private readonly frozenTids = new Set<number>();

	/**
	 * Freeze (or thaw) thread tid: a frozen thread stays stopped when the
	 * others run — continue, and the run of every thread in a step —
	 * until it is thawed. Freezing needs the process stopped.
	 */
	async freeze(tid: number, frozen: boolean): Promise<number[]> {
		if (frozen) this.requireStopped('freeze');
		const b = await this.tracer.request('freeze', { pid: this.pid, tid, frozen });
		this.frozenTids.clear();
		for (const t of b.frozen) this.frozenTids.add(t);
		return b.frozen;
	}

	isFrozen(tid: number): boolean {
		return this.frozenTids.has(tid);
	}

	// ---- checkpoints ---------------------------------------------------------------

	/** A checkpoint of the stopped process (native `checkpoint`); see model/checkpoints.ts. */
	async checkpoint(): Promise<CheckpointBody> {
		this.requireStopped('checkpoint');
		return this.tracer.request('checkpoint', { pid: this.pid });
	}

	// ---- the multithreaded fork ------------------------------------------------

	async fork(mode: ForkMode, opts: { copyDontfork?: boolean; sameTids?: boolean } = {}): Promise<ForkBody> {
		if (this.isExited()) throw new DebuggeeError('exited', `fork: process ${this.pid} has exited`);
		if (this.stepping) throw new DebuggeeError('running', 'fork: a step is in progress');
		return this.tracer.request('fork', { pid: this.pid, ...forkArgs({ mode, ...opts }) });
	}

	// ---- stepping --------------------------------------------------------------

	/** One instruction of one LWP (`over`: a call runs to its return; `alone`: the others stay stopped meanwhile). */
	async stepInstruction(tid: number, over = false, alone = false): Promise<void> {
		await this.runStep(tid, () => this.instructionStep(tid, over, alone));
	}

	/** Source-line step (`into` enters calls that have line information),
	 * run by the tracer thread (native/src/engine/step.c). `alone`: the
	 * other LWPs stay stopped throughout, calls included (DAP singleThread). */
	async stepLine(tid: number, into: boolean, alone = false): Promise<void> {
		await this.runStep(tid, async () => {
			const end = await this.nativeStep(tid, { line: true, into, alone });
			// No line information at pc: one instruction (over calls).
			return end === 'noLine' ? this.instructionStep(tid, !into, alone) : end;
		});
	}

	/** Run until the current function returns to its caller. */
	async stepOut(tid: number, alone = false): Promise<void> {
		await this.runStep(tid, async () => {
			const end = await this.nativeStep(tid, { out: true, alone });
			return end === 'noLine' ? null : end;
		});
	}

	/** Common frame for steps: state, error handling, the final report. */
	private async runStep(tid: number, body: () => Promise<StepEnd | null>): Promise<void> {
		this.requireStopped('step');
		this.resumedOnly = undefined;
		this.stepping = true;
		this.cancelStep = false;
		this.invalidate();
		let foreign: StepEnd | null = null;
		let failure: unknown = null;
		try {
			foreign = await body();
		} catch (e) {
			failure = e;
		} finally {
			this.stepping = false;
		}
		if (this.isExited() || this.leaving) return; // a step cut short by detach/kill: no stop to show
		if (this.runState !== 'stopped') {
			try {
				await this.stopAll();
			} catch {
				if (this.isExited()) return;
			}
			this.runState = 'stopped';
		}
		if (foreign && 'info' in foreign) {
			await this.report(foreign.info);
		} else if (foreign) {
			await this.report(await this.classify(foreign.foreign));
		} else if (this.cancelStep) {
			await this.report({ reason: 'pause', tid, breakpoints: [] });
		} else {
			await this.report({ reason: 'step', tid, breakpoints: [] });
		}
		if (failure) throw failure;
	}

	private async rawRegs(tid: number): Promise<Registers> {
		return this.process.registers(tid);
	}

	/** One instruction of tid; or, when tid holds a breakpoint hit never reported, that hit (nothing ran). */
	private async stepOp(tid: number): Promise<Foreign | null> {
		const body = await this.tracer.request('step', { pid: this.pid, tid });
		if (body.reason !== 'breakpoint') return null;
		return this.nativeStepStop(tid, 'breakpoint', body);
	}

	/** A native step that ended at another stop (a breakpoint, a signal): that stop, as its event would say it. */
	private nativeStepStop(tid: number, reason: 'breakpoint' | 'signal', body: Pick<StepBody, 'stopTid' | 'signal' | 'addr'>): Foreign {
		return {
			foreign: {
				type: 'event',
				event: 'stopped',
				pid: this.pid,
				tid: body.stopTid ?? tid,
				reason,
				signal: body.signal ?? 0,
				addr: body.addr,
			},
		};
	}

	private async instructionStep(tid: number, over: boolean, alone = false): Promise<Foreign | null> {
		const regs = await this.rawRegs(tid);
		const insn = decodeOne((a, n) => this.memory.readRaw(a, n), regs.pc);
		if (over && insn.isCall && !insn.invalid) {
			return this.runToReturn(tid, regs.pc + BigInt(insn.length), regs.sp, alone);
		}
		return this.stepOp(tid);
	}

	/**
	 * A line step or step out in the tracer thread: the LWP alone while it
	 * range-steps, every LWP while a call runs, breakpoints for loops. It
	 * ends with every LWP stopped; `pause` meanwhile cancels it (fk_cancel).
	 */
	private async nativeStep(tid: number, how: Omit<StepRequest, 'pid' | 'tid'>): Promise<StepEnd | 'noLine' | null> {
		this.nativeStepping = true;
		let body: StepBody;
		try {
			body = await this.tracer.request('step', { pid: this.pid, tid, ...how });
		} finally {
			this.nativeStepping = false;
			if (this.cancelSent) {
				// fk_cancel lasts until the end of the request it lands in: one
				// that came as the step ended must not cancel the next one
				this.cancelSent = false;
				await this.tracer.request('ping', {}).catch(() => undefined);
			}
		}
		this.lastNativeStep = body;
		switch (body.reason) {
			case 'noLine':
				return 'noLine';
			case 'paused':
				this.cancelStep = true;
				return null;
			case 'breakpoint':
			case 'signal':
				this.cancelStep = false;
				return this.nativeStepStop(tid, body.reason, body);
			case 'threadExited':
				this.cancelStep = false;
				return { info: { reason: 'pause', tid: this.pid, breakpoints: [], description: `thread ${tid} exited during the step` } };
			case 'exited':
				await this.waitExit(5000);
				return null;
			default:
				this.cancelStep = false;
				return null;
		}
	}

	/** How the last native line step went (tests, bench): steps and continues. */
	get lastStep(): StepBody | null {
		return this.lastNativeStep;
	}

	/**
	 * Resume every LWP until `tid` reaches `addr` with sp >= minSp (the frame
	 * we wait for, not a recursive call). Returns the stop that got in the
	 * way (a user breakpoint, a signal), or null.
	 */
	private async runToReturn(tid: number, addr: bigint, minSp: bigint, alone = false): Promise<Foreign | null> {
		const bp = await this.breakpoints.add('internal', [addr]);
		if (!bp.verified) {
			await this.breakpoints.remove(bp.id);
			throw new DebuggeeError('failed', `cannot stop at ${hex(addr)}: ${bp.message ?? 'breakpoint refused'}`);
		}
		try {
			for (;;) {
				const ev = await this.runUntilNativeStop(alone ? tid : undefined);
				if (ev === 'exited' || ev === 'paused') return null;
				if (ev.reason === 'breakpoint' && ev.addr && BigInt(ev.addr) === addr) {
					const user = this.breakpoints.at(addr).filter((b) => b.kind !== 'internal');
					if (ev.tid === tid) {
						const regs = await this.rawRegs(tid);
						if (regs.sp >= minSp) return null;
					}
					if (user.length) return { foreign: ev };
					continue; // another thread or a deeper frame: keep going
				}
				if (this.cancelStep) return null;
				return { foreign: ev };
			}
		} finally {
			if (!this.isExited()) await this.breakpoints.remove(bp.id).catch(() => undefined);
		}
	}

	/** Resume all and wait for the next native stop (the process is all-stopped again after). */
	private async runUntilNativeStop(only?: number): Promise<NativeStop | 'exited' | 'paused'> {
		const got = new Promise<NativeStop | 'exited' | 'paused'>((resolve) => {
			this.waiter = resolve;
		});
		this.runState = 'running';
		try {
			await this.tracer.request('resume', only === undefined ? { pid: this.pid } : { pid: this.pid, tid: only });
		} catch (e) {
			this.waiter = null;
			if (!this.isExited()) this.runState = 'stopped';
			throw e;
		}
		const ev = await got;
		if (ev === 'exited') return ev;
		await this.stopAll();
		this.runState = 'stopped';
		return ev;
	}
}

export type DebuggeeErrorKind = 'exited' | 'running' | 'unsupported' | 'failed';

/** A request that does not fit the debuggee's state. */
export class DebuggeeError extends Error {
	constructor(
		readonly kind: DebuggeeErrorKind,
		message: string,
	) {
		super(message);
		this.name = 'DebuggeeError';
	}
}

export { TracerError };
