/*
 * `forkall dap` on SIGTERM/SIGINT/SIGHUP (issue 9, item 4): every
 * breakpoint is removed and every attached debuggee detached (a launched one
 * killed) before the adapter exits 0; with --pipe the socket file goes too,
 * so the next adapter can listen there. A stale socket file (its adapter was
 * SIGKILLed) is replaced; a live one is refused.
 *
 * The debuggee is bphammer: 8 threads calling hammer_hit() in a loop, with a
 * breakpoint on it — left in, the next call kills the process with SIGTRAP.
 * The adapter is signalled while the process is stopped at the breakpoint,
 * and while it runs into it constantly (a hit condition never met).
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { FORKALL_BIN, fixturePath } from '../helpers/paths';
import { killAll, killChild, sleep, spawnFixture, track, type Fixture } from '../helpers/procs';
import { assertNotStoppedOrTraced, taskStat } from '../helpers/procfs';
import { DapClient, within } from './support';
import type { HammerTruth } from './detach.test';

after(killAll);

const tmpDirs: string[] = [];
after(() => {
	for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function sockPath(): string {
	const d = fs.mkdtempSync(path.join(os.tmpdir(), 'forkall-shutdown-'));
	fs.chmodSync(d, 0o700);
	tmpDirs.push(d);
	return path.join(d, 'dap.sock');
}

interface Adapter {
	proc: ChildProcess;
	exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
	stderr(): string;
}

/** `forkall dap --pipe=sock`, resolved once it listens (rejects if it exits first). */
async function startPipeAdapter(sock: string): Promise<Adapter> {
	const proc = track(spawn(FORKALL_BIN, ['dap', `--pipe=${sock}`], { stdio: ['ignore', 'pipe', 'pipe'] }));
	let err = '';
	proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
		err += d;
	});
	const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
		proc.once('exit', (code, signal) => resolve({ code, signal }));
	});
	await within(
		new Promise<void>((resolve, reject) => {
			let out = '';
			proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
				out += d;
				if (/listening on pipe/.test(out)) resolve();
			});
			void exit.then((x) => reject(new Error(`forkall dap --pipe exited (${JSON.stringify(x)}): ${err}`)));
		}),
		20000,
		'forkall dap --pipe',
	);
	return { proc, exit, stderr: () => err };
}

async function pipeClient(sock: string): Promise<{ dc: DapClient; socket: net.Socket }> {
	const socket = net.createConnection(sock);
	await within(
		new Promise<void>((resolve, reject) => {
			socket.once('connect', () => resolve());
			socket.once('error', reject);
		}),
		5000,
		`connect ${sock}`,
	);
	socket.on('error', () => undefined);
	const dc = new DapClient();
	// ProtocolClient.connect is protected; DebugClient.start only knows TCP ports and processes
	(dc as unknown as { connect(r: NodeJS.ReadableStream, w: NodeJS.WritableStream): void }).connect(socket, socket);
	return { dc, socket };
}

type State = 'stopped' | 'running';

/** attach, breakpoint on hammer_hit; 'stopped': stopped there; 'running': hit all the time, never reported. */
async function attachWithBreakpoint(dc: DapClient, pid: number, state: State): Promise<void> {
	await dc.init();
	const initialized = dc.next('initialized');
	await dc.attachRequest({ pid } as DebugProtocol.AttachRequestArguments);
	await initialized;
	const bp: DebugProtocol.FunctionBreakpoint =
		state === 'stopped' ? { name: 'hammer_hit' } : { name: 'hammer_hit', hitCondition: '>= 1000000000' };
	const bps = await dc.setFunctionBreakpointsRequest({ breakpoints: [bp] });
	assert.equal(bps.body.breakpoints[0].verified, true, JSON.stringify(bps.body.breakpoints[0]));
	if (state === 'stopped') {
		const stopped = dc.next('stopped', 10000);
		await dc.configurationDoneRequest();
		assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, 'function breakpoint');
	} else {
		await dc.configurationDoneRequest();
		await sleep(300); // hits go on (each one a stop and a resume inside the adapter)
	}
}

/** Alive, untraced, not stopped, every thread advancing, still so a second later. */
async function assertRunsOn(fx: Fixture<HammerTruth>, context: string): Promise<void> {
	assert.equal(fx.exited, null, `${context}: bphammer died: ${JSON.stringify(fx.exited)}`);
	assertNotStoppedOrTraced(fx.pid, context);
	await fx.waitAllRunning('stalled', 10000);
	await sleep(1000);
	assert.equal(fx.exited, null, `${context}: bphammer died later: ${JSON.stringify(fx.exited)}`);
	const st = taskStat(fx.pid, fx.pid);
	assert.ok(st && st.state !== 'Z', `${context}: bphammer is ${st ? st.state : 'gone'}`);
	assertNotStoppedOrTraced(fx.pid, `${context}, 1 s later`);
	await fx.waitAdvance(null, 1, 5000);
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
	for (const state of ['stopped', 'running'] as const) {
		test(`dap --pipe, ${sig} while the debuggee is ${state === 'stopped' ? 'stopped at a breakpoint' : 'running into a breakpoint'}: detached, breakpoints gone, socket removed, exit 0`, async () => {
			const fx = await spawnFixture<HammerTruth>('bphammer', ['8']);
			const sock = sockPath();
			const a = await startPipeAdapter(sock);
			let socket: net.Socket | null = null;
			try {
				const c = await pipeClient(sock);
				socket = c.socket;
				await attachWithBreakpoint(c.dc, fx.pid, state);
				process.kill(a.proc.pid!, sig);
				const x = await within(a.exit, 25000, `adapter exit after ${sig}`);
				await assertRunsOn(fx, `after ${sig} to the adapter`);
				assert.equal(fs.existsSync(sock), false, `the socket file ${sock} is removed`);
				assert.deepEqual(x, { code: 0, signal: null }, `adapter exit after ${sig}; stderr: ${a.stderr()}`);
				// the next adapter listens on the same path
				const b = await startPipeAdapter(sock);
				process.kill(b.proc.pid!, 'SIGTERM');
				assert.deepEqual(await within(b.exit, 20000, 'second adapter exit'), { code: 0, signal: null });
				assert.equal(fs.existsSync(sock), false, 'the second adapter removed its socket too');
			} finally {
				socket?.destroy();
				await killChild(a.proc);
				await fx.kill();
			}
		});
	}
}

