/*
 * ForkallSession: one Debug Adapter Protocol session. It only translates
 * between DAP and the runtime model (../model): every handler takes the
 * request's arguments and returns the response body (or throws a DapError
 * from ./errors). Process state lives in the model's Debuggee; what all
 * sessions of one adapter process share (the tracer, forked children
 * waiting for a session) lives in the DebugHost.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import {
	Breakpoint as DapBreakpoint,
	BreakpointEvent,
	ContinuedEvent,
	DebugSession,
	ExitedEvent,
	Event,
	Handles,
	InitializedEvent,
	InvalidatedEvent,
	MemoryEvent,
	OutputEvent,
	ProgressEndEvent,
	ProgressStartEvent,
	Response,
	Source,
	StoppedEvent,
	TerminatedEvent,
	Thread,
	ThreadEvent,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { hex, hexPad } from '../common/format';
import {
	AssignError,
	Debuggee,
	ExprError,
	completionContext,
	parseRegister,
	showWatched,
	type Breakpoint,
	type BreakpointKind,
	type DebugHost,
	type Frame,
	type Lwp,
	type StopInfo,
	type ThreadsSnapshot,
	type Variable,
} from '../model';
import { Checkpoints, CheckpointError, type Checkpoint } from '../model/checkpoints';
import type { CheckpointInfo } from '../engine/protocol';
import type {
	AttachArguments,
	ForkAllThreadsArguments,
	ForkAllThreadsResponseBody,
	CheckpointArguments,
	CheckpointLocation,
	ConditionStatsArguments,
	ConditionStatsResponseBody,
	FreezeThreadArguments,
	FreezeThreadResponseBody,
	CheckpointResponseBody,
	CheckpointsResponseBody,
	DeleteCheckpointArguments,
	ForkInfoResponseBody,
	RecreateDeadThreadsResponseBody,
	RestoreCheckpointArguments,
	RestoreCheckpointResponseBody,
	ForkModeArg,
	LaunchArguments,
	LwpRow,
	LwpsResponseBody,
} from './custom';
import { DapError, ErrorCode, errors, toDapError } from './errors';
import { FrameReader, type Incoming } from './framing';
import { checkArguments, isCommand, type ArgumentsOf, type CheckContext, type Command } from './validate';
import { localNodes, lwpNodes, registerGroups, threadLabel, type VarNode } from './variables';
import {
	applyExceptionFilters,
	applySignalsAttribute,
	applyWords,
	EXCEPTION_FILTERS,
	formatSignals,
	parseHandle,
	SignalConfigError,
	fromMasks,
	signalNumber,
	type SignalTable,
} from '../model/signals';

export interface SessionOptions {
	/** Several sessions share this process (server mode): child sessions are possible. */
	multiSession: boolean;
	/** Called when the session has ended (after disconnect or a closed stream). */
	onEnd?: () => Promise<void> | void;
}

interface RequestContext {
	/** Run fn after the response has been sent (events it causes come after the response). */
	after(fn: () => Promise<void> | void): void;
}

type Handler = (args: unknown, ctx: RequestContext) => Promise<object | undefined>;

interface FrameRef {
	tid: number;
	index: number;
	/** the frame has source lines: DWARF, so a Locals scope */
	dwarf: boolean;
}

/** What configurationDone does for this session. */
type Start =
	| { kind: 'launch'; stopAtEntry: boolean; entryBreakpoint: boolean }
	| { kind: 'attach'; stopOnAttach: boolean }
	| { kind: 'fork-child'; kept?: boolean }
	/* a child the program forked (followForks): held before its first instruction; runs at configurationDone */
	| { kind: 'followed-child' };

export class ForkallSession extends DebugSession {
	private readonly handlers = new Map<string, Handler>();
	private client: DebugProtocol.InitializeRequestArguments = { adapterID: 'forkall' };
	private debuggee: Debuggee | null = null;
	private startPlan: Start | null = null;
	private configured = false;
	/** The signal table as configured (launch.json "signals", then `handle`); the exception filters apply on top. */
	private signalTable: SignalTable | null = null;
	private exceptionFilters: string[] = EXCEPTION_FILTERS.filter((f) => f.default).map((f) => f.filter);
	/** Ending the program ends the children followed in child sessions too (launch.json "terminateChildren"). */
	private terminateChildren = true;
	/** This session launched the program (a followed child ends like it: killed on disconnect). */
	private launched = false;
	/** launch.json "stepThreads": "current" steps the stepping thread alone (gdb's scheduler-locking step) */
	private stepThreads: 'all' | 'current' = 'all';
	/** launch.json "followForks", for a process a restore brings */
	private followMode: 'both' | 'parent' | 'child' | undefined = undefined;
	/** Checkpoints of this session (created on first use); "autoCheckpoint": N */
	private ckpts: Checkpoints | null = null;
	private autoCheckpoint = 0;
	/** "checkpointSameTids": restores keep the saved pid and tids (a PID namespace of their own) */
	private checkpointSameTids = false;
	/** the automatic checkpoint being saved at this stop (requests that run the program wait for it) */
	private autoSaving: Promise<void> | null = null;
	/** the checkpoint this stop is (its automatic one, or the one just restored): Step Back goes before it */
	private position: number | null = null;
	/** the thread of the last stop (a checkpoint's thread) */
	private lastStopTid: number | null = null;
	/** processes debugged before a restore whose pipes the restored copies write to */
	private readonly outputFrom: Debuggee[] = [];
	private terminatedSent = false;
	private ended = false;
	private closing = false;
	/** Requests being handled (a stream that closes lets them settle first). */
	private readonly inflight = new Set<Promise<unknown>>();
	private readonly frames = new Handles<FrameRef>();
	private readonly vars = new Handles<VarNode[] | (() => Promise<VarNode[]>)>();
	private progressSeq = 0;
	/** Client line/column numbering (the model's lines start at 1). */
	private lineBase = 1;
	private columnBase = 1;

	constructor(
		private readonly host: DebugHost,
		private readonly opts: SessionOptions,
	) {
		super();
		this.setDebuggerLinesStartAt1(true);
		this.setDebuggerColumnsStartAt1(true);
		this.register();
	}

	// ---- transport -----------------------------------------------------------

	/**
	 * Read the client's stream with our own framing (./framing.ts); the base
	 * class only writes. Malformed input never ends the session; the end of
	 * the stream ends it as a disconnect would (see shutdown).
	 */
	override start(inStream: NodeJS.ReadableStream, outStream: NodeJS.WritableStream): void {
		super.start(new PassThrough(), outStream);
		const reader = new FrameReader((m) => this.onIncoming(m));
		inStream.on('data', (d: Buffer | string) => reader.feed(typeof d === 'string' ? Buffer.from(d, 'utf8') : d));
		inStream.on('end', () => this.shutdown());
		inStream.on('close', () => this.shutdown());
		inStream.on('error', () => this.shutdown());
		inStream.resume();
	}

	private onIncoming(m: Incoming): void {
		if (m.kind === 'message') {
			try {
				this.handleMessage(m.message);
			} catch (e) {
				process.stderr.write(`forkall dap: internal error handling ${m.message.type}: ${(e as Error).message}\n`);
			}
			return;
		}
		if (m.seq !== undefined) {
			const request: DebugProtocol.Request = { seq: m.seq, type: 'request', command: m.command ?? 'unknown' };
			this.sendError(new Response(request) as DebugProtocol.Response, errors.badMessage(m.why));
			return;
		}
		process.stderr.write(`forkall dap: ignored input: ${m.why}\n`);
	}

	// ---- dispatch ------------------------------------------------------------

	/** Every handler has its arguments described in ./validate.ts (checked before it runs). */
	private handle<C extends Command>(command: C, h: (args: ArgumentsOf<C>, ctx: RequestContext) => Promise<object | undefined>): void {
		this.handlers.set(command, h as Handler);
	}

	private readonly checkContext: CheckContext = {
		isThread: (tid) => {
			const d = this.debuggee;
			if (!d || d.state === 'exited') return null;
			return fs.existsSync(`/proc/${d.pid}/task/${tid}`) || d.isLostThread(tid);
		},
	};

	protected override dispatchRequest(request: DebugProtocol.Request): void {
		const response = new Response(request) as DebugProtocol.Response;
		const h = this.handlers.get(request.command);
		if (!h) {
			this.sendError(response, errors.unsupported(`unrecognized request "${request.command}"`));
			return;
		}
		const bad = isCommand(request.command) ? checkArguments(request.command, request.arguments, this.checkContext) : null;
		if (bad !== null) {
			this.sendError(response, errors.invalidArgument(bad));
			return;
		}
		const afterSend: (() => Promise<void> | void)[] = [];
		const ctx: RequestContext = { after: (fn) => afterSend.push(fn) };
		let p: Promise<object | undefined>;
		try {
			p = h(request.arguments ?? {}, ctx);
		} catch (e) {
			p = Promise.reject(e);
		}
		this.inflight.add(p);
		const settled = () => this.inflight.delete(p);
		p.then(settled, settled);
		p.then(
			(body) => {
				if (body !== undefined) response.body = body;
				this.sendResponse(response);
				for (const fn of afterSend) {
					Promise.resolve()
						.then(fn)
						.catch((e: unknown) => this.consoleError(toDapError(e, request.command).message));
				}
			},
			(e: unknown) => this.sendError(response, toDapError(e, request.command)),
		);
	}

	private sendError(response: DebugProtocol.Response, e: DapError): void {
		response.success = false;
		response.message = e.message;
		response.body = { error: { id: e.code, format: e.message.replace(/[{}]/g, (c) => (c === '{' ? '(' : ')')), showUser: e.showUser } };
		this.sendResponse(response);
	}

	private consoleError(msg: string): void {
		this.sendEvent(new OutputEvent(`forkall: ${msg}\n`, 'console'));
	}

