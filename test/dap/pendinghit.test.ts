/*
 * No breakpoint hit is lost in all-stop mode (gdb's pending events): on
 * test/fixtures/hitrace.c — each round, 8 threads released by one spin
 * barrier call hit() once — a thread that hits while another thread's
 * stop is being reported is stopped with its hit unseen; that hit must be
 * reported when the thread would next run, never stepped over.
 *
 * - continue after each stop: exactly 8 × 3 breakpoint stops, one per
 *   worker (threadId = the tid it printed), at #HIT, then exit code 0;
 * - the same with hitCondition "% 2" (exactly half the hits stop) and with
 *   a condition the tracer thread compiles (`k % 2 == 0`: exactly the
 *   even workers stop; conditionStats: every hit evaluated once).
 *
 * Negative control (by hand, 2026-12-04): without report_pending_hit's
 * call in attach_resume_all, the stops come short (a hit stepped over).
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ConditionStatsResponseBody } from '../../adapter/src/dap/custom';
import { FIXTURES_SRC, fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, findMarker, within } from './support';

after(killAll);

const SRC = path.join(FIXTURES_SRC, 'hitrace.c');
const HIT = findMarker('HIT', SRC);
const END = findMarker('END', SRC);
const N = 8;
const ROUNDS = 3;

interface Worker {
	round: number;
	k: number;
	tid: number;
}

interface Run {
	dc: DapClient;
	stdout: () => string;
	bpId: number;
}

/** The workers hitrace printed ("worker R.K tid T"). */
function workers(stdout: string): Worker[] {
	return [...stdout.matchAll(/^worker (\d+)\.(\d+) tid (\d+)$/gm)].map((m) => ({
		round: Number(m[1]),
		k: Number(m[2]),
		tid: Number(m[3]),
	}));
}

const sorted = (v: number[]): number[] => [...v].sort((a, b) => a - b);

/** hitrace N ROUNDS launched with one breakpoint on #HIT (and one on #END with `end`), configured: running. */
async function launch(bp: Omit<DebugProtocol.SourceBreakpoint, 'line'> = {}, end = false): Promise<Run> {
	const dc = new DapClient();
	await dc.start();
	let out = '';
	dc.on('output', (e: DebugProtocol.OutputEvent) => {
		if (e.body.category === 'stdout') out += e.body.output;
	});
	await dc.init();
	const initialized = dc.next('initialized');
	await within(
		dc.launchRequest({ program: fixturePath('hitrace'), args: [String(N), String(ROUNDS)] } as DebugProtocol.LaunchRequestArguments),
		20000,
		'launch',
	);
	await initialized;
	const r = await dc.setBreakpointsRequest({
		source: { path: SRC },
		breakpoints: [{ line: HIT, ...bp }, ...(end ? [{ line: END }] : [])],
	});
	for (const b of r.body.breakpoints) assert.equal(b.verified, true, JSON.stringify(r.body));
	await dc.configurationDoneRequest();
	return { dc, stdout: () => out, bpId: r.body.breakpoints[0].id! };
}

/**
 * Continue every stop until the exit: each stop must be a breakpoint stop
 * at #HIT (or main's at #END, where `atEnd` runs). The threads of the #HIT
 * stops, and the exit code.
 */
async function toExit(run: Run, atEnd?: () => Promise<void>): Promise<{ tids: number[]; exitCode: number | undefined }> {
	const tids: number[] = [];
	let ends = 0;
	const { exitCode } = await run.dc.continueToExit(1, async (ev) => {
		assert.equal(ev.body.reason, 'breakpoint', JSON.stringify(ev.body));
		const top = (await run.dc.stackTraceRequest({ threadId: ev.body.threadId!, levels: 1 })).body.stackFrames[0];
		if (atEnd && top.line === END) {
			ends++;
			await atEnd();
			return;
		}
		assert.deepEqual([top.name, top.line], ['hit', HIT], `thread ${ev.body.threadId} stopped at #HIT`);
		tids.push(ev.body.threadId!);
	});
	if (atEnd) assert.equal(ends, 1, 'one stop at #END');
	return { tids, exitCode };
}

test(`${N} threads racing to one breakpoint, ${ROUNDS} rounds: every hit stops once, on its own thread`, async () => {
	const run = await launch();
	try {
		const { tids, exitCode } = await toExit(run);
		assert.equal(exitCode, 0, run.stdout());
		assert.match(run.stdout(), new RegExp(`^hits ${N * ROUNDS}$`, 'm'));
		const ws = workers(run.stdout());
		assert.equal(ws.length, N * ROUNDS, run.stdout());
		assert.deepEqual(sorted(tids), sorted(ws.map((w) => w.tid)), 'one stop per worker, each on its own thread');
	} finally {
		await run.dc.stop().catch(() => undefined);
	}
});

test('hitCondition "% 2" over racing hits: exactly every second hit stops', async () => {
	const run = await launch({ hitCondition: '% 2' });
	try {
		const { tids, exitCode } = await toExit(run);
		assert.equal(exitCode, 0, run.stdout());
		const all = new Set(workers(run.stdout()).map((w) => w.tid));
		assert.equal(all.size, N * ROUNDS, run.stdout());
		assert.equal(tids.length, (N * ROUNDS) / 2, `stops: ${tids.join(' ')}`);
		assert.equal(new Set(tids).size, tids.length, 'no hit reported twice');
		assert.ok(
			tids.every((t) => all.has(t)),
			'every stop is a worker',
		);
	} finally {
		await run.dc.stop().catch(() => undefined);
	}
});

test('a condition the tracer compiles (k % 2 == 0) over racing hits: exactly the even workers stop', async () => {
	const run = await launch({ condition: 'k % 2 == 0' }, true);
	try {
		let stats: ConditionStatsResponseBody | null = null;
		const { tids, exitCode } = await toExit(run, async () => {
			stats = (await run.dc.customRequest('conditionStats', { id: run.bpId })).body as ConditionStatsResponseBody;
		});
		assert.equal(exitCode, 0, run.stdout());
		const ws = workers(run.stdout());
		assert.equal(ws.length, N * ROUNDS, run.stdout());
		assert.deepEqual(sorted(tids), sorted(ws.filter((w) => w.k % 2 === 0).map((w) => w.tid)), 'one stop per even worker');
		const s = stats as ConditionStatsResponseBody | null;
		assert.ok(s, 'conditionStats at #END');
		assert.deepEqual(
			[s.compiled, s.errors, s.holds, s.passes],
			[true, 0, (N * ROUNDS) / 2, (N * ROUNDS) / 2],
			`every hit evaluated natively, once: ${JSON.stringify(s)}`,
		);
	} finally {
		await run.dc.stop().catch(() => undefined);
	}
});
