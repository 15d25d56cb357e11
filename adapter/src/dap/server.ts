/*
 * `forkall dap`: the debug adapter over stdin/stdout (one session), or
 * `forkall dap --server=PORT` (any number of sessions on 127.0.0.1:PORT in
 * this one process, sharing one tracer: a forked child kept traced becomes
 * a child session through the startDebugging reverse request).
 */
import * as net from 'node:net';
import { DebugHost } from '../model';
import { ForkallSession } from './session';

export interface DapOptions {
	/** undefined: stdio. 0: any free port (printed on stdout). */
	port?: number;
	host?: string;
}

/** Parse `dap` arguments: [--server=PORT] [--host=ADDR]. Throws on others. */
export function parseDapArgs(args: readonly string[]): DapOptions {
	const o: DapOptions = {};
	for (const a of args) {
		let m: RegExpExecArray | null;
		if ((m = /^--server=(\d+)$/.exec(a))) {
			o.port = Number(m[1]);
			if (o.port > 65535) throw new Error(`--server: port out of range: ${m[1]}`);
		} else if ((m = /^--host=(.+)$/.exec(a))) {
			o.host = m[1];
		} else {
			throw new Error(`unknown dap option ${a} (expected --server=PORT or --host=ADDR)`);
		}
	}
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
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => {
			const addr = server.address() as net.AddressInfo;
			log(`forkall dap: listening on ${addr.address}:${addr.port}\n`);
			resolve(server);
		});
	});
}
