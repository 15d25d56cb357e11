/*
 * One output channel ("Forkall") for the extension and the adapter process,
 * with the level from forkall.adapter.logLevel.
 */
import * as vscode from 'vscode';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** A message the extension showed to the user (kept for the extension-host tests: ForkallApi.messages). */
export interface ShownMessage {
	severity: 'error' | 'warning' | 'info';
	text: string;
}
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

export class Log implements vscode.Disposable {
	readonly channel: vscode.OutputChannel;
	private level: LogLevel = 'info';
	private readonly sub: vscode.Disposable;
	/** The last 50 messages shown to the user, oldest first. */
	readonly shown: ShownMessage[] = [];

	constructor() {
		this.channel = vscode.window.createOutputChannel('Forkall');
		this.readLevel();
		this.sub = vscode.workspace.onDidChangeConfiguration((e) => {
			if (e.affectsConfiguration('forkall.adapter.logLevel')) this.readLevel();
		});
	}

	get currentLevel(): LogLevel {
		return this.level;
	}

	private readLevel(): void {
		const v = vscode.workspace.getConfiguration('forkall').get<string>('adapter.logLevel', 'info');
		this.level = (v in RANK ? v : 'info') as LogLevel;
	}

	enabled(level: LogLevel): boolean {
		return RANK[level] <= RANK[this.level];
	}

	private write(level: LogLevel, tag: string, msg: string): void {
		if (!this.enabled(level)) return;
		const t = new Date().toISOString().slice(11, 23);
		this.channel.appendLine(`${t} [${level}] ${tag}: ${msg}`);
	}

	error(tag: string, msg: string): void {
		this.write('error', tag, msg);
	}
	warn(tag: string, msg: string): void {
		this.write('warn', tag, msg);
	}
	info(tag: string, msg: string): void {
		this.write('info', tag, msg);
	}
	debug(tag: string, msg: string): void {
		this.write('debug', tag, msg);
	}
	trace(tag: string, msg: string): void {
		this.write('trace', tag, msg);
	}

	/** Raw lines from the adapter process (stdout/stderr): always shown. */
	adapterOutput(stream: 'stdout' | 'stderr', text: string): void {
		for (const line of text.split('\n')) {
			if (line.trim() !== '') this.channel.appendLine(`[adapter ${stream}] ${line}`);
		}
	}

	private remember(severity: ShownMessage['severity'], text: string): void {
		this.shown.push({ severity, text });
		if (this.shown.length > 50) this.shown.shift();
	}

	/** An information or warning message (logged and remembered). */
	showInfo(message: string): void {
		this.info('ui', message);
		this.remember('info', message);
		void vscode.window.showInformationMessage(message);
	}

	showWarning(message: string): void {
		this.warn('ui', message);
		this.remember('warning', message);
		void vscode.window.showWarningMessage(message);
	}

	/** An error message with a "Show Log" button. */
	async showError(message: string): Promise<void> {
		this.error('ui', message);
		this.remember('error', message);
		const pick = await vscode.window.showErrorMessage(message, 'Show Log');
		if (pick === 'Show Log') this.channel.show(true);
	}

	dispose(): void {
		this.sub.dispose();
		this.channel.dispose();
	}
}
