/*
 * Types for the JSON messages of native/PROTOCOL.md, and a small validator.
 *
 * Every parse* function checks the shape and returns its input typed (extra
 * keys are kept, so `--json` output can pass bodies through unchanged).
 * A malformed message throws ProtocolError naming the offending path.
 */

export type Hex = `0x${string}`;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** The native side sent something that does not match PROTOCOL.md. */
export class ProtocolError extends Error {
	constructor(message: string, readonly raw?: string) {
		super(message);
		this.name = 'ProtocolError';
	}
}

// ---- messages --------------------------------------------------------------

export type ErrorKind =
	| 'no-such-process'
	| 'not-permitted'
	| 'already-traced'
	| 'exited'
	| 'bad-request'
	| 'failed';

export interface NativeError {
	kind: ErrorKind;
	code: string;
	errno: number;
	step: string;
	message: string;
	tracerPid?: number;
}

export interface ResultOk {
	type: 'result';
	id: number;
	ok: true;
	body: JsonObject;
}

export interface ResultErr {
	type: 'result';
	id: number;
	ok: false;
	error: NativeError;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogMessage {
	type: 'log';
	level: LogLevel;
	message: string;
}

export interface ThreadCreatedEvent { type: 'event'; event: 'threadCreated'; pid: number; tid: number }
export interface ThreadExitedEvent { type: 'event'; event: 'threadExited'; pid: number; tid: number }
export type StopReason = 'signal' | 'breakpoint' | 'step' | 'interrupt' | 'entry';
export interface StoppedEvent {
	type: 'event'; event: 'stopped'; pid: number; tid: number; reason: StopReason; signal?: number;
	/** pc of the LWP (when the library sends it) */
	pc?: Hex;
	/** reason "breakpoint": the address of the int3 we inserted */
	addr?: Hex;
}
export interface ExitedEvent {
	type: 'event'; event: 'exited'; pid: number; exitCode?: number; signal?: number;
}
/** An event name this version does not know (newer library): passed on as is. */
export interface UnknownEvent { type: 'event'; event: string; [key: string]: JsonValue }

export type KnownEvent = ThreadCreatedEvent | ThreadExitedEvent | StoppedEvent | ExitedEvent;
export type Message = ResultOk | ResultErr | LogMessage | KnownEvent | UnknownEvent;

// ---- bodies ----------------------------------------------------------------

export type ThreadState = 'R' | 'S' | 'D' | 'T' | 't' | 'Z' | 'X' | 'I';
export type PthreadSource = 'thread_db' | 'fs_base';

export interface StackInfo {
	low: Hex;
	high: Hex;
	guard: number;
	source?: string;
}

export interface ThreadInfo {
	tid: number;
	pthread: Hex | null;
	pthreadSource?: PthreadSource | null;
	name: string;
	state: ThreadState;
	syscall?: number | null;
	pc: Hex;
	sp: Hex;
	fsBase?: Hex;
	stack: StackInfo | null;
	spInStack?: boolean;
}

export interface ThreadsBody {
	pid: number;
	pauseUs: number;
	attachedBefore?: boolean;
	threads: ThreadInfo[];
}

export interface XstateComponent {
	id: number;
	name: string;
	offset: number;
	size: number;
	inUse: boolean;
}

export interface RegsBody {
	pid: number;
	tid: number;
	gpr: Record<string, Hex>;
	fpu: {
		fcw: Hex; fsw: Hex; ftw: Hex; fop: Hex; fip: Hex; fdp: Hex;
		mxcsr: Hex; mxcsr_mask: Hex;
		st: Hex[];
	};
	xstate?: {
		size: number;
		xcr0: Hex;
		xstate_bv: Hex;
		components: XstateComponent[];
	};
	vector: {
		xmm: Hex[];
		ymm: Hex[] | null;
		k: Hex[] | null;
		zmm: Hex[] | null;
	};
	sigmask: Hex;
}

export interface ForkBody {
	parent: number;
	child: number;
	sameTids: boolean;
	/** same-tids mode: pid 1 of the child's PID namespace (a reaper) */
	namespaceInit?: number;
	/** same-tids mode without CAP_SYS_ADMIN: the namespace is in a user namespace of its own */
	userNamespace?: boolean;
	threads: { parentTid: number; childTid: number }[];
	timings: { pauseUs: number; forkUs: number; threadsUs: number; totalUs: number };
	/** bytes: address space of the regions; residentBytes: their resident memory (what a copy costs) */
	dontfork: { regions: number; bytes: number; residentBytes?: number; copied: boolean };
	wipeonfork: { start: Hex; end: Hex; path: string }[];
	zombieLeader: boolean;
	robustOwnersFixed: number;
	warnings: string[];
}

export interface SessionBody {
	pid: number;
	stopped?: boolean;
	pauseUs?: number;
	tids?: number[];
}

export interface LaunchBody {
	pid: number;
	/** read ends of pipes connected to the program's stdout/stderr (owned by the caller) */
	stdoutFd: number;
	stderrFd: number;
	tids?: number[];
}

export interface StackFrameInfo {
	pc: Hex;
	sp?: Hex;
	function: string | null;
	offset?: number | null;
	module: string | null;
	file: string | null;
	line: number | null;
	column?: number | null;
}

export interface StackBody {
	pid: number;
	/** 0 when asked for every thread: then `threads`, and `frames` is empty */
	tid: number;
	unwinder?: string;
	note?: string;
	frames: StackFrameInfo[];
	threads?: { tid: number; frames: StackFrameInfo[] }[];
}

/** FK_OP_SYMBOLS: function:/line: give addresses; addr: gives a location. */
export interface SymbolsBody {
	addresses?: Hex[];
	line?: number | null;
	function?: string | null;
	offset?: number | null;
	module?: string | null;
	file?: string | null;
}

/** FK_OP_LOCALS: one variable of a frame, from DWARF. `children`: members
 * (of a struct, union, or the struct a pointer points to), elements (of an
 * array, at most 64) or the pointee ("*p"); null at the depth limit or for
 * scalars. `value` says "<optimized out>", "<unavailable: …>" or
 * "<unsupported: …>" instead of guessing. */
export interface LocalVariable {
	name: string;
	type: string;
	value: string;
	/** where it is in memory; null in a register or computed */
	address: Hex | null;
	kind: 'param' | 'local' | 'member' | 'element' | 'deref' | string;
	/** a C expression for it ("pt.x", "numbers[2]", "*p", "pp->y") */
	expr?: string | null;
	/** pointers: the address they hold */
	pointer?: Hex;
	children: LocalVariable[] | null;
}

export interface LocalsBody {
	pid: number;
	tid: number;
	frame: number;
	pc?: Hex;
	/** the function's DWARF name; null without debug information */
	function: string | null;
	/** why there are no variables (no DWARF there, no libdw) */
	note?: string | null;
	/** innermost scope first; a scope's parameters before its locals */
	variables: LocalVariable[];
}

/** How a native step ended (FK_OP_STEP; PROTOCOL.md). */
export type StepReason = 'step' | 'breakpoint' | 'signal' | 'paused' | 'threadExited' | 'exited' | 'noLine';
const STEP_REASONS: readonly StepReason[] = ['step', 'breakpoint', 'signal', 'paused', 'threadExited', 'exited', 'noLine'];

/** FK_OP_STEP: one instruction (pc, interrupted) or, with FK_STEP_LINE /
 * FK_STEP_OUT, a source-line step (reason and the rest). */
export interface StepBody {
	pid: number;
	tid: number;
	pc?: Hex;
	interrupted?: boolean;
	reason?: StepReason;
	/** the LWP the reason is about (a breakpoint or signal of another LWP) */
	stopTid?: number;
	signal?: number;
	addr?: Hex;
	singleSteps?: number;
	continues?: number;
	us?: number;
}

/** Body type of each operation's successful result. */
export interface BodyByOp {
	threads: ThreadsBody;
	regs: RegsBody;
	attach: SessionBody;
	detach: SessionBody;
	stop: SessionBody;
	resume: SessionBody;
	launch: LaunchBody;
	fork: ForkBody;
	kill: SessionBody;
	step: StepBody;
	bpInsert: JsonObject;
	bpRemove: JsonObject;
	setRegs: JsonObject;
	ping: JsonObject;
	stack: StackBody;
	symbols: SymbolsBody;
	locals: LocalsBody;
}

// ---- validator -------------------------------------------------------------

type Path = string;

function fail(path: Path, want: string, got: unknown): never {
	const shown = got === undefined ? 'nothing' : JSON.stringify(got);
	throw new ProtocolError(`malformed message: ${path} should be ${want}, got ${shown?.slice(0, 80)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: Path): Record<string, unknown> {
	return isObject(v) ? v : fail(path, 'an object', v);
}

function int(v: unknown, path: Path): number {
	return typeof v === 'number' && Number.isInteger(v) ? v : fail(path, 'an integer', v);
}

function str(v: unknown, path: Path): string {
	return typeof v === 'string' ? v : fail(path, 'a string', v);
}

function bool(v: unknown, path: Path): boolean {
	return typeof v === 'boolean' ? v : fail(path, 'a boolean', v);
}

const HEX_RE = /^0x[0-9a-fA-F]+$/;

function hex(v: unknown, path: Path): Hex {
	return typeof v === 'string' && HEX_RE.test(v) ? (v as Hex) : fail(path, 'a "0x…" hex string', v);
}

function oneOf<T extends string>(v: unknown, path: Path, values: readonly T[]): T {
	return typeof v === 'string' && (values as readonly string[]).includes(v)
		? (v as T) : fail(path, `one of ${values.join('|')}`, v);
}

function arr<T>(v: unknown, path: Path, item: (x: unknown, p: Path) => T, len?: number): T[] {
	if (!Array.isArray(v)) {
		fail(path, 'an array', v);
	}
	if (len !== undefined && v.length !== len) {
		fail(path, `an array of ${len}`, `length ${v.length}`);
	}
	v.forEach((x, i) => item(x, `${path}[${i}]`));
	return v as T[];
}

function opt<T>(o: Record<string, unknown>, key: string, path: Path, check: (x: unknown, p: Path) => T): void {
	if (o[key] !== undefined && o[key] !== null) {
		check(o[key], `${path}.${key}`);
	}
}

function nullable<T>(v: unknown, path: Path, check: (x: unknown, p: Path) => T): T | null {
	return v === null ? null : check(v, path);
}

const ERROR_KINDS: readonly ErrorKind[] =
	['no-such-process', 'not-permitted', 'already-traced', 'exited', 'bad-request', 'failed'];
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const STOP_REASONS: readonly StopReason[] = ['signal', 'breakpoint', 'step', 'interrupt', 'entry'];
const THREAD_STATES: readonly ThreadState[] = ['R', 'S', 'D', 'T', 't', 'Z', 'X', 'I'];

function parseNativeError(v: unknown, path: Path): NativeError {
	const o = obj(v, path);
	// An unknown kind from a newer library still carries a message: keep it as 'failed'.
	if (typeof o.kind !== 'string' || !(ERROR_KINDS as readonly string[]).includes(o.kind)) {
		str(o.kind, `${path}.kind`);
		o.kind = 'failed';
	}
	str(o.code, `${path}.code`);
	int(o.errno, `${path}.errno`);
	str(o.step, `${path}.step`);
	str(o.message, `${path}.message`);
	opt(o, 'tracerPid', path, int);
	return o as unknown as NativeError;
}

/** Parse one fk_next_message() payload. */
export function parseMessage(raw: string): Message {
	let v: unknown;
	try {
		v = JSON.parse(raw);
	} catch (e) {
		throw new ProtocolError(`malformed message: not JSON (${(e as Error).message}): ${raw.slice(0, 120)}`, raw);
	}
	try {
		return checkMessage(v);
	} catch (e) {
		if (e instanceof ProtocolError) {
			throw new ProtocolError(`${e.message} in ${raw.slice(0, 200)}`, raw);
		}
		throw e;
	}
}

function checkMessage(v: unknown): Message {
	const o = obj(v, 'message');
	const type = oneOf(o.type, 'message.type', ['result', 'event', 'log'] as const);
	switch (type) {
	case 'result':
		int(o.id, 'result.id');
		if (bool(o.ok, 'result.ok')) {
			obj(o.body, 'result.body');
			return o as unknown as ResultOk;
		}
		parseNativeError(o.error, 'result.error');
		return o as unknown as ResultErr;
	case 'log':
		oneOf(o.level, 'log.level', LOG_LEVELS);
		str(o.message, 'log.message');
		return o as unknown as LogMessage;
	case 'event':
		return checkEvent(o);
	}
}

function checkEvent(o: Record<string, unknown>): KnownEvent | UnknownEvent {
	const name = str(o.event, 'event.event');
	switch (name) {
	case 'threadCreated':
	case 'threadExited':
		int(o.pid, `${name}.pid`);
		int(o.tid, `${name}.tid`);
		break;
	case 'stopped':
		int(o.pid, 'stopped.pid');
		int(o.tid, 'stopped.tid');
		oneOf(o.reason, 'stopped.reason', STOP_REASONS);
		opt(o, 'signal', 'stopped', int);
		opt(o, 'pc', 'stopped', hex);
		opt(o, 'addr', 'stopped', hex);
		break;
	case 'exited':
		int(o.pid, 'exited.pid');
		opt(o, 'exitCode', 'exited', int);
		opt(o, 'signal', 'exited', int);
		if (o.exitCode == null && o.signal == null) {
			fail('exited', 'exitCode or signal', o);
		}
		break;
	default:
		break;
	}
	return o as unknown as KnownEvent | UnknownEvent;
}

export function isKnownEvent(m: KnownEvent | UnknownEvent): m is KnownEvent {
	return ['threadCreated', 'threadExited', 'stopped', 'exited'].includes(m.event);
}

// ---- bodies ----------------------------------------------------------------

function parseStack(v: unknown, path: Path): StackInfo {
	const o = obj(v, path);
	hex(o.low, `${path}.low`);
	hex(o.high, `${path}.high`);
	int(o.guard, `${path}.guard`);
	opt(o, 'source', path, str);
	return o as unknown as StackInfo;
}

function parseThread(v: unknown, path: Path): ThreadInfo {
	const o = obj(v, path);
	int(o.tid, `${path}.tid`);
	nullable(o.pthread, `${path}.pthread`, hex);
	opt(o, 'pthreadSource', path, str);
	str(o.name, `${path}.name`);
	oneOf(o.state, `${path}.state`, THREAD_STATES);
	opt(o, 'syscall', path, int);
	hex(o.pc, `${path}.pc`);
	hex(o.sp, `${path}.sp`);
	opt(o, 'fsBase', path, hex);
	if (o.stack === undefined) {
		o.stack = null;
	}
	nullable(o.stack, `${path}.stack`, parseStack);
	opt(o, 'spInStack', path, bool);
	return o as unknown as ThreadInfo;
}

export function parseThreadsBody(v: unknown): ThreadsBody {
	const o = obj(v, 'threads');
	int(o.pid, 'threads.pid');
	int(o.pauseUs, 'threads.pauseUs');
	opt(o, 'attachedBefore', 'threads', bool);
	arr(o.threads, 'threads.threads', parseThread);
	return o as unknown as ThreadsBody;
}

const hexArr = (len: number) => (v: unknown, p: Path): Hex[] => arr(v, p, hex, len);

export function parseRegsBody(v: unknown): RegsBody {
	const o = obj(v, 'regs');
	int(o.pid, 'regs.pid');
	int(o.tid, 'regs.tid');
	const gpr = obj(o.gpr, 'regs.gpr');
	for (const [k, x] of Object.entries(gpr)) {
		hex(x, `regs.gpr.${k}`);
	}
	for (const k of ['rip', 'rsp', 'eflags']) {
		hex(gpr[k], `regs.gpr.${k}`);
	}
	const fpu = obj(o.fpu, 'regs.fpu');
	for (const k of ['fcw', 'fsw', 'ftw', 'fop', 'fip', 'fdp', 'mxcsr', 'mxcsr_mask']) {
		hex(fpu[k], `regs.fpu.${k}`);
	}
	arr(fpu.st, 'regs.fpu.st', hex, 8);
	if (o.xstate !== undefined && o.xstate !== null) {
		const xs = obj(o.xstate, 'regs.xstate');
		int(xs.size, 'regs.xstate.size');
		hex(xs.xcr0, 'regs.xstate.xcr0');
		hex(xs.xstate_bv, 'regs.xstate.xstate_bv');
		arr(xs.components, 'regs.xstate.components', (c, p) => {
			const co = obj(c, p);
			int(co.id, `${p}.id`);
			str(co.name, `${p}.name`);
			int(co.offset, `${p}.offset`);
			int(co.size, `${p}.size`);
			bool(co.inUse, `${p}.inUse`);
			return co;
		});
	}
	const vec = obj(o.vector, 'regs.vector');
	arr(vec.xmm, 'regs.vector.xmm', hex, 16);
	nullable(vec.ymm ?? null, 'regs.vector.ymm', hexArr(16));
	nullable(vec.k ?? null, 'regs.vector.k', hexArr(8));
	nullable(vec.zmm ?? null, 'regs.vector.zmm', hexArr(32));
	hex(o.sigmask, 'regs.sigmask');
	return o as unknown as RegsBody;
}

export function parseForkBody(v: unknown): ForkBody {
	const o = obj(v, 'fork');
	int(o.parent, 'fork.parent');
	int(o.child, 'fork.child');
	bool(o.sameTids, 'fork.sameTids');
	arr(o.threads, 'fork.threads', (t, p) => {
		const to = obj(t, p);
		int(to.parentTid, `${p}.parentTid`);
		int(to.childTid, `${p}.childTid`);
		return to;
	});
	const tm = obj(o.timings, 'fork.timings');
	for (const k of ['pauseUs', 'forkUs', 'threadsUs', 'totalUs']) {
		int(tm[k], `fork.timings.${k}`);
	}
	const dc = obj(o.dontfork, 'fork.dontfork');
	int(dc.regions, 'fork.dontfork.regions');
	int(dc.bytes, 'fork.dontfork.bytes');
	opt(dc, 'residentBytes', 'fork.dontfork', int);
	bool(dc.copied, 'fork.dontfork.copied');
	arr(o.wipeonfork, 'fork.wipeonfork', (w, p) => obj(w, p));
	bool(o.zombieLeader, 'fork.zombieLeader');
	int(o.robustOwnersFixed, 'fork.robustOwnersFixed');
	arr(o.warnings, 'fork.warnings', (w, p) => (typeof w === 'string' ? w : fail(p, 'a string', w)));
	return o as unknown as ForkBody;
}

function parseStepBody(v: unknown): StepBody {
	const o = obj(v, 'step');
	int(o.pid, 'step.pid');
	int(o.tid, 'step.tid');
	opt(o, 'pc', 'step', hex);
	opt(o, 'interrupted', 'step', bool);
	opt(o, 'reason', 'step', (x, p) => {
		if (!STEP_REASONS.includes(x as StepReason)) throw new ProtocolError(`${p}: unknown step reason ${JSON.stringify(x)}`);
		return x;
	});
	opt(o, 'stopTid', 'step', int);
	opt(o, 'signal', 'step', int);
	opt(o, 'addr', 'step', hex);
	opt(o, 'singleSteps', 'step', int);
	opt(o, 'continues', 'step', int);
	opt(o, 'us', 'step', int);
	return o as unknown as StepBody;
}

function parseSessionBody(v: unknown): SessionBody {
	const o = obj(v, 'session');
	int(o.pid, 'session.pid');
	opt(o, 'stopped', 'session', bool);
	opt(o, 'pauseUs', 'session', int);
	opt(o, 'tids', 'session', (x, p) => arr(x, p, int));
	return o as unknown as SessionBody;
}

export function parseLaunchBody(v: unknown): LaunchBody {
	const o = obj(v, 'launch');
	int(o.pid, 'launch.pid');
	int(o.stdoutFd, 'launch.stdoutFd');
	int(o.stderrFd, 'launch.stderrFd');
	opt(o, 'tids', 'launch', (x, p) => arr(x, p, int));
	return o as unknown as LaunchBody;
}

function parseFrames(v: unknown, path: string): void {
	arr(v, path, (f, p) => {
		const fo = obj(f, p);
		hex(fo.pc, `${p}.pc`);
		opt(fo, 'sp', p, hex);
		opt(fo, 'function', p, str);
		opt(fo, 'offset', p, int);
		opt(fo, 'module', p, str);
		opt(fo, 'file', p, str);
		opt(fo, 'line', p, int);
		opt(fo, 'column', p, int);
		for (const k of ['function', 'module', 'file', 'line']) {
			if (fo[k] === undefined) {
				fo[k] = null;
			}
		}
		return fo;
	});
}

export function parseStackBody(v: unknown): StackBody {
	const o = obj(v, 'stack');
	int(o.pid, 'stack.pid');
	int(o.tid, 'stack.tid');
	opt(o, 'unwinder', 'stack', str);
	opt(o, 'note', 'stack', str);
	parseFrames(o.frames, 'stack.frames');
	opt(o, 'threads', 'stack', (x, p) => arr(x, p, (t, q) => {
		const to = obj(t, q);
		int(to.tid, `${q}.tid`);
		parseFrames(to.frames, `${q}.frames`);
		return to;
	}));
	return o as unknown as StackBody;
}

export function parseSymbolsBody(v: unknown): SymbolsBody {
	const o = obj(v, 'symbols');
	opt(o, 'addresses', 'symbols', (x, p) => arr(x, p, hex));
	opt(o, 'line', 'symbols', int);
	opt(o, 'function', 'symbols', str);
	opt(o, 'offset', 'symbols', int);
	opt(o, 'module', 'symbols', str);
	opt(o, 'file', 'symbols', str);
	return o as unknown as SymbolsBody;
}

const MAX_VAR_DEPTH = 16;

function parseVariable(v: unknown, path: Path, depth = 0): LocalVariable {
	const o = obj(v, path);
	str(o.name, `${path}.name`);
	str(o.type, `${path}.type`);
	str(o.value, `${path}.value`);
	nullable(o.address ?? null, `${path}.address`, hex);
	str(o.kind, `${path}.kind`);
	opt(o, 'expr', path, str);
	opt(o, 'pointer', path, hex);
	if (o.address === undefined) o.address = null;
	if (o.children === undefined || depth >= MAX_VAR_DEPTH) o.children = null;
	nullable(o.children, `${path}.children`, (x, p) => arr(x, p, (c, q) => parseVariable(c, q, depth + 1)));
	return o as unknown as LocalVariable;
}

export function parseLocalsBody(v: unknown): LocalsBody {
	const o = obj(v, 'locals');
	int(o.pid, 'locals.pid');
	int(o.tid, 'locals.tid');
	int(o.frame, 'locals.frame');
	opt(o, 'pc', 'locals', hex);
	if (o.function === undefined) o.function = null;
	nullable(o.function, 'locals.function', str);
	opt(o, 'note', 'locals', str);
	arr(o.variables, 'locals.variables', (x, p) => parseVariable(x, p));
	return o as unknown as LocalsBody;
}

type BodyParsers = { [K in keyof BodyByOp]: (v: unknown) => BodyByOp[K] };
const asObject = (v: unknown): JsonObject => obj(v, 'body') as JsonObject;

export const bodyParsers: BodyParsers = {
	threads: parseThreadsBody,
	regs: parseRegsBody,
	attach: parseSessionBody,
	detach: parseSessionBody,
	stop: parseSessionBody,
	resume: parseSessionBody,
	launch: parseLaunchBody,
	fork: parseForkBody,
	kill: parseSessionBody,
	step: parseStepBody,
	bpInsert: asObject,
	bpRemove: asObject,
	setRegs: asObject,
	ping: asObject,
	stack: parseStackBody,
	symbols: parseSymbolsBody,
	locals: parseLocalsBody,
};
