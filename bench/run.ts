/* npm run bench: forkall vs gdb on the threads fixture.
 *
 * For 64, 256 and 1024 threads (mostly idle: no spinners, 200 ms tick), on
 * the same process in the same run:
 *   - `forkall threads PID --json`: pauseUs from its JSON and the wall time
 *     of the whole command (median of 7)
 *   - `gdb -nx -batch -p PID -ex "info threads"`: wall time (median of 5)
 */
import { Table, median, repeat } from './table';
import { spawnFixture, killAll } from '../test/helpers/procs';
import { forkallJson, forkallAvailable, run } from '../test/helpers/forkall';
import { which } from '../test/helpers/paths';
import { assertNotStoppedOrTraced } from '../test/helpers/procfs';

const SIZES = (process.env.FORKALL_BENCH_THREADS ?? '64,256,1024').split(',').map(Number);
const FORKALL_RUNS = 7;
const GDB_RUNS = 5;

async function main(): Promise<void> {
	if (!forkallAvailable()) throw new Error('bin/forkall not found: run `npm run build` first');
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
	.finally(() => killAll());
