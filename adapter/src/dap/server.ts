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
		throw new Error(`--server=PORT refused: ${TCP_RISK}. Use --pipe=PATH (a socket only you can open), ` +
			'or add --insecure-tcp to accept this (on a machine where you trust every user)');
	}
	if (o.insecureTcp && o.port === undefined) throw new Error('--insecure-tcp goes with --server=PORT');
	return o;
}

/** Serve DAP on stdin/stdout until the client disconnects; then exit. */
export function runStdio(): void {
	const host = new DebugHost();
	let exiting = false;
	const exit = async (code: number) => {
		if (exiting) return;
		exiting = true;
		await host.close().catch(() => undefined);
		process.exit(code);
	};
	const session = new ForkallSession(host, { multiSession: false, onEnd: () => exit(0) });
	for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
		process.on(sig, () => void exit(0));
	}
	session.start(process.stdin, process.stdout);
}

/** Serve sessions on a TCP port until killed. Resolves with the bound port. */
export function runServer(o: DapOptions, log: (s: string) => void = (s) => process.stdout.write(s)): Promise<net.Server> {
	const host = new DebugHost();
	const server = net.createServer((socket) => {
		socket.on('error', () => undefined);
		// The client closes the connection after the disconnect response.
		const session = new ForkallSession(host, { multiSession: true });
		session.setRunAsServer(true);
		session.start(socket, socket);
	});
	let closing = false;
	const shutdown = async () => {
		if (closing) return;
		closing = true;
		server.close();
		await host.close().catch(() => undefined);
		process.exit(0);
	};
	for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
		process.on(sig, () => void shutdown());
	}
	if (o.pipe) {
		const pipe = o.pipe;
		const dir = path.dirname(path.resolve(pipe));
		if (!fs.existsSync(dir)) {
			return Promise.reject(new Error(`--pipe=${pipe}: the directory ${dir} does not exist`));
		}
		return new Promise((resolve, reject) => {
			server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`--pipe=${pipe}: cannot listen: ${e.message}`)));
			const old = process.umask(0o177); // the socket is born 0600
			server.listen(pipe, () => {
				process.umask(old);
				fs.chmodSync(pipe, 0o600);
				log(`forkall dap: listening on pipe ${pipe}\n`);
				resolve(server);
			});
		});
	}
	const bind = o.host ?? '127.0.0.1';
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(o.port ?? 0, bind, () => {
			const addr = server.address() as net.AddressInfo;
			process.stderr.write(`forkall dap: WARNING: serving on TCP ${addr.address}:${addr.port} (--insecure-tcp): ${TCP_RISK}` +
				`${isLoopback(bind) ? '' : ', from other machines too'}\n`);
			log(`forkall dap: listening on ${addr.address}:${addr.port}\n`);
			resolve(server);
		});
	});
}
