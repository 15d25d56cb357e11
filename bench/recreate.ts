/*
 * Recreate Dead Threads bench (issue 11 item 8, second part): how long the
 * user waits for `recreateDeadThreads` on a fork child that lost 8 or 64
 * threads, against a plain fork() of the same process (in the same run).
 *
 * test/fixtures/forkbench N 16 (N workers + main + heartbeat, 16 MiB):
 *   plain     the program's own fork() untraced (SIGUSR1: worker 0 forks;
 *             pauseUs = the fork() call in the parent), median of RUNS
 *   recreate  the same program under `forkall dap --server`, followForks
 *             "both": SIGUSR1 → its fork child's session (held at the fork,
 *             inside glibc's fork()) → customRequest('recreateDeadThreads')
 *             round trip (it first runs the child out of fork(): step-outs),
 *             and the library's own time for the rebuild (`us`)
 * The dead threads are N + 1 (every thread but worker 0, the forker).
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapServer, within } from '../test/dap/support';
import { fixturePath } from '../test/helpers/paths';
import { spawnReaped } from '../test/helpers/forkTarget';
import { plainFork } from './fork';
import type { RecreateDeadThreadsResponseBody } from '../adapter/src/dap/custom';
import { Table, median } from './table';

const RUNS = Number(process.env.FORKALL_BENCH_RECREATE_RUNS ?? 3);
const SIZES = (process.env.FORKALL_BENCH_RECREATE ?? '8,64').split(',').map(Number);
const MIB = 16;

async function plainForkUs(n: number): Promise<number[]> {
	const t = await spawnReaped<{ pid: number }>(
		fixturePath('forkbench'),
		[String(n), String(MIB)],
		{ readyTimeoutMs: 120000 },
		`forkbench ${n} ${MIB}`,
	);
	try {
		const out: number[] = [];
		for (let seq = 1; seq <= RUNS + 1; seq++) {
			const { pauseUs } = await plainFork(t, seq);
			if (seq > 1) out.push(pauseUs); // the first is a warm-up
		}
		return out;
	} finally {
		await t.stop();
	}
}

async function recreateOnce(n: number): Promise<{ roundTripMs: number; libUs: number; dead: number; steps: number }> {
	const server = await DapServer.start();
	const parent = await server.client();
	let child: Awaited<ReturnType<DapServer['client']>> | null = null;
	try {
		await parent.init();
		let out = '';
		let ready!: () => void;
		const isReady = new Promise<void>((r) => (ready = r));
		parent.on('output', (e: DebugProtocol.OutputEvent) => {
			out += e.body.output;
			if (/^READY$/m.test(out)) ready();
		});
		const initialized = parent.next('initialized');
		await parent.launchRequest({
			program: fixturePath('forkbench'),
			args: [String(n), String(MIB)],
		} as DebugProtocol.LaunchRequestArguments);
		await initialized;
		const pid = Number((await parent.threadsRequest()).body.threads[0]?.id ?? 0);
		await parent.configurationDoneRequest();
		await within(isReady, 120000, 'forkbench READY');
		process.kill(pid, 'SIGUSR1');
		const req = await parent.waitReverse('startDebugging', 20000);
		child = await server.client();
		await child.init();
		const cinit = child.next('initialized');
		await child.attachRequest(
			(req.arguments as DebugProtocol.StartDebuggingRequestArguments).configuration as DebugProtocol.AttachRequestArguments,
		);
		await cinit;
		const t0 = performance.now();
		const r = (await child.customRequest('recreateDeadThreads')).body as RecreateDeadThreadsResponseBody;
		const roundTripMs = performance.now() - t0;
		parent.respond(req, true);
		return { roundTripMs, libUs: r.us, dead: r.threads.length, steps: r.stepsOutOfFork };
	} finally {
		await parent.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
		await child?.stop().catch(() => undefined);
		await parent.stop().catch(() => undefined);
		await server.stop();
	}
}

export async function recreateBench(): Promise<string> {
	const table = new Table(`Recreate Dead Threads vs a plain fork() of the same process (forkbench, ${MIB} MiB)`, [
		'dead threads',
		'plain fork() ms',
		'recreate (library) ms',
		'ratio',
		'recreateDeadThreads round trip ms',
		'ratio',
	]);
	for (const n of SIZES) {
		const plain = median(await plainForkUs(n)) / 1000;
		const lib: number[] = [];
		const trip: number[] = [];
		let dead = 0;
		let steps = 0;
		for (let i = 0; i < RUNS; i++) {
			const r = await recreateOnce(n);
			lib.push(r.libUs / 1000);
			trip.push(r.roundTripMs);
			dead = r.dead;
			steps = r.steps;
		}
		const l = median(lib);
		const t = median(trip);
		table.addRow([
			dead,
			Number(plain.toFixed(2)),
			Number(l.toFixed(2)),
			`${(l / plain).toFixed(1)}×`,
			Number(t.toFixed(1)),
			`${(t / plain).toFixed(1)}×`,
		]);
		if (steps) table.note(`${dead} dead: the child was first run out of glibc's fork() (${steps} step-outs, in the round trip).`);
	}
	table.note(
		`medians of ${RUNS}; "library": the native recreate alone (build, glibc's lists, lock owners); the round trip adds the DAP request, forkInfo and the step-outs.`,
	);
	return table.render();
}
