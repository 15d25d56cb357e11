/*
 * "Forkall: LWPs" in the Run and Debug sidebar: every LWP of the focused
 * session (tid, name, pthread_t, state, pc/function, stack range, guard, SP
 * depth, TLS base) and its registers on expand.
 */
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { formatBytes, nearOverflow, stackUsage, stateText, syscallName, type LwpRow } from './lwpModel';
import type { LwpStore, SessionLwps } from './lwpStore';

export type Node =
	| { kind: 'lwp'; st: SessionLwps; row: LwpRow }
	| { kind: 'fact'; label: string; value: string; icon?: string; tooltip?: string }
	| { kind: 'regs'; st: SessionLwps; tid: number; generation: number }
	| { kind: 'var'; st: SessionLwps; v: DebugProtocol.Variable; generation: number }
	| { kind: 'note'; label: string };

function threshold(): number {
	return vscode.workspace.getConfiguration('forkall').get<number>('lwps.overflowWarnPercent', 80);
}

export class LwpTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
	private readonly emitter = new vscode.EventEmitter<Node | undefined>();
	readonly onDidChangeTreeData = this.emitter.event;
	private view: vscode.TreeView<Node> | undefined;
	private readonly subs: vscode.Disposable[] = [];

	constructor(private readonly store: LwpStore) {
		this.subs.push(
			store.onDidChange(() => {
				this.emitter.fire(undefined);
				this.updateDescription();
			}),
		);
	}

	attach(view: vscode.TreeView<Node>): void {
		this.view = view;
		this.subs.push(
			view.onDidChangeVisibility((e) => {
				const st = this.store.focused();
				if (e.visible && st && !st.table && !st.running) void this.store.refresh(st);
			}),
		);
		this.updateDescription();
	}

	private updateDescription(): void {
		if (!this.view) return;
		const st = this.store.focused();
		if (!st || !st.table) {
			this.view.description = undefined;
			this.view.message = st && st.running ? 'Running: the LWP table is read at the next stop.' : undefined;
			return;
		}
		const warn = st.table.lwps.filter((r) => nearOverflow(r, threshold())).length;
		this.view.description =
			`pid ${st.table.pid} · ${st.table.lwps.length} LWPs${st.running ? ' · running (last stop)' : ''}` +
			`${warn ? ` · ${warn} near overflow` : ''}`;
		this.view.message = undefined;
	}

	getChildren(n?: Node): Node[] | Promise<Node[]> {
		if (!n) {
			const st = this.store.focused();
			if (!st) return [];
			if (!st.table) return st.running ? [] : [{ kind: 'note', label: 'Reading the LWP table…' }];
			const tm = threshold();
			return [...st.table.lwps]
				.sort(
					(a, b) =>
						Number(b.isMain) - Number(a.isMain) || Number(nearOverflow(b, tm)) - Number(nearOverflow(a, tm)) || a.tid - b.tid,
				)
				.map((row) => ({ kind: 'lwp', st, row }));
		}
		switch (n.kind) {
			case 'lwp':
				return this.facts(n.st, n.row);
			case 'regs':
				return this.registers(n);
			case 'var':
				return this.variables(n.st, n.v, n.generation);
			default:
				return [];
		}
	}

	private facts(st: SessionLwps, r: LwpRow): Node[] {
		const out: Node[] = [];
		const fact = (label: string, value: string, icon?: string, tooltip?: string): void => {
			out.push({ kind: 'fact', label, value, icon, tooltip });
		};
		fact('tid', String(r.tid));
		fact('name', r.name);
		fact('pthread_t', r.pthread ?? '(not a glibc thread)');
		fact('state', `${r.state} (${r.stateName})${r.syscall !== null ? ` · in ${syscallName(r.syscall)} (${r.syscall})` : ''}`);
		const fn = st.functions.get(r.tid);
		fact('pc', fn ? `${r.pc} · ${fn}` : r.pc);
		fact('sp', r.sp);
		const u = stackUsage(r);
		if (r.stack && u) {
			fact(
				'stack',
				`${r.stack.low} – ${r.stack.high} (${formatBytes(u.size)})`,
				'layers',
				r.stack.source ? `found from: ${r.stack.source}` : undefined,
			);
			fact('guard', u.guard ? formatBytes(u.guard) : 'none');
			fact(
				'SP depth',
				u.spInStack
					? `${formatBytes(u.used)} used, ${formatBytes(u.free)} free (${u.percent}%${nearOverflow(r, threshold()) ? ', NEAR OVERFLOW' : ''})`
					: 'SP outside the stack (alternate signal stack?)',
				nearOverflow(r, threshold()) ? 'warning' : undefined,
			);
		} else {
			fact('stack', 'unknown');
		}
		fact('TLS base', r.fsBase ?? 'unknown');
		const fork = st.forks.find((f) => f.toChild.has(r.tid));
		if (fork) fact('forked to', `child ${fork.childPid} tid ${fork.toChild.get(r.tid)}`, 'repo-forked');
		if (st.forkedFrom?.toParent.has(r.tid)) {
			fact('forked from', `parent ${st.forkedFrom.parentPid} tid ${st.forkedFrom.toParent.get(r.tid)}`, 'repo-forked');
		}
		if (!st.running) out.push({ kind: 'regs', st, tid: r.tid, generation: st.generation });
		return out;
	}

	/** Registers of one LWP through the adapter's own flow: stackTrace -> scopes -> "Registers". */
	private async registers(n: { st: SessionLwps; tid: number; generation: number }): Promise<Node[]> {
		const { st, tid, generation } = n;
		if (st.running || st.generation !== generation) return [{ kind: 'note', label: 'Running: registers are read when stopped' }];
		try {
			const s = st.session;
			const tr = (await s.customRequest('stackTrace', {
				threadId: tid,
				startFrame: 0,
				levels: 1,
			})) as DebugProtocol.StackTraceResponse['body'];
			const frame = tr.stackFrames[0];
			if (!frame) return [{ kind: 'note', label: 'no frame' }];
			const sc = (await s.customRequest('scopes', { frameId: frame.id })) as DebugProtocol.ScopesResponse['body'];
			const regs = sc.scopes.find((x) => x.name === 'Registers');
			if (!regs) return [{ kind: 'note', label: 'no Registers scope' }];
			const vs = (await s.customRequest('variables', {
				variablesReference: regs.variablesReference,
			})) as DebugProtocol.VariablesResponse['body'];
			return vs.variables.map((v) => ({ kind: 'var', st, v, generation }));
		} catch (e) {
			return [{ kind: 'note', label: `registers: ${(e as Error).message}` }];
		}
	}

	private async variables(st: SessionLwps, v: DebugProtocol.Variable, generation: number): Promise<Node[]> {
		if (st.running || st.generation !== generation) return [{ kind: 'note', label: 'Running: registers are read when stopped' }];
		try {
			const vs = (await st.session.customRequest('variables', {
				variablesReference: v.variablesReference,
			})) as DebugProtocol.VariablesResponse['body'];
			return vs.variables.map((x) => ({ kind: 'var', st, v: x, generation }));
		} catch (e) {
			return [{ kind: 'note', label: (e as Error).message }];
		}
	}

	getTreeItem(n: Node): vscode.TreeItem {
		switch (n.kind) {
			case 'lwp': {
				const r = n.row;
				const warn = nearOverflow(r, threshold());
				const u = stackUsage(r);
				const it = new vscode.TreeItem(
					r.dead ? `✝ ${r.tid} ${r.name}` : r.frozen ? `❄ ${r.tid} ${r.name}` : `${r.tid} ${r.name}`,
					vscode.TreeItemCollapsibleState.Collapsed,
				);
				const fn = n.st.functions.get(r.tid);
				const stack = r.stack ? `${r.stack.low}–${r.stack.high}` : 'no stack';
				it.description = `${r.frozen ? 'frozen · ' : ''}${stateText(r)}${fn ? ` · ${fn}` : ''} · ${stack}${u && u.spInStack ? ` · ${u.percent}% used` : ''}${warn ? ' · NEAR OVERFLOW' : ''}`;
				it.iconPath = r.dead
					? new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground'))
					: new vscode.ThemeIcon(
							warn ? 'warning' : r.isMain ? 'star-full' : 'debug-thread',
							warn ? new vscode.ThemeColor('list.warningForeground') : undefined,
						);
				const md = new vscode.MarkdownString(undefined, true);
				md.appendMarkdown(
					r.dead
						? `**Dead thread** \`${r.name}\`, tid ${r.tid} in the parent: it did not survive the fork; its stack and locks are still in this process's memory\n\n`
						: `**LWP ${r.tid}** \`${r.name}\`${r.isMain ? ' (main thread)' : ''}${r.frozen ? ' — **frozen** (stays stopped while the others run; Thaw Thread)' : ''}\n\n`,
				);
				md.appendMarkdown(
					`| | |\n|---|---|\n| pthread_t | \`${r.pthread ?? '—'}\` |\n| state | ${r.state} (${r.stateName}) |\n` +
						`| pc | \`${r.pc}\`${fn ? ` ${fn.replace(/[|]/g, '\\|')}` : ''} |\n| sp | \`${r.sp}\` |\n` +
						`| stack | \`${stack}\`${u ? ` (${formatBytes(u.size)}, guard ${formatBytes(u.guard)})` : ''} |\n` +
						`| used | ${u && u.spInStack ? `${formatBytes(u.used)} (${u.percent}%)` : '—'} |\n| TLS base | \`${r.fsBase ?? '—'}\` |\n`,
				);
				it.tooltip = md;
				it.contextValue = r.dead ? 'lwp.dead' : `lwp${warn ? '.nearOverflow' : ''}${r.frozen ? '.frozen' : ''}`;
				it.id = `${n.st.session.id}/${r.tid}`;
				return it;
			}
			case 'fact': {
				const it = new vscode.TreeItem(n.label, vscode.TreeItemCollapsibleState.None);
				it.description = n.value;
				it.tooltip = n.tooltip ?? `${n.label}: ${n.value}`;
				if (n.icon) it.iconPath = new vscode.ThemeIcon(n.icon);
				return it;
			}
			case 'regs': {
				const it = new vscode.TreeItem('Registers', vscode.TreeItemCollapsibleState.Collapsed);
				it.iconPath = new vscode.ThemeIcon('symbol-variable');
				return it;
			}
			case 'var': {
				const it = new vscode.TreeItem(
					n.v.name,
					n.v.variablesReference ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
				);
				it.description = n.v.value;
				it.tooltip = `${n.v.name} = ${n.v.value}${n.v.type ? ` (${n.v.type})` : ''}`;
				return it;
			}
			case 'note':
				return new vscode.TreeItem(n.label, vscode.TreeItemCollapsibleState.None);
		}
	}

	/**
	 * "Freeze Threads" / "Thaw Threads" on the view's selection (canSelectMany: VS Code passes the
	 * clicked row and every selected row): customRequest('freezeThread') per LWP; the adapter
	 * answers with every frozen tid and sends 'lwpsChanged', which redraws the rows (❄, "frozen").
	 */
	async freeze(frozen: boolean, clicked?: Node, selected?: readonly Node[]): Promise<number[] | undefined> {
		const rows = (selected && selected.length ? selected : clicked ? [clicked] : (this.view?.selection ?? [])).filter(
			(x): x is Extract<Node, { kind: 'lwp' }> => x.kind === 'lwp' && !x.row.dead,
		);
		if (rows.length === 0) {
			void vscode.window.showWarningMessage('Forkall: select one or more threads in the Forkall: LWPs view first.');
			return undefined;
		}
		let now: number[] | undefined;
		for (const x of rows) {
			try {
				const r = (await x.st.session.customRequest('freezeThread', { threadId: x.row.tid, frozen })) as { frozen: number[] };
				now = r.frozen;
			} catch (e) {
				void vscode.window.showErrorMessage(`Forkall: ${frozen ? 'freeze' : 'thaw'} thread ${x.row.tid}: ${(e as Error).message}`);
				return undefined;
			}
		}
		return now;
	}

	dispose(): void {
		for (const s of this.subs) s.dispose();
		this.emitter.dispose();
	}
}
