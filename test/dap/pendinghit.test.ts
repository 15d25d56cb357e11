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
	pid: number;
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
	const pid = (await dc.threadsRequest()).body.threads[0].id;
	const r = await dc.setBreakpointsRequest({
		source: { path: SRC },
		breakpoints: [{ line: HIT, ...bp }, ...(end ? [{ line: END }] : [])],
	});
	for (const b of r.body.breakpoints) assert.equal(b.verified, true, JSON.stringify(r.body));
	await dc.configurationDoneRequest();
	return { dc, pid, stdout: () => out, bpId: r.body.breakpoints[0].id! };
}

/**
 * From the session's stop #from on, continue every stop until the exit:
 * each stop must be a breakpoint stop at #HIT (or main's at #END, where
 * `atEnd` runs). The threads of the #HIT stops, and the exit code.
 */
async function toExit(run: Run, atEnd?: () => Promise<void>, from = 1): Promise<{ tids: number[]; exitCode: number | undefined }> {
	const tids: number[] = [];
	let ends = 0;
	const { exitCode } = await run.dc.continueToExit(from, async (ev) => {
		assert.equal(ev.body.reason, 'breakpoint', JSON.stringify(ev.body));
		const top = await topOf(run, ev.body.threadId!);
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

async function topOf(run: Run, tid: number): Promise<DebugProtocol.StackFrame> {
	return (await run.dc.stackTraceRequest({ threadId: tid, levels: 1 })).body.stackFrames[0];
}

/**
 * Continue from breakpoint stop to breakpoint stop (their threads go to
 * `hits`) until one where other threads sit at #HIT too: threads whose hit
 * is pending (or that are about to hit). That stop and those threads.
 */
async function stopWithPending(run: Run, hits: number[]): Promise<{ stop: DebugProtocol.StoppedEvent; waiting: number[] }> {
	for (let n = 1; n <= N * ROUNDS; n++) {
		const stop = await run.dc.stopNumber(n);
		assert.equal(stop.body.reason, 'breakpoint', JSON.stringify(stop.body));
		hits.push(stop.body.threadId!);
		const waiting: number[] = [];
		for (const t of (await run.dc.threadsRequest()).body.threads) {
			if (t.id === stop.body.threadId) continue;
			const top = await topOf(run, t.id);
			if (top.name === 'hit' && top.line === HIT) waiting.push(t.id);
		}
		if (waiting.length) return { stop, waiting };
		await run.dc.continueRequest({ threadId: stop.body.threadId! });
	}
	assert.fail(`no stop with another thread at #HIT in ${N * ROUNDS} stops: the race never happened`);
}

/** The rest of the run from the last stop: every worker's hit reported exactly once in all (hits so far included), then exit code 0. */
async function finish(run: Run, hits: number[]): Promise<void> {
	const last = run.dc.stops().length;
	await run.dc.continueRequest({ threadId: run.dc.stops()[last - 1].body.threadId! });
	const rest = await toExit(run, undefined, last + 1);
	assert.equal(rest.exitCode, 0, run.stdout());
	const ws = workers(run.stdout());
	assert.equal(ws.length, N * ROUNDS, run.stdout());
	assert.deepEqual(sorted([...hits, ...rest.tids]), sorted(ws.map((w) => w.tid)), "every worker's hit reported, once");
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

// ---- the other ways a thread with a pending hit could run ----

/**
 * At a stop with pending hits, `how` makes something run (and says whose
 * hit must come of it): the next stop is that hit, at #HIT (the thread did
 * not move past it); then the rest of the run (every hit once).
 */
async function resumeWithPending(how: (run: Run, stop: DebugProtocol.StoppedEvent, waiting: number[]) => Promise<number[]>): Promise<void> {
	const run = await launch();
	try {
		const hits: number[] = [];
		const { stop, waiting } = await stopWithPending(run, hits);
		const next = run.dc.stopNumber(run.dc.stops().length + 1, 5000);
		const whose = await how(run, stop, waiting);
		const st = await next;
		assert.equal(st.body.reason, 'breakpoint', JSON.stringify(st.body));
		assert.ok(whose.includes(st.body.threadId!), `the hit of ${whose.join(' or ')}: ${JSON.stringify(st.body)}`);
		assert.equal((await topOf(run, st.body.threadId!)).line, HIT, 'at its breakpoint still');
		hits.push(st.body.threadId!);
		await finish(run, hits);
	} finally {
		await run.dc.stop().catch(() => undefined);
	}
}

test('continue with singleThread of a thread whose hit is pending: its hit is reported, it does not run past it', () =>
	resumeWithPending(async (run, _stop, waiting) => {
		await run.dc.continueRequest({ threadId: waiting[0], singleThread: true });
		return [waiting[0]];
	}));

test("stepOut of one thread while another's hit is pending: the step ends with that hit", () =>
	resumeWithPending(async (run, stop, waiting) => {
		await run.dc.stepOutRequest({ threadId: stop.body.threadId! });
		return waiting;
	}));

test('next of the thread whose hit is pending: its hit is reported first, where it is', () =>
	resumeWithPending(async (run, _stop, waiting) => {
		await run.dc.nextRequest({ threadId: waiting[0] });
		return [waiting[0]];
	}));

test('threads frozen while their hits are pending: not reported while frozen (a step of another leaves them too); thawed, reported at the next continues', async () => {
	const run = await launch();
	try {
		const hits: number[] = [];
		const { stop, waiting } = await stopWithPending(run, hits);
		for (const w of waiting) await run.dc.customRequest('freezeThread', { threadId: w });
		// a step that runs every thread (stepOut) leaves the frozen ones and their hits alone
		const stepped = run.dc.stopNumber(hits.length + 1, 5000);
		await run.dc.stepOutRequest({ threadId: stop.body.threadId! });
		const st0 = await stepped;
		let tid = stop.body.threadId!;
		if (st0.body.reason === 'breakpoint') {
			// a worker of the round that had not hit yet did now (all run during stepOut): it ends the step
			assert.ok(!waiting.includes(st0.body.threadId!) && !hits.includes(st0.body.threadId!), JSON.stringify(st0.body));
			hits.push((tid = st0.body.threadId!));
		} else {
			assert.deepEqual([st0.body.reason, st0.body.threadId], ['step', tid], JSON.stringify(st0.body));
		}
		for (const w of waiting) assert.equal((await topOf(run, w)).line, HIT, `frozen ${w} did not move`);
		// every other worker of their round stops once; then main waits for them in pthread_join
		const round = await run.dc.until(
			() => {
				const ws = workers(run.stdout());
				const me = ws.find((w) => w.tid === waiting[0]);
				return me && ws.filter((w) => w.round === me.round).length === N ? me.round : undefined;
			},
			5000,
			() => `the round printed:\n${run.stdout()}`,
		);
		const others = workers(run.stdout())
			.filter((w) => w.round === round && !waiting.includes(w.tid) && !hits.includes(w.tid))
			.map((w) => w.tid);
		let n = run.dc.stops().length; // the step's stop included
		while (others.length) {
			const next = run.dc.stopNumber(++n, 5000);
			await run.dc.continueRequest({ threadId: tid });
			const st = await next.catch(async (e) => {
				await run.dc.pauseRequest({ threadId: run.pid });
				await new Promise((r) => setTimeout(r, 500));
				const dump: string[] = [];
				for (const t of (await run.dc.threadsRequest()).body.threads) {
					const fr = (await run.dc.stackTraceRequest({ threadId: t.id, levels: 3 })).body.stackFrames;
					dump.push(`${t.name}: ${fr.map((f) => `${f.name}:${f.line}`).join(' < ')}`);
				}
				throw new Error(
					`${(e as Error).message}\nothers ${others.join(' ')} waiting ${waiting.join(' ')} hits ${hits.join(' ')}\n${dump.join('\n')}\n${run.stdout()}`,
				);
			});
			assert.equal(st.body.reason, 'breakpoint', JSON.stringify(st.body));
			assert.ok(
				others.includes(st.body.threadId!),
				`a hit of another worker of the round, not of frozen ${waiting.join(' ')}: ${st.body.threadId}`,
			);
			others.splice(others.indexOf(st.body.threadId!), 1);
			hits.push((tid = st.body.threadId!));
		}
		// nothing left to run but main's join: pause, thaw, continue
		await run.dc.continueRequest({ threadId: tid });
		await new Promise((r) => setTimeout(r, 300));
		assert.equal(run.dc.stops().length, n, 'no stop while they are frozen');
		const paused = run.dc.stopNumber(++n);
		await run.dc.pauseRequest({ threadId: run.pid });
		assert.equal((await paused).body.reason, 'pause');
		for (const w of waiting) await run.dc.customRequest('freezeThread', { threadId: w, frozen: false });
		tid = run.pid;
		for (const _ of waiting) {
			const next = run.dc.stopNumber(++n, 5000);
			await run.dc.continueRequest({ threadId: tid });
			const st = await next;
			assert.equal(st.body.reason, 'breakpoint', JSON.stringify(st.body));
			assert.ok(waiting.includes(st.body.threadId!) && !hits.includes(st.body.threadId!), `a thawed one's hit: ${st.body.threadId}`);
			hits.push((tid = st.body.threadId!));
		}
		await finish(run, hits);
	} finally {
		await run.dc.stop().catch(() => undefined);
	}
});
