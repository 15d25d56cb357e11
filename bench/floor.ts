/*
 * The ptrace floor (issue 8 item 5, issue 12's save goal): what a pause of
 * every thread costs with nothing but the ptrace calls no design can avoid
 * (test/fixtures/ptracefloor: interrupt + wait, registers + xstate + mask,
 * continue, per thread), against the program's own fork() of the same
 * process (forkbench N 16, SIGUSR1: its pauseUs), same run. "floor with the
 * fork" = (ptrace floor + fork) ÷ fork: no ptrace-stop forkall can pause
 * the program for less, whatever else it does.
 */
import { fixturePath } from '../test/helpers/paths';
import { run } from '../test/helpers/forkall';
import { spawnReaped } from '../test/helpers/forkTarget';
import { Table, median } from './table';
import { plainFork } from './fork';

const SIZES = (process.env.FORKALL_BENCH_FLOOR ?? '8,64,256').split(',').map(Number);
const FORKS = 9;
const ROUNDS = 11;

interface Floor {
	threads: number;
	stopUs: number;
	captureUs: number;
	releaseUs: number;
	totalUs: number;
}

export async function floorBench(): Promise<string> {
	const table = new Table("ptrace floor: stop + capture + release of every thread vs the program's own fork()", [
		'workers',
		'threads',
		'stop µs',
		'capture µs',
		'release µs',
		'floor µs',
		'own fork() µs',
		'floor with the fork',
	]);
	for (const n of SIZES) {
		const t = await spawnReaped<{ pid: number }>(
			fixturePath('forkbench'),
			[String(n), '16'],
			{ readyTimeoutMs: 120000 },
			`forkbench ${n} 16`,
		);
		try {
			const forks: number[] = [];
			for (let seq = 1; seq <= FORKS + 1; seq++) {
				const { pauseUs } = await plainFork(t, seq);
				if (seq > 1) forks.push(pauseUs);
			}
			const r = await run([fixturePath('ptracefloor'), String(t.pid), String(ROUNDS)], { timeoutMs: 120000 });
			if (r.code !== 0) throw new Error(`ptracefloor ${t.pid}: exit ${r.code}: ${r.stderr.trim()}`);
			const f = JSON.parse(r.stdout) as Floor;
			const fork = median(forks);
			table.addRow([n, f.threads, f.stopUs, f.captureUs, f.releaseUs, f.totalUs, fork, `${((f.totalUs + fork) / fork).toFixed(2)}×`]);
		} finally {
			await t.stop();
		}
	}
	table.note(`medians: ${ROUNDS} rounds of the floor, ${FORKS} forks; forkbench N workers + main + heartbeat, 16 MiB`);
	table.note('goals it bounds: fork pause ≤ 3× a plain fork at 64 threads, ≤ 4× at 256 (issue 8); checkpoint save ≤ 1.5× (issue 12)');
	return table.render();
}
