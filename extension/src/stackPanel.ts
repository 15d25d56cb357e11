/*
 * "Forkall: Show LWP View": a webview drawing every thread's stack as a bar
 * (guard page, free part, used part, SP marker), flagging threads near
 * overflow and showing the parent -> child tid map after a fork. Assets in
 * media/; strict CSP with a nonce; no remote content.
 */
import * as vscode from 'vscode';
import { openPanel } from './webviewPage';
import { stackPicture, type StackPicture } from './lwpModel';
import type { LwpStore, SessionLwps } from './lwpStore';

const STACK_BODY = `<header id="head"><h1 id="title">No Forkall session</h1><span id="summary"></span></header>
<section id="legend"></section>
<main id="bars"></main>
<section id="fork"></section>`;

export class StackPanel implements vscode.Disposable {
	private panel: vscode.WebviewPanel | undefined;
	private readonly subs: vscode.Disposable[] = [];
	private last: StackPicture | null = null;

	constructor(
		private readonly extensionUri: vscode.Uri,
		private readonly store: LwpStore,
	) {
		this.subs.push(store.onDidChange(() => this.update()));
	}

	show(): void {
		if (this.panel) {
			this.panel.reveal(undefined, true);
			this.update();
			return;
		}
		this.panel = openPanel(
			this.extensionUri,
			{ viewType: 'forkall.stacks', title: 'Forkall: LWP Stacks', asset: 'stackView', body: STACK_BODY, icon: 'stacks.svg' },
			this.subs,
			(m: { type?: string }) => {
				if (m?.type === 'ready') this.post();
				if (m?.type === 'refresh') {
					const st = this.store.focused();
					if (st) void this.store.refresh(st);
				}
			},
			() => {
				this.panel = undefined;
			},
		);
		const st = this.store.focused();
		if (st && !st.table && !st.running) void this.store.refresh(st);
		this.update();
	}

	private picture(st: SessionLwps | undefined): StackPicture | null {
		if (!st || !st.table) return null;
		const threshold = vscode.workspace.getConfiguration('forkall').get<number>('lwps.overflowWarnPercent', 80);
		const parentFork = st.forks[st.forks.length - 1];
		const fork = st.forkedFrom
			? { map: st.forkedFrom, side: 'child' as const }
			: parentFork
				? { map: parentFork, side: 'parent' as const }
				: null;
		return stackPicture(st.session.name, st.table, {
			reason: st.reason,
			running: st.running,
			functions: st.functions,
			threshold,
			fork,
		});
	}

	private update(): void {
		if (!this.panel) return;
		this.last = this.picture(this.store.focused());
		this.post();
	}

	private post(): void {
		void this.panel?.webview.postMessage({ type: 'picture', picture: this.last });
	}

	/** What the panel currently shows (for tests and the command's return value). */
	get current(): StackPicture | null {
		return this.last;
	}

	dispose(): void {
		this.panel?.dispose();
		for (const s of this.subs) s.dispose();
	}
}
