/*
 * DebugAdapterDescriptorFactory: every Forkall session of this window talks
 * to the same adapter process over its Unix socket (DebugAdapterNamedPipeServer), so the
 * forked child's session reaches the tracer that holds the child.
 */
import * as vscode from 'vscode';
import { AdapterProcess, adapterLayout } from './adapterProcess';
import type { Log } from './logging';

export class AdapterFactory implements vscode.DebugAdapterDescriptorFactory, vscode.Disposable {
	readonly adapter: AdapterProcess;
	private readonly live = new Set<string>();

	constructor(
		extensionPath: string,
		private readonly log: Log,
	) {
		this.adapter = new AdapterProcess(
			adapterLayout(extensionPath),
			{
				output: (stream, text) => log.adapterOutput(stream, text),
				info: (msg) => log.info('adapter', msg),
				exit: (code, signal, expected) => {
					if (!expected && this.live.size > 0) {
						void log.showError(
							`The Forkall debug adapter exited unexpectedly (${signal ?? `exit code ${code}`}); ` +
								'its sessions ended. It restarts with the next session.',
						);
					}
				},
			},
			() => log.currentLevel,
		);
	}

	/** Sessions currently connected (for the crash message). */
	sessionStarted(s: vscode.DebugSession): void {
		this.live.add(s.id);
	}

	sessionEnded(s: vscode.DebugSession): void {
		this.live.delete(s.id);
	}

	async createDebugAdapterDescriptor(session: vscode.DebugSession): Promise<vscode.DebugAdapterDescriptor> {
		let pipe: string;
		try {
			pipe = await this.adapter.ensure();
		} catch (e) {
			const msg = e instanceof Error ? e.message : String(e);
			this.log.error('adapter', msg);
			this.log.channel.show(true);
			throw new Error(msg);
		}
		this.log.info(
			'session',
			`"${session.name}" (${session.configuration.request}) -> ${pipe}` +
				`${session.parentSession ? ` (child of "${session.parentSession.name}")` : ''}`,
		);
		return new vscode.DebugAdapterNamedPipeServer(pipe);
	}

	dispose(): void {
		void this.adapter.stop();
	}
}
