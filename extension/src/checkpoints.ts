/*
 * "Forkall: Checkpoints" in the Run and Debug sidebar (issue 12): one row
 * per checkpoint of the focused Forkall session — id, note, where it was
 * taken (function:line), age, memory — fed by the adapter's
 * 'checkpointsChanged' event (a DebugAdapterTracker, like the LWP store)
 * and read again when the focused session changes. Inline Restore and
 * Delete on each row; "Forkall: Save Checkpoint" (debug toolbar, palette)
 * and "Forkall: Restore Checkpoint…" (a quick pick). Every command also
 * takes an id/note argument, so tests and keybindings can call it.
 */
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type {
	CheckpointResponseBody,
	CheckpointsChangedEventBody,
	CheckpointsResponseBody,
	RestoreCheckpointResponseBody,
} from '../../adapter/src/dap/custom';
import { formatBytes } from './lwpModel';
import type { Log } from './logging';

export type CheckpointInfo = CheckpointsResponseBody['checkpoints'][number];

/** What a row shows (the view's model, also for tests). */
export interface CheckpointRow {
	id: number;
	label: string;
	description: string;
	tooltip: string;
	checkpoint: CheckpointInfo;
}

/** "5 s", "3 min", "2 h" */
export function formatAge(ms: number): string {
	const s = Math.max(0, Math.floor(ms / 1000));
	if (s < 60) return `${s} s`;
	if (s < 3600) return `${Math.floor(s / 60)} min`;
	return `${Math.floor(s / 3600)} h`;
}

export function whereText(c: Pick<CheckpointInfo, 'location'>): string {
	const l = c.location;
	if (l.function) return l.line ? `${l.function}:${l.line}` : l.function;
	if (l.file) return l.line ? `${l.file}:${l.line}` : l.file;
	return 'unknown place';
}

export function checkpointRow(c: CheckpointInfo, now: number): CheckpointRow {
	const note = c.auto ? 'auto' : c.note;
	const label = `#${c.id}${note ? ` ${c.auto ? '(auto)' : `"${note}"`}` : ''}`;
	const age = formatAge(now - c.created);
	const description = `${whereText(c)} · ${age} ago · ${formatBytes(c.memoryBytes)}`;
	const tooltip =
		`Checkpoint ${c.id}${c.note && !c.auto ? ` "${c.note}"` : c.auto ? ' (automatic: autoCheckpoint)' : ''}\n` +
		`at ${whereText(c)}${c.location.file ? ` (${c.location.file}${c.location.line ? `:${c.location.line}` : ''})` : ''}\n` +
		`${c.threads} thread${c.threads === 1 ? '' : 's'}, saved ${new Date(c.created).toLocaleTimeString()} (${age} ago)\n` +
		`memory: ${formatBytes(c.memoryBytes)} of its own (private dirty pages); frozen copy: pid ${c.pid}`;
	return { id: c.id, label, description, tooltip, checkpoint: c };
}

/** A row's node: the session it belongs to and its checkpoint. */
export interface CheckpointNode {
	sessionId: string;
	row: CheckpointRow;
}

/** The commands' argument: a row (inline actions), an id, or {id?, note?, sessionId?}. */
export type CheckpointArg = CheckpointNode | number | { id?: number; note?: string; sessionId?: string; keepCurrent?: boolean } | undefined;

function isNode(a: unknown): a is CheckpointNode {
	return typeof a === 'object' && a !== null && 'row' in a && 'sessionId' in a;
}

export class CheckpointStore implements vscode.DebugAdapterTrackerFactory, vscode.TreeDataProvider<CheckpointNode>, vscode.Disposable {
	private readonly lists = new Map<string, CheckpointInfo[]>();
	private readonly sessions = new Map<string, vscode.DebugSession>();
	private readonly emitter = new vscode.EventEmitter<CheckpointNode | undefined>();
	readonly onDidChangeTreeData = this.emitter.event;
	private readonly subs: vscode.Disposable[] = [];
	private view: vscode.TreeView<CheckpointNode> | undefined;
	private timer: NodeJS.Timeout | undefined;

