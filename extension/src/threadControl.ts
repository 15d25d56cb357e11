/*
 * Per-thread run control from the Call Stack context menu: "Continue This
 * Thread Only" and "Step Over This Thread Only" send DAP's continue/next
 * with singleThread: the chosen thread moves, every other thread stays
 * stopped where it is (the adapter says supportsSingleThreadExecutionRequests;
 * VS Code's own buttons never send singleThread). "Freeze Thread" / "Thaw
 * Thread": the thread stays stopped across continue and steps of the others
 * (shown "❄ … (frozen)" in the Call Stack) until thawed.
 */
import * as vscode from 'vscode';

/** From the Call Stack context menu: the session and thread the row belongs to. */
export interface ThreadArgs {
	sessionId?: string;
	threadId?: number;
}

export class ThreadControl {
	private readonly sessions = new Map<string, vscode.DebugSession>();

	register(context: vscode.ExtensionContext): void {
		context.subscriptions.push(
			vscode.debug.onDidStartDebugSession((s) => {
				if (s.type === 'forkall') this.sessions.set(s.id, s);
			}),
			vscode.debug.onDidTerminateDebugSession((s) => this.sessions.delete(s.id)),
			vscode.commands.registerCommand('forkall.continueThread', (a?: ThreadArgs) => this.send('continue', a)),
			vscode.commands.registerCommand('forkall.nextThread', (a?: ThreadArgs) => this.send('next', a)),
			vscode.commands.registerCommand('forkall.freezeThread', (a?: ThreadArgs) => this.freeze(a, true)),
			vscode.commands.registerCommand('forkall.thawThread', (a?: ThreadArgs) => this.freeze(a, false)),
		);
	}

	/** The row's session and thread, or the focused ones. */
	private target(a?: ThreadArgs): { session: vscode.DebugSession; threadId: number } | undefined {
		const session = (a?.sessionId ? this.sessions.get(a.sessionId) : undefined) ?? vscode.debug.activeDebugSession;
		if (!session || session.type !== 'forkall') return undefined;
		const item = vscode.debug.activeStackItem;
		const threadId = typeof a?.threadId === 'number' ? a.threadId : item && item.session.id === session.id ? item.threadId : undefined;
		return threadId === undefined ? undefined : { session, threadId };
	}

	/** Freeze Thread / Thaw Thread: the thread stays stopped while the others run (customRequest 'freezeThread'). */
	private async freeze(a: ThreadArgs | undefined, frozen: boolean): Promise<number[] | undefined> {
		const t = this.target(a);
		if (!t) {
			void vscode.window.showWarningMessage('Forkall: select a thread of a stopped Forkall session in the Call Stack first.');
			return undefined;
		}
		try {
			const r = (await t.session.customRequest('freezeThread', { threadId: t.threadId, frozen })) as { frozen: number[] };
			return r.frozen;
		} catch (e) {
			void vscode.window.showErrorMessage(`Forkall: ${frozen ? 'freeze' : 'thaw'} thread ${t.threadId}: ${(e as Error).message}`);
			return undefined;
		}
	}

	private async send(command: 'continue' | 'next', a?: ThreadArgs): Promise<boolean> {
		const t = this.target(a);
		if (!t) {
			void vscode.window.showWarningMessage('Forkall: select a thread of a stopped Forkall session in the Call Stack first.');
			return false;
		}
		try {
			await t.session.customRequest(command, { threadId: t.threadId, singleThread: true });
			return true;
		} catch (e) {
			void vscode.window.showErrorMessage(`Forkall: ${command} of thread ${t.threadId} alone: ${(e as Error).message}`);
			return false;
		}
	}
}