	private register(): void {
		this.handle('initialize', (a) => this.initialize(a));
		this.handle('launch', (a) => this.launch(a));
		this.handle('attach', (a) => this.attach(a));
		this.handle('configurationDone', (_a, ctx) => this.configurationDone(ctx));
		this.handle('disconnect', (a, ctx) => this.disconnect(a, ctx));
		this.handle('terminate', () => this.terminate());
		this.handle('threads', () => this.threads());
		this.handle('stackTrace', (a) => this.stackTrace(a));
		this.handle('scopes', (a) => this.scopes(a));
		this.handle('variables', (a) => this.variables(a));
		this.handle('setVariable', (a) => this.setVariable(a));
		this.handle('dataBreakpointInfo', (a) => this.dataBreakpointInfo(a));
		this.handle('setDataBreakpoints', (a) => this.setDataBreakpoints(a));
		this.handle('evaluate', (a) => this.evaluate(a));
		this.handle('setExpression', (a) => this.setExpression(a));
		this.handle('completions', (a) => this.completions(a));
		this.handle('readMemory', (a) => this.readMemory(a));
		this.handle('writeMemory', (a) => this.writeMemory(a));
		this.handle('disassemble', (a) => this.disassemble(a));
		this.handle('pause', (a, ctx) => this.pause(a, ctx));
		this.handle('continue', (a) => this.continue(a));
		this.handle('next', (a, ctx) => this.step('next', a, ctx));
		this.handle('stepIn', (a, ctx) => this.step('stepIn', a, ctx));
		this.handle('stepOut', (a, ctx) => this.step('stepOut', a, ctx));
		this.handle('setBreakpoints', (a) => this.setBreakpoints(a));
		this.handle('setFunctionBreakpoints', (a) => this.setFunctionBreakpoints(a));
		this.handle('setInstructionBreakpoints', (a) => this.setInstructionBreakpoints(a));
		this.handle('setExceptionBreakpoints', (a) => this.setExceptionBreakpoints(a));
		this.handle('forkAllThreads', (a, ctx) => this.forkAllThreads(a, ctx));
		this.handle('lwps', () => this.lwps());
		this.handle('conditionStats', (a) => this.conditionStats(a));
		this.handle('forkInfo', () => this.forkInfo());
		this.handle('recreateDeadThreads', () => this.recreateDeadThreads());
		this.handle('freezeThread', (a) => this.freezeThread(a));
		this.handle('checkpoint', (a) => this.saveCheckpoint(a));
		this.handle('checkpoints', () => this.listCheckpoints());
		this.handle('restoreCheckpoint', (a) => this.restoreCheckpoint(a));
		this.handle('deleteCheckpoint', (a) => this.deleteCheckpoint(a));
		this.handle('stepBack', (a) => this.goBack('stepBack', a.threadId));
		this.handle('reverseContinue', (a) => this.goBack('reverseContinue', a.threadId));
	}

	private toClientLine(l: number): number {
		return l - 1 + this.lineBase;
	}

	private toClientColumn(c: number): number {
		return c - 1 + this.columnBase;
	}

	private fromClientLine(l: number): number {
		return l + 1 - this.lineBase;
	}

	// ---- lifecycle -------------------------------------------------------------

	private async initialize(a: DebugProtocol.InitializeRequestArguments): Promise<DebugProtocol.Capabilities> {
		this.client = a;
		this.lineBase = a.linesStartAt1 === false ? 0 : 1;
		this.columnBase = a.columnsStartAt1 === false ? 0 : 1;
		if (a.pathFormat && a.pathFormat !== 'path') {
			throw errors.unsupported(`pathFormat ${a.pathFormat}: only native paths are supported`);
		}
		let f = { launch: false, step: false, breakpoints: false, stack: false, symbols: false };
		try {
			f = await this.host.nativeFeatures();
		} catch {
			// No library: every request will say so; claim nothing.
		}
		return {
			supportsConfigurationDoneRequest: true,
			supportsFunctionBreakpoints: f.breakpoints && f.symbols,
			supportsConditionalBreakpoints: true,
			supportsLogPoints: true,
			supportsHitConditionalBreakpoints: true,
			supportsInstructionBreakpoints: f.breakpoints,
			supportsSteppingGranularity: f.step,
			supportsDisassembleRequest: true,
			supportsReadMemoryRequest: true,
			supportsWriteMemoryRequest: true,
			supportsTerminateRequest: true,
			supportTerminateDebuggee: true,
			supportsDelayedStackTraceLoading: true,
			supportsSetVariable: true,
			supportsSetExpression: true,
			supportsDataBreakpoints: true,
			supportsEvaluateForHovers: true,
			supportsCompletionsRequest: true,
			completionTriggerCharacters: ['.', '>', '$'],
			supportsCancelRequest: false,
			supportsSingleThreadExecutionRequests: true,
			supportsStepBack: true,
			exceptionBreakpointFilters: EXCEPTION_FILTERS.map((f) => ({
				filter: f.filter,
				label: f.label,
				default: f.default,
				description: f.description,
			})),
		};
	}

	private requireNoDebuggee(): void {
		if (this.debuggee) throw errors.alreadyStarted();
	}

	private async launch(a: LaunchArguments): Promise<undefined> {
		this.requireNoDebuggee();
		checkSignalsAttribute(a.signals);
		if (typeof a.program !== 'string' || a.program === '') {
			throw errors.invalidArgument('launch: "program" (the path of the program to debug) is required');
		}
		const cwd = a.cwd ?? path.dirname(path.resolve(a.program));
		const program = path.resolve(cwd, a.program);
		let st: fs.Stats;
		try {
			st = fs.statSync(program);
		} catch {
			throw errors.programMissing(program);
		}
		if (!st.isFile()) throw errors.programNotExecutable(program, 'not a regular file');
		try {
			fs.accessSync(program, fs.constants.X_OK);
		} catch {
			throw errors.programNotExecutable(program, 'no execute permission');
		}
		try {
			if (!fs.statSync(cwd).isDirectory()) throw new Error('not a directory');
		} catch {
			throw errors.invalidArgument(`launch: cwd does not exist or is not a directory: ${cwd}`);
		}
		let d: Debuggee;
		try {
			d = await Debuggee.launch(this.host.tracer, { program, args: a.args, cwd, env: a.env });
		} catch (e) {
			throw toDapError(e, 'launch');
		}
		this.bind(d);
		this.launched = true;
		this.terminateChildren = a.terminateChildren ?? true;
		this.followMode = a.followForks;
		this.autoCheckpoint = a.autoCheckpoint ?? 0;
		this.checkpointSameTids = a.checkpointSameTids ?? false;
		this.stepThreads = a.stepThreads ?? 'all';
		await this.initSignals(d, a.signals);
		await this.initFollow(d, a.followForks);
		let entryBreakpoint = false;
		if (a.stopAtEntry) {
			entryBreakpoint = await d.setEntryBreakpoint().catch(() => false);
		}
		this.startPlan = { kind: 'launch', stopAtEntry: !!a.stopAtEntry, entryBreakpoint };
		this.sendEvent(new InitializedEvent());
		return undefined;
	}

