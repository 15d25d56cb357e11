/*
 * Breakpoint conditions evaluated by the tracer thread (model/expr/compile.ts
 * → native bpCondition, debuginfo/condprog.c): on test/fixtures/condnative.c,
 * one session walks a breakpoint on #PROBE through conditions that each
 * hold at exactly one of main's iterations — over a register parameter,
 * unsigned int (C's conversions: `u > -1` is false), signed and unsigned
 * char, short, a pointer, float and double locals in memory, a global —
 * and checks the stop is main's at that iteration, and that the native
 * path was taken (customRequest('conditionStats'): compiled, hits passed
 * natively, none it could not evaluate). A condition that never holds
 * never stops and the program exits 0 (both with displaced steps and with
 * every thread stopped for the step over the breakpoint); one the adapter does not compile
 * (a cast) and one the native side refuses (an enumerator) still stop
 * right, through the adapter's evaluator; a hit condition counts only the
 * hits where the condition held. A false condition at a RIP-relative
 * instruction (the copy in its slot must read the program's variable; slotPasses counts hits passed there). And
 * bphammer's 8 threads on one false compiled condition: every thread keeps
 * advancing (no starvation: the hits waiting are passed as one batch), a
 * true condition set meanwhile stops, a detach while they pass leaves the
 * process running and untraced. A logpoint with a compiled condition.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ConditionStatsResponseBody } from '../../adapter/src/dap/custom';
import { FIXTURES_SRC, fixturePath } from '../helpers/paths';
import { killAll, pollUntil, sleep, spawnFixture } from '../helpers/procs';
import { assertNotStoppedOrTraced } from '../helpers/procfs';
import { DapClient, DapServer, findMarker, within } from './support';

after(killAll);

const SRC = path.join(FIXTURES_SRC, 'condnative.c');
const PROBE = findMarker('PROBE', SRC);
const END = findMarker('END', SRC);

async function launch(env?: NodeJS.ProcessEnv): Promise<{ dc: DapClient }> {
	const dc = new DapClient(env ? { env } : {});
	await dc.start();
	await dc.init();
	const initialized = dc.next('initialized');
	await within(dc.launchRequest({ program: fixturePath('condnative') } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
	await initialized;
	return { dc };
}

async function setProbe(dc: DapClient, bp: Omit<DebugProtocol.SourceBreakpoint, 'line'> | null): Promise<number> {
	const r = await dc.setBreakpointsRequest({
		source: { path: SRC },
		breakpoints: [...(bp ? [{ line: PROBE, ...bp }] : []), { line: END }],
	});
	for (const b of r.body.breakpoints) assert.equal(b.verified, true, JSON.stringify(r.body));
	return bp ? r.body.breakpoints[0].id! : 0;
}

async function stats(dc: DapClient, id: number): Promise<ConditionStatsResponseBody> {
	return (await dc.customRequest('conditionStats', { id })).body as ConditionStatsResponseBody;
}

/** Is thread tid main (its stack has main(), not worker())? */
async function isMain(dc: DapClient, tid: number): Promise<boolean> {
	const frames = (await dc.stackTraceRequest({ threadId: tid })).body.stackFrames;
	return frames.some((f) => /^main\b/.test(f.name)) && !frames.some((f) => /^worker\b/.test(f.name));
}

async function valueAt(dc: DapClient, tid: number, expression: string): Promise<string> {
	const frameId = (await dc.stackTraceRequest({ threadId: tid })).body.stackFrames[0].id;
	return (await dc.evaluateRequest({ expression, frameId, context: 'watch' })).body.result;
}

