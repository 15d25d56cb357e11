/*
 * "Recreate Dead Threads" (command palette, Call Stack context menu, the
 * LWP view's title): on the session of a child the program forked
 * (followForks), the adapter rebuilds every thread the fork left behind
 * inside the child (customRequest 'recreateDeadThreads'). The command is
 * offered where the focused session is such a child (context key
 * forkall.isForkChild).
 */
import * as vscode from 'vscode';
import type { ThreadArgs } from './threadControl';

interface RecreateResult {
	threads: { parentTid: number; childTid: number; name: string }[];
	locksFixed: number;
	robustOwnersFixed: number;
	us: number;
}

function isForkChild(s: vscode.DebugSession | undefined): boolean {
	return !!s && s.type === 'forkall' && s.configuration.__forkallFollowed === true;
}

export class DeadThreads {
	private readonly sessions = new Map<string, vscode.DebugSession>();

	register(context: vscode.ExtensionContext): void {
		const update = (s: vscode.DebugSession | undefined): void => {
			void vscode.commands.executeCommand('setContext', 'forkall.isForkChild', isForkChild(s));
		};
		context.subscriptions.push(
			vscode.debug.onDidStartDebugSession((s) => {
				if (s.type === 'forkall') this.sessions.set(s.id, s);
			}),
			vscode.debug.onDidTerminateDebugSession((s) => this.sessions.delete(s.id)),
			vscode.debug.onDidChangeActiveDebugSession(update),
			vscode.commands.registerCommand('forkall.recreateDeadThreads', (a?: ThreadArgs) => this.run(a)),
		);
		update(vscode.debug.activeDebugSession);
	}

	/** Returns the adapter's answer (tests), or undefined when nothing was done. */
	async run(a?: ThreadArgs): Promise<RecreateResult | undefined> {
		const session = (a?.sessionId ? this.sessions.get(a.sessionId) : undefined) ?? vscode.debug.activeDebugSession;
		if (!isForkChild(session)) {
			void vscode.window.showWarningMessage(
				'Forkall: Recreate Dead Threads works on the session of a child the program forked (its Call Stack shows the dead threads).',
			);
			return undefined;
		}
		try {
			const r = (await session!.customRequest('recreateDeadThreads')) as RecreateResult;
			const names = r.threads.map((t) => `"${t.name}" (${t.childTid})`).join(', ');
			void vscode.window.showInformationMessage(
				`Forkall: recreated ${r.threads.length} dead thread${r.threads.length === 1 ? '' : 's'} in process ${String(
					session!.configuration.__forkallChild,
				)}: ${names}.`,
			);
			return r;
		} catch (e) {
			void vscode.window.showErrorMessage(`Forkall: Recreate Dead Threads: ${(e as Error).message}`);
			return undefined;
		}
	}
}
