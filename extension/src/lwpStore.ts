/*
 * Per-session LWP state, fed by DAP traffic (a DebugAdapterTracker, like
 * CodeLLDB's modulesView): 'lwpsChanged' events, stopped/continued, the
 * forkAllThreads response. Views subscribe to onDidChange.
 */
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { LwpsChangedEventBody } from '../../adapter/src/dap/custom';
import { tidMap, type ForkAllThreadsResponseBody, type LwpsResponseBody, type TidMap } from './lwpModel';
import type { Log } from './logging';

export interface SessionLwps {
	session: vscode.DebugSession;
	table: LwpsResponseBody | null;
	reason: string | null;
	running: boolean;
	ended: boolean;
	/** Top frame's function per tid (filled after each stop). */
	functions: Map<number, string>;
	/** Forks this session made (as parent). */
	forks: TidMap[];
	/** Set on a forked child's session. */
	forkedFrom: TidMap | null;
	/** Bumped on each stop: requests of an older generation are dropped. */
	generation: number;
}

export class LwpStore implements vscode.DebugAdapterTrackerFactory, vscode.Disposable {
	private readonly sessions = new Map<string, SessionLwps>();
	/** Fork results by child pid, until the child's session shows up. */
	private readonly forksByChild = new Map<number, TidMap>();
	private readonly emitter = new vscode.EventEmitter<SessionLwps | undefined>();
	readonly onDidChange = this.emitter.event;
	private readonly subs: vscode.Disposable[] = [];

	constructor(private readonly log: Log) {
		this.subs.push(
			vscode.debug.onDidChangeActiveDebugSession(() => this.emitter.fire(undefined)),
			vscode.debug.onDidTerminateDebugSession((s) => {
				const st = this.sessions.get(s.id);
				if (st) {
					st.ended = true;
					this.sessions.delete(s.id);
					this.emitter.fire(undefined);
				}
			}),
		);
	}

	get(session: vscode.DebugSession | undefined): SessionLwps | undefined {
		return session ? this.sessions.get(session.id) : undefined;
	}

	/** The focused Forkall session (or the most recent one). */
	focused(): SessionLwps | undefined {
		const a = vscode.debug.activeDebugSession;
		if (a && a.type === 'forkall') return this.state(a);
		return [...this.sessions.values()].pop();
	}

	private state(s: vscode.DebugSession): SessionLwps {
		let st = this.sessions.get(s.id);
		if (!st) {
			const child = s.configuration.__forkallChild;
			st = {
				session: s,
				table: null,
				reason: null,
				running: true,
				ended: false,
				functions: new Map(),
				forks: [],
				forkedFrom: typeof child === 'number' ? (this.forksByChild.get(child) ?? null) : null,
				generation: 0,
			};
			this.sessions.set(s.id, st);
		}
		return st;
	}

	createDebugAdapterTracker(session: vscode.DebugSession): vscode.DebugAdapterTracker {
		const st = this.state(session);
		const log = this.log;
		return {
			onWillReceiveMessage: (m: DebugProtocol.ProtocolMessage) => {
				if (log.enabled('trace')) log.trace(`dap ${session.name}`, `-> ${JSON.stringify(m)}`);
			},
			onDidSendMessage: (m: DebugProtocol.ProtocolMessage) => {
				if (log.enabled('trace')) log.trace(`dap ${session.name}`, `<- ${JSON.stringify(m)}`);
				if (m.type === 'event') this.onEvent(st, m as DebugProtocol.Event);
				else if (m.type === 'response') this.onResponse(st, m as DebugProtocol.Response);
			},
			onError: (e: Error) => log.warn(`dap ${session.name}`, `tracker error: ${e.message}`),
			onExit: (code: number | undefined, signal: string | undefined) =>
				log.debug(`dap ${session.name}`, `connection closed (${signal ?? code ?? ''})`),
		};
	}

	private onEvent(st: SessionLwps, e: DebugProtocol.Event): void {
		switch (e.event) {
			case 'lwpsChanged': {
				const b = e.body as LwpsChangedEventBody;
				st.table = { pid: b.pid, pauseUs: b.pauseUs, lwps: b.lwps };
				st.reason = b.reason;
				this.log.debug('lwps', `${st.session.name}: ${b.lwps.length} LWPs (${b.reason})`);
				void this.fetchFunctions(st);
				this.emitter.fire(st);
				break;
			}
			case 'stopped':
				st.running = false;
				st.generation++;
				st.functions = new Map();
				st.reason = (e.body as DebugProtocol.StoppedEvent['body']).reason;
				this.emitter.fire(st);
				break;
			case 'continued':
				st.running = true;
				this.emitter.fire(st);
				break;
			case 'exited':
			case 'terminated':
				st.running = true;
				st.ended = true;
				this.emitter.fire(st);
				break;
			default:
				break;
		}
	}

	private onResponse(st: SessionLwps, r: DebugProtocol.Response): void {
		if (!r.success) return;
		if (r.command === 'continue' || r.command === 'next' || r.command === 'stepIn' || r.command === 'stepOut') {
			st.running = true;
			this.emitter.fire(st);
		} else if (r.command === 'forkAllThreads') {
			this.recordFork(st, r.body as ForkAllThreadsResponseBody);
		}
	}

	private recordFork(st: SessionLwps, body: ForkAllThreadsResponseBody): void {
		if (st.forks.some((f) => f.childPid === body.child)) return;
		const m = tidMap(body);
		st.forks.push(m);
		this.forksByChild.set(body.child, m);
		for (const other of this.sessions.values()) {
			if (other.session.configuration.__forkallChild === body.child) other.forkedFrom = m;
		}
		this.log.info(
			'fork',
			`${st.session.name}: pid ${body.parent} -> child ${body.child} (${body.threads.length} threads, ${body.mode})`,
		);
		this.emitter.fire(st);
	}

	/** The command calls this too (the tracker may see the response later). */
	noteFork(session: vscode.DebugSession, body: ForkAllThreadsResponseBody): void {
		this.recordFork(this.state(session), body);
	}

	/** Ask the adapter for the table now (refresh button, or a view opened while stopped). */
	async refresh(st: SessionLwps): Promise<void> {
		try {
			const b = (await st.session.customRequest('lwps')) as LwpsResponseBody;
			st.table = b;
			this.emitter.fire(st);
			if (!st.running) await this.fetchFunctions(st);
		} catch (e) {
			this.log.warn('lwps', `${st.session.name}: ${(e as Error).message}`);
		}
	}

	/** The top frame's function of every LWP (one stackTrace with levels 1 each). */
	private async fetchFunctions(st: SessionLwps): Promise<void> {
		const table = st.table;
		if (!table || st.running) return;
		const gen = st.generation;
		const out = new Map<number, string>();
		await Promise.all(
			table.lwps.slice(0, 512).map(async (l) => {
				try {
					const r = (await st.session.customRequest('stackTrace', {
						threadId: l.tid,
						startFrame: 0,
						levels: 1,
					})) as DebugProtocol.StackTraceResponse['body'];
					const f = r.stackFrames[0];
					if (f) out.set(l.tid, f.source?.name && f.line ? `${f.name} (${f.source.name}:${f.line})` : f.name);
				} catch {
					// running again, or the thread is gone
				}
			}),
		);
		if (gen !== st.generation || st.running) return;
		st.functions = out;
		this.emitter.fire(st);
	}

	dispose(): void {
		for (const s of this.subs) s.dispose();
		this.emitter.dispose();
	}
}