async function walk(env?: NodeJS.ProcessEnv): Promise<void> {
	const { dc } = await launch(env);
	try {
		// [condition, i where it first holds on main]
		const steps: [string, number][] = [
			['u > -1 || u / 2 == 1999999997', 5], // unsigned int: -1 becomes UINT_MAX (never less than u), u / 2 divides unsigned
			['ptr != 0', 42],
			['fl == 12.25', 49],
			['c == -3 && i < 300', 253],
			['sh < 0 && i > 0', 328],
			['uc == 200 && i > 400', 456],
			['dl > 300.2 && dl < 300.7', 601],
			['i * 2 - 1 == 1553', 777],
			['g_iter == 888 && i >= 0', 888],
			['u == 3999999000', 1000],
		];
		let tid = 0;
		for (const [condition, want] of steps) {
			const id = await setProbe(dc, { condition });
			const stopped = dc.waitForEvent('stopped', 20000);
			if (tid) await dc.continueRequest({ threadId: tid });
			else await dc.configurationDoneRequest();
			const ev = (await stopped) as DebugProtocol.StoppedEvent;
			tid = ev.body.threadId!;
			assert.ok(await isMain(dc, tid), `${condition}: main's hit (not a worker's)`);
			assert.equal(await valueAt(dc, tid, 'i'), String(want), `${condition}: stopped at i == ${want}`);
			const s = await stats(dc, id);
			assert.equal(s.compiled, true, `${condition}: compiled (${s.note ?? ''})`);
			assert.equal(s.errors, 0, `${condition}: every hit evaluated natively`);
			assert.equal(s.holds, 1, `${condition}: one hit held`);
			assert.ok(s.passes > 0, `${condition}: the false hits passed natively (${s.passes})`);
			if (env?.FORKALL_DISPLACED_STEPS === '0') assert.equal(s.slotPasses, 0, `${condition}: no slot with FORKALL_DISPLACED_STEPS=0`);
			else assert.ok(s.slotPasses > 0 && s.slotPasses <= s.passes, `${condition}: passed through the slot (${JSON.stringify(s)})`);
		}
		// never true: no stop until #END, every hit of main passed natively
		const id = await setProbe(dc, { condition: 'i < -100' });
		const end = dc.waitForEvent('stopped', 20000);
		await dc.continueRequest({ threadId: tid });
		const ev = (await end) as DebugProtocol.StoppedEvent;
		const frames = (await dc.stackTraceRequest({ threadId: ev.body.threadId! })).body.stackFrames;
		assert.equal(frames[0].line, END, 'the next stop is #END');
		const s = await stats(dc, id);
		assert.deepEqual([s.compiled, s.holds, s.errors], [true, 0, 0]);
		assert.ok(s.passes >= 1200 - 1001, `main's remaining iterations passed natively (${s.passes})`);
		await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [] });
		const exited = dc.next('exited', 30000);
		await dc.continueRequest({ threadId: ev.body.threadId! });
		assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 0);
	} finally {
		await dc.stop().catch(() => undefined);
	}
}

test('compiled conditions: each stops once, at the iteration where it holds, without the adapter for the false hits', () => walk());

// the other way to pass a false hit: every thread stopped while the int3 is lifted (an instruction that cannot be
// executed out of line takes it)
test('compiled conditions, passed with the other threads stopped (no displaced steps)', () =>
	walk({ ...process.env, FORKALL_DISPLACED_STEPS: '0' }));

test('conditions not compiled (a cast) or refused natively (an enumerator) stop right through the adapter; hit conditions count held hits', async () => {
	const { dc } = await launch();
	try {
		let tid = 0;
		const steps: [DebugProtocol.SourceBreakpoint extends infer T ? Omit<T, 'line'> : never, number, boolean][] = [
			[{ condition: '(long)i == 12' }, 12, false],
			[{ condition: 'i == MODE_B' }, 30, false],
			[{ condition: 'i >= 100 && i < 200', hitCondition: '3' }, 102, true],
		];
		for (const [bp, want, compiled] of steps) {
			const id = await setProbe(dc, bp);
			const stopped = dc.waitForEvent('stopped', 20000);
			if (tid) await dc.continueRequest({ threadId: tid });
			else await dc.configurationDoneRequest();
			tid = ((await stopped) as DebugProtocol.StoppedEvent).body.threadId!;
			assert.ok(await isMain(dc, tid), "main's hit");
			assert.equal(await valueAt(dc, tid, 'i'), String(want), `${JSON.stringify(bp)}: stopped at i == ${want}`);
			const s = await stats(dc, id);
			assert.equal(s.compiled, compiled, `${JSON.stringify(bp)}: ${JSON.stringify(s)}`);
			if (!compiled) assert.equal(s.passes, 0);
		}
		const refused = await stats(
			dc,
			(await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: PROBE, condition: 'i == MODE_B' }] })).body
				.breakpoints[0].id!,
		);
		assert.match(refused.note ?? '', /MODE_B/, 'the native side says why it did not take it');
		await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [] });
		const exited = dc.next('exited', 30000);
		await dc.continueRequest({ threadId: tid });
		assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 0);
	} finally {
		await dc.stop().catch(() => undefined);
	}
});