test('dap (stdio), SIGTERM with an attached debuggee stopped at a breakpoint: detached, exit 0', async () => {
	const fx = await spawnFixture<HammerTruth>('bphammer', ['8']);
	const dc = new DapClient();
	await dc.start();
	const proc = (dc as unknown as { _adapterProcess: ChildProcess })._adapterProcess;
	try {
		const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
			proc.once('exit', (code, signal) => resolve({ code, signal }));
		});
		await attachWithBreakpoint(dc, fx.pid, 'stopped');
		process.kill(proc.pid!, 'SIGTERM');
		const x = await within(exit, 25000, 'adapter exit');
		await assertRunsOn(fx, 'after SIGTERM to the stdio adapter');
		assert.deepEqual(x, { code: 0, signal: null });
	} finally {
		if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
		await fx.kill();
	}
});

test('dap (stdio), SIGTERM with a launched debuggee: it is killed, the adapter exits 0', async () => {
	const dc = new DapClient();
	await dc.start();
	const proc = (dc as unknown as { _adapterProcess: ChildProcess })._adapterProcess;
	let pid = 0;
	try {
		const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
			proc.once('exit', (code, signal) => resolve({ code, signal }));
		});
		await dc.init();
		const initialized = dc.next('initialized');
		await within(
			dc.launchRequest({ program: fixturePath('bphammer'), args: ['4'] } as DebugProtocol.LaunchRequestArguments),
			20000,
			'launch',
		);
		await initialized;
		await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'hammer_hit' }] });
		const stopped = dc.next('stopped', 10000);
		await dc.configurationDoneRequest();
		await stopped;
		const th = await dc.threadsRequest();
		/* the main thread: the lowest tid named bphammer (a thread being created inherits the name) */
		const main = th.body.threads.filter((t) => /^bphammer \(\d+\)/.test(t.name)).sort((a, b) => a.id - b.id)[0];
		assert.ok(main, `the main thread: ${th.body.threads.map((t) => t.name).join(', ')}`);
		pid = main.id;
		process.kill(proc.pid!, 'SIGTERM');
		assert.deepEqual(await within(exit, 25000, 'adapter exit'), { code: 0, signal: null });
		const deadline = Date.now() + 5000;
		let st = taskStat(pid, pid);
		while (st && st.state !== 'Z' && Date.now() < deadline) {
			await sleep(50);
			st = taskStat(pid, pid);
		}
		assert.ok(!st || st.state === 'Z', `the launched program ${pid} is killed (state ${st?.state})`);
	} finally {
		if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
		if (pid && taskStat(pid, pid)?.state !== 'Z') {
			try {
				process.kill(pid, 'SIGKILL');
			} catch {
				/* gone */
			}
		}
	}
});

test('dap --pipe: a stale socket file (adapter SIGKILLed) is replaced; a live one is refused and left alone', async () => {
	const sock = sockPath();
	const a = await startPipeAdapter(sock);
	a.proc.kill('SIGKILL');
	await a.exit;
	assert.equal(fs.lstatSync(sock).isSocket(), true, 'SIGKILL leaves the socket file');
	const b = await startPipeAdapter(sock); // was: listen EADDRINUSE
	try {
		const c = spawn(FORKALL_BIN, ['dap', `--pipe=${sock}`], { stdio: ['ignore', 'pipe', 'pipe'] });
		track(c);
		let err = '';
		c.stderr!.setEncoding('utf8').on('data', (d: string) => {
			err += d;
		});
		const code = await within(new Promise<number | null>((resolve) => c.once('exit', (x) => resolve(x))), 20000, 'third adapter');
		assert.notEqual(code, 0, 'a second adapter on a live socket fails');
		assert.match(err, /another process is listening/);
		const { socket } = await pipeClient(sock); // b still serves
		socket.destroy();
	} finally {
		process.kill(b.proc.pid!, 'SIGTERM');
		await within(b.exit, 20000, 'adapter exit');
	}
	assert.equal(fs.existsSync(sock), false);
	// not a socket: never removed
	fs.writeFileSync(sock, 'not a socket');
	const d = spawn(FORKALL_BIN, ['dap', `--pipe=${sock}`], { stdio: ['ignore', 'pipe', 'pipe'] });
	track(d);
	const code = await within(new Promise<number | null>((resolve) => d.once('exit', (x) => resolve(x))), 20000, 'adapter on a file');
	assert.notEqual(code, 0);
	assert.equal(fs.readFileSync(sock, 'utf8'), 'not a socket');
});