	private async attach(a: AttachArguments): Promise<undefined> {
		this.requireNoDebuggee();
		if (a.__forkallChild !== undefined) {
			const d = this.host.claimChild(Number(a.__forkallChild));
			if (!d) throw errors.noPendingChild(Number(a.__forkallChild));
			this.bind(d);
			this.startPlan = a.__forkallFollowed ? { kind: 'followed-child' } : { kind: 'fork-child', kept: !!a.__forkallKept };
			this.terminateChildren = a.terminateChildren ?? true;
			if (a.__forkallFollowed) await this.initSignals(d, undefined);
			if (a.__forkallFollowed) await this.initFollow(d, a.followForks);
			this.sendEvent(new InitializedEvent());
			return undefined;
		}
		const pid = typeof a.pid === 'string' ? Number(a.pid) : a.pid;
		if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) {
			throw errors.invalidArgument(`attach: "pid" must be a positive integer, got ${JSON.stringify(a.pid)}`);
		}
		if (this.host.get(pid)) {
			throw errors.alreadyTraced(pid, 'another session of this adapter already debugs it');
		}
		checkSignalsAttribute(a.signals);
		let d: Debuggee;
		try {
			d = await Debuggee.attach(this.host.tracer, pid);
		} catch (e) {
			throw toDapError(e, 'attach', pid);
		}
		this.bind(d);
		this.terminateChildren = a.terminateChildren ?? true;
		this.followMode = a.followForks;
		this.autoCheckpoint = a.autoCheckpoint ?? 0;
		this.checkpointSameTids = a.checkpointSameTids ?? false;
		this.stepThreads = a.stepThreads ?? 'all';
		await this.initSignals(d, a.signals);
		await this.initFollow(d, a.followForks);
		this.startPlan = { kind: 'attach', stopOnAttach: !!a.stopOnAttach };
		this.sendEvent(new InitializedEvent());
		return undefined;
	}

	/** Wire a debuggee's events to DAP events. */
	private bind(d: Debuggee): void {
		this.debuggee = d;
		this.host.register(d);
		d.on('stopped', (s) => this.onStopped(s));
		d.on('threadStarted', (tid) => this.sendEvent(new ThreadEvent('started', tid)));
		d.on('threadExited', (tid) => this.sendEvent(new ThreadEvent('exited', tid)));
		d.on('output', (category, text) => this.sendEvent(new OutputEvent(text, category)));
		d.on('exited', (x) => void this.onExited(d, x.exitCode, x.signal));
		/* a new program: every breakpoint was placed again (or not) */
		d.on('exec', (x) => {
			for (const b of x.breakpoints) {
				if (b.kind !== 'internal') this.sendEvent(new BreakpointEvent('changed', this.toDapBreakpoint(b)));
			}
		});
	}

	private async configurationDone(ctx: RequestContext): Promise<undefined> {
		const d = this.debuggee;
		const start = this.startPlan;
		if (!d || !start || this.configured) return undefined;
		this.configured = true;
		ctx.after(async () => {
			switch (start.kind) {
				case 'launch':
					if (start.stopAtEntry && !start.entryBreakpoint) {
						await d.reportInitialStop('entry', d.pid, 'Stopped after exec (main was not found)');
					} else {
						await d.resume();
					}
					break;
				case 'attach':
					if (start.stopOnAttach) await d.reportInitialStop('pause', d.pid, 'Attached');
					else await d.resume();
					break;
				case 'fork-child':
					await d.reportInitialStop('entry', d.pid, start.kept ? 'Paused: kept at a restore' : 'Paused: forked');
					break;
				case 'followed-child':
					await d.resume();
					void d.watchDeadlocks();
					break;
			}
		});
		return undefined;
	}

	private async disconnect(a: DebugProtocol.DisconnectArguments, ctx: RequestContext): Promise<undefined> {
		await this.checkpointSettled();
		await this.ckpts?.clear();
		const d = this.debuggee;
		if (d && d.state !== 'exited') {
			const kill = a.terminateDebuggee ?? (d.origin === 'launch' || this.launched);
			if (kill) {
				await this.endChildren(d);
				await d.kill();
				await d.waitExit(2000);
			} else {
				await d.detach().catch((e: unknown) => {
					throw toDapError(e, 'detach');
				});
			}
		}
		this.cleanup();
		ctx.after(() => this.end());
		return undefined;
	}

	private async terminate(): Promise<undefined> {
		await this.checkpointSettled();
		await this.ckpts?.clear();
		const d = this.requireDebuggee();
		await this.endChildren(d);
		await d.kill();
		return undefined;
	}

	/** The program is being ended: so are the processes it forked that child sessions follow ("terminateChildren"). */
	private async endChildren(d: Debuggee): Promise<void> {
		if (!this.terminateChildren) return;
		const n = await this.host.endTree(d.pid);
		if (n)
			this.sendEvent(
				new OutputEvent(`[ended ${n} child process${n === 1 ? '' : 'es'} of ${d.pid} (terminateChildren)]\n`, 'console'),
			);
	}

	private cleanup(): void {
		const d = this.debuggee;
		if (d) {
			this.debuggee = null;
			d.removeAllListeners();
			d.dispose();
			this.host.unregister(d);
		}
	}

	private async end(): Promise<void> {
		if (this.ended) return;
		this.ended = true;
		await this.opts.onEnd?.();
	}

	/**
	 * The client's stream closed (or failed): end the session as `disconnect
	 * {}` would — a launched debuggee is killed, an attached one detached
	 * (breakpoints removed, threads resumed) — then end (stdio: exit).
	 * Requests in flight (a launch, an attach) settle first, so what they
	 * started is ended too.
	 */
	override shutdown(): void {
		if (this.closing) return;
		this.closing = true;
		void (async () => {
			if (this.inflight.size) {
				let t: NodeJS.Timeout | undefined;
				await Promise.race([
					Promise.allSettled([...this.inflight]),
					new Promise((r) => {
						t = setTimeout(r, 10000);
					}),
				]);
				clearTimeout(t);
			}
			await this.checkpointSettled();
			await this.ckpts?.clear().catch(() => undefined);
			const d = this.debuggee;
			if (d && d.state !== 'exited' && !this.ended) {
				if (d.origin === 'launch') {
					await d.kill().catch(() => undefined);
					await d.waitExit(2000);
				} else {
					await d.detach().catch(() => undefined);
				}
			}
			this.cleanup();
			await this.end();
		})();
	}

	private async onExited(d: Debuggee, exitCode: number | null, signal: number | null): Promise<void> {
		if (this.debuggee !== d) return;
		// Let the program's last output through before "exited": from its own
		// pipes, or from those of the process it was restored from (a restored
		// copy writes to them; its checkpoints keep them open, hence the bound)
		const readers = [d, ...this.outputFrom].filter((x) => x.hasOpenOutput);
		if (readers.length) {
			await new Promise<void>((resolve) => {
				const t = setTimeout(resolve, 1000);
				let open = readers.length;
				for (const x of readers)
					x.once('outputClosed', () => {
						if (--open === 0) {
							clearTimeout(t);
							resolve();
						}
					});
			});
		}
		if (this.ckpts?.size && signal !== null) {
			// killed (from outside, or by a signal the table lets through): the
			// checkpoints outlive it, and the session stays for a restore
			this.sendEvent(
				new OutputEvent(
					`[process ${d.pid} was killed by signal ${signal}; ` +
						`${this.ckpts.size} checkpoint${this.ckpts.size === 1 ? '' : 's'} left: Forkall: Restore Checkpoint… goes on from one, Stop ends the session]\n`,
					'important',
				),
			);
			return;
		}
		this.sendEvent(new ExitedEvent(exitCode ?? (signal !== null ? 128 + signal : 0)));
		if (!this.terminatedSent) {
			this.terminatedSent = true;
			this.sendEvent(new TerminatedEvent());
		}
	}

	private requireDebuggee(): Debuggee {
		if (!this.debuggee) throw errors.noDebuggee();
		return this.debuggee;
	}

	// ---- stops -------------------------------------------------------------------

	private onStopped(s: StopInfo, restored = false): void {
		this.frames.reset();
		this.vars.reset();
		this.lastStopTid = s.tid;
		if (!restored) {
			this.position = null;
			this.startAutoCheckpoint(s.tid);
		}
		const reason = stopReason(s);
		const ev = new StoppedEvent(reason, s.tid) as DebugProtocol.StoppedEvent;
		ev.body.allThreadsStopped = true;
		if (s.description) ev.body.description = s.description;
		if (s.reason === 'signal') ev.body.text = s.signalName;
		if (s.breakpoints.length) ev.body.hitBreakpointIds = s.breakpoints.map((b) => b.id);
		this.sendEvent(ev);
		void this.sendLwpsChanged(reason);
	}

	/** The LWP table, and after it the threads a fork child lost (greyed in the views). */
	private async lwpTableOf(d: Debuggee): Promise<LwpsResponseBody> {
		const [snap, lost] = await Promise.all([d.threads(), d.forkInfo().catch(() => null)]);
		const table = lwpTable(snap);
		for (const r of table.lwps) if (d.isFrozen(r.tid)) r.frozen = true;
		for (const t of lost?.deadThreads ?? []) {
			table.lwps.push({
				tid: t.tid,
				name: t.name,
				state: 'X',
				stateName: 'dead (lost in the fork)',
				pthread: null,
				syscall: null,
				pc: t.pc,
				sp: t.sp,
				fsBase: t.fsBase,
				stack: t.stack ? { low: t.stack.low, high: t.stack.high, guard: t.stack.guard, source: t.stack.source } : null,
				spInStack: true,
				isMain: false,
				dead: true,
			});
		}
		return table;
	}

	private async sendLwpsChanged(reason: string): Promise<void> {
		const d = this.debuggee;
		if (!d || d.state !== 'stopped') return;
		try {
			const body = await this.lwpTableOf(d);
			this.sendEvent(new Event('lwpsChanged', { ...body, reason }));
		} catch {
			// gone meanwhile
		}
	}

	// ---- threads, stacks, variables -----------------------------------------------

	private async threads(): Promise<DebugProtocol.ThreadsResponse['body']> {
		const d = this.debuggee;
		if (!d || d.state === 'exited') return { threads: [] };
		try {
			const [snap, lost] = await Promise.all([d.threads(), d.forkInfo().catch(() => null)]);
			const threads = snap.lwps.map((l) => new Thread(l.tid, d.isFrozen(l.tid) ? `❄ ${threadLabel(l)} (frozen)` : threadLabel(l)));
			// the threads this fork child did not get: their stacks are still here
			for (const t of lost?.deadThreads ?? []) threads.push(new Thread(t.tid, deadThreadLabel(t.tid, t.name)));
			return { threads };
		} catch (e) {
			if (d.exit !== null) return { threads: [] };
			throw toDapError(e, 'threads');
		}
	}

	private async stackTrace(a: DebugProtocol.StackTraceArguments): Promise<DebugProtocol.StackTraceResponse['body']> {
		const d = this.requireDebuggee();
		if ((a.startFrame ?? 0) === 0 && a.levels === 1) {
			// the top frame only (delayed stack loading): from one batched
			// request for every thread; no totalFrames, so more can follow
			const top = await d.topFrame(a.threadId).catch((e: unknown) => {
				throw toDapError(e, 'stackTrace');
			});
			if (top) return { stackFrames: [this.toStackFrame(a.threadId, top)] };
		}
		const all = await d.frames(a.threadId).catch((e: unknown) => {
			throw toDapError(e, 'stackTrace');
		});
		const start = a.startFrame ?? 0;
		const end = a.levels ? Math.min(all.length, start + a.levels) : all.length;
		const stackFrames = all.slice(start, end).map((f) => this.toStackFrame(a.threadId, f));
		return { stackFrames, totalFrames: all.length };
	}

	private readonly sourceSeen = new Map<string, boolean>();

	private sourceExists(file: string): boolean {
		let ok = this.sourceSeen.get(file);
		if (ok === undefined) {
			ok = path.isAbsolute(file) && fs.existsSync(file);
			this.sourceSeen.set(file, ok);
		}
		return ok;
	}

	private toStackFrame(tid: number, f: Frame): DebugProtocol.StackFrame {
		const id = this.frames.create({ tid, index: f.index, dwarf: f.file !== null });
		const name = f.function
			? `${f.function}${f.file ? '' : f.offset ? `+${f.offset}` : ''}`
			: `${hex(f.pc)}${f.module ? ` in ${path.basename(f.module)}` : ''}`;
		const frame: DebugProtocol.StackFrame = {
			id,
			name,
			line: f.line !== null ? this.toClientLine(f.line) : 0,
			column: f.line !== null ? this.toClientColumn(f.column ?? 1) : 0,
			instructionPointerReference: hex(f.pc),
		};
		if (f.file) {
			const src: DebugProtocol.Source = new Source(path.basename(f.file), f.file);
			if (!this.sourceExists(f.file)) {
				// Debug info but no source here (libc from a -dbg package): show it, dimmed.
				src.presentationHint = 'deemphasize';
				frame.presentationHint = 'subtle';
			}
			frame.source = src;
		} else {
			frame.presentationHint = 'subtle';
		}
		if (f.module) frame.moduleId = f.module;
		return frame;
	}

	private async scopes(a: DebugProtocol.ScopesArguments): Promise<DebugProtocol.ScopesResponse['body']> {
		const d = this.requireDebuggee();
		const ref = this.frames.get(a.frameId);
		if (!ref) throw errors.invalidArgument(`scopes: unknown frameId ${a.frameId} (the process ran since)`);
		const tid = ref.tid;
		const setReg = (name: string, text: string) => d.assignRegister(tid, name, parseRegister(text));
		const regsRef = this.vars.create(async () => registerGroups(await d.registers(tid), setReg));
		const lwpRef = this.vars.create(async () => {
			const snap = await d.threads();
			const l = snap.lwps.find((x) => x.tid === tid);
			if (!l) return [{ name: 'tid', value: `${tid} (gone)` }];
			const regs = d.state === 'stopped' ? await d.registers(tid).catch(() => null) : null;
			return lwpNodes(l, regs);
		});
		const scopes: DebugProtocol.Scope[] = [];
		if (ref.dwarf) {
			const index = ref.index;
			const write = (v: Variable, text: string) => d.assign(tid, index, v, text);
			const localsRef = this.vars.create(async () => localNodes((await d.locals(tid, index)).variables, write));
			scopes.push({ name: 'Locals', presentationHint: 'locals', variablesReference: localsRef, expensive: false });
		}
		scopes.push(
			{ name: 'Registers', presentationHint: 'registers', variablesReference: regsRef, expensive: false },
			{ name: 'LWP', variablesReference: lwpRef, expensive: false },
		);
		return { scopes };
	}

	/**
	 * Can this be watched (a hardware data breakpoint), and under which id:
	 * a node of the Variables view (`variablesReference` + its name), or an
	 * expression (Watch view, "Break on Value Change"): evaluated in frame
	 * `frameId`, else the top frame of the thread that stopped last.
	 */
	private async dataBreakpointInfo(
		a: DebugProtocol.DataBreakpointInfoArguments,
	): Promise<DebugProtocol.DataBreakpointInfoResponse['body']> {
		if (a.variablesReference !== undefined) {
			const src = this.vars.get(a.variablesReference);
			if (!src) return { dataId: null, description: `${a.name}: that variable is gone (the program ran since)` };
			let nodes: VarNode[];
			try {
				nodes = typeof src === 'function' ? await src() : src;
			} catch (e) {
				throw toDapError(e, 'dataBreakpointInfo');
			}
			const n = nodes.find((x) => x.name === a.name);
			if (!n?.data) return { dataId: null, description: `${a.name}: not a variable in memory` };
			if (!n.data.dataId) return { dataId: null, description: n.data.description };
			return this.dataAnswer(n.data.dataId, n.data.description, n.data.show);
		}
		const d = this.requireDebuggee();
		const text = a.name.trim();
		if (d.state !== 'stopped') return { dataId: null, description: `${text}: the program is running (pause it first)` };
		let where: { tid: number | null; index: number };
		if (a.frameId !== undefined) {
			const ref = this.frames.get(a.frameId);
			if (!ref) return { dataId: null, description: `${text}: that frame is gone (the program ran since)` };
			where = { tid: ref.tid, index: ref.index };
		} else {
			where = { tid: this.lastStopTid, index: 0 };
		}
		try {
			const w = await d.watchInfo(where.tid, where.index, text);
			if (!w.ok) return { dataId: null, description: w.why };
			return this.dataAnswer(`${hex(w.addr)}/${w.size}`, w.description, (b) => showWatched(w.type, b));
		} catch (e) {
			if (e instanceof ExprError) return { dataId: null, description: `${text}: ${e.message}` };
			throw toDapError(e, 'dataBreakpointInfo');
		}
	}

	private dataAnswer(dataId: string, what: string, show?: (b: Buffer) => string): DebugProtocol.DataBreakpointInfoResponse['body'] {
		this.host.dataNames.set(dataId, { what, ...(show ? { show } : {}) });
		return { dataId, description: what, accessTypes: ['write', 'readWrite'], canPersist: false };
	}

	/** Replace every data breakpoint (hardware watchpoints in every thread). */
	private async setDataBreakpoints(
		a: DebugProtocol.SetDataBreakpointsArguments,
	): Promise<DebugProtocol.SetDataBreakpointsResponse['body']> {
		const d = this.requireDebuggee();
		await d.breakpoints.removeWhere((b) => b.kind === 'data');
		const out: DebugProtocol.Breakpoint[] = [];
		for (const b of a.breakpoints) {
			const m = /^(0x[0-9a-f]+)\/(\d+)$/i.exec(b.dataId);
			if (!m) {
				out.push({ verified: false, message: `not a data breakpoint id: ${b.dataId}` });
				continue;
			}
			if (b.accessType === 'read') {
				out.push({ verified: false, message: 'x86-64 cannot watch reads alone: use "read or write"' });
				continue;
			}
			const named = this.host.dataNames.get(b.dataId);
			const what = named?.what ?? `${m[2]} bytes at ${m[1]}`;
			const inUse = d.breakpoints.all().filter((x) => x.kind === 'data' && x.verified);
			if (inUse.length >= 4) {
				const names = inUse.map((x) => x.data?.what ?? '?').join(', ');
				out.push({
					verified: false,
					message: `${what}: x86-64 has 4 hardware watchpoints, all in use (${names}): remove one first`,
				});
				continue;
			}
			const bp = await d.addDataBreakpoint(BigInt(m[1]), Number(m[2]), b.accessType === 'readWrite', what, named?.show);
			out.push(this.toDapBreakpoint(bp));
		}
		return { breakpoints: out };
	}

	/** Write a variable (Locals: a scalar in memory, C conversions) or a general register; answers what it reads now. */
	private async setVariable(a: DebugProtocol.SetVariableArguments): Promise<DebugProtocol.SetVariableResponse['body']> {
		const src = this.vars.get(a.variablesReference);
		if (!src) throw errors.invalidArgument(`setVariable: unknown variablesReference ${a.variablesReference} (the process ran since)`);
		let nodes: VarNode[];
		try {
			nodes = typeof src === 'function' ? await src() : src;
		} catch (e) {
			throw toDapError(e, 'setVariable');
		}
		const n = nodes.find((x) => x.name === a.name);
		if (!n) throw errors.invalidArgument(`setVariable: no "${a.name}" here`);
		if (!n.assign)
			throw errors.invalidArgument(
				`setVariable: ${n.evaluateName ?? a.name} cannot be written (${n.type ?? 'aggregate'}: ${n.value})`,
			);
		try {
			const r = await n.assign(a.value);
			n.value = r.value;
			this.sendEvent(new InvalidatedEvent(['variables']));
			return r.type ? { value: r.value, type: r.type } : { value: r.value };
		} catch (e) {
			if (e instanceof AssignError) throw errors.invalidArgument(`setVariable: ${e.message}`);
			throw toDapError(e, 'setVariable');
		}
	}

	private async variables(a: DebugProtocol.VariablesArguments): Promise<DebugProtocol.VariablesResponse['body']> {
		const src = this.vars.get(a.variablesReference);
		if (!src) return { variables: [] };
		let nodes: VarNode[];
		try {
			nodes = typeof src === 'function' ? await src() : src;
		} catch (e) {
			throw toDapError(e, 'variables');
		}
		const start = a.start ?? 0;
		const slice = a.count ? nodes.slice(start, start + a.count) : nodes.slice(start);
		const supportsMem = this.client.supportsMemoryReferences !== false;
		return {
			variables: slice.map((n) => {
				const v: DebugProtocol.Variable = {
					name: n.name,
					value: n.value,
					variablesReference: n.children ? this.vars.create(n.children) : 0,
				};
				if (n.type) v.type = n.type;
				if (n.evaluateName) v.evaluateName = n.evaluateName;
				if (n.named !== undefined) v.namedVariables = n.named;
				if (n.memoryReference && supportsMem) v.memoryReference = n.memoryReference;
				v.presentationHint = n.assign ? { kind: 'data' } : { kind: 'data', attributes: ['readOnly'] };
				return v;
			}),
		};
	}

	// ---- processes the program forks --------------------------------------------------------

	/** customRequest('forkInfo'): what this fork child lost (dead threads, where they were). */
	private async forkInfo(): Promise<ForkInfoResponseBody> {
		const d = this.requireDebuggee();
		const info = await d.forkInfo().catch((e: unknown) => {
			throw toDapError(e, 'forkInfo');
		});
		if (!info) throw errors.invalidArgument(`forkInfo: process ${d.pid} was not forked by a process this adapter follows`);
		const deadThreads = await Promise.all(
			info.deadThreads.map(async (t) => {
				const loc = await d.locate(BigInt(t.pc));
				return {
					parentTid: t.tid,
					name: t.name,
					pc: t.pc,
					function: loc.function,
					file: loc.file,
					line: loc.line,
					stack: t.stack ? { low: t.stack.low, high: t.stack.high } : null,
				};
			}),
		);
		const heldLocks = await Promise.all(
			info.heldLocks.map(async (l) => ({
				address: l.address,
				symbol: l.symbol,
				type: l.type,
				ownerParentTid: l.ownerTid,
				ownerName: l.ownerName,
				ownerWas: await d.whereWas(l.ownerTid),
			})),
		);
		return { parent: info.parent, child: d.pid, kind: info.kind, forkingTid: info.forkingTid, deadThreads, heldLocks };
	}

	/**
	 * customRequest('recreateDeadThreads'): the threads this fork child lost,
	 * rebuilt inside it (Debuggee.recreateDeadThreads). The Call Stack
	 * trades each dead entry for its live copy: thread events, then a
	 * stopped event (every thread stopped, as before).
	 */
	private async recreateDeadThreads(): Promise<RecreateDeadThreadsResponseBody> {
		const d = this.requireDebuggee();
		const { body, stepsOutOfFork } = await d.recreateDeadThreads().catch((e: unknown) => {
			throw toDapError(e, 'recreateDeadThreads');
		});
		for (const t of body.threads) {
			this.sendEvent(new ThreadEvent('exited', t.parentTid));
			this.sendEvent(new ThreadEvent('started', t.childTid));
		}
		for (const w of body.warnings) this.consoleError(`recreateDeadThreads: ${w}`);
		const names = body.threads.map((t) => `"${t.name}" ${t.parentTid} → ${t.childTid}`).join(', ');
		this.sendEvent(
			new OutputEvent(
				`Recreated ${body.threads.length} dead thread${body.threads.length === 1 ? '' : 's'} in process ${d.pid}: ${names}` +
					` (${body.locksFixed} lock owner${body.locksFixed === 1 ? '' : 's'} and ${body.robustOwnersFixed} robust mutex owner${body.robustOwnersFixed === 1 ? '' : 's'} now name them; ${(body.us / 1000).toFixed(1)} ms)\n`,
				'important',
			),
		);
		this.onStopped({
			reason: 'pause',
			tid: d.pid,
			breakpoints: [],
			description: `Recreated ${body.threads.length} dead thread${body.threads.length === 1 ? '' : 's'}`,
		});
		return {
			threads: body.threads.map((t) => ({ parentTid: t.parentTid, childTid: t.childTid, name: t.name })),
			locksFixed: body.locksFixed,
			robustOwnersFixed: body.robustOwnersFixed,
			descriptorsRestored: body.descriptorsRestored,
			stepsOutOfFork,
			us: body.us,
			warnings: body.warnings,
		};
	}

	/** customRequest('freezeThread', {threadId, frozen}): the thread stays stopped while the others run (until thawed). */
	private async conditionStats(a: ConditionStatsArguments): Promise<ConditionStatsResponseBody> {
		const d = this.requireDebuggee();
		let r: ConditionStatsResponseBody | null;
		try {
			r = await d.breakpoints.conditionStats(a.id);
		} catch (e) {
			throw toDapError(e, 'conditionStats');
		}
		if (!r) throw new DapError(ErrorCode.InvalidArgument, `no breakpoint ${a.id}`);
		return r;
	}

	private async freezeThread(a: FreezeThreadArguments): Promise<FreezeThreadResponseBody> {
		const d = this.requireDebuggee();
		try {
			const frozen = await d.freeze(a.threadId, a.frozen ?? true);
			this.sendEvent(new InvalidatedEvent(['threads']));
			void this.sendLwpsChanged('freeze');
			return { frozen };
		} catch (e) {
			throw toDapError(e, 'freezeThread');
		}
	}

	// ---- checkpoints (issue 12) --------------------------------------------------------

	private get checkpointStore(): Checkpoints {
		if (!this.ckpts) this.ckpts = new Checkpoints(this.host.tracer);
		return this.ckpts;
	}

	private async checkpointSettled(): Promise<void> {
		const p = this.autoSaving;
		if (p) await p;
		if (this.autoSaving === p) this.autoSaving = null;
	}

	/** Where thread tid of the stopped process is: its innermost frame. */
	private async whereStopped(d: Debuggee, tid: number): Promise<CheckpointLocation> {
		const f = (await d.frames(tid).catch(() => []))[0];
		const loc: CheckpointLocation = {};
		if (f?.function) loc.function = f.function;
		if (f?.file) loc.file = f.file;
		if (f?.line) loc.line = f.line;
		return loc;
	}

	/** "autoCheckpoint": N — a checkpoint at each stop, the last N kept. */
	private startAutoCheckpoint(tid: number): void {
		const d = this.debuggee;
		if (!d || this.autoCheckpoint <= 0) return;
		this.autoSaving = (async () => {
			try {
				const c = await this.checkpointStore.save(d, 'auto', true, tid, await this.whereStopped(d, tid));
				this.position = c.id;
				await this.checkpointStore.trimAuto(this.autoCheckpoint);
				void this.sendCheckpointsChanged();
			} catch (e) {
				if (d.state !== 'exited') this.consoleError(`autoCheckpoint: ${(e as Error).message}`);
			}
		})();
	}

	private toCheckpointBody(c: Checkpoint): CheckpointResponseBody {
		return {
			id: c.id,
			pid: c.pid,
			threads: c.threads,
			location: c.location,
			created: c.created,
			pauseUs: c.pauseUs,
			us: c.saveUs,
			pendingSignals: c.pendingSignals,
			timers: c.timers,
			itimers: c.itimers,
		};
	}

	private async checkpointList(): Promise<CheckpointsResponseBody> {
		const store = this.checkpointStore;
		const info = store.size ? await store.infos().catch(() => new Map<number, CheckpointInfo>()) : new Map<number, CheckpointInfo>();
		return {
			checkpoints: store.all().map((c) => ({
				...this.toCheckpointBody(c),
				note: c.note,
				auto: c.auto,
				memoryBytes: info.get(c.pid)?.memoryBytes ?? -1,
			})),
		};
	}

	private async sendCheckpointsChanged(): Promise<void> {
		this.sendEvent(new Event('checkpointsChanged', await this.checkpointList()));
	}

	/** customRequest('checkpoint'): the stopped program, every thread, kept in memory. */
	private async saveCheckpoint(a: CheckpointArguments): Promise<CheckpointResponseBody> {
		await this.checkpointSettled();
		const d = this.requireDebuggee();
		if (d.state !== 'stopped') throw errors.notStopped('checkpoint: the process is running (pause it first)');
		const tid = this.lastStopTid ?? d.pid;
		try {
			const c = await this.checkpointStore.save(d, a.note ?? '', false, tid, await this.whereStopped(d, tid));
			void this.sendCheckpointsChanged();
			return this.toCheckpointBody(c);
		} catch (e) {
			throw toDapError(e, 'checkpoint');
		}
	}

	private async listCheckpoints(): Promise<CheckpointsResponseBody> {
		return this.checkpointList();
	}

	private async deleteCheckpoint(a: DeleteCheckpointArguments): Promise<undefined> {
		await this.checkpointSettled();
		try {
			await this.checkpointStore.delete(a.id);
		} catch (e) {
			if (e instanceof CheckpointError) throw errors.invalidArgument(`deleteCheckpoint: ${e.message}`);
			throw toDapError(e, 'deleteCheckpoint');
		}
		if (this.position === a.id) this.position = null;
		void this.sendCheckpointsChanged();
		return undefined;
	}

	/**
	 * customRequest('restoreCheckpoint'): the session goes on in a new
	 * process made from the checkpoint (every thread, stopped where the
	 * checkpoint was taken, breakpoints in place). The process debugged
	 * until now is killed, or with keepCurrent becomes a child session.
	 */
	private async restoreCheckpoint(a: RestoreCheckpointArguments): Promise<RestoreCheckpointResponseBody> {
		await this.checkpointSettled();
		const old = this.requireDebuggee();
		if (old.state !== 'stopped' && old.state !== 'exited')
			throw errors.notStopped('restoreCheckpoint: the process is running (pause it first)');
		const oldTids = old.state === 'exited' ? [] : ((await old.threads().catch(() => null))?.lwps.map((l) => l.tid) ?? []);
		let r: Awaited<ReturnType<Checkpoints['restore']>>;
		try {
			r = await this.checkpointStore.restore(a.id, old, a.sameTids ?? this.checkpointSameTids);
		} catch (e) {
			if (e instanceof CheckpointError) throw errors.invalidArgument(`restoreCheckpoint: ${e.message}`);
			throw toDapError(e, 'restoreCheckpoint');
		}
		const d = r.debuggee;
		// the process debugged until now: its output keeps coming (the copies share its pipes)
		old.removeAllListeners();
		old.on('output', (category, text) => this.sendEvent(new OutputEvent(text, category)));
		if (old.hasOpenOutput && !this.outputFrom.includes(old)) this.outputFrom.push(old);
		this.host.unregister(old);
		this.debuggee = null;
		if (old.state !== 'exited') {
			if (a.keepCurrent) {
				this.host.addPendingChild({ pid: old.pid, parentPid: d.pid, at: Date.now() });
				this.startChildSession(old.pid, `process ${old.pid} (kept at the restore of checkpoint ${a.id})`, false, true);
			} else {
				await old.kill().catch(() => undefined);
			}
		}
		this.bind(d);
		if (this.signalTable) await d.signals(applyExceptionFilters(this.signalTable, this.exceptionFilters)).catch(() => undefined);
		await this.initFollow(d, this.followMode);
		for (const tid of oldTids) this.sendEvent(new ThreadEvent('exited', tid));
		for (const t of r.body.threads) this.sendEvent(new ThreadEvent('started', t.tid));
		const c = r.checkpoint;
		this.position = c.id;
		const tid = r.body.threads.find((t) => t.savedTid === c.tid)?.tid ?? d.pid;
		const where = c.location.function ? ` (${c.location.function}${c.location.line ? `:${c.location.line}` : ''})` : '';
		d.markStopped();
		this.onStopped(
			{
				reason: 'pause',
				tid,
				breakpoints: [],
				description: `Restored checkpoint ${c.id}${c.note && c.note !== 'auto' ? ` "${c.note}"` : ''}${where}${
					r.body.sameTids
						? `; the program sees its pid ${r.body.threads.find((t) => t.tid === d.pid)?.savedTid ?? '?'} and tids of the save (a PID namespace of its own)`
						: ''
				}`,
			},
			true,
		);
		void this.sendCheckpointsChanged();
		return { pid: d.pid, threads: r.body.threads.length, us: r.body.us, sameTids: r.body.sameTids };
	}

	/** Step Back: the automatic checkpoint of the stop before this one; Reverse Continue: the newest checkpoint before this stop. */
	private async goBack(kind: 'stepBack' | 'reverseContinue', threadId: number): Promise<undefined> {
		void threadId;
		await this.checkpointSettled();
		const store = this.checkpointStore;
		const to = store.newest(this.position, kind === 'stepBack');
		if (!to) {
			throw errors.invalidArgument(
				kind === 'stepBack'
					? `stepBack: no earlier stop was saved — set "autoCheckpoint": N in launch.json (a checkpoint at each of the last N stops)`
					: 'reverseContinue: there is no checkpoint before this stop (Forkall: Save Checkpoint, or "autoCheckpoint" in launch.json)',
			);
		}
		await this.restoreCheckpoint({ id: to.id });
		return undefined;
	}

	/**
	 * followForks "both" (the default): every process the program forks
	 * becomes a child session (startDebugging), held before its first
	 * instruction until that session is configured. "parent", or a client
	 * that cannot start sessions: detached with our breakpoint bytes removed.
	 */
	private async initFollow(d: Debuggee, mode: 'both' | 'parent' | 'child' | undefined): Promise<void> {
		const want = mode ?? 'both';
		if (want === 'both' && this.client.supportsStartDebuggingRequest !== true) {
			this.consoleError(
				'this client cannot start child sessions (no startDebugging): processes the program forks are detached, as with "followForks": "parent"',
			);
		}
		const hold = want === 'child' || (want === 'both' && this.client.supportsStartDebuggingRequest === true);
		if (!hold) return;
		try {
			await d.followForks(true);
		} catch (e) {
			throw toDapError(e, 'followForks');
		}
		d.on('childHeld', (c) => {
			this.host.addPendingChild({ pid: c.child, parentPid: d.pid, at: Date.now() });
			if (c.kind !== 'vfork') void this.reportHeldLocks(c);
			if (want === 'child') {
				void this.followChild(d, c).catch((e: unknown) => this.consoleError(`following child ${c.child}: ${(e as Error).message}`));
				return;
			}
			const program = (() => {
				try {
					return path.basename(fs.readlinkSync(`/proc/${d.pid}/exe`));
				} catch {
					return `process ${d.pid}`;
				}
			})();
			const tname = (() => {
				try {
					return fs.readFileSync(`/proc/${d.pid}/task/${c.tid}/comm`, 'utf8').trim();
				} catch {
					return '?';
				}
			})();
			this.startChildSession(
				c.child,
				`${program} [child ${c.child}] ${c.kind === 'clone' ? 'cloned' : `${c.kind}ed`} by ${c.tid} "${tname}"`,
				true,
			);
		});
	}

	/** At a fork: the locks the child will never get, because their owners stayed in the parent. */
	private async reportHeldLocks(c: { child: number; tid: number }): Promise<void> {
		const info = await this.host.tracer.request('forkInfo', { pid: c.child }).catch(() => null);
		for (const l of info?.heldLocks ?? []) {
			this.sendEvent(
				new OutputEvent(
					`[fork of ${c.child} by thread ${c.tid}: ${l.symbol} (${l.type} at ${l.address}) is held by "${l.ownerName}" (tid ${l.ownerTid}), ` +
						`a thread the child does not have: the child blocks forever if it locks it]\n`,
					'important',
				),
			);
		}
	}

	/**
	 * followForks "child" (gdb's follow-fork-mode child): this session
	 * switches to the new process, with the same breakpoints (the same ids,
	 * so the client's view stays right), and the parent is detached clean.
	 * The child then runs on, as the parent was running.
	 */
	private async followChild(parent: Debuggee, c: { child: number; tid: number; kind: string }): Promise<void> {
		if (this.debuggee !== parent) {
			await this.host.releaseChild(c.child);
			return;
		}
		const child = this.host.claimChild(c.child);
		if (!child) return;
		const moved = await child.breakpoints.copyFrom(parent.breakpoints);
		this.cleanup(); // the parent's events no longer reach this session
		// the child writes to the same pipes: the program's output keeps coming
		parent.on('output', (category, text) => this.sendEvent(new OutputEvent(text, category)));
		await parent.detach().catch((e: unknown) => this.consoleError(`detaching process ${parent.pid}: ${(e as Error).message}`));
		this.bind(child);
		await this.initFollow(child, 'child');
		this.sendEvent(
			new OutputEvent(`[following child ${c.child} (${c.kind} by thread ${c.tid}); process ${parent.pid} detached]\n`, 'console'),
		);
		for (const b of moved) this.sendEvent(new BreakpointEvent('changed', this.toDapBreakpoint(b)));
		this.sendEvent(new ThreadEvent('started', child.pid));
		await child.resume();
	}

	// ---- signals: the table, launch.json "signals", exception filters, handle ---------------

	private async initSignals(d: Debuggee, attr: Record<string, string> | undefined): Promise<void> {
		try {
			this.signalTable = applySignalsAttribute(await d.signals(), attr);
			await d.signals(applyExceptionFilters(this.signalTable, this.exceptionFilters));
		} catch (e) {
			if (e instanceof SignalConfigError) throw errors.invalidArgument(e.message);
			throw toDapError(e, 'signals');
		}
	}

	private async setExceptionBreakpoints(
		a: DebugProtocol.SetExceptionBreakpointsArguments,
	): Promise<DebugProtocol.SetExceptionBreakpointsResponse['body']> {
		const known = new Set<string>(EXCEPTION_FILTERS.map((f) => f.filter));
		this.exceptionFilters = a.filters.filter((f) => known.has(f));
		const d = this.debuggee;
		if (d && d.state !== 'exited') {
			try {
				if (!this.signalTable) this.signalTable = await d.signals(); // a forked child's session
				await d.signals(applyExceptionFilters(this.signalTable, this.exceptionFilters));
			} catch (e) {
				throw toDapError(e, 'setExceptionBreakpoints');
			}
		}
		return {
			breakpoints: a.filters.map((f) => ({ verified: known.has(f), ...(known.has(f) ? {} : { message: `unknown filter ${f}` }) })),
		};
	}

	/** Debug Console: gdb's `handle SIG… words` and `info signals [SIG…]`; null if it is neither. */
	private async signalCommand(text: string): Promise<string | null> {
		const info = /^info\s+signals?(?:\s+(.*))?$/i.exec(text);
		if (!info && !/^handle(\s|$)/i.test(text)) return null;
		const d = this.requireDebuggee();
		if (!this.signalTable) this.signalTable = await d.signals();
		try {
			if (info) {
				const names = (info[1] ?? '').split(/\s+/).filter(Boolean);
				const sigs = names.map((n) => {
					const s = signalNumber(n);
					if (s === null) throw new SignalConfigError(`info signals: unknown signal "${n}"`);
					return s;
				});
				return formatSignals(this.signalTable, sigs.length ? sigs : undefined);
			}
			const h = parseHandle(text);
			if (h.words.length) {
				const t = this.signalTable.map((r) => ({ ...r }));
				for (const sig of h.signals) t[sig] = applyWords(t[sig], h.words, 'handle');
				this.signalTable = t;
				await d.signals(applyExceptionFilters(t, this.exceptionFilters));
			}
			return formatSignals(this.signalTable, h.signals);
		} catch (e) {
			if (e instanceof SignalConfigError) throw errors.invalidArgument(e.message);
			throw toDapError(e, 'handle');
		}
	}

	/**
	 * Hover, Watch, Debug Console and clipboard: a C expression in the
	 * selected frame (model/expr: variables with shadowing, globals,
	 * operators with C's conversions, casts to the program's types, sizeof,
	 * x@n, $registers), as an expandable value; no frame: globals only.
	 * The Debug Console first takes the signal commands.
	 */
	private async evaluate(a: DebugProtocol.EvaluateArguments): Promise<DebugProtocol.EvaluateResponse['body']> {
		const d = this.requireDebuggee();
		const text = a.expression.trim();
		// (a hover on blank space: answered, not shown to the user as an error)
		if (!text) throw new DapError(ErrorCode.InvalidArgument, 'evaluate: empty expression', a.context !== 'hover');
		if (a.context === 'repl' || a.context === undefined) {
			const out = await this.signalCommand(text);
			if (out !== null) return { result: out, variablesReference: 0 };
		}
		const where = this.exprFrame(a.frameId, text);
		let v: Variable;
		try {
			v = (await d.evaluate(where.tid, where.index, text)).variable;
		} catch (e) {
			if (e instanceof ExprError) throw errors.invalidArgument(e.message);
			throw toDapError(e, 'evaluate');
		}
		const t = where.tid;
		return this.exprBody(v, t === null ? undefined : (x, value) => d.assign(t, where.index, x, value));
	}

	/** The thread and frame an expression is evaluated in (tid null: none selected, globals only). */
	private exprFrame(frameId: number | undefined, text: string): { tid: number | null; index: number } {
		const d = this.requireDebuggee();
		const ref = frameId !== undefined ? this.frames.get(frameId) : undefined;
		if (frameId !== undefined && !ref)
			throw errors.invalidArgument(`cannot evaluate "${text}": that frame is gone (the program ran since)`);
		if (d.state !== 'stopped') throw errors.invalidArgument(`cannot evaluate "${text}": the program is running (pause it first)`);
		return ref ? { tid: ref.tid, index: ref.index } : { tid: null, index: 0 };
	}

	/** An evaluate answer; `write`: its members and elements can be set in the Variables tree. */
	private exprBody(v: Variable, write?: (v: Variable, text: string) => Promise<Variable>): DebugProtocol.EvaluateResponse['body'] {
		const n = localNodes([v], write)[0];
		const body: DebugProtocol.EvaluateResponse['body'] = {
			result: n.value,
			variablesReference: n.children ? this.vars.create(n.children) : 0,
		};
		if (n.type) body.type = n.type;
		if (n.named !== undefined) body.namedVariables = n.named;
		if (n.memoryReference && this.client.supportsMemoryReferences !== false) body.memoryReference = n.memoryReference;
		return body;
	}

	/** Watch "Set Value": `expression = value` with C's conversions (memory, a bit-field, a register), and what it reads now. */
	private async setExpression(a: DebugProtocol.SetExpressionArguments): Promise<DebugProtocol.SetExpressionResponse['body']> {
		const d = this.requireDebuggee();
		const lhs = a.expression.trim();
		const where = this.exprFrame(a.frameId, lhs);
		let v: Variable;
		try {
			await d.evaluate(where.tid, where.index, `${lhs} = ${a.value}`, true);
			v = (await d.evaluate(where.tid, where.index, lhs)).variable;
		} catch (e) {
			if (e instanceof ExprError) throw errors.invalidArgument(`setExpression: ${e.message}`);
			throw toDapError(e, 'setExpression');
		}
		this.sendEvent(new InvalidatedEvent(['variables']));
		const b = this.exprBody(v);
		return { value: b.result, ...(b.type ? { type: b.type } : {}), variablesReference: b.variablesReference };
	}

	/**
	 * Debug Console completions at the cursor: after `.`/`->` the members
	 * of the operand's struct or union (`s->it` → items; the operand is
	 * evaluated in the frame, nothing run); after `$` the registers and
	 * gdb's convenience names; else the frame's variables (as the
	 * Variables view names them), then the globals, statics, constants and
	 * functions of every loaded module (prefix-matched, sorted, capped),
	 * and the console's own commands at the start of a line.
	 */
	private async completions(a: DebugProtocol.CompletionsArguments): Promise<DebugProtocol.CompletionsResponse['body']> {
		const col = this.client.columnsStartAt1 === false ? a.column : a.column - 1;
		const before = a.text.slice(0, Math.max(0, col));
		const cx = completionContext(before);
		const word = cx.partial;
		const start = before.length - word.length;
		const seen = new Set<string>();
		const targets: DebugProtocol.CompletionItem[] = [];
		const offer = (label: string, type: DebugProtocol.CompletionItemType, detail?: string): void => {
			if (!label.startsWith(word) || label === word || seen.has(label) || targets.length >= MAX_COMPLETIONS) return;
			seen.add(label);
			const item: DebugProtocol.CompletionItem = { label, type, start, length: word.length };
			if (detail) item.detail = detail;
			targets.push(item);
		};
		if (cx.kind === 'name' && start === 0) {
			for (const c of ['handle ', 'info signals']) offer(c, 'keyword');
		}
		const d = this.debuggee;
		if (!d || d.state !== 'stopped') return { targets };
		const ref = a.frameId !== undefined ? this.frames.get(a.frameId) : undefined;
		const where = ref ? { tid: ref.tid, index: ref.index } : { tid: null, index: 0 };
		try {
			if (cx.kind === 'member') {
				for (const m of await d.members(where.tid, where.index, cx.base, cx.arrow)) offer(m.name, 'field', m.type);
			} else if (cx.kind === 'register') {
				if (ref) {
					for (const n of flatten(registerGroups(await d.registers(ref.tid))))
						if (!n.children) offer(`$${n.name}`, 'variable', n.value);
					for (const n of ['$pc', '$sp', '$fp', '$_tid']) offer(n, 'variable');
				}
				for (const n of ['$_streq(', '$_strlen(']) offer(n, 'function');
			} else {
				if (ref?.dwarf) {
					for (const n of flatten(localNodes((await d.locals(ref.tid, ref.index)).variables))) {
						offer(n.evaluateName ?? n.name, 'variable', n.type);
					}
				}
				// file scope: sorted by the native side; offer() stops at the cap (a global a local hides is not repeated)
				if (word && targets.length < MAX_COMPLETIONS)
					for (const g of (await d.globalNames(word, MAX_COMPLETIONS)).names) offer(g, 'variable');
			}
		} catch {
			// nothing (more) to offer here
		}
		return { targets };
	}

	private async lwps(): Promise<LwpsResponseBody> {
		const d = this.requireDebuggee();
		try {
			return await this.lwpTableOf(d);
		} catch (e) {
			throw toDapError(e, 'lwps');
		}
	}

	// ---- memory, disassembly ---------------------------------------------------------

	private async readMemory(a: DebugProtocol.ReadMemoryArguments): Promise<DebugProtocol.ReadMemoryResponse['body']> {
		const d = this.requireDebuggee();
		const addr = parseReference(a.memoryReference, a.offset);
		const r = d.readMemory(addr, a.count);
		const body: DebugProtocol.ReadMemoryResponse['body'] = { address: hex(addr), data: r.data.toString('base64') };
		if (r.unreadable) body!.unreadableBytes = r.unreadable;
		return body;
	}

	private async writeMemory(a: DebugProtocol.WriteMemoryArguments): Promise<DebugProtocol.WriteMemoryResponse['body']> {
		const d = this.requireDebuggee();
		const addr = parseReference(a.memoryReference, a.offset);
		const data = Buffer.from(a.data, 'base64');
		let n: number;
		try {
			n = d.writeMemory(addr, data);
		} catch (e) {
			throw errors.nativeFailure(`writeMemory at ${hex(addr)}`, (e as Error).message);
		}
		if (n < data.length && !a.allowPartial) {
			throw errors.nativeFailure(`writeMemory at ${hex(addr)}`, `only ${n} of ${data.length} bytes could be written`);
		}
		if (this.client.supportsMemoryEvent) this.sendEvent(new MemoryEvent(a.memoryReference, a.offset ?? 0, n));
		if (this.client.supportsInvalidatedEvent) this.sendEvent(new InvalidatedEvent(['variables']));
		return { bytesWritten: n };
	}

	private async disassemble(a: DebugProtocol.DisassembleArguments): Promise<DebugProtocol.DisassembleResponse['body']> {
		const d = this.requireDebuggee();
		const base = parseReference(a.memoryReference, a.offset);
		const insns = await d.disassemble(base, a.instructionOffset ?? 0, a.instructionCount);
		/* call/jump targets and RIP-relative operands by name: "call 0x401136 <hit>" */
		const names = new Map<bigint, string | null>();
		if (a.resolveSymbols !== false && d.symbols.supported) {
			for (const i of insns) {
				if (i.target === undefined || names.has(i.target)) continue;
				const loc = await d.locate(i.target);
				names.set(i.target, loc.function ? (loc.offset ? `${loc.function}+${loc.offset}` : loc.function) : null);
			}
		}
		const out: DebugProtocol.DisassembledInstruction[] = [];
		let lastFile: string | null = null;
		let lastFunction: string | null = null;
		for (const i of insns) {
			const named = i.target !== undefined ? names.get(i.target) : null;
			const di: DebugProtocol.DisassembledInstruction = {
				address: hexPad(i.address, 16),
				instruction: named ? `${i.text} <${named}>` : i.text,
			};
			if (i.bytes.length) di.instructionBytes = [...i.bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
			if (i.invalid) {
				di.presentationHint = 'invalid';
			} else if (d.symbols.supported) {
				const loc = await d.locate(i.address);
				if (a.resolveSymbols !== false && loc.function && (loc.function !== lastFunction || loc.offset === 0)) {
					di.symbol = loc.offset ? `${loc.function}+${loc.offset}` : loc.function;
				}
				lastFunction = loc.function;
				if (loc.file && loc.line !== null) {
					if (loc.file !== lastFile) {
						di.location = new Source(path.basename(loc.file), loc.file);
						lastFile = loc.file;
					}
					di.line = this.toClientLine(loc.line);
				}
			}
			out.push(di);
		}
		return { instructions: out };
	}

	// ---- run control ---------------------------------------------------------------------

	private async pause(a: DebugProtocol.PauseArguments, ctx: RequestContext): Promise<undefined> {
		const d = this.requireDebuggee();
		if (d.state === 'exited') throw errors.processExited(`pause: process ${d.pid} has exited`);
		// The response goes first, then the stopped event (spec).
		ctx.after(() => d.pause(a.threadId || undefined));
		return undefined;
	}

	private async continue(a: DebugProtocol.ContinueArguments): Promise<DebugProtocol.ContinueResponse['body']> {
		await this.checkpointSettled();
		const d = this.requireDebuggee();
		this.frames.reset();
		this.vars.reset();
		// singleThread: that thread alone runs; the others stay where they are
		await d.resume(a.singleThread ? a.threadId : undefined).catch((e: unknown) => {
			throw toDapError(e, 'continue');
		});
		// a client that did not send it itself (a custom request) learns that this thread runs
		if (a.singleThread) this.sendEvent(new ContinuedEvent(a.threadId, false));
		return { allThreadsContinued: !a.singleThread };
	}

	private async step(kind: 'next' | 'stepIn' | 'stepOut', a: DebugProtocol.NextArguments, ctx: RequestContext): Promise<undefined> {
		await this.checkpointSettled();
		const d = this.requireDebuggee();
		if (d.state !== 'stopped') throw errors.notStopped(`${kind}: the process is not stopped`);
		const tid = a.threadId;
		const instruction = a.granularity === 'instruction';
		// the other threads stay stopped, calls included: asked for this step
		// (singleThread), or for every step ("stepThreads": "current")
		const alone = a.singleThread === true || this.stepThreads === 'current';
		this.frames.reset();
		this.vars.reset();
		ctx.after(async () => {
			if (kind === 'stepOut') await d.stepOut(tid, alone);
			else if (instruction) await d.stepInstruction(tid, kind === 'next', alone);
			else await d.stepLine(tid, kind === 'stepIn', alone);
		});
		return undefined;
	}

	// ---- breakpoints --------------------------------------------------------------------------

	private async setBreakpoints(a: DebugProtocol.SetBreakpointsArguments): Promise<DebugProtocol.SetBreakpointsResponse['body']> {
		const d = this.requireDebuggee();
		const file = a.source.path ? a.source.path : null;
		const lines = a.breakpoints?.map((b) => b.line) ?? a.lines ?? [];
		const hitOf = (i: number): string | undefined => a.breakpoints?.[i]?.hitCondition || undefined;
		const condOf = (i: number): string | undefined => a.breakpoints?.[i]?.condition || undefined;
		const logOf = (i: number): string | undefined => a.breakpoints?.[i]?.logMessage || undefined;
		if (!file) {
			return { breakpoints: lines.map(() => ({ verified: false, message: 'only sources with a path are supported' })) };
		}
		await d.breakpoints.removeWhere((b) => b.kind === 'source' && b.file === file);
		const out: DebugProtocol.Breakpoint[] = [];
		for (const [i, clientLine] of lines.entries()) {
			const line = this.fromClientLine(clientLine);
			const where = { file, requestedLine: line };
			const bp = await this.addOrExplain(d, 'source', 'setBreakpoints', where, async () => {
				const r = await d.symbols.lineAddresses(file, line);
				if (!r.addresses.length) return this.noCode(d, 'source', `no code at ${path.basename(file)}:${line}`, where);
				return d.breakpoints.add('source', r.addresses, {
					...where,
					line: r.line ?? line,
					hitCondition: hitOf(i),
					condition: condOf(i),
					logMessage: logOf(i),
				});
			});
			out.push(this.toDapBreakpoint(bp, clientLine));
		}
		return { breakpoints: out };
	}

	private async setFunctionBreakpoints(
		a: DebugProtocol.SetFunctionBreakpointsArguments,
	): Promise<DebugProtocol.SetFunctionBreakpointsResponse['body']> {
		const d = this.requireDebuggee();
		await d.breakpoints.removeWhere((b) => b.kind === 'function');
		const out: DebugProtocol.Breakpoint[] = [];
		for (const fb of a.breakpoints) {
			const where = { functionName: fb.name };
			const bp = await this.addOrExplain(d, 'function', 'setFunctionBreakpoints', where, async () => {
				const addrs = await d.symbols.functionAddresses(fb.name);
				if (!addrs.length) return this.noCode(d, 'function', `no function named ${fb.name}`, where);
				return d.breakpoints.add('function', addrs, {
					...where,
					hitCondition: fb.hitCondition || undefined,
					condition: fb.condition || undefined,
				});
			});
			out.push(this.toDapBreakpoint(bp));
		}
		return { breakpoints: out };
	}

	private async setInstructionBreakpoints(
		a: DebugProtocol.SetInstructionBreakpointsArguments,
	): Promise<DebugProtocol.SetInstructionBreakpointsResponse['body']> {
		const d = this.requireDebuggee();
		await d.breakpoints.removeWhere((b) => b.kind === 'instruction');
		const out: DebugProtocol.Breakpoint[] = [];
		for (const ib of a.breakpoints) {
			const bp = await this.addOrExplain(d, 'instruction', 'setInstructionBreakpoints', {}, () =>
				d.breakpoints.add('instruction', [parseReference(ib.instructionReference, ib.offset)], {
					hitCondition: ib.hitCondition || undefined,
					condition: ib.condition || undefined,
				}),
			);
			out.push(this.toDapBreakpoint(bp));
		}
		return { breakpoints: out };
	}

	/** add()'s breakpoint; when it throws, an unverified one of `kind` that says why (as `command`'s error), with `where`. */
	private async addOrExplain(
		d: Debuggee,
		kind: BreakpointKind,
		command: string,
		where: Partial<Breakpoint>,
		add: () => Promise<Breakpoint>,
	): Promise<Breakpoint> {
		try {
			return await add();
		} catch (e) {
			return d.breakpoints.addUnverified(kind, toDapError(e, command).message, where);
		}
	}

	/** An unverified breakpoint for a place without code: `none` says which, unless the library cannot look places up. */
	private noCode(d: Debuggee, kind: 'source' | 'function', none: string, where: Partial<Breakpoint>): Breakpoint {
		return d.breakpoints.addUnverified(
			kind,
			d.symbols.supported ? none : `${kind} breakpoints need the native symbols operation`,
			where,
		);
	}

	private toDapBreakpoint(bp: Breakpoint, clientLine?: number): DebugProtocol.Breakpoint {
		const b = new DapBreakpoint(bp.verified) as DebugProtocol.Breakpoint;
		b.id = bp.id;
		if (bp.message) b.message = bp.message; /* why unverified, or a condition note */
		if (bp.addresses.length) b.instructionReference = hex(bp.addresses[0]);
		if (bp.file) {
			b.source = new Source(path.basename(bp.file), bp.file);
			b.line = bp.line !== undefined ? this.toClientLine(bp.line) : clientLine;
		}
		return b;
	}

	// ---- fork all threads ------------------------------------------------------------------

	private async forkAllThreads(a: ForkAllThreadsArguments, ctx: RequestContext): Promise<ForkAllThreadsResponseBody> {
		const d = this.requireDebuggee();
		const mode: ForkModeArg = a.mode ?? 'debug';
		if (d.state === 'exited') throw errors.processExited(`forkAllThreads: process ${d.pid} has exited`);
		if (mode === 'debug') {
			if (!this.opts.multiSession) throw errors.forkDebugNeedsServer();
			if (!this.client.supportsStartDebuggingRequest) throw errors.forkDebugNeedsClient();
		}
		const progressId = `forkall-fork-${++this.progressSeq}`;
		const progress = this.client.supportsProgressReporting === true;
		if (progress) {
			const ev = new ProgressStartEvent(
				progressId,
				'Fork all threads',
				`process ${d.pid}, mode ${mode}`,
			) as DebugProtocol.ProgressStartEvent;
			ev.body.cancellable = false;
			this.sendEvent(ev);
		}
		let body;
		try {
			body = await d.fork(mode, {
				copyDontfork: a.copyDontfork !== false,
				sameTids: a.sameTids === true,
			});
		} catch (e) {
			if (progress) this.sendEvent(new ProgressEndEvent(progressId, 'failed'));
			throw toDapError(e, 'forkAllThreads');
		}
		if (progress) {
			this.sendEvent(
				new ProgressEndEvent(
					progressId,
					`child ${body.child}: ${body.threads.length} threads in ${(body.timings.totalUs / 1000).toFixed(1)} ms`,
				),
			);
		}
		const result: ForkAllThreadsResponseBody = {
			mode,
			parent: body.parent,
			child: body.child,
			threads: body.threads,
			timings: body.timings,
			warnings: body.warnings,
		};
		if (mode === 'debug') {
			this.host.addPendingChild({ pid: body.child, parentPid: d.pid, at: Date.now() });
			result.childSession = true;
			const child = body.child;
			ctx.after(() => this.startChildSession(child));
		}
		return result;
	}

	/** Ask the client for a session bound to a forked child (reverse request). */
	private startChildSession(child: number, name = `forked child ${child}`, followed = false, kept = false): void {
		const args: DebugProtocol.StartDebuggingRequestArguments = {
			request: 'attach',
			configuration: {
				__forkallChild: child,
				name,
				...(followed ? { __forkallFollowed: true } : {}),
				// the process a restore kept (keepCurrent), not a fork: the client need not focus it
				...(kept ? { __forkallKept: true } : {}),
			},
		};
		this.sendRequest('startDebugging', args, 10000, (r) => {
			if (!r.success) {
				this.consoleError(`the client did not start a session for forked child ${child} (${r.message}); it keeps running detached`);
				void this.host.releaseChild(child);
			}
		});
	}
}

