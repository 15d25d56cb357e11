/*
 * "Forkall: Show Memory": a hex + ASCII view of debuggee memory, read with
 * DAP readMemory through the session (so our breakpoint bytes never show).
 * For code-server and any VS Code without the Hex Editor extension, which
 * "View Binary Data" needs. Opened from the command palette (an address),
 * the Variables view (a variable's memory reference), the LWP view (a
 * thread's stack from SP). Previous/next page, refresh at every stop.
 * Strict CSP with a nonce; no remote content.
 */
import * as vscode from 'vscode';
import { openPanel } from './webviewPage';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { dumpRows, parseAddress, type MemoryDump } from './memoryModel';

const PAGE = 512;

const MEMORY_BODY = `<header>
<h1 id="title">Memory</h1><span id="summary"></span>
<form id="goto"><input id="address" placeholder="0x7ffc9e1c2a10" spellcheck="false" aria-label="address"><button type="submit">Go</button></form>
<button id="prev" title="Previous page">◀</button><button id="next" title="Next page">▶</button><button id="refresh" title="Read again">Refresh</button>
</header>
<div id="error"></div>
<table id="dump"><tbody></tbody></table>`;

export class MemoryPanel implements vscode.Disposable {
	private panel: vscode.WebviewPanel | undefined;
	private readonly subs: vscode.Disposable[] = [];
	private session: vscode.DebugSession | undefined;
	private start = 0n;
	private count = PAGE;
	private title = '';
	private last: MemoryDump | null = null;
	private error: string | null = null;

	constructor(private readonly extensionUri: vscode.Uri) {
		this.subs.push(
			vscode.debug.onDidTerminateDebugSession((s) => {
				if (s === this.session) {
					this.session = undefined;
					this.error = 'the debug session ended';
					this.post();
				}
			}),
		);
	}

	/** Show count bytes from start in session; what the view then shows (for tests). */
	async show(session: vscode.DebugSession, start: bigint, count = PAGE, title?: string): Promise<MemoryDump | null> {
		this.session = session;
		this.start = start;
		this.count = Math.max(1, Math.min(count, 64 * 1024));
		this.title = title ?? `0x${start.toString(16)}`;
		this.open();
		await this.read();
		return this.last;
	}

	/** Read again (after a stop, or the Refresh button). */
	async refresh(): Promise<void> {
		if (this.panel && this.session) await this.read();
	}

	get current(): MemoryDump | null {
		return this.last;
	}

	private open(): void {
		if (this.panel) {
			this.panel.reveal(undefined, true);
			return;
		}
		this.panel = openPanel(
			this.extensionUri,
			{ viewType: 'forkall.memory', title: 'Forkall: Memory', asset: 'memoryView', body: MEMORY_BODY },
			this.subs,
			(m: { type?: string; address?: string }) => {
				if (m?.type === 'ready') this.post();
				if (m?.type === 'refresh') void this.read();
				if (m?.type === 'prev' || m?.type === 'next') {
					const delta = BigInt(this.count);
					this.start = m.type === 'prev' ? (this.start > delta ? this.start - delta : 0n) : this.start + delta;
					this.title = `0x${this.start.toString(16)}`;
					void this.read();
				}
				if (m?.type === 'goto' && typeof m.address === 'string') {
					const a = parseAddress(m.address);
					if (a === null) {
						this.error = `not an address: ${m.address}`;
						this.post();
					} else {
						this.start = a;
						this.title = `0x${a.toString(16)}`;
						void this.read();
					}
				}
			},
			() => {
				this.panel = undefined;
			},
		);
	}

	private async read(): Promise<void> {
		const s = this.session;
		if (!s) return;
		try {
			const r = (await s.customRequest('readMemory', {
				memoryReference: `0x${this.start.toString(16)}`,
				offset: 0,
				count: this.count,
			})) as DebugProtocol.ReadMemoryResponse['body'];
			const address = r?.address ? BigInt(r.address) : this.start;
			const data = r?.data ? Buffer.from(r.data, 'base64') : Buffer.alloc(0);
			this.last = dumpRows(this.start, this.count, address, data);
			this.error = null;
		} catch (e) {
			this.error = (e as Error).message;
		}
		this.post();
	}

	private post(): void {
		void this.panel?.webview.postMessage({
			type: 'memory',
			title: this.title,
			session: this.session?.name ?? null,
			dump: this.last,
			error: this.error,
		});
	}

	dispose(): void {
		this.panel?.dispose();
		for (const s of this.subs) s.dispose();
	}
}