	constructor(private readonly log: Log) {
		this.subs.push(
			vscode.debug.onDidStartDebugSession((s) => {
				if (s.type === 'forkall') this.sessions.set(s.id, s);
			}),
			vscode.debug.onDidTerminateDebugSession((s) => {
				this.sessions.delete(s.id);
				if (this.lists.delete(s.id)) this.changed();
			}),
			vscode.debug.onDidChangeActiveDebugSession((s) => {
				if (s?.type === 'forkall') {
					this.sessions.set(s.id, s);
					if (!this.lists.has(s.id)) void this.refresh(s);
				}
				this.changed();
			}),
		);
		// the age column: redrawn every 10 s while there is something to show
		this.timer = setInterval(() => {
			if (this.view?.visible && (this.current()?.length ?? 0) > 0) this.emitter.fire(undefined);
		}, 10000);
	}

	attach(view: vscode.TreeView<CheckpointNode>): void {
		this.view = view;
		this.updateDescription();
	}

	/** The focused Forkall session. */
	session(): vscode.DebugSession | undefined {
		const a = vscode.debug.activeDebugSession;
		return a?.type === 'forkall' ? a : undefined;
	}

	/** The focused session's checkpoints (undefined: none known yet). */
	current(): CheckpointInfo[] | undefined {
		const s = this.session();
		return s ? this.lists.get(s.id) : undefined;
	}

	/** The view's rows for the focused session (what the tree shows). */
	rows(now = Date.now()): CheckpointRow[] {
		return (this.current() ?? []).map((c) => checkpointRow(c, now));
	}

	private changed(): void {
		this.emitter.fire(undefined);
		this.updateDescription();
	}

	private updateDescription(): void {
		if (!this.view) return;
		const list = this.current();
		if (!list || list.length === 0) {
			this.view.description = undefined;
			return;
		}
		const bytes = list.reduce((n, c) => n + c.memoryBytes, 0);
		this.view.description = `${list.length} · ${formatBytes(bytes)}`;
	}

	createDebugAdapterTracker(session: vscode.DebugSession): vscode.DebugAdapterTracker {
		this.sessions.set(session.id, session);
		return {
			onDidSendMessage: (m: DebugProtocol.ProtocolMessage) => {
				if (m.type !== 'event' || (m as DebugProtocol.Event).event !== 'checkpointsChanged') return;
				const b = (m as DebugProtocol.Event).body as CheckpointsChangedEventBody;
				this.lists.set(session.id, b.checkpoints);
				this.log.debug('checkpoints', `${session.name}: ${b.checkpoints.length} checkpoint(s)`);
				this.changed();
			},
		};
	}

	/** Ask the adapter for the list now. */
	async refresh(s: vscode.DebugSession): Promise<void> {
		try {
			const b = (await s.customRequest('checkpoints')) as CheckpointsResponseBody;
			this.lists.set(s.id, b.checkpoints);
			this.changed();
		} catch (e) {
			this.log.debug('checkpoints', `${s.name}: ${(e as Error).message}`);
		}
	}

	getChildren(n?: CheckpointNode): CheckpointNode[] {
		if (n) return [];
		const s = this.session();
		if (!s) return [];
		return this.rows().map((row) => ({ sessionId: s.id, row }));
	}

	getTreeItem(n: CheckpointNode): vscode.TreeItem {
		const it = new vscode.TreeItem(n.row.label, vscode.TreeItemCollapsibleState.None);
		it.description = n.row.description;
		it.tooltip = n.row.tooltip;
		it.iconPath = new vscode.ThemeIcon(n.row.checkpoint.auto ? 'history' : 'save');
		it.contextValue = 'checkpoint';
		it.id = `${n.sessionId}/${n.row.id}`;
		return it;
	}

	// ---- commands ------------------------------------------------------------------------

	private target(a: CheckpointArg): vscode.DebugSession | undefined {
		const id = isNode(a) ? a.sessionId : typeof a === 'object' && a ? a.sessionId : undefined;
		const s = (id ? this.sessions.get(id) : undefined) ?? this.session();
		if (!s) void vscode.window.showErrorMessage('Forkall: no Forkall debug session is active');
		return s;
	}

