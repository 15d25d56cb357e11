/* Fork benchmark: `forkall fork` beside a plain fork() of the same process,
 * measured in the same run.
 *
 * For every (threads N) × (RSS MiB) the target is test/fixtures/forkbench
 * N MIB (N mostly idle workers + MIB MiB of touched anonymous memory),
 * started under test/fixtures/reaper (the forkall child's parent is the
 * target's parent, CLONE_PARENT, and must be reaped). Runs alternate:
 *
 *   plain    SIGUSR1 to the target: one of its non-main threads does fork()
 *            and prints pauseUs (the fork() call in the parent) and readyUs
 *            (just before fork() to the child's first line)
 *   forkall  `forkall fork PID --json`: timings.pauseUs (parent stopped),
 *            forkUs (the injected clone), threadsUs (building the child's
 *            threads after the parent runs again), totalUs (whole operation
 *            = "child fully running"); cross-check from outside: wall time
 *            from spawning the CLI to /proc/C/status Threads == N+1 with no
 *            task stopped or traced (includes the CLI's own start-up)
 *
 * Every forkall child is killed by pid once it runs and its reaping by the
 * reaper is checked before the next run. One warm-up run of each is
 * discarded. Medians are reported.
 *
 * Environment (for quick iterations):
 *   FORKALL_BENCH_FORK_THREADS   default 1,8,64,256
 *   FORKALL_BENCH_FORK_MIB       default 16,512
 *   FORKALL_BENCH_FORK_RUNS      default 7 (plain and forkall each)
 */
import * as fs from 'node:fs';
import { Table, median, repeat } from './table';
import { sleep } from '../test/helpers/procs';
import { fixturePath } from '../test/helpers/paths';
import { procState, assertNotStoppedOrTraced } from '../test/helpers/procfs';
import { forkOk, forkTool, type ForkBody } from '../test/helpers/forkRun';
import { ForkTarget, registerChild, spawnReaped } from '../test/helpers/forkTarget';

const list = (v: string | undefined, def: string): number[] => (v ?? def).split(',').filter(Boolean).map(Number);
const THREADS = list(process.env.FORKALL_BENCH_FORK_THREADS, '1,8,64,256');
const MIBS = list(process.env.FORKALL_BENCH_FORK_MIB, '16,512');
const RUNS = Number(process.env.FORKALL_BENCH_FORK_RUNS ?? 7);

/* Goals of the issue (item 5): ratio to plain fork, per thread count
 * (moonshots: pause 2×, child running 4× at 64 workers). */
const PAUSE_TARGET: Record<number, number> = { 64: 3, 256: 4 };
const READY_TARGET: Record<number, number> = { 64: 6 };

interface PlainRun {
	pauseUs: number;
	readyUs: number;
}
interface ForkallRun {
	timings: ForkBody['timings'];
	/* the target's heartbeat: longest gap between its 200 µs wake-ups (µs) */
	heartGapUs: number;
	/* CLI spawn -> child seen with all threads, running (ms) */
	wallMs: number;
	/* CLI spawn -> CLI exit (ms) */
	cliMs: number;
}

export interface ForkBenchRow {
	threads: number;
	mib: number;
	rssKiB: number;
	plain: PlainRun[];
	forkall: ForkallRun[];
}

/* The heartbeat thread's longest gap since the previous call (and a reset). */
async function heartGap(t: ForkTarget, seq: number): Promise<number> {
	process.kill(t.pid, 'SIGUSR2');
	const line = await t.waitLine((l) => l.startsWith(`HEART seq=${seq} `), 60000, `HEART seq=${seq}`);
	const m = /maxGapUs=([\d.]+)/.exec(line);
	if (!m) throw new Error(`bad HEART line: ${line}`);
	return Number(m[1]);
}

/* The program's own fork() (SIGUSR1: forkbench's `FORK seq=N pauseUs=… readyUs=…` line); also used by the
 * checkpoint, recreate and floor sections. */
