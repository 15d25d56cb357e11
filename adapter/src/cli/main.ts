/*
 * forkall command line: threads, registers and the multithreaded fork of a
 * running process.
 *
 * Exit status: 0 ok; 1 failure, with ONE line "forkall: <message>" on
 * stderr; 2 usage error, with the help text on stderr.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NativeLoadError } from '../engine/native';
import { ProtocolError } from '../engine/protocol';
import { TracerError } from '../engine/errors';
import { Tracer } from '../engine/tracer';
import { Process } from '../model/process';
import { regsJson, renderForkText, renderRegsText, renderThreadsText, threadsJson } from './render';

export const USAGE = `Usage:
  forkall threads <pid> [--json]      list the threads (LWPs) of a running process
  forkall regs <pid> <tid> [--json]   show all registers of one thread
  forkall fork <pid> [options]        fork the process with ALL its threads
      --stopped          leave the child group-stopped and detached (for another tool)
      --same-tids        the child keeps the parent's pid and tids, in a new PID
                         namespace (needs CAP_SYS_ADMIN; mutexes held across the
                         fork stay unlockable)
      --no-copy-dontfork do not copy MADV_DONTFORK memory into the child (copied by
                         default: Node.js/V8 keep their heap there)
      --json             machine-readable result
  forkall checkpoint <pid> [--json]   save a checkpoint: a stopped copy of the process that holds
                                      one thread plus the saved state of every thread (in its own
                                      memory); the process runs on. Prints the checkpoint's pid
  forkall restore <checkpoint> [--same-tids] [--json]
                                      a new running process from a checkpoint, every thread
                                      recreated; the checkpoint stays stopped (restore it again);
                                      --same-tids: with the pid and tids of the save, in a new
                                      PID namespace (needs CAP_SYS_ADMIN)
  forkall dap [--pipe=PATH]           Debug Adapter Protocol server on stdin/stdout, or, with
                                      --pipe, for several sessions on a Unix socket (mode 0600)
                                      only this user can open (what VS Code uses)
  forkall dap --server=PORT --insecure-tcp [--host=ADDR]
                                      the same on TCP 127.0.0.1:PORT (0: any free port). UNSAFE:
                                      any local user who can reach the port can launch programs
                                      as you, so it is refused without --insecure-tcp.
                                      --host=ADDR binds to ADDR instead of 127.0.0.1 (0.0.0.0:
                                      every interface: anyone on the network can)
  forkall --help                      show this help
  forkall --version                   show the versions of forkall and libforkall

The process is paused only for the time needed to read it, then resumed.
Tracing needs the same user (or CAP_SYS_PTRACE) and a Yama ptrace_scope
that allows attaching (see /proc/sys/kernel/yama/ptrace_scope).

Exit status: 0 success, 1 failure (one line on stderr), 2 usage error.
`;

export interface Io {
	out(s: string): void;
	err(s: string): void;
}

const stdio: Io = {
	out: (s) => process.stdout.write(s),
	err: (s) => process.stderr.write(s),
};

class UsageError extends Error {}

interface Parsed {
	command: string | null;
	positionals: string[];
	json: boolean;
	stopped: boolean;
	sameTids: boolean;
	copyDontfork: boolean;
	help: boolean;
	version: boolean;
}

function parseArgs(argv: readonly string[]): Parsed {
	const p: Parsed = {
		command: null,
		positionals: [],
		json: false,
		help: false,
		version: false,
		stopped: false,
		sameTids: false,
		copyDontfork: true,
	};
	const forkOnly: string[] = [];
	for (const a of argv) {
		if (a === '--json') {
			p.json = true;
		} else if (a === '--stopped') {
			p.stopped = true;
			forkOnly.push(a);
		} else if (a === '--same-tids') {
			p.sameTids = true;
			forkOnly.push(a);
		} else if (a === '--no-copy-dontfork' || a === '--copy-dontfork') {
			p.copyDontfork = a === '--copy-dontfork';
			forkOnly.push(a);
		} else if (a === '--help' || a === '-h') {
			p.help = true;
		} else if (a === '--version' || a === '-V') {
			p.version = true;
		} else if (a.startsWith('-') && !/^-\d+$/.test(a)) {
			throw new UsageError(`unknown option ${a}`);
		} else if (p.command === null) {
			p.command = a;
		} else {
			p.positionals.push(a);
		}
	}
	const misplaced = forkOnly.filter((o) => !(p.command === 'restore' && o === '--same-tids'));
	if (misplaced.length && p.command !== 'fork' && !p.help) {
		throw new UsageError(
			`option ${misplaced[0]} is only for "forkall fork"${misplaced[0] === '--same-tids' ? ' and "forkall restore"' : ''}`,
		);
	}
	return p;
}

/** A pid or tid: a positive decimal integer that fits pid_t. */
export function parseId(s: string | undefined, what: string): number {
	if (s === undefined) {
		throw new UsageError(`missing <${what}>`);
	}
	if (!/^[1-9][0-9]*$/.test(s) || Number(s) > 0x7fffffff) {
		throw new UsageError(`<${what}> must be a positive integer, got ${JSON.stringify(s)}`);
	}
	return Number(s);
}

