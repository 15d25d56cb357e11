/*
 * `forkall dap`: the debug adapter over stdin/stdout (one session), or
 * `forkall dap --server=PORT` / `--pipe=PATH` (any number of sessions in
 * this one process, sharing one tracer: a forked child kept traced becomes
 * a child session through the startDebugging reverse request).
 *
 * --pipe is what the VS Code extension uses: a Unix socket (mode 0600, in a
 * 0700 directory of the caller's) that only its user can connect to. A TCP
 * port is open to every local user (and, off loopback, to the network), and
 * whoever connects can launch programs as us: TCP is refused unless
 * --insecure-tcp says the caller accepts that, and binds to 127.0.0.1
 * unless --host names another address.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { DebugHost } from '../model';
import { ForkallSession } from './session';

export interface DapOptions {
	/** undefined (and no pipe): stdio. 0: any free port (printed on stdout). */
	port?: number;
	host?: string;
	/** a Unix socket path to listen on instead of a port */
	pipe?: string;
	/** --insecure-tcp: the caller accepts that any local user can use a TCP port */
	insecureTcp?: boolean;
}

const TCP_RISK = 'any local user who can reach the port can launch programs as you through it';

function isLoopback(host: string): boolean {
	return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Parse `dap` arguments: [--server=PORT --insecure-tcp [--host=ADDR] | --pipe=PATH]. Throws on others. */
export function parseDapArgs(args: readonly string[]): DapOptions {
	const o: DapOptions = {};
	for (const a of args) {
		let m: RegExpExecArray | null;
		if ((m = /^--server=(\d+)$/.exec(a))) {
			o.port = Number(m[1]);
			if (o.port > 65535) throw new Error(`--server: port out of range: ${m[1]}`);
		} else if ((m = /^--host=(.+)$/.exec(a))) {
			o.host = m[1];
		} else if ((m = /^--pipe=(.+)$/.exec(a))) {
			o.pipe = m[1];
		} else if (a === '--insecure-tcp') {
			o.insecureTcp = true;
		} else {
			throw new Error(`unknown dap option ${a} (expected --pipe=PATH, or --server=PORT --insecure-tcp [--host=ADDR])`);
		}
	}
	if (o.pipe !== undefined && (o.port !== undefined || o.host !== undefined)) {
		throw new Error('--pipe and --server/--host exclude each other');
	}
	if (o.host !== undefined && o.port === undefined) throw new Error('--host needs --server=PORT');
	if (o.port !== undefined && !o.insecureTcp) {
		throw new Error(
			`--server=PORT refused: ${TCP_RISK}. Use --pipe=PATH (a socket only you can open), ` +
				'or add --insecure-tcp to accept this (on a machine where you trust every user)',
		);
	}
	if (o.insecureTcp && o.port === undefined) throw new Error('--insecure-tcp goes with --server=PORT');
	return o;
}

const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
/** A shutdown that takes longer than this (a thread that will not stop) gives up. */
const SHUTDOWN_LIMIT_MS = 20000;

/**
 * SIGTERM/SIGINT/SIGHUP: `shutdown` removes every breakpoint and detaches
 * (attached, forked children) or kills (launched) every debuggee of every
 * session, then the process exits 0. Further signals meanwhile are ignored:
 * exiting in the middle would leave int3 bytes in a debuggee, which then
 * dies of SIGTRAP at its next hit. (The CLI's own handlers, which exit at
 * once when no command is in flight, are not installed for `dap`.)
 */
function onShutdownSignals(shutdown: (why: string) => Promise<void>): void {
	for (const sig of SHUTDOWN_SIGNALS) {
		process.on(sig, () => void shutdown(sig));
	}
}

/** Run `fn` once; exit 0 after it, or 1 if it has not finished within SHUTDOWN_LIMIT_MS. */
function onceThenExit(fn: (why: string) => Promise<void>): (why: string) => Promise<void> {
	let started = false;
	return async (why: string) => {
		if (started) return;
		started = true;
		const t = setTimeout(() => {
			process.stderr.write(`forkall dap: ${why}: shutdown did not finish within ${SHUTDOWN_LIMIT_MS} ms; exiting\n`);
			process.exit(1);
		}, SHUTDOWN_LIMIT_MS);
		try {
			await fn(why);
		} catch (e) {
			process.stderr.write(`forkall dap: ${why}: ${(e as Error).message}\n`);
		}
		clearTimeout(t);
		process.exit(0);
	};
}

/** Serve DAP on stdin/stdout until the client disconnects; then exit. */
export function runStdio(): void {
	const host = new DebugHost();
	const exit = onceThenExit(() => host.close());
	const session = new ForkallSession(host, { multiSession: false, onEnd: () => exit('session ended') });
	onShutdownSignals(exit);
	session.start(process.stdin, process.stdout);
}

/** Is `pipe` a Unix socket nobody listens on (left by an adapter that was killed)? */
function isStaleSocket(pipe: string): Promise<boolean> {
	let st: fs.Stats;
	try {
		st = fs.lstatSync(pipe);
	} catch {
		return Promise.resolve(false);
	}
	if (!st.isSocket()) return Promise.resolve(false); // never remove anything else
	return new Promise((resolve) => {
		const c = net.connect(pipe);
		c.once('connect', () => {
			c.destroy();
			resolve(false);
		});
		c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
	});
}

function listenOnce(server: net.Server, pipe: string): Promise<void> {
	return new Promise((resolve, reject) => {
		const old = process.umask(0o177); // the socket is born 0600
		const fail = (e: Error) => {
			process.umask(old);
			reject(e);
		};
		server.once('error', fail);
		server.listen(pipe, () => {
			process.umask(old);
			server.off('error', fail);
			resolve();
		});
	});
}

/** Listen on a Unix socket; a stale socket file there is replaced, a live one refused. */
async function listenPipe(server: net.Server, pipe: string): Promise<void> {
	try {
		await listenOnce(server, pipe);
		return;
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
	}
	if (!(await isStaleSocket(pipe))) {
		let what = 'another process is listening on it';
		try {
			if (!fs.lstatSync(pipe).isSocket()) what = 'it exists and is not a socket';
		} catch {
			what = 'it is in use';
		}
		throw new Error(`--pipe=${pipe}: ${what}`);
	}
	fs.unlinkSync(pipe);
	await listenOnce(server, pipe);
}

/** Serve sessions on a TCP port until killed. Resolves with the bound port. */
export function runServer(o: DapOptions, log: (s: string) => void = (s) => process.stdout.write(s)): Promise<net.Server> {
	const host = new DebugHost();
	const server = net.createServer((socket) => {
		socket.on('error', () => undefined);
		// DAP messages are small request/response pairs: without this, TCP's
		// Nagle + delayed ACK hold each reply ~40 ms (no-op on a Unix socket)
		socket.setNoDelay(true);
		// The client closes the connection after the disconnect response.
		const session = new ForkallSession(host, { multiSession: true });
		session.setRunAsServer(true);
		session.start(socket, socket);
	});
	/* the socket file we made (its inode): removed when we go, never another's */
	let socketFile: { path: string; ino: number } | null = null;
	const removeSocket = () => {
		if (!socketFile) return;
		try {
			if (fs.lstatSync(socketFile.path).ino === socketFile.ino) fs.unlinkSync(socketFile.path);
		} catch {
			// already gone
		}
		socketFile = null;
	};
	process.on('exit', removeSocket);
	onShutdownSignals(
		onceThenExit(async () => {
			server.close(); // no new sessions
			try {
				await host.close();
			} finally {
				removeSocket();
			}
		}),
	);
	if (o.pipe) {
		const pipe = o.pipe;
		const dir = path.dirname(path.resolve(pipe));
		if (!fs.existsSync(dir)) {
			return Promise.reject(new Error(`--pipe=${pipe}: the directory ${dir} does not exist`));
		}
		const old = process.umask(0o177); // the socket is born 0600
		return listenPipe(server, pipe).then(
			() => {
				process.umask(old);
				fs.chmodSync(pipe, 0o600);
				socketFile = { path: pipe, ino: fs.lstatSync(pipe).ino };
				log(`forkall dap: listening on pipe ${pipe}\n`);
				return server;
			},
			(e: Error) => {
				process.umask(old);
				throw new Error(e.message.startsWith('--pipe=') ? e.message : `--pipe=${pipe}: cannot listen: ${e.message}`);
			},
		);
	}
	const bind = o.host ?? '127.0.0.1';
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(o.port ?? 0, bind, () => {
			const addr = server.address() as net.AddressInfo;
			process.stderr.write(
				`forkall dap: WARNING: serving on TCP ${addr.address}:${addr.port} (--insecure-tcp): ${TCP_RISK}` +
					`${isLoopback(bind) ? '' : ', from other machines too'}\n`,
			);
			log(`forkall dap: listening on ${addr.address}:${addr.port}\n`);
			resolve(server);
		});
	});
}
