/*
 * DAP bench (issue "the debug adapter"): time from `pause` to a complete
 * `threads` response plus the top frame of every thread (`stackTrace` with
 * levels 1, one request per thread, as VS Code sends them) on the threads
 * fixture at 64 and 1024 threads, through `forkall dap` over stdio.
 * Goal: ≤ 100 ms at 1024 threads.
 */
import { DapClient } from '../test/dap/support';
import { spawnFixture, type Fixture } from '../test/helpers/procs';
import { Table, median } from './table';

const SIZES = (process.env.FORKALL_BENCH_DAP_THREADS ?? '64,1024').split(',').map(Number);
const RUNS = Number(process.env.FORKALL_BENCH_DAP_RUNS ?? 5);

interface Sample {
	stoppedMs: number; // pause request -> stopped event
	threadsMs: number; // -> threads response
	framesMs: number; // -> every thread's top frame
	totalMs: number;
	threads: number;
}

async function once(dc: DapClient, tid: number): Promise<Sample> {
	const t0 = performance.now();
	const stopped = dc.waitForEvent('stopped', 30000);
	await dc.pauseRequest({ threadId: tid });
	await stopped;
	const t1 = performance.now();
	const th = await dc.threadsRequest();
	const t2 = performance.now();
	const frames = await Promise.all(th.body.threads.map((t) => dc.stackTraceRequest({ threadId: t.id, startFrame: 0, levels: 1 })));
	const t3 = performance.now();
	for (const f of frames) {
		if (f.body.stackFrames.length < 1) throw new Error('a thread without a top frame');
	}
	const continued = dc.continueRequest({ threadId: tid });
	await continued;
	return { stoppedMs: t1 - t0, threadsMs: t2 - t1, framesMs: t3 - t2, totalMs: t3 - t0, threads: th.body.threads.length };
}

export async function dapBench(): Promise<void> {
	const table = new Table('forkall dap: pause → threads + top frame of every thread', [
		'threads',
		'pause→stopped ms',
		'threads ms',
		'top frames ms',
		'total ms',
		'goal ≤ 100 ms at 1024',
	]);
	for (const n of SIZES) {
		let fx: Fixture | null = null;
		const dc = new DapClient();
		try {
			fx = await spawnFixture('threads', [String(n), '--spinners', '0', '--tick-ms', '200'], { readyTimeoutMs: 60000 });
			await dc.start();
			await dc.initializeRequest({ adapterID: 'forkall', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
			await dc.attachRequest({ pid: fx.pid } as never);
			await dc.configurationDoneRequest();
			const samples: Sample[] = [];
			await once(dc, fx.pid); // warm-up: symbol tables, libdw
			for (let i = 0; i < RUNS; i++) samples.push(await once(dc, fx.pid));
			const s = samples[0];
			if (s.threads !== n + 1) throw new Error(`threads listed ${s.threads}, want ${n + 1}`);
			const total = median(samples.map((x) => x.totalMs));
			table.addRow([
				n,
				Number(median(samples.map((x) => x.stoppedMs)).toFixed(1)),
				Number(median(samples.map((x) => x.threadsMs)).toFixed(1)),
				Number(median(samples.map((x) => x.framesMs)).toFixed(1)),
				Number(total.toFixed(1)),
				n === 1024 ? (total <= 100 ? 'yes' : 'NO') : '—',
			]);
			await dc.disconnectRequest({ terminateDebuggee: false });
			process.stderr.write(`bench: dap ${n} threads done\n`);
		} finally {
			await dc.stop().catch(() => undefined);
			if (fx) await fx.kill();
		}
	}
	table.note(
		`median of ${RUNS} rounds after one warm-up; one \`stackTrace\` (levels 1) per thread, all sent at once as VS Code does; attached with \`forkall dap\` over stdio.`,
	);
	process.stdout.write(table.render());
}
