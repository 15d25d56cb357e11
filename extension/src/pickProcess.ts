/*
 * forkall.pickProcess (for "${command:pickProcess}" in attach
 * configurations) and forkall.attach ("Forkall: Attach to Process…").
 */
import * as vscode from 'vscode';
import { listProcesses, treeForPicking, type ProcInfo } from './procList';

interface ProcItem extends vscode.QuickPickItem {
	proc: ProcInfo;
}

/** The picker while it is shown (ForkallApi.processPicker, for the extension-host tests). */
export interface ProcessPickerState {
	items(): readonly { label: string; description: string; detail: string; pid: number }[];
	/** Make the item of `pid` the active one (what Enter accepts); false if it is not listed. */
	activate(pid: number): boolean;
}

let shown: vscode.QuickPick<ProcItem> | undefined;

export function currentProcessPicker(): ProcessPickerState | undefined {
	const qp = shown;
	if (!qp) return undefined;
	return {
		items: () => qp.items.map((i) => ({ label: i.label, description: i.description ?? '', detail: i.detail ?? '', pid: i.proc.pid })),
		activate: (pid) => {
			const it = qp.items.find((i) => i.proc.pid === pid);
			if (it) qp.activeItems = [it];
			return it !== undefined;
		},
	};
}

function item(p: ProcInfo, depth: number): ProcItem {
	const traced = p.tracerPid ? ` · traced by ${p.tracerPid}` : '';
	const indent = depth ? `${'\u2003'.repeat(Math.min(depth, 8) - 1)}└ ` : '';
	return {
		label: `${indent}${p.threads > 1 ? '$(list-tree)' : '$(terminal)'} ${p.name}`,
		description: `pid ${p.pid} · ${p.user} · ${p.threads} thread${p.threads === 1 ? '' : 's'}${depth ? ` · child of ${p.ppid}` : ''}${traced}`,
		detail: p.cmdline,
		proc: p,
	};
}

/** Ask for a process; resolves to its pid as a string (what debug variables need), or undefined. */
export async function pickProcess(): Promise<string | undefined> {
	const qp = vscode.window.createQuickPick<ProcItem>();
	qp.title = 'Forkall: attach to process';
	qp.placeholder = 'Filter by name, pid, user or command line';
	qp.matchOnDescription = true;
	qp.matchOnDetail = true;
	const myUid = process.getuid?.() ?? -1;
	const self = process.pid;
	qp.items = treeForPicking(
		listProcesses().filter((p) => p.pid !== self),
		myUid,
	).map((t) => item(t.proc, t.depth));
	qp.show();
	shown = qp;
	const picked = await new Promise<ProcItem | undefined>((resolve) => {
		qp.onDidAccept(() => resolve(qp.selectedItems[0]));
		qp.onDidHide(() => resolve(undefined));
	});
	if (shown === qp) shown = undefined;
	qp.dispose();
	return picked ? String(picked.proc.pid) : undefined;
}

/** "Forkall: Attach to Process…": pick, then start an attach session. */
export async function attachToProcess(): Promise<boolean> {
	const pid = await pickProcess();
	if (!pid) return false;
	const folder = vscode.workspace.workspaceFolders?.[0];
	return vscode.debug.startDebugging(folder, {
		type: 'forkall',
		request: 'attach',
		name: `Forkall: attach ${pid}`,
		pid: Number(pid),
	});
}
