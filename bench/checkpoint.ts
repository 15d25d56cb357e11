/*
 * Checkpoint bench (issue 12 item 5): save and restore of a stopped
 * multithreaded process through `forkall dap --server`, against a plain
 * fork() of the same process and against gdb's checkpoint / restart on a
 * single-threaded program (gdb refuses more than one thread), same run.
 *
 *   forkbench N MIB (N workers + main + heartbeat; bench/fork.ts's target):
 *     plain    the program's own fork() untraced (SIGUSR1; pauseUs = the
 *              fork() call in the parent), median of RUNS
 *     save     customRequest('checkpoint') on the paused process: round
 *              trip, and the library's own time (`us`) and pause
 *     restore  customRequest('restoreCheckpoint'): round trip (the new
 *              process stopped, every thread rebuilt, breakpoints in place)
 *     memory   what a checkpoint costs right after it was saved (its
 *              private pages, smaps_rollup)
 *   memhog MIB (one thread): the same save/restore, and gdb -batch's
 *     `checkpoint` and `restart 1`, each timed by gdb's Python clock.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapServer, within } from '../test/dap/support';
import { fixturePath, which } from '../test/helpers/paths';
import { spawnReaped } from '../test/helpers/forkTarget';
import type { CheckpointResponseBody, CheckpointsResponseBody, RestoreCheckpointResponseBody } from '../adapter/src/dap/custom';
import { gdbTimed } from './gdb';
import { plainFork } from './fork';
import { Table, median } from './table';

const RUNS = Number(process.env.FORKALL_BENCH_CHECKPOINT_RUNS ?? 5);
const SIZES = (process.env.FORKALL_BENCH_CHECKPOINT ?? '8x16,64x16,256x16,64x512')
	.split(',')
	.map((s) => s.split('x').map(Number) as [number, number]);

async function plainForkMs(n: number, mib: number): Promise<number> {
	const t = await spawnReaped<{ pid: number }>(
		fixturePath('forkbench'),
		[String(n), String(mib)],
		{ readyTimeoutMs: 120000 },
		`forkbench ${n} ${mib}`,
	);
	try {
		const us: number[] = [];
		for (let seq = 1; seq <= RUNS + 1; seq++) {
			const { pauseUs } = await plainFork(t, seq);
			if (seq > 1) us.push(pauseUs);
		}
		return median(us) / 1000;
	} finally {
		await t.stop();
	}
}

interface Rounds {
	threads: number;
	save: number[];
	saveLib: number[];
	pause: number[];
	restore: number[];
	restoreLib: number[];
	memory: number[];
}

async function forkallRounds(program: string, args: string[]): Promise<Rounds> {
	const server = await DapServer.start();
	const dc = await server.client();
	try {
		await dc.init();
		let out = '';
		let ready!: () => void;
		const isReady = new Promise<void>((r) => (ready = r));
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			out += e.body.output;
			if (/^READY$/m.test(out)) ready();
		});
		const initialized = dc.next('initialized');
		await dc.launchRequest({ program, args } as DebugProtocol.LaunchRequestArguments);
		await initialized;
		const pid = Number((await dc.threadsRequest()).body.threads[0]?.id ?? 0);
		await dc.configurationDoneRequest();
		await within(isReady, 120000, `${program} READY`);
		const stopped = dc.next('stopped', 20000);
		await dc.pauseRequest({ threadId: pid });
		await stopped;
		const r: Rounds = { threads: 0, save: [], saveLib: [], pause: [], restore: [], restoreLib: [], memory: [] };
		for (let i = 0; i < RUNS; i++) {
			const t0 = performance.now();
			const c = (await dc.customRequest('checkpoint', {})).body as CheckpointResponseBody;
			r.save.push(performance.now() - t0);
			r.saveLib.push(c.us / 1000);
			r.pause.push(c.pauseUs / 1000);
			r.threads = c.threads;
		}
		const list = (await dc.customRequest('checkpoints')).body as CheckpointsResponseBody;
		for (const c of list.checkpoints) r.memory.push(c.memoryBytes);
		for (let i = 0; i < RUNS; i++) {
			const restored = dc.next('stopped', 20000);
			const t0 = performance.now();
			const b = (await dc.customRequest('restoreCheckpoint', { id: 1 })).body as RestoreCheckpointResponseBody;
			r.restore.push(performance.now() - t0);
			r.restoreLib.push(b.us / 1000);
			await restored;
		}
		return r;
	} finally {
		await dc.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
		await dc.stop().catch(() => undefined);
		await server.stop();
	}
}

const fmt = (v: number): number => Number(v.toFixed(v < 10 ? 2 : 1));
const kib = (b: number[]): string => (b.length ? `${Math.round(median(b) / 1024)} KiB` : '?');

export async function checkpointBench(): Promise<string> {
	const table = new Table('checkpoints: save and restore of a stopped process vs plain fork() (medians)', [
		'process',
		'plain fork() ms',
		'save ms (library)',
		'save ÷ fork',
		'pause ms',
		'restore ms (library)',
		'restore ÷ fork',
		'checkpoint memory',
	]);
	for (const [n, mib] of SIZES) {
		const plain = await plainForkMs(n, mib);
		const r = await forkallRounds(fixturePath('forkbench'), [String(n), String(mib)]);
		const save = median(r.save);
		const restore = median(r.restore);
		table.addRow([
			`${r.threads} threads, ${mib} MiB`,
			fmt(plain),
			`${fmt(save)} (${fmt(median(r.saveLib))})`,
			`${(median(r.saveLib) / plain).toFixed(1)}×`,
			fmt(median(r.pause)),
			`${fmt(restore)} (${fmt(median(r.restoreLib))})`,
			`${(median(r.restoreLib) / plain).toFixed(1)}×`,
			kib(r.memory),
		]);
	}
	const gdb = which('gdb');
	const single = new Table('one thread (memhog 16 MiB): Forkall vs gdb checkpoint / restart (medians)', [
		'tool',
		'save ms',
		'restore ms',
	]);
	const one = await forkallRounds(fixturePath('memhog'), ['16']);
	single.addRow([
		'forkall (DAP round trip; library)',
		`${fmt(median(one.save))} (${fmt(median(one.saveLib))})`,
		`${fmt(median(one.restore))} (${fmt(median(one.restoreLib))})`,
	]);
	if (gdb) {
		const gs: number[] = [];
		const gr: number[] = [];
		for (let i = 0; i < Math.min(RUNS, 3); i++) {
			gs.push(
				(
					await gdbTimed(gdb, {
						before: ['break tick', 'run'],
						timed: 'checkpoint',
						after: ['kill'],
						program: fixturePath('memhog'),
						args: ['16'],
					})
				).ms,
			);
			gr.push(
				(
					await gdbTimed(gdb, {
						before: ['break tick', 'run', 'checkpoint', 'continue'],
						timed: 'restart 1',
						after: ['kill'],
						program: fixturePath('memhog'),
						args: ['16'],
					})
				).ms,
			);
		}
		single.addRow(['gdb -batch (checkpoint; restart 1)', fmt(median(gs)), fmt(median(gr))]);
	} else {
		single.note('gdb not found: its row is missing');
	}
	table.note(
		`${RUNS} saves then ${RUNS} restores of the first checkpoint per process; "library": the native op's own time, the rest is the DAP round trip (a restore also moves the breakpoints and reports the stop).`,
	);
	table.note('goal (issue 12): save ≤ 1.5× plain fork at any thread count, restore ≤ 4× plain fork at 64 threads.');
	return table.render() + '\n' + single.render();
}