// ---- mapping helpers ---------------------------------------------------------------------

/** A thread the fork child did not get: unmistakable in the Call Stack. */
export function deadThreadLabel(parentTid: number, name: string): string {
	return `✝ dead: was ${parentTid} "${name}" (lost in the fork)`;
}

function stopReason(s: StopInfo): string {
	switch (s.reason) {
		case 'breakpoint': {
			const kinds = new Set(s.breakpoints.map((b) => b.kind));
			if (kinds.size === 1 && kinds.has('function')) return 'function breakpoint';
			if (kinds.size === 1 && kinds.has('instruction')) return 'instruction breakpoint';
			return 'breakpoint';
		}
		case 'signal':
			return s.fatal ? 'exception' : 'signal';
		case 'data':
			return 'data breakpoint';
		default:
			return s.reason;
	}
}

/** "0x…" or decimal, plus a byte offset. */
export function parseReference(ref: string, offset?: number): bigint {
	let base: bigint;
	if (/^0x[0-9a-fA-F]+$/.test(ref)) base = BigInt(ref);
	else if (/^[0-9]+$/.test(ref)) base = BigInt(ref);
	else throw errors.invalidArgument(`not a memory reference: ${JSON.stringify(ref)}`);
	const addr = base + BigInt(Math.trunc(offset ?? 0));
	if (addr < 0n || addr >= 1n << 64n) throw errors.invalidArgument(`address out of range: ${ref}${offset ? ` + ${offset}` : ''}`);
	return addr;
}

