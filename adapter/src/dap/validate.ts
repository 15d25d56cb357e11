/*
 * The arguments of every request the adapter implements, described once
 * (REQUESTS below) and checked before the handler runs: a wrong type, a
 * missing required field or a size over our limits is answered with an
 * error naming the argument (`next: threadId must be a thread of this
 * session (got -1)`), never coerced (`line: "8"` became line 80).
 *
 * The descriptions follow the DAP JSON schema's types (integer, number,
 * string, boolean, enums, arrays, nested objects; unknown properties are
 * allowed, as in the schema: VS Code adds its own to launch/attach). No npm
 * package ships that schema, only its TypeScript rendering
 * (@vscode/debugprotocol), so the table is written here and tied to those
 * types at compile time: `obj<T>` must describe every property of T, each
 * with a spec of exactly that property's type (a `Spec<T>` is invariant in
 * T), so a field added to or retyped in the protocol package fails the build.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import type {
	AttachArguments,
	CheckpointArguments,
	ConditionStatsArguments,
	DeleteCheckpointArguments,
	ForkAllThreadsArguments,
	FreezeThreadArguments,
	LaunchArguments,
	RestoreCheckpointArguments,
} from './custom';

/** What a check may ask the session (semantic checks on top of the types). */
export interface CheckContext {
	/** tid is a thread of the session's process; null: no live process (the handler will say so). */
	isThread(tid: number): boolean | null;
}

export interface Spec<T> {
	/** "an integer", "a string", … (for messages). */
	readonly what: string;
	readonly optional: boolean;
	/** null when v is fine, else what is wrong with it (the path is prefixed by the caller). */
	readonly check: (v: unknown, path: string, ctx: CheckContext) => string | null;
	/** Phantom, invariant in T: ties a spec to one TypeScript type. */
	readonly __type?: (t: T) => T;
}

const INT_MAX = 2 ** 53 - 1;
const PID_MAX = 0x7fffffff;
/** Entries in one array argument (breakpoints of one file, filters …). */
const ARRAY_MAX = 100000;

