/* npm run bench: these sections, all by default.
 *
 *   threads   forkall threads vs gdb on the threads fixture (below)
 *   fork      forkall fork vs plain fork() of the same process (bench/fork.ts)
 *   dap       pause → threads + top frames through forkall dap (bench/dap.ts)
 *   step      next over a one-line loop vs gdb's next (bench/step.ts)
 *   spawn     system() ×200 from a worker under followForks vs plain and gdb (bench/spawn.ts)
 *   deadlock  a fork child blocking on a lock a lost thread held → its deadlock stop (bench/deadlock.ts)
 *   recreate  Recreate Dead Threads for 8/64 lost threads vs plain fork() (bench/recreate.ts)
 *   checkpoint  checkpoint save/restore vs plain fork() and gdb (bench/checkpoint.ts)
 *   cond      a conditional breakpoint that never stops: hits/s vs gdb (bench/cond.ts)
 *   floor     the least any ptrace-stop pause costs vs the program's own fork() (bench/floor.ts)
 *
 * Only some: `npm run bench -- fork` (or `-- threads`, `-- threads fork`), or
 * FORKALL_BENCH=fork. Sizes of the threads section: FORKALL_BENCH_THREADS;
 * of the fork section: see bench/fork.ts.
 *
 * threads section: for 64, 256 and 1024 threads (mostly idle: no spinners, 200 ms tick), on
 * the same process in the same run:
 *   - `forkall threads PID --json`: pauseUs from its JSON and the wall time
 *     of the whole command (median of 7)
 *   - `gdb -nx -batch -p PID -ex "info threads"`: wall time (median of 5)
 */
import { Table, median, repeat } from './table';
import { dapBench } from './dap';
import { forkBench } from './fork';
import { stepBench } from './step';
import { spawnBench } from './spawn';
import { deadlockBench } from './deadlock';
import { recreateBench } from './recreate';
import { checkpointBench } from './checkpoint';
import { condBench } from './cond';
import { floorBench } from './floor';
import { spawnFixture, killAll, type Fixture } from '../test/helpers/procs';
import { cleanupFork } from '../test/helpers/forkTarget';
import { forkallJson, forkallAvailable, run } from '../test/helpers/forkall';
import { which } from '../test/helpers/paths';
import { assertNotStoppedOrTraced } from '../test/helpers/procfs';

const SIZES = (process.env.FORKALL_BENCH_THREADS ?? '64,256,1024').split(',').map(Number);
const FORKALL_RUNS = 7;
const GDB_RUNS = 5;

const SECTIONS = ['threads', 'fork', 'dap', 'step', 'spawn', 'deadlock', 'recreate', 'checkpoint', 'cond', 'floor'] as const;
type Section = (typeof SECTIONS)[number];

function selectedSections(): Section[] {
	const args = process.argv.slice(2);
	const words = (args.length ? args : (process.env.FORKALL_BENCH ?? '').split(/[,\s]+/)).filter(Boolean);
	if (!words.length) return [...SECTIONS];
	for (const w of words) {
		if (!(SECTIONS as readonly string[]).includes(w)) throw new Error(`unknown bench section "${w}" (have: ${SECTIONS.join(', ')})`);
	}
	return SECTIONS.filter((s) => words.includes(s));
}

async function main(): Promise<void> {
	if (!forkallAvailable()) throw new Error('bin/forkall not found: run `npm run build` first');
	const sections = selectedSections();
	if (sections.includes('threads')) await threadsBench();
	if (sections.includes('threads') && sections.includes('fork')) process.stdout.write('\n');
	if (sections.includes('fork')) process.stdout.write(await forkBench());
	if (sections.includes('dap')) {
		process.stdout.write('\n');
		await dapBench();
	}
	if (sections.includes('step')) {
		process.stdout.write('\n');
		process.stdout.write(await stepBench());
	}
	if (sections.includes('spawn')) {
		process.stdout.write('\n');
		process.stdout.write(await spawnBench());
	}
	if (sections.includes('deadlock')) {
		process.stdout.write('\n');
		process.stdout.write(await deadlockBench());
	}
	if (sections.includes('recreate')) {
		process.stdout.write('\n');
		process.stdout.write(await recreateBench());
	}
	if (sections.includes('checkpoint')) {
		process.stdout.write('\n');
		process.stdout.write(await checkpointBench());
	}
	if (sections.includes('cond')) {
		process.stdout.write('\n');
		process.stdout.write(await condBench());
	}
	if (sections.includes('floor')) {
		process.stdout.write('\n');
		process.stdout.write(await floorBench());
	}
}

async function cleanup(): Promise<void> {
	await cleanupFork();
	await killAll();
}