export async function plainFork(t: ForkTarget, seq: number): Promise<PlainRun> {
	process.kill(t.pid, 'SIGUSR1');
	const line = await t.waitLine((l) => l.startsWith(`FORK seq=${seq} `), 60000, `FORK seq=${seq}`);
	const m = /pauseUs=([\d.]+) readyUs=([\d.]+)/.exec(line);
	if (!m) throw new Error(`bad FORK line: ${line}`);
	return { pauseUs: Number(m[1]), readyUs: Number(m[2]) };
}

function threadsOf(pid: number): number | null {
	try {
		const m = /^Threads:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
		return m ? Number(m[1]) : null;
	} catch {
		return null;
	}
}

/* Every thread exists and none is stopped or traced. */
function childRunning(pid: number, want: number): boolean {
	if (threadsOf(pid) !== want) return false;
	const st = procState(pid);
	return st.length === want && st.every((s) => s.state !== 't' && s.state !== 'T' && s.tracerPid === 0);
}

async function forkallFork(t: ForkTarget, nthreads: number, hseq: () => number): Promise<ForkallRun> {
	await heartGap(t, hseq()); /* start over */
	const t0 = process.hrtime.bigint();
	const r = await forkOk(t.pid, { timeoutMs: 180000 });
	const child = r.body.child;
	registerChild(child); /* cleanupFork() kills it if anything below fails */
	try {
		if (r.body.threads.length !== nthreads) {
			throw new Error(`forkall fork reported ${r.body.threads.length} threads, want ${nthreads}`);
		}
		const deadline = Date.now() + 30000;
		while (!childRunning(child, nthreads)) {
			if (Date.now() > deadline) {
				throw new Error(
					`child ${child}: Threads=${threadsOf(child)}, states ${JSON.stringify(procState(child))}; want ${nthreads} running`,
				);
			}
			await sleep(1);
		}
		const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
		const heartGapUs = await heartGap(t, hseq());
		assertNotStoppedOrTraced(t.pid, `forkbench ${t.label} after forkall fork`);
		return { timings: r.body.timings, heartGapUs, wallMs, cliMs: r.ms };
	} finally {
		await t.killChild(child);
	}
}

async function measure(n: number, mib: number): Promise<ForkBenchRow> {
	/* forkbench N MIB: N workers, main and its heartbeat thread */
	const t = await spawnReaped<{ pid: number; threads: number; mib: number; rssKiB: number }>(
		fixturePath('forkbench'),
		[String(n), String(mib)],
		{ readyTimeoutMs: 120000 },
		`forkbench ${n} ${mib}`,
	);
	try {
		let seq = 0;
		let hs = 0;
		const hseq = (): number => ++hs;
		const nthreads = t.truth.threads;
		await plainFork(t, ++seq); /* warm-up */
		await forkallFork(t, nthreads, hseq);
		const plain: PlainRun[] = [];
		const forkall: ForkallRun[] = [];
		await repeat(RUNS, async () => {
			plain.push(await plainFork(t, ++seq));
			forkall.push(await forkallFork(t, nthreads, hseq));
		});
		if (t.strays().length) throw new Error(`forkall children left: ${JSON.stringify(t.strays())}`);
		return { threads: n, mib, rssKiB: t.truth.rssKiB, plain, forkall };
	} finally {
		await t.stop();
	}
}

function ratio(a: number, b: number): string {
	return `${(a / b).toFixed(2)}×`;
}

function targetCell(n: number, pauseRatio: number, readyRatio: number): string {
	const parts: string[] = [];
	if (PAUSE_TARGET[n] !== undefined) parts.push(`pause ≤${PAUSE_TARGET[n]}× ${pauseRatio <= PAUSE_TARGET[n] ? 'yes' : 'NO'}`);
	if (READY_TARGET[n] !== undefined) parts.push(`ready ≤${READY_TARGET[n]}× ${readyRatio <= READY_TARGET[n] ? 'yes' : 'NO'}`);
	return parts.length ? parts.join(', ') : '—';
}