export function show(v: unknown): string {
	let s: string;
	try {
		s = v === undefined ? 'undefined' : (JSON.stringify(v) ?? String(v));
	} catch {
		s = String(v);
	}
	return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

function spec<T>(what: string, test: (v: unknown, path: string, ctx: CheckContext) => string | null): Spec<T> {
	return { what, optional: false, check: test };
}

function simple<T>(what: string, ok: (v: unknown) => boolean): Spec<T> {
	return spec<T>(what, (v, p) => (ok(v) ? null : `${p} must be ${what} (got ${show(v)})`));
}

export function int(min = -INT_MAX, max = INT_MAX): Spec<number> {
	const range = min === -INT_MAX && max === INT_MAX ? '' : max === INT_MAX ? ` >= ${min}` : ` between ${min} and ${max}`;
	return simple(`an integer${range}`, (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max);
}

export function num(): Spec<number> {
	return simple('a number', (v) => typeof v === 'number' && Number.isFinite(v));
}

export function str(pattern?: RegExp, what = 'a string'): Spec<string> {
	return simple(what, (v) => typeof v === 'string' && (!pattern || pattern.test(v)));
}

export function bool(): Spec<boolean> {
	return simple('a boolean', (v) => typeof v === 'boolean');
}

export function nul(): Spec<null> {
	return simple('null', (v) => v === null);
}

/** Any JSON value (DAP's `any`, e.g. __restart). */
export function anything(): Spec<unknown> {
	return spec('anything', () => null);
}

export function lit<L extends string>(...values: L[]): Spec<L> {
	return simple(`one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, (v) => values.includes(v as L));
}

export function opt<T>(s: Spec<T>): Spec<T | undefined> {
	return { ...s, optional: true } as Spec<T | undefined>;
}

export function oneOf<A, B>(a: Spec<A>, b: Spec<B>): Spec<A | B> {
	const what = `${a.what} or ${b.what}`;
	return spec(what, (v, p, ctx) =>
		a.check(v, p, ctx) === null || b.check(v, p, ctx) === null ? null : `${p} must be ${what} (got ${show(v)})`,
	);
}

export function arr<T>(of: Spec<T>, max = ARRAY_MAX): Spec<T[]> {
	return spec(`an array of ${of.what.replace(/^an? /, '')}s`, (v, p, ctx) => {
		if (!Array.isArray(v)) return `${p} must be an array (got ${show(v)})`;
		if (v.length > max) return `${p} must have at most ${max} entries (got ${v.length})`;
		for (let i = 0; i < v.length; i++) {
			const e = of.check(v[i], `${p}[${i}]`, ctx);
			if (e) return e;
		}
		return null;
	});
}

export function record<V>(of: Spec<V>): Spec<Record<string, V>> {
	return spec(`an object of ${of.what}`, (v, p, ctx) => {
		if (!isObject(v)) return `${p} must be an object (got ${show(v)})`;
		for (const [k, x] of Object.entries(v)) {
			const e = of.check(x, `${p}.${k}`, ctx);
			if (e) return e;
		}
		return null;
	});
}

/** Every property of T, each with a spec of its exact type. Unknown properties are allowed (as in the DAP schema). */
export function obj<T>(props: { [K in keyof T]-?: Spec<T[K]> }): Spec<T> {
	const entries = Object.entries(props) as [string, Spec<unknown>][];
	return spec('an object', (v, p, ctx) => {
		if (!isObject(v)) return `${p} must be an object (got ${show(v)})`;
		for (const [k, s] of entries) {
			const x = v[k];
			const at = p ? `${p}.${k}` : k;
			if (x === undefined) {
				if (!s.optional) return `${at} is required`;
				continue;
			}
			const e = s.check(x, at, ctx);
			if (e) return e;
		}
		return null;
	});
}

/** For recursive types (Source.sources). */
export function lazy<T>(f: () => Spec<T>): Spec<T> {
	let s: Spec<T> | null = null;
	return spec('an object', (v, p, ctx) => (s ??= f()).check(v, p, ctx));
}

/** A thread id: a positive integer, and (with a live process) one of its threads. */
export function thread(): Spec<number> {
	const base = int(1, PID_MAX);
	return spec('a thread id', (v, p, ctx) => {
		const known = Number.isSafeInteger(v) ? ctx.isThread(v as number) : null;
		if (known === false) return `${p} must be a thread of this session (got ${show(v)})`;
		return base.check(v, p, ctx) === null ? null : `${p} must be a thread of this session (got ${show(v)})`;
	});
}

function isObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- the requests ------------------------------------------------------------

/** A memory reference as we hand them out: "0x…" hex or decimal. */
const memoryReference = () => str(/^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/, 'a memory reference ("0x…" or decimal)');
/** Byte offsets: integers well inside ±2^53. */
const byteOffset = () => opt(int());
const line = () => int(0, PID_MAX);
const granularity = () => opt(lit<DebugProtocol.SteppingGranularity>('statement', 'line', 'instruction'));

const checksum = obj<DebugProtocol.Checksum>({
	algorithm: lit<DebugProtocol.ChecksumAlgorithm>('MD5', 'SHA1', 'SHA256', 'timestamp'),
	checksum: str(),
});

const source: Spec<DebugProtocol.Source> = obj<DebugProtocol.Source>({
	name: opt(str()),
	path: opt(str()),
	sourceReference: opt(int()),
	presentationHint: opt(lit('normal', 'emphasize', 'deemphasize')),
	origin: opt(str()),
	sources: opt(
		arr(
			lazy(() => source),
			1000,
		),
	),
	adapterData: opt(anything()),
	checksums: opt(arr(checksum, 100)),
});

const valueFormat = obj<DebugProtocol.ValueFormat>({ hex: opt(bool()) });

const stackFrameFormat = obj<DebugProtocol.StackFrameFormat>({
	hex: opt(bool()),
	parameters: opt(bool()),
	parameterTypes: opt(bool()),
	parameterNames: opt(bool()),
	parameterValues: opt(bool()),
	line: opt(bool()),
	module: opt(bool()),
	includeAll: opt(bool()),
});

const stepArgs = {
	threadId: thread(),
	singleThread: opt(bool()),
	granularity: granularity(),
};

/** The largest readMemory count (bytes) and disassemble instructionCount. */
export const MAX_READ_MEMORY = 16 << 20;
export const MAX_DISASSEMBLE = 10000;

/** Empty argument objects (requests without arguments). */
type NoArguments = Record<never, never>;

export const REQUESTS = {
	initialize: obj<DebugProtocol.InitializeRequestArguments>({
		clientID: opt(str()),
		clientName: opt(str()),
		adapterID: str(),
		locale: opt(str()),
		linesStartAt1: opt(bool()),
		columnsStartAt1: opt(bool()),
		pathFormat: opt(str()),
		supportsVariableType: opt(bool()),
		supportsVariablePaging: opt(bool()),
		supportsRunInTerminalRequest: opt(bool()),
		supportsMemoryReferences: opt(bool()),
		supportsProgressReporting: opt(bool()),
		supportsInvalidatedEvent: opt(bool()),
		supportsMemoryEvent: opt(bool()),
		supportsArgsCanBeInterpretedByShell: opt(bool()),
		supportsStartDebuggingRequest: opt(bool()),
		supportsANSIStyling: opt(bool()),
	}),
	launch: obj<LaunchArguments>({
		noDebug: opt(bool()),
		__restart: opt(anything()),
		program: opt(str()),
		args: opt(arr(str())),
		cwd: opt(str()),
		env: opt(record(oneOf(str(), nul()))),
		stopAtEntry: opt(bool()),
		signals: opt(record(str())),
		followForks: opt(lit('both', 'parent', 'child')),
		terminateChildren: opt(bool()),
		autoCheckpoint: opt(int(0, 1000)),
		checkpointSameTids: opt(bool()),
		stepThreads: opt(lit('all', 'current')),
	}),
	attach: obj<AttachArguments>({
		__restart: opt(anything()),
		pid: opt(oneOf(int(), str())),
		stopOnAttach: opt(bool()),
		__forkallChild: opt(int(1, PID_MAX)),
		name: opt(str()),
		signals: opt(record(str())),
		followForks: opt(lit('both', 'parent', 'child')),
		terminateChildren: opt(bool()),
		__forkallFollowed: opt(bool()),
		__forkallKept: opt(bool()),
		autoCheckpoint: opt(int(0, 1000)),
		checkpointSameTids: opt(bool()),
		stepThreads: opt(lit('all', 'current')),
	}),
	configurationDone: obj<DebugProtocol.ConfigurationDoneArguments>({}),
	disconnect: obj<DebugProtocol.DisconnectArguments>({
		restart: opt(bool()),
		terminateDebuggee: opt(bool()),
		suspendDebuggee: opt(bool()),
	}),
	terminate: obj<DebugProtocol.TerminateArguments>({ restart: opt(bool()) }),
	threads: obj<NoArguments>({}),
	stackTrace: obj<DebugProtocol.StackTraceArguments>({
		threadId: thread(),
		startFrame: opt(int(0)),
		levels: opt(int(0)),
		format: opt(stackFrameFormat),
	}),
	scopes: obj<DebugProtocol.ScopesArguments>({ frameId: int() }),
	variables: obj<DebugProtocol.VariablesArguments>({
		variablesReference: int(),
		filter: opt(lit('indexed', 'named')),
		start: opt(int(0)),
		count: opt(int(0)),
		format: opt(valueFormat),
	}),
	evaluate: obj<DebugProtocol.EvaluateArguments>({
		expression: str(),
		frameId: opt(int()),
		line: opt(int()),
		column: opt(int()),
		source: opt(lazy(() => source)),
		context: opt(str()),
		format: opt(valueFormat),
	}),
	setExpression: obj<DebugProtocol.SetExpressionArguments>({
		expression: str(),
		value: str(),
		frameId: opt(int()),
		format: opt(valueFormat),
	}),
	setVariable: obj<DebugProtocol.SetVariableArguments>({
		variablesReference: int(1),
		name: str(),
		value: str(),
		format: opt(valueFormat),
	}),
	dataBreakpointInfo: obj<DebugProtocol.DataBreakpointInfoArguments>({
		variablesReference: opt(int()),
		name: str(),
		frameId: opt(int()),
		bytes: opt(int()),
		asAddress: opt(bool()),
		mode: opt(str()),
	}),
	setDataBreakpoints: obj<DebugProtocol.SetDataBreakpointsArguments>({
		breakpoints: arr(
			obj<DebugProtocol.DataBreakpoint>({
				dataId: str(),
				accessType: opt(lit('read', 'write', 'readWrite')),
				condition: opt(str()),
				hitCondition: opt(str()),
			}),
		),
	}),
	completions: obj<DebugProtocol.CompletionsArguments>({
		text: str(),
		column: int(),
		line: opt(int()),
		frameId: opt(int()),
	}),
	readMemory: obj<DebugProtocol.ReadMemoryArguments>({
		memoryReference: memoryReference(),
		offset: byteOffset(),
		count: int(0, MAX_READ_MEMORY),
	}),
	writeMemory: obj<DebugProtocol.WriteMemoryArguments>({
		memoryReference: memoryReference(),
		offset: byteOffset(),
		allowPartial: opt(bool()),
		data: str(/^[A-Za-z0-9+/]*={0,2}$/, 'base64 text'),
	}),
	disassemble: obj<DebugProtocol.DisassembleArguments>({
		memoryReference: memoryReference(),
		offset: byteOffset(),
		instructionOffset: opt(int()),
		instructionCount: int(0, MAX_DISASSEMBLE),
		resolveSymbols: opt(bool()),
	}),
	pause: obj<DebugProtocol.PauseArguments>({ threadId: thread() }),
	// all-stop: every thread continues, whichever is named
	continue: obj<DebugProtocol.ContinueArguments>({ threadId: int(), singleThread: opt(bool()) }),
	next: obj<DebugProtocol.NextArguments>(stepArgs),
	stepIn: obj<DebugProtocol.StepInArguments>({ ...stepArgs, targetId: opt(int()) }),
	stepOut: obj<DebugProtocol.StepOutArguments>(stepArgs),
	setBreakpoints: obj<DebugProtocol.SetBreakpointsArguments>({
		source,
		breakpoints: opt(
			arr(
				obj<DebugProtocol.SourceBreakpoint>({
					line: line(),
					column: opt(int(0)),
					condition: opt(str()),
					hitCondition: opt(str()),
					logMessage: opt(str()),
					mode: opt(str()),
				}),
				10000,
			),
		),
		lines: opt(arr(line(), 10000)),
		sourceModified: opt(bool()),
	}),
	setFunctionBreakpoints: obj<DebugProtocol.SetFunctionBreakpointsArguments>({
		breakpoints: arr(
			obj<DebugProtocol.FunctionBreakpoint>({
				name: str(),
				condition: opt(str()),
				hitCondition: opt(str()),
			}),
			10000,
		),
	}),
	setInstructionBreakpoints: obj<DebugProtocol.SetInstructionBreakpointsArguments>({
		breakpoints: arr(
			obj<DebugProtocol.InstructionBreakpoint>({
				instructionReference: memoryReference(),
				offset: byteOffset(),
				condition: opt(str()),
				hitCondition: opt(str()),
				mode: opt(str()),
			}),
			10000,
		),
	}),
	setExceptionBreakpoints: obj<DebugProtocol.SetExceptionBreakpointsArguments>({
		filters: arr(str()),
		filterOptions: opt(
			arr(
				obj<DebugProtocol.ExceptionFilterOptions>({
					filterId: str(),
					condition: opt(str()),
					mode: opt(str()),
				}),
			),
		),
		exceptionOptions: opt(
			arr(
				obj<DebugProtocol.ExceptionOptions>({
					path: opt(arr(obj<DebugProtocol.ExceptionPathSegment>({ negate: opt(bool()), names: arr(str()) }))),
					breakMode: lit<DebugProtocol.ExceptionBreakMode>('never', 'always', 'unhandled', 'userUnhandled'),
				}),
			),
		),
	}),
	forkAllThreads: obj<ForkAllThreadsArguments>({
		mode: opt(lit('debug', 'run', 'stopped')),
		threadId: opt(int()),
		copyDontfork: opt(bool()),
		sameTids: opt(bool()),
	}),
	lwps: obj<NoArguments>({}),
	conditionStats: obj<ConditionStatsArguments>({ id: int(1) }),
	forkInfo: obj<NoArguments>({}),
	recreateDeadThreads: obj<NoArguments>({}),
	freezeThread: obj<FreezeThreadArguments>({ threadId: int(1, PID_MAX), frozen: opt(bool()) }),
	checkpoint: obj<CheckpointArguments>({ note: opt(str()) }),
	checkpoints: obj<NoArguments>({}),
	restoreCheckpoint: obj<RestoreCheckpointArguments>({ id: int(1), keepCurrent: opt(bool()), sameTids: opt(bool()) }),
	deleteCheckpoint: obj<DeleteCheckpointArguments>({ id: int(1) }),
	stepBack: obj<DebugProtocol.StepBackArguments>({
		threadId: int(),
		singleThread: opt(bool()),
		granularity: opt(lit('statement', 'line', 'instruction')),
	}),
	reverseContinue: obj<DebugProtocol.ReverseContinueArguments>({ threadId: int(), singleThread: opt(bool()) }),
} as const;

export type Command = keyof typeof REQUESTS;

/** The arguments type of each implemented request. */
export type ArgumentsOf<C extends Command> = (typeof REQUESTS)[C] extends Spec<infer T> ? T : never;

export function isCommand(c: string): c is Command {
	return Object.prototype.hasOwnProperty.call(REQUESTS, c);
}

/** null when the arguments fit the request's description, else the message (`next: threadId must be …`). */
export function checkArguments(command: Command, args: unknown, ctx: CheckContext): string | null {
	const e = REQUESTS[command].check(args ?? {}, '', ctx);
	return e === null ? null : `${command}: ${e.replace(/^ must/, 'arguments must')}`;
}