function lwpRow(l: Lwp): LwpRow {
	return {
		tid: l.tid,
		name: l.name,
		state: l.state,
		stateName: l.stateName,
		pthread: l.pthread === null ? null : hex(l.pthread),
		syscall: l.syscall,
		pc: hex(l.pc),
		sp: hex(l.sp),
		fsBase: l.fsBase === null ? null : hex(l.fsBase),
		stack: l.stack ? { low: hex(l.stack.low), high: hex(l.stack.high), guard: l.stack.guard, source: l.stack.source } : null,
		spInStack: l.spInStack,
		isMain: l.isMain,
	};
}

function lwpTable(s: ThreadsSnapshot): LwpsResponseBody {
	return { pid: s.pid, pauseUs: s.pauseUs, lwps: s.lwps.map(lwpRow) };
}

/** Every node of a tree whose children are already known (breadth first, bounded). */
/** Completions offered at most (the locals first, then file-scope names). */
const MAX_COMPLETIONS = 200;

function flatten(roots: VarNode[], max = 20000): VarNode[] {
	const out: VarNode[] = [];
	const queue = [...roots];
	while (queue.length && out.length < max) {
		const n = queue.shift()!;
		out.push(n);
		if (Array.isArray(n.children)) queue.push(...n.children);
	}
	return out;
}

/** The launch.json "signals" attribute, checked before anything is launched or attached. */
function checkSignalsAttribute(attr: unknown): void {
	if (attr === undefined) return;
	const probe = fromMasks({ nostop: 0n, noprint: 0n, nopass: 0n });
	try {
		applySignalsAttribute(probe, attr);
	} catch (e) {
		if (e instanceof SignalConfigError) throw errors.invalidArgument(e.message);
		throw e;
	}
}