	/** "Forkall: Save Checkpoint": asks for an optional note unless given one. */
	async save(a?: CheckpointArg): Promise<CheckpointResponseBody | undefined> {
		const s = this.target(a);
		if (!s) return undefined;
		let note = typeof a === 'object' && a && !isNode(a) ? a.note : undefined;
		if (note === undefined) {
			note = await vscode.window.showInputBox({
				title: 'Forkall: Save Checkpoint',
				prompt: 'A note for the checkpoint (optional)',
				placeHolder: 'e.g. before the second request',
			});
			if (note === undefined) return undefined; // Escape
		}
		try {
			const r = (await s.customRequest('checkpoint', note ? { note } : {})) as CheckpointResponseBody;
			vscode.window.setStatusBarMessage(
				`Forkall: checkpoint ${r.id} saved at ${whereText(r)} (${r.threads} threads, program stopped ${(r.pauseUs / 1000).toFixed(1)} ms)`,
				5000,
			);
			return r;
		} catch (e) {
			void vscode.window.showErrorMessage(`Forkall: Save Checkpoint: ${(e as Error).message}`);
			return undefined;
		}
	}

	/**
	 * "Forkall: Restore Checkpoint…": a row, an id, or a quick pick of the session's checkpoints.
	 * keepCurrent (the row's "Restore, Keep Current Process", `{id, keepCurrent}`, or the question
	 * the palette command asks): the process debugged until now is not killed but goes on as a
	 * separate child session, stopped where it was.
	 */
	async restore(a?: CheckpointArg, keep?: boolean): Promise<RestoreCheckpointResponseBody | undefined> {
		const s = this.target(a);
		if (!s) return undefined;
		const id = await this.pickId(s, a, 'Restore checkpoint (the program goes back there)');
		if (id === undefined) return undefined;
		let keepCurrent = typeof a === 'object' && a && !isNode(a) && typeof a.keepCurrent === 'boolean' ? a.keepCurrent : keep;
		if (keepCurrent === undefined && (a === undefined || (typeof a === 'object' && a !== null && !isNode(a) && a.id === undefined))) {
			const choice = await vscode.window.showQuickPick(
				[
					{ label: 'End the current process', detail: 'the session goes on in the restored copy', keep: false },
					{
						label: 'Keep the current process',
						detail: 'it stays stopped where it is, as a separate child session; the session goes on in the restored copy',
						keep: true,
					},
				],
				{ title: `Forkall: Restore checkpoint ${id}: the process debugged until now…` },
			);
			if (!choice) return undefined;
			keepCurrent = choice.keep;
		}
		try {
			return (await s.customRequest(
				'restoreCheckpoint',
				keepCurrent ? { id, keepCurrent: true } : { id },
			)) as RestoreCheckpointResponseBody;
		} catch (e) {
			void vscode.window.showErrorMessage(`Forkall: Restore Checkpoint: ${(e as Error).message}`);
			return undefined;
		}
	}

	/** Delete a checkpoint (row action, or an id); true when deleted. */
	async delete(a?: CheckpointArg): Promise<boolean> {
		const s = this.target(a);
		if (!s) return false;
		const id = await this.pickId(s, a, 'Delete checkpoint');
		if (id === undefined) return false;
		try {
			await s.customRequest('deleteCheckpoint', { id });
			return true;
		} catch (e) {
			void vscode.window.showErrorMessage(`Forkall: Delete Checkpoint: ${(e as Error).message}`);
			return false;
		}
	}

	private async pickId(s: vscode.DebugSession, a: CheckpointArg, title: string): Promise<number | undefined> {
		if (typeof a === 'number') return a;
		if (isNode(a)) return a.row.id;
		if (typeof a === 'object' && a && typeof a.id === 'number') return a.id;
		await this.refresh(s);
		const list = this.lists.get(s.id) ?? [];
		if (list.length === 0) {
			void vscode.window.showInformationMessage(
				'Forkall: this session has no checkpoints (Forkall: Save Checkpoint, or "autoCheckpoint" in launch.json).',
			);
			return undefined;
		}
		const now = Date.now();
		const picked = await vscode.window.showQuickPick(
			[...list]
				.reverse()
				.map((c) => checkpointRow(c, now))
				.map((r) => ({ label: r.label, description: r.description, detail: `${r.checkpoint.threads} threads`, id: r.id })),
			{ title: `Forkall: ${title}`, placeHolder: 'newest first' },
		);
		return picked?.id;
	}

	dispose(): void {
		if (this.timer) clearInterval(this.timer);
		for (const x of this.subs) x.dispose();
		this.emitter.dispose();
	}
}