function expectCount(p: Parsed, n: number): void {
	if (p.positionals.length > n) {
		throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[n])}`);
	}
}

export function packageVersion(): string {
	for (const rel of ['../../../../package.json', '../../../package.json']) {
		try {
			const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, rel), 'utf8')) as { name?: string; version?: string };
			if (pkg.name === 'forkall' && pkg.version) {
				return pkg.version;
			}
		} catch {
			// try the next layout
		}
	}
	return 'unknown';
}

function versionLine(): string {
	let native: string;
	try {
		native = Tracer.nativeVersion();
	} catch (e) {
		native = e instanceof NativeLoadError ? 'not built' : 'unavailable';
	}
	return `forkall ${packageVersion()} (libforkall ${native})\n`;
}

/* The tracer of the command in progress (see onTerminate). */
let activeTracer: Tracer | null = null;
let terminating: number | null = null;

async function withTracer<T>(fn: (t: Tracer) => Promise<T>): Promise<T> {
	const tracer = Tracer.open();
	activeTracer = tracer;
	try {
		return await fn(tracer);
	} finally {
		activeTracer = null;
		await tracer.close().catch(() => undefined);
	}
}

/* First Ctrl-C/SIGTERM: the operation in flight completes (or rolls back)
 * and its result is printed — a forked child is never left unreported —
 * then we exit with 128+sig. A second one cancels it: a fork is rolled
 * back at its next step (child killed, parent restored) and the answer
 * says so. A third closes the tracer at once (which still finishes the
 * native step and releases every thread) and exits. */
let cancelled = false;
function onTerminate(sig: NodeJS.Signals): void {
	const code = 128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1);
	const t = activeTracer;
	if (!t) {
		process.exit(code);
	}
	if (terminating === null) {
		terminating = code;
		process.stderr.write(`forkall: ${sig}: finishing the operation in progress (again to cancel it)\n`);
		return;
	}
	if (!cancelled) {
		cancelled = true;
		process.stderr.write(`forkall: ${sig}: cancelling: a fork is rolled back (again to quit at once)\n`);
		t.cancel();
		return;
	}
	void t
		.close()
		.catch(() => undefined)
		.finally(() => process.exit(code));
}

/** One line: the native message already names the cause. */
export function errorLine(e: unknown): string {
	let msg: string;
	if (e instanceof TracerError || e instanceof NativeLoadError) {
		msg = e.message;
	} else if (e instanceof ProtocolError) {
		msg = `internal error: ${e.message}`;
	} else if (e instanceof Error) {
		msg = e.message;
	} else {
		msg = String(e);
	}
	return `forkall: ${msg.replace(/\s*\n\s*/g, '; ').trim()}\n`;
}

/** Run the CLI; returns the exit status. */
export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
	let p: Parsed;
	if (argv[0] === 'dap') {
		return runDap(argv.slice(1), io);
	}
	try {
		p = parseArgs(argv);
		if (p.help) {
			io.out(USAGE);
			return 0;
		}
		if (p.version) {
			io.out(versionLine());
			return 0;
		}
		if (p.command === null) {
			throw new UsageError('missing command');
		}
		switch (p.command) {
			case 'threads': {
				const pid = parseId(p.positionals[0], 'pid');
				expectCount(p, 1);
				return await run(io, async () => {
					const snap = await withTracer((t) => new Process(t, pid).threads());
					io.out(p.json ? `${JSON.stringify(threadsJson(snap))}\n` : renderThreadsText(snap));
				});
			}
			case 'regs': {
				const pid = parseId(p.positionals[0], 'pid');
				const tid = parseId(p.positionals[1], 'tid');
				expectCount(p, 2);
				return await run(io, async () => {
					const regs = await withTracer((t) => new Process(t, pid).registers(tid));
					io.out(p.json ? `${JSON.stringify(regsJson(regs))}\n` : renderRegsText(regs));
				});
			}
			case 'fork': {
				const pid = parseId(p.positionals[0], 'pid');
				expectCount(p, 1);
				return await run(io, async () => {
					const res = await withTracer((t) =>
						new Process(t, pid).fork({
							mode: p.stopped ? 'stopped' : 'run',
							copyDontfork: p.copyDontfork,
							sameTids: p.sameTids,
						}),
					);
					io.out(p.json ? `${JSON.stringify(res)}\n` : renderForkText(res));
				});
			}
			case 'checkpoint': {
				const pid = parseId(p.positionals[0], 'pid');
				expectCount(p, 1);
				return await run(io, async () => {
					const b = await withTracer((t) => t.request('checkpoint', { pid, keep: true }));
					if (p.json) io.out(`${JSON.stringify(b)}\n`);
					else {
						io.out(
							`checkpoint of ${b.pid}: process ${b.checkpoint} (stopped), ${b.threads} thread${b.threads === 1 ? '' : 's'} saved ` +
								`(${b.pendingSignals} pending signals, ${b.timers} POSIX timers, ${b.itimers} interval timers) in ${(b.us / 1000).toFixed(1)} ms; ` +
								`process ${b.pid} paused ${(b.pauseUs / 1000).toFixed(1)} ms\n` +
								`restore it with: forkall restore ${b.checkpoint}   (remove it with: kill -9 ${b.checkpoint})\n`,
						);
						for (const w of b.warnings) io.out(`warning: ${w}\n`);
					}
				});
			}
			case 'restore': {
				const checkpoint = parseId(p.positionals[0], 'checkpoint');
				expectCount(p, 1);
				return await run(io, async () => {
					const b = await withTracer((t) => t.request('restore', { checkpoint, run: true, sameTids: p.sameTids }));
					if (p.json) io.out(`${JSON.stringify(b)}\n`);
					else {
						io.out(
							`restored checkpoint ${b.checkpoint}: process ${b.pid} (running), ${b.threads.length} thread${b.threads.length === 1 ? '' : 's'} ` +
								`recreated in ${(b.us / 1000).toFixed(1)} ms\n`,
						);
						if (b.sameTids) io.out(`  (same tids: in its own PID namespace, numbers outside -> inside)\n`);
						for (const t of b.threads) io.out(b.sameTids ? `  ${t.tid} -> ${t.savedTid}\n` : `  ${t.savedTid} -> ${t.tid}\n`);
						for (const w of b.warnings) io.out(`warning: ${w}\n`);
					}
				});
			}
			default:
				throw new UsageError(`unknown command ${JSON.stringify(p.command)}`);
		}
	} catch (e) {
		if (e instanceof UsageError) {
			io.err(`forkall: ${e.message}\n\n${USAGE}`);
			return 2;
		}
		io.err(errorLine(e));
		return 1;
	}
}

/** `forkall dap`: stdio serves until the client disconnects (then exits); --server until killed. */
async function runDap(args: readonly string[], io: Io): Promise<number> {
	// Loaded only here: the DAP stack (with iced-x86's WASM) would add ~100 ms
	// to every `forkall threads`.
	const { parseDapArgs, runServer, runStdio } = await import('../dap/server');
	let o;
	try {
		o = parseDapArgs(args);
	} catch (e) {
		io.err(`forkall: ${(e as Error).message}\n\n${USAGE}`);
		return 2;
	}
	if (o.port === undefined && o.pipe === undefined) {
		runStdio();
	} else {
		try {
			await runServer(o);
		} catch (e) {
			io.err(errorLine(e));
			return 1;
		}
	}
	return new Promise<number>(() => undefined); // runs until the session/server ends the process
}

async function run(io: Io, fn: () => Promise<void>): Promise<number> {
	try {
		await fn();
		return 0;
	} catch (e) {
		io.err(errorLine(e));
		return 1;
	}
}

/** Entry point of bin/forkall. */
export function cli(): void {
	const argv = process.argv.slice(2);
	// `dap` has its own shutdown (../dap/server.ts): onTerminate would exit at
	// once (no CLI command in flight), leaving breakpoints in the debuggees.
	if (argv[0] !== 'dap') {
		for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
			process.on(sig, onTerminate);
		}
	}
	// `forkall threads P | head` closes the pipe early: not an error.
	process.stdout.on('error', (e: NodeJS.ErrnoException) => {
		if (e.code === 'EPIPE') {
			process.exit(process.exitCode ?? 0);
		}
		throw e;
	});
	main(argv).then(
		(code) => {
			process.exitCode = terminating ?? code;
		},
		(e: unknown) => {
			process.stderr.write(errorLine(e));
			process.exitCode = 1;
		},
	);
}

if (require.main === module) {
	cli();
}