/* Ctrl-C / kill: end every process we started before leaving. */
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
	process.once(sig, () => {
		process.stderr.write(`bench: ${sig}, cleaning up\n`);
		void cleanup().finally(() => process.exit(130));
	});
}

/* How long the target was frozen by `fn`, measured from inside it: the
 * fixture's stall probe (a thread waking every 200 µs) keeps the longest gap
 * between wake-ups since SIGUSR2. The same yardstick for every tool. */
async function frozenMs<T>(fx: Fixture, fn: () => Promise<T>): Promise<{ frozenMs: number; value: T }> {
	process.kill(fx.pid, 'SIGUSR2');
	const t0 = Date.now();
	await fx.waitProgress((p) => p.at > t0 + 20, 5000, 'a progress line after the reset');
	const value = await fn();
	const t1 = Date.now();
	const p = await fx.waitProgress((q) => q.at > t1 + 20, 10000, 'a progress line after the run');
	const gap = p.fields.maxgapUs;
	if (gap === undefined) throw new Error('the fixture does not report maxgapUs (--stall-probe)');
	return { frozenMs: gap / 1000, value };
}

async function threadsBench(): Promise<void> {
	const gdb = which('gdb');
	const table = new Table('forkall threads vs gdb attach + info threads', [
		'threads',
		'forkall pause µs',
		'forkall: target frozen ms',
		'forkall total ms',
		'gdb: target frozen ms',
		'gdb total ms',
		'frozen: gdb/forkall',
		'total: gdb/forkall',
	]);
	for (const n of SIZES) {
		const fx = await spawnFixture('threads', [String(n), '--spinners', '0', '--tick-ms', '200', '--stall-probe'], {
			readyTimeoutMs: 60000,
		});
		try {
			const runs = await repeat(FORKALL_RUNS, async () => {
				const { frozenMs: fz, value } = await frozenMs(fx, () =>
					forkallJson<{ pauseUs: number; threads: unknown[] }>(['threads', String(fx.pid)], { timeoutMs: 120000 }),
				);
				const { res, body } = value;
				if (body.threads.length !== n + 2)
					throw new Error(`forkall listed ${body.threads.length} threads, want ${n + 2} (with the stall probe)`);
				return { pauseUs: body.pauseUs, ms: res.ms, frozen: fz };
			});
			assertNotStoppedOrTraced(fx.pid, `bench ${n}`);
			const pause = median(runs.map((r) => r.pauseUs));
			const total = median(runs.map((r) => r.ms));
			const frozen = median(runs.map((r) => r.frozen));
			let gdbMs: number | null = null;
			let gdbFrozen: number | null = null;
			if (gdb) {
				const g = await repeat(GDB_RUNS, async () => {
					const { frozenMs: fz, value: res } = await frozenMs(fx, () =>
						run([gdb, '-nx', '-batch', '-p', String(fx.pid), '-ex', 'info threads'], { timeoutMs: 300000 }),
					);
					if (res.code !== 0) throw new Error(`gdb exited ${res.code}: ${res.stderr.slice(0, 500)}`);
					const lwps = (res.stdout.match(/\(LWP \d+\)/g) ?? []).length;
					if (lwps < n + 2) throw new Error(`gdb listed ${lwps} threads, want ${n + 2}`);
					return { ms: res.ms, frozen: fz };
				});
				assertNotStoppedOrTraced(fx.pid, `bench ${n} after gdb`);
				gdbMs = median(g.map((x) => x.ms));
				gdbFrozen = median(g.map((x) => x.frozen));
			}
			table.addRow([
				n,
				pause,
				Number(frozen.toFixed(1)),
				total,
				gdbFrozen === null ? null : Number(gdbFrozen.toFixed(1)),
				gdbMs,
				gdbFrozen === null ? null : `${(gdbFrozen / frozen).toFixed(1)}×`,
				gdbMs === null ? null : `${(gdbMs / total).toFixed(1)}×`,
			]);
			process.stderr.write(`bench: ${n} threads done\n`);
		} finally {
			await fx.kill();
		}
	}
	table.note(
		`forkall: median of ${FORKALL_RUNS} runs of \`forkall threads PID --json\`; pause = its own pauseUs (first stop to last release); total = wall time of the command (Node.js start-up included, ~80 ms here).`,
	);
	table.note(
		'target frozen = the longest gap seen by a probe thread inside the target (wakes every 200 µs), i.e. how long the program stood still: the same yardstick for both tools.',
	);
	if (gdb) table.note(`gdb: median of ${GDB_RUNS} runs of \`gdb -nx -batch -p PID -ex "info threads"\` on the same process.`);
	else table.note('gdb: not installed, columns skipped.');
	process.stdout.write(table.render());
}

main()
	.catch((e) => {
		process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
		process.exitCode = 1;
	})
	.finally(() => cleanup());
