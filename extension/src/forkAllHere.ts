/*
 * "Forkall: Fork All Threads Here": ask what to do with the child (debug it,
 * let it run, leave it stopped; default from forkall.fork.defaultMode), fork
 * with progress through customRequest('forkAllThreads'), and in debug mode
 * wait for the child's session (the adapter asks VS Code for it with the
 * startDebugging reverse request).
 */
import * as vscode from 'vscode';
import type { ForkAllThreadsResponseBody, ForkModeArg } from '../../adapter/src/dap/custom';
import type { Log } from './logging';
import type { LwpStore } from './lwpStore';

/** Arguments: from the Call Stack context menu ({sessionId, threadId}), or programmatic ({mode}). */
export interface ForkCommandArgs {
	sessionId?: string;
	threadId?: number;
	mode?: ForkModeArg;
}

export interface ForkCommandResult extends ForkAllThreadsResponseBody {
	/** Debug mode: the child's session, once VS Code started it. */
	childSessionId?: string;
}

const MODES: { mode: ForkModeArg; label: string; detail: string }[] = [
	{
		mode: 'debug',
		label: '$(debug-alt) Debug the child',
		detail: 'The child opens as a second debug session, stopped where the parent is.',
	},
	{ mode: 'run', label: '$(play) Let the child run', detail: 'The child runs on its own, untraced.' },
	{
		mode: 'stopped',
		label: '$(debug-pause) Leave the child stopped',
		detail: 'Group-stopped and untraced: attach another tool, or kill -CONT it.',
	},
];

export class ForkCommand {
	/** Sessions by id, for the call stack's context argument. */
	private readonly sessions = new Map<string, vscode.DebugSession>();

	constructor(
		private readonly store: LwpStore,
		private readonly log: Log,
	) {}

	track(context: vscode.ExtensionContext): void {
		context.subscriptions.push(
			vscode.debug.onDidStartDebugSession((s) => {
				if (s.type === 'forkall') this.sessions.set(s.id, s);
			}),
			vscode.debug.onDidTerminateDebugSession((s) => this.sessions.delete(s.id)),
		);
	}

	private target(args?: ForkCommandArgs): { session: vscode.DebugSession; threadId?: number } | undefined {
		const bySession = args?.sessionId ? this.sessions.get(args.sessionId) : undefined;
		const session = bySession ?? vscode.debug.activeDebugSession;
		if (!session || session.type !== 'forkall') return undefined;
		let threadId = typeof args?.threadId === 'number' ? args.threadId : undefined;
		if (threadId === undefined) {
			const item = vscode.debug.activeStackItem;
			if (item && item.session.id === session.id) threadId = item.threadId;
		}
		return { session, threadId };
	}

	private async askMode(): Promise<ForkModeArg | undefined> {
		const def = vscode.workspace.getConfiguration('forkall').get<ForkModeArg>('fork.defaultMode', 'debug');
		const items = [...MODES]
			.sort((a, b) => Number(b.mode === def) - Number(a.mode === def))
			.map((m) => ({ ...m, description: m.mode === def ? '(default)' : undefined }));
		const pick = await vscode.window.showQuickPick(items, {
			title: 'Fork All Threads Here: what should the child do?',
			placeHolder: 'The child gets every thread of the parent, each stopped where it is now',
			matchOnDetail: true,
		});
		return pick?.mode;
	}

	async run(args?: ForkCommandArgs): Promise<ForkCommandResult | undefined> {
		const t = this.target(args);
		if (!t) {
			this.log.showWarning('Forkall: Fork All Threads Here needs a stopped Forkall debug session.');
			return undefined;
		}
		const mode = args?.mode ?? (await this.askMode());
		if (!mode) return undefined;
		const copyDontfork = vscode.workspace.getConfiguration('forkall').get<boolean>('fork.copyDontfork', true);
		const { session, threadId } = t;
		const childStarted = mode === 'debug' ? this.waitForChildSession() : null;
		let body: ForkAllThreadsResponseBody;
		try {
			body = await vscode.window.withProgress(
				{
					location: vscode.ProgressLocation.Notification,
					title: `Forkall: forking every thread of "${session.name}" (${mode})…`,
				},
				() => session.customRequest('forkAllThreads', { mode, threadId, copyDontfork }) as Thenable<ForkAllThreadsResponseBody>,
			);
		} catch (e) {
			childStarted?.cancel();
			await this.log.showError(`Forkall: Fork All Threads Here failed: ${(e as Error).message}`);
			return undefined;
		}
		this.store.noteFork(session, body);
		const ms = (body.timings.totalUs / 1000).toFixed(1);
		const what = `Forked pid ${body.parent} → child ${body.child}: ${body.threads.length} threads in ${ms} ms`;
		for (const w of body.warnings) this.log.warn('fork', w);
		const result: ForkCommandResult = { ...body };
		if (mode === 'debug' && childStarted) {
			const child = await childStarted.forPid(body.child, 15000);
			if (child) {
				result.childSessionId = child.id;
				this.log.showInfo(`${what}; debugging the child in "${child.name}".`);
			} else {
				void this.log.showError(`${what}, but VS Code did not start the child's debug session (see the Forkall output).`);
			}
		} else {
			this.log.showInfo(`${what} (${mode === 'run' ? 'the child runs' : 'the child is stopped, untraced'}).`);
		}
		if (body.warnings.length) this.log.showWarning(`Forkall: ${body.warnings.join('; ')}`);
		return result;
	}

	/** Collect sessions that start from now on; resolve the one bound to a child pid. */
	private waitForChildSession(): { forPid(pid: number, ms: number): Promise<vscode.DebugSession | undefined>; cancel(): void } {
		const seen: vscode.DebugSession[] = [];
		let want: { pid: number; resolve: (s: vscode.DebugSession | undefined) => void } | null = null;
		const sub = vscode.debug.onDidStartDebugSession((s) => {
			seen.push(s);
			if (want && s.configuration.__forkallChild === want.pid) want.resolve(s);
		});
		return {
			forPid: (pid, ms) =>
				new Promise((resolve) => {
					const done = (s: vscode.DebugSession | undefined): void => {
						clearTimeout(timer);
						sub.dispose();
						resolve(s);
					};
					const timer = setTimeout(() => done(undefined), ms);
					const already = seen.find((s) => s.configuration.__forkallChild === pid);
					if (already) done(already);
					else want = { pid, resolve: done };
				}),
			cancel: () => sub.dispose(),
		};
	}
}
