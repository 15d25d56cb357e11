/*
 * The debug adapter as a separate process: `forkall dap --pipe=SOCKET`,
 * a Unix socket in a private (0700) directory. One per
 * window, shared by every Forkall session of the window, so a forked child's
 * session (startDebugging reverse request) lands on the tracer that already
 * holds the child. Native code runs only there: a crash in it ends the
 * adapter, never the extension host. Restarted on the next session if it
 * died. No `vscode` import: usable from tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface AdapterLayout {
	/** The node executable: process.execPath (Electron in desktop VS Code, node in code-server). */
	node: string;
	/** JS entry: dist/adapter.js in the packaged extension. */
	entry: string;
	/** libforkall.so, passed as FORKALL_NATIVE_LIB. */
	nativeLib: string;
}

/** Where the runtime pieces are inside an extension (or repository) folder. */
export function adapterLayout(extensionPath: string): AdapterLayout {
	const bundled = path.join(extensionPath, 'dist', 'adapter.js');
	// Development (the repository with `tsc` output, no bundle yet).
	const compiled = path.join(extensionPath, 'out', 'extension', 'src', 'adapterEntry.js');
	return {
		node: process.env.FORKALL_ADAPTER_NODE || process.execPath,
		entry: fs.existsSync(bundled) || !fs.existsSync(compiled) ? bundled : compiled,
		nativeLib: path.join(extensionPath, 'native', 'build', 'libforkall.so'),
	};
}

export interface AdapterEvents {
	/** Raw output of the adapter process. */
	output(stream: 'stdout' | 'stderr', text: string): void;
	/** The process ended; `expected` is true after stop(). */
	exit(code: number | null, signal: NodeJS.Signals | null, expected: boolean): void;
	/** A lifecycle line for the log. */
	info(msg: string): void;
}

/** Environment for the adapter: Node mode for Electron, the native library, the log level. */
export function adapterEnv(layout: AdapterLayout, logLevel: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = { ...base, ELECTRON_RUN_AS_NODE: '1', FORKALL_LOG_LEVEL: logLevel, FORKALL_WATCH_STDIN: '1' };
	if (!base.FORKALL_NATIVE_LIB) env.FORKALL_NATIVE_LIB = layout.nativeLib;
	// Options of the extension host's own node (inspector, loaders) must not leak into the adapter.
	delete env.NODE_OPTIONS;
	delete env.VSCODE_INSPECTOR_OPTIONS;
	return env;
}

const LISTENING = /listening on pipe (\S+)/;

export class AdapterProcess {
	private proc: ChildProcess | null = null;
	private starting: Promise<string> | null = null;
	/** the Unix socket of the running adapter */
	private pipe: string | null = null;
	/** a private (0700) directory for the socket */
	private dir: string | null = null;
	private stopping = false;
	private starts = 0;

	constructor(
		private readonly layout: AdapterLayout,
		private readonly events: AdapterEvents,
		private readonly logLevel: () => string = () => 'info',
	) {}

	get pid(): number | undefined {
		return this.proc?.pid;
	}

	get running(): boolean {
		return this.proc !== null && this.pipe !== null;
	}

	/** The socket path of a running adapter, starting (or restarting) it if needed. */
	ensure(): Promise<string> {
		if (this.proc && this.pipe !== null) return Promise.resolve(this.pipe);
		if (!this.starting) {
			this.starting = this.start().finally(() => {
				this.starting = null;
			});
		}
		return this.starting;
	}

	private start(): Promise<string> {
		const { node, entry, nativeLib } = this.layout;
		if (!fs.existsSync(entry)) {
			return Promise.reject(new Error(`the Forkall adapter is missing: ${entry} (rebuild or reinstall the extension)`));
		}
		if (!fs.existsSync(nativeLib) && !process.env.FORKALL_NATIVE_LIB) {
			return Promise.reject(new Error(`libforkall.so is missing: ${nativeLib} (rebuild or reinstall the extension)`));
		}
		this.stopping = false;
		this.starts++;
		// A Unix socket only this user can reach (a 127.0.0.1 port would let
		// any local user launch programs as us through the adapter).
		this.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'forkall-'));
		const sock = path.join(this.dir, `dap-${this.starts}.sock`);
		const args = [entry, 'dap', `--pipe=${sock}`];
		this.events.info(`starting adapter #${this.starts}: ${node} ${args.join(' ')}`);
		const proc = spawn(node, args, {
			// stdin stays open: the adapter exits when it closes (see adapterEntry.ts).
			stdio: ['pipe', 'pipe', 'pipe'],
			env: adapterEnv(this.layout, this.logLevel()),
			cwd: path.dirname(entry),
		});
		this.proc = proc;
		return new Promise<string>((resolve, reject) => {
			let settled = false;
			let buf = '';
			const timer = setTimeout(() => {
				if (settled) return;
				settled = true;
				reject(new Error('the Forkall adapter did not report its socket within 15 s'));
				this.kill(proc);
			}, 15000);
			proc.stdout!.setEncoding('utf8');
			proc.stderr!.setEncoding('utf8');
			proc.stdout!.on('data', (s: string) => {
				this.events.output('stdout', s);
				if (settled) return;
				buf += s;
				const m = LISTENING.exec(buf);
				if (m) {
					settled = true;
					clearTimeout(timer);
					this.pipe = m[1];
					this.events.info(`adapter pid ${proc.pid} listening on ${m[1]}`);
					resolve(m[1]);
				}
			});
			proc.stderr!.on('data', (s: string) => this.events.output('stderr', s));
			proc.on('error', (e) => {
				if (!settled) {
					settled = true;
					clearTimeout(timer);
					reject(new Error(`cannot start the Forkall adapter (${node}): ${e.message}`));
				}
			});
			proc.on('exit', (code, signal) => {
				if (this.proc === proc) {
					this.proc = null;
					this.pipe = null;
				}
				fs.rmSync(sock, { force: true });
				const expected = this.stopping;
				this.events.info(`adapter pid ${proc.pid} exited (${signal ?? `code ${code}`})${expected ? '' : ' unexpectedly'}`);
				this.events.exit(code, signal, expected);
				if (!settled) {
					settled = true;
					clearTimeout(timer);
					reject(new Error(`the Forkall adapter exited before listening (${signal ?? `code ${code}`}); see the Forkall output`));
				}
			});
		});
	}

	private kill(proc: ChildProcess): void {
		if (proc.exitCode !== null || proc.signalCode !== null) return;
		proc.kill('SIGTERM');
		const t = setTimeout(() => {
			if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
		}, 3000);
		t.unref();
		proc.once('exit', () => clearTimeout(t));
	}

	/** Stop the adapter (SIGTERM: it detaches from or kills its debuggees, then exits). */
	stop(): Promise<void> {
		const proc = this.proc;
		const dir = this.dir;
		this.dir = null;
		const cleanup = () => {
			if (dir) fs.rmSync(dir, { recursive: true, force: true });
		};
		if (!proc) {
			cleanup();
			return Promise.resolve();
		}
		this.stopping = true;
		return new Promise((resolve) => {
			proc.once('exit', () => {
				cleanup();
				resolve();
			});
			this.kill(proc);
		});
	}
}