export function renderForkBench(rows: ForkBenchRow[]): string {
	const main = new Table('forkall fork vs plain fork() of the same process', [
		'threads',
		'MiB',
		'plain fork pause µs',
		'forkall pause µs (heartbeat)',
		'pause ratio',
		'forkall pauseUs (tracer)',
		'plain child-ready µs',
		'forkall child-ready µs',
		'ready ratio',
		'target met?',
	]);
	const phases = new Table('forkall fork phases (medians, µs unless noted)', [
		'threads',
		'MiB',
		'RSS MiB',
		'prepare',
		'stop',
		'capture',
		'altstack',
		'fork',
		'restore',
		'release',
		'pauseUs',
		'threadsUs',
		'totalUs',
		'wall to all running ms',
		'CLI wall ms',
	]);
	for (const r of rows) {
		const pp = median(r.plain.map((x) => x.pauseUs));
		const pr = median(r.plain.map((x) => x.readyUs));
		const fh = median(r.forkall.map((x) => x.heartGapUs));
		const fp = median(r.forkall.map((x) => x.timings.pauseUs));
		const ft = median(r.forkall.map((x) => x.timings.totalUs));
		main.addRow([r.threads, r.mib, pp, fh, ratio(fh, pp), fp, pr, ft, ratio(ft, pr), targetCell(r.threads, fh / pp, ft / pr)]);
		const tm = r.forkall.map((x) => x.timings);
		const ph = (k: keyof ForkBody['timings']['pausePhasesUs']): number => median(tm.map((x) => x.pausePhasesUs[k]));
		phases.addRow([
			r.threads,
			r.mib,
			(r.rssKiB / 1024).toFixed(0),
			median(tm.map((x) => x.totalUs - x.pauseUs - x.threadsUs)),
			ph('stop'),
			ph('capture'),
			ph('altstack'),
			ph('fork'),
			ph('restore'),
			ph('release'),
			fp,
			median(tm.map((x) => x.threadsUs)),
			ft,
			median(r.forkall.map((x) => x.wallMs)),
			median(r.forkall.map((x) => x.cliMs)),
		]);
	}
	main.note(
		`threads = N worker threads of \`forkbench N MIB\` (the process has N + 2 with main and its heartbeat thread); MiB = touched anonymous memory; medians of ${RUNS} runs each, plain and forkall alternating, after one discarded warm-up of each; tool: ${forkTool()}.`,
	);
	main.note(
		"plain fork pause = the fork() call in the forking thread (the page-table copy; a plain fork stops no other thread); plain child-ready = just before fork() to the child's first line after fork() returns.",
	);
	main.note(
		"forkall pause (heartbeat) = the longest gap between two wake-ups of the target's own heartbeat thread (every 200 µs) (SCHED_FIFO, so that other load does not make gaps), from just before `forkall fork` until its child runs: how long the program was frozen as it sees it, one period included; forkall pauseUs (tracer) = timings.pauseUs (first thread stopped to parent released); forkall child-ready = timings.totalUs (whole operation: prepare + pause + building every child thread, child released running).",
	);
	main.note(
		'Goals (issue 8, item 5): pause ≤ 3× plain at 64 workers (moonshot 2×), ≤ 4× at 256; child fully running ≤ 6× plain at 64 workers (moonshot 4×).',
	);
	phases.note(
		"prepare = totalUs − pauseUs − threadsUs (maps, smaps, ELF symbols, every thread's status, seizing every thread: the parent still runs); stop … release = timings.pausePhasesUs (capture includes the seccomp check); threadsUs = building the child after the parent runs again.",
	);
	phases.note(
		'wall to all running: from spawning the CLI until /proc/CHILD/status shows every thread and no task is stopped or traced (includes starting node and the CLI); CLI wall: spawn to exit.',
	);
	return main.render() + '\n' + phases.render();
}

export async function forkBench(): Promise<string> {
	const rows: ForkBenchRow[] = [];
	for (const n of THREADS) {
		for (const mib of MIBS) {
			rows.push(await measure(n, mib));
			process.stderr.write(`bench fork: ${n} workers × ${mib} MiB done\n`);
		}
	}
	return renderForkBench(rows);
}
