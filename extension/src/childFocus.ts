/*
 * A forked child's session (a fork the program made and we follow, or
 * "Fork All Threads Here" in debug mode) takes the focus when it appears,
 * so the Call Stack selects and expands it (issue 15 item 3).
 *
 * VS Code does not do it by itself: a session started by DAP's
 * startDebugging is focused only when nothing else is, and its first stop
 * takes the focus only when no stack frame is focused or the focused one is
 * its own — after Fork All Threads Here the parent's frame is. The API has
 * no setter for the focused session (activeDebugSession and activeStackItem
 * are read-only); "Debug: Focus Next Debug Console"
 * (workbench.action.debug.nextConsole) focuses the next session that has a
 * console of its own (every Forkall session), with its first stopped thread
 * and top frame. So: step through the sessions until the child's is
 * focused (at most once round), then bring the Call Stack forward; once
 * more at the child's first stop, while the parent's own refresh can still
 * take the focus back (a stop the parent handles late — after an
 * 'invalidated' event, say — takes it when no frame is focused).
 *
 * Only when the child's parent session (or another session of that fork
 * tree) is focused: a child must not take the focus from an unrelated
 * session the user is looking at. forkall.focusChildSessions: false turns
 * it off.
 */
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Log } from './logging';

function enabled(): boolean {
	return vscode.workspace.getConfiguration('forkall').get<boolean>('focusChildSessions', true);
}

function rootOf(s: vscode.DebugSession): vscode.DebugSession {
	let r = s;
	while (r.parentSession) r = r.parentSession;
	return r;
}

/** A fork child's session (not the process a checkpoint restore kept: the session goes on in the restored copy). */
function isForkChild(s: vscode.DebugSession): boolean {
	return (
		s.type === 'forkall' && typeof s.configuration.__forkallChild === 'number' && !!s.parentSession && !s.configuration.__forkallKept
	);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ChildFocus implements vscode.DebugAdapterTrackerFactory {
	/** Sessions that ended: never focused again (nextConsole also goes round ended sessions). */
	private readonly ended = new Set<string>();

	constructor(private readonly log: Log) {}

	register(context: vscode.ExtensionContext): void {
		context.subscriptions.push(
			vscode.debug.registerDebugAdapterTrackerFactory('forkall', this),
			vscode.debug.onDidStartDebugSession((s) => {
				if (isForkChild(s)) void this.focus(s);
			}),
			vscode.debug.onDidTerminateDebugSession((s) => {
				if (isForkChild(s)) this.ended.add(s.id);
			}),
		);
	}

	createDebugAdapterTracker(s: vscode.DebugSession): vscode.DebugAdapterTracker | undefined {
		if (!isForkChild(s)) return undefined;
		let first = true;
		return {
			onDidSendMessage: (m: DebugProtocol.ProtocolMessage) => {
				if (first && m.type === 'event' && (m as DebugProtocol.Event).event === 'stopped') {
					first = false;
					void this.settle(s);
				}
			},
		};
	}

	/** After the child's first stop: until a stack item of the child is the focused one (up to 3 s). */
	private async settle(s: vscode.DebugSession): Promise<void> {
		const t0 = Date.now();
		while (Date.now() - t0 < 3000) {
			await sleep(250);
			if (this.ended.has(s.id)) return;
			if (vscode.debug.activeStackItem?.session.id === s.id) return;
			// the child is the focused session, without a stack item yet: VS Code focuses its stopped thread
			if (vscode.debug.activeDebugSession?.id === s.id) continue;
			if (!(await this.focus(s, true))) return;
		}
	}

	/** Focus session s (a fork child's) in the Call Stack; true when it is the active session afterwards. */
	async focus(s: vscode.DebugSession, again = false): Promise<boolean> {
		if (!enabled() || this.ended.has(s.id)) return false;
		const active = vscode.debug.activeDebugSession;
		if (active && rootOf(active).id !== rootOf(s).id) {
			this.log.debug('focus', `not focusing "${s.name}": the focused session "${active.name}" is of another program`);
			return false;
		}
		// (the extension host learns of each focus change a little after the command returns: wait for it,
		// or the next round would step past the child)
		for (let i = 0; i < 32 && vscode.debug.activeDebugSession?.id !== s.id && !this.ended.has(s.id); i++) {
			const moved = new Promise<boolean>((resolve) => {
				const sub = vscode.debug.onDidChangeActiveDebugSession(() => {
					clearTimeout(timer);
					sub.dispose();
					resolve(true);
				});
				const timer = setTimeout(() => {
					sub.dispose();
					resolve(false);
				}, 2000);
			});
			await vscode.commands.executeCommand('workbench.action.debug.nextConsole');
			if (!(await moved)) break; // nothing moves
		}
		if (vscode.debug.activeDebugSession?.id !== s.id || this.ended.has(s.id)) {
			this.log.debug('focus', `could not focus the child session "${s.name}"`);
			return false;
		}
		await vscode.commands.executeCommand('workbench.debug.action.focusCallStackView').then(undefined, () => undefined);
		this.log.debug('focus', `focused the child session "${s.name}"${again ? ' (at its first stop)' : ''}`);
		return true;
	}
}
