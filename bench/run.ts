/* npm run bench: two sections, both by default.
 *
 *   threads   forkall threads vs gdb on the threads fixture (below)
 *   fork      forkall fork vs plain fork() of the same process (bench/fork.ts)
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
import { forkBench } from './fork';
import { spawnFixture, killAll } from '../test/helpers/procs';
import { cleanupFork } from '../test/helpers/forkTarget';
import { forkallJson, forkallAvailable, run } from '../test/helpers/forkall';
import { which } from '../test/helpers/paths';
import { assertNotStoppedOrTraced } from '../test/helpers/procfs';

const SIZES = (process.env.FORKALL_BENCH_THREADS ?? '64,256,1024').split(',').map(Number);
const FORKALL_RUNS = 7;
const GDB_RUNS = 5;

const SECTIONS = ['threads', 'fork'] as const;
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

async function threadsBench(): Promise<void> {
	const gdb = which('gdb');
	const table = new Table('forkall threads vs gdb attach + info threads', [
		'threads',
		'forkall pause µs',
		'forkall total ms',
		'gdb total ms',
		'ratio gdb/forkall',
	]);
	for (const n of SIZES) {
		const fx = await spawnFixture('threads', [String(n), '--spinners', '0', '--tick-ms', '200'], { readyTimeoutMs: 60000 });
		try {
			const runs = await repeat(FORKALL_RUNS, async () => {
				const { res, body } = await forkallJson<{ pauseUs: number; threads: unknown[] }>(['threads', String(fx.pid)], { timeoutMs: 120000 });
				if (body.threads.length !== n + 1) throw new Error(`forkall listed ${body.threads.length} threads, want ${n + 1}`);
				return { pauseUs: body.pauseUs, ms: res.ms };
			});
			assertNotStoppedOrTraced(fx.pid, `bench ${n}`);
			const pause = median(runs.map((r) => r.pauseUs));
			const total = median(runs.map((r) => r.ms));
			let gdbMs: number | null = null;
			if (gdb) {
				const g = await repeat(GDB_RUNS, async () => {
					const res = await run([gdb, '-nx', '-batch', '-p', String(fx.pid), '-ex', 'info threads'], { timeoutMs: 300000 });
					if (res.code !== 0) throw new Error(`gdb exited ${res.code}: ${res.stderr.slice(0, 500)}`);
					const lwps = (res.stdout.match(/\(LWP \d+\)/g) ?? []).length;
					if (lwps < n + 1) throw new Error(`gdb listed ${lwps} threads, want ${n + 1}`);
					return res.ms;
				});
				assertNotStoppedOrTraced(fx.pid, `bench ${n} after gdb`);
				gdbMs = median(g);
			}
			table.addRow([n, pause, total, gdbMs, gdbMs === null ? null : `${(gdbMs / total).toFixed(1)}×`]);
			process.stderr.write(`bench: ${n} threads done\n`);
		} finally {
			await fx.kill();
		}
	}
	table.note(`forkall: median of ${FORKALL_RUNS} runs of \`forkall threads PID --json\`; pause = its pauseUs (first stop to last release); total = wall time of the command.`);
	if (gdb) table.note(`gdb: median of ${GDB_RUNS} runs of \`gdb -nx -batch -p PID -ex "info threads"\` on the same process.`);
	else table.note('gdb: not installed, column skipped.');
	process.stdout.write(table.render());
}

main()
	.catch((e) => {
		process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
		process.exitCode = 1;
	})
	.finally(() => cleanup());