test("a false condition at a RIP-relative instruction: the slot's copy still reads the program's variable", async () => {
	const { dc } = await launch();
	try {
		const r = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'check', condition: 'i < 0' }] });
		assert.equal(r.body.breakpoints[0].verified, true, JSON.stringify(r.body));
		await setProbe(dc, null); // #END only
		const end = dc.waitForEvent('stopped', 20000);
		await dc.configurationDoneRequest();
		const tid = ((await end) as DebugProtocol.StoppedEvent).body.threadId!;
		const s = await stats(dc, r.body.breakpoints[0].id!);
		assert.deepEqual([s.compiled, s.holds, s.errors, s.passes, s.slotPasses], [true, 0, 0, 1200, 1200], JSON.stringify(s));
		const exited = dc.next('exited', 30000);
		await dc.continueRequest({ threadId: tid });
		assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 0, 'check() read g_iter right every time');
	} finally {
		await dc.stop().catch(() => undefined);
	}
});

test('8 threads hammering a breakpoint whose compiled condition is false: all run on; a true one stops; detach leaves it running', async () => {
	const fx = await spawnFixture<{ pid: number }>('bphammer', ['8']);
	const server = await DapServer.start();
	const dc = await server.client();
	try {
		await dc.init();
		const initialized = dc.next('initialized');
		await dc.attachRequest({ pid: fx.pid } as DebugProtocol.AttachRequestArguments);
		await initialized;
		const bps = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'hammer_hit', condition: 'c == 0' }] });
		assert.equal(bps.body.breakpoints[0].verified, true, JSON.stringify(bps.body));
		await dc.configurationDoneRequest();
		await fx.waitAllRunning('stalled', 15000); // every worker's counter moves, through the breakpoint
		// more than 1000 hits passed natively, without a stop (as soon as they have: the load decides when)
		let s: ConditionStatsResponseBody | undefined;
		await pollUntil(
			async () => {
				s = await stats(dc, bps.body.breakpoints[0].id!);
				assert.deepEqual([s.compiled, s.holds, s.errors, dc.stops().length], [true, 0, 0, 0], JSON.stringify(s));
				return s.passes > 1000 ? s : undefined;
			},
			20000,
			() => `hits passed natively: ${s?.passes}`,
			100,
		);
		// while they run: a true condition stops
		const stopped = within(dc.waitForEvent('stopped'), 10000, 'stopped');
		await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'hammer_hit', condition: 'c != 0' }] });
		const ev = (await stopped) as DebugProtocol.StoppedEvent;
		assert.equal(ev.body.reason, 'function breakpoint');
		// back to false, run, then detach while the threads pass it
		await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'hammer_hit', condition: 'c == 0' }] });
		await dc.continueRequest({ threadId: ev.body.threadId! });
		await sleep(300);
		await within(dc.disconnectRequest({}), 10000, 'disconnect');
		await sleep(50);
		assert.equal(fx.exited, null, `bphammer died: ${JSON.stringify(fx.exited)}`);
		assertNotStoppedOrTraced(fx.pid, 'after detach');
		await fx.waitAllRunning('stalled', 15000);
	} finally {
		await dc.stop();
		await server.stop();
		await fx.kill();
	}
});

test('a logpoint with a compiled condition prints only where it holds and never stops', async () => {
	const { dc } = await launch();
	try {
		const logs: string[] = [];
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'console' && e.body.output.startsWith('at ')) logs.push(e.body.output.trim());
		});
		const id = await setProbe(dc, { condition: 'i % 100 == 0 && i > 0', logMessage: 'at {i}' });
		const end = dc.waitForEvent('stopped', 20000);
		await dc.configurationDoneRequest();
		const ev = (await end) as DebugProtocol.StoppedEvent;
		const frames = (await dc.stackTraceRequest({ threadId: ev.body.threadId! })).body.stackFrames;
		assert.equal(frames[0].line, END, 'the only stop is #END');
		assert.deepEqual(
			logs,
			Array.from({ length: 11 }, (_, k) => `at ${(k + 1) * 100}`),
		);
		const s = await stats(dc, id);
		assert.deepEqual([s.compiled, s.holds, s.errors], [true, 11, 0], JSON.stringify(s));
		await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [] });
		const exited = dc.next('exited', 30000);
		await dc.continueRequest({ threadId: ev.body.threadId! });
		assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 0);
	} finally {
		await dc.stop().catch(() => undefined);
	}
});
