/*
 * Source-line stepping in the tracer thread (issue 8 item 4) on
 * test/fixtures/stepper (8 worker threads ticking every 2 ms): next over a
 * long one-line loop, next over a recursive call, stepIn into a function
 * with debug info and over a libc call, stepOut, a breakpoint of another
 * thread during next, pause during a step that does not end, a signal
 * during next, threads (and the stepping thread) exiting during next.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, findMarker, within } from './support';

after(killAll);

const PROGRAM = fixturePath('stepper');
const SRC = path.join(path.dirname(path.dirname(PROGRAM)), 'stepper.c');
const line = (name: string): number => findMarker(name, SRC);

interface Session {
	dc: DapClient;
	tid: number;
}

/** Launch stepper with args, stopped at the breakpoint on `marker` (its
 * hitCondition: "== 2" stops at the second hit). */
async function stoppedAt(args: string[], marker: string, hitCondition?: string): Promise<Session> {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const initialized = dc.next('initialized');
		await within(dc.launchRequest({ program: PROGRAM, args } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		const bps = await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: line(marker), hitCondition }] });
		assert.equal(bps.body.breakpoints[0].verified, true, `breakpoint at #${marker}`);
		const hit = dc.next('stopped');
		await dc.configurationDoneRequest();
		const e = (await hit) as DebugProtocol.StoppedEvent;
		assert.equal(e.body.reason, 'breakpoint');
		const tid = e.body.threadId!;
		await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [] });
		return { dc, tid };
	} catch (e) {
		await dc.stop().catch(() => undefined);
		throw e;
	}
}

async function frames(s: Session, tid = s.tid): Promise<DebugProtocol.StackFrame[]> {
	return (await s.dc.stackTraceRequest({ threadId: tid })).body.stackFrames;
}

type StepKind = 'next' | 'stepIn' | 'stepOut';

/** One step; resolves with its stopped event and how long it took. */
async function step(s: Session, kind: StepKind, ms = 20000): Promise<{ ev: DebugProtocol.StoppedEvent; ms: number }> {
	const stopped = s.dc.next('stopped', ms);
	const t0 = performance.now();
	if (kind === 'next') await s.dc.nextRequest({ threadId: s.tid });
	else if (kind === 'stepIn') await s.dc.stepInRequest({ threadId: s.tid });
	else await s.dc.stepOutRequest({ threadId: s.tid });
	const ev = (await stopped) as DebugProtocol.StoppedEvent;
	return { ev, ms: performance.now() - t0 };
}

async function at(s: Session): Promise<{ name: string; line: number; depth: number }> {
	const f = await frames(s);
	return { name: f[0].name, line: f[0].line, depth: f.length };
}

async function end(s: Session): Promise<void> {
	// the adapter kills what it launched; if it cannot (a failed test left
	// it stuck), kill it here: the main thread's tid is the pid
	const killDebuggee = (): void => {
		try {
			if (fs.readFileSync(`/proc/${s.tid}/cmdline`, 'utf8').startsWith(PROGRAM)) process.kill(s.tid, 'SIGKILL');
		} catch {
			/* gone, as it should be */
		}
	};
	const ok = await within(s.dc.disconnectRequest({ terminateDebuggee: true }), 10000, 'disconnect').then(
		() => true,
		() => false,
	);
	if (!ok) killDebuggee();
	await s.dc.stop().catch(() => undefined);
	killDebuggee();
}

test('next over a one-line loop of 300,000 iterations (8 other threads) lands on the next line', async () => {
	const s = await stoppedAt(['loop', '300000'], 'BEFORE_LOOP');
	try {
		const a = await step(s, 'next');
		assert.equal(a.ev.body.reason, 'step');
		assert.equal((await at(s)).line, line('LOOP'));
		const b = await step(s, 'next', 60000);
		assert.equal(b.ev.body.reason, 'step');
		assert.equal(b.ev.body.threadId, s.tid);
		const here = await at(s);
		assert.deepEqual([here.name, here.line], ['loop_line', line('AFTER_LOOP')]);
		// the TypeScript single-stepper needed ~9 s for 3000 iterations and gave up after 100,000 steps
		assert.ok(b.ms < 5000, `next over 300,000 iterations took ${b.ms.toFixed(0)} ms`);
		const th = await s.dc.threadsRequest();
		assert.equal(th.body.threads.length, 9, 'main and 8 workers');
	} finally {
		await end(s);
	}
});

test('next over a recursive call stays in the same frame', async () => {
	const s = await stoppedAt(['fact', '6'], 'FACT_CALL');
	try {
		const before = await at(s);
		assert.equal(before.name, 'fact');
		const r = await step(s, 'next');
		assert.equal(r.ev.body.reason, 'step');
		const after1 = await at(s);
		assert.deepEqual(
			[after1.name, after1.line, after1.depth],
			['fact', line('FACT_AFTER'), before.depth],
			'the line after the call, in the frame that made it (fact(6), not a deeper one)',
		);
		await step(s, 'next');
		assert.equal((await at(s)).line, line('FACT_RET'));
		// off the end of fact(6): back in main
		await step(s, 'next');
		const out = await at(s);
		assert.equal(out.name, 'main');
		assert.equal(out.depth, before.depth - 1);
	} finally {
		await end(s);
	}
});

test('stepOut of a recursive function returns to its caller, not into a deeper frame', async () => {
	// fact(5): its return address in fact(6) is where fact(4)..fact(1) return first
	const s = await stoppedAt(['fact', '6'], 'FACT_CALL', '== 2');
	try {
		const before = await at(s);
		assert.equal(before.name, 'fact');
		const r = await step(s, 'stepOut');
		assert.equal(r.ev.body.reason, 'step');
		const out = await at(s);
		assert.deepEqual([out.name, out.depth], ['fact', before.depth - 1], 'in fact(6), the caller of fact(5)');
		await step(s, 'stepOut');
		const main = await at(s);
		assert.deepEqual([main.name, main.depth], ['main', before.depth - 2]);
	} finally {
		await end(s);
	}
});

test('stepIn enters a function with debug info, stepOut returns, stepIn over a libc call', async () => {
	const s = await stoppedAt(['calls'], 'CALL_CALLEE');
	try {
		const depth = (await at(s)).depth;
		await step(s, 'stepIn');
		const inside = await at(s);
		assert.deepEqual(
			[inside.name, inside.line, inside.depth],
			['callee', line('CALLEE_FIRST'), depth + 1],
			'the first statement after the opening line',
		);
		const o = await step(s, 'stepOut');
		assert.equal(o.ev.body.reason, 'step');
		const back = await at(s);
		// at the return address: the end of the calling line, or (-O1: the
		// call is its last instruction) the start of the next one
		assert.deepEqual([back.name, back.depth], ['calls', depth]);
		assert.ok([line('CALL_CALLEE'), line('AFTER_CALLEE')].includes(back.line), `line ${back.line}`);
		if (back.line === line('CALL_CALLEE')) await step(s, 'next');
		assert.equal((await at(s)).line, line('AFTER_CALLEE'));
		await step(s, 'next');
		assert.equal((await at(s)).line, line('CALL_LIBC'));
		await step(s, 'stepIn');
		const libc = await at(s);
		assert.deepEqual(
			[libc.name, libc.line, libc.depth],
			['calls', line('AFTER_LIBC'), depth],
			'getppid has no line information: stepped over',
		);
	} finally {
		await end(s);
	}
});

test('a breakpoint hit by another thread during next is reported as a breakpoint', async () => {
	const s = await stoppedAt(['slow'], 'SLOW_CALL');
	try {
		const bp = await s.dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: line('WORKER_TICK') }] });
		assert.equal(bp.body.breakpoints[0].verified, true);
		const r = await step(s, 'next');
		assert.equal(r.ev.body.reason, 'breakpoint');
		assert.equal(r.ev.body.allThreadsStopped, true);
		const worker = r.ev.body.threadId!;
		assert.notEqual(worker, s.tid, 'a worker thread hit it');
		const f = await frames(s, worker);
		assert.equal(f[0].name, 'worker_tick');
		assert.equal(f[0].line, line('WORKER_TICK'));
		// the stepping thread is still inside usleep (or at its return), not past the line
		const main = await at(s);
		assert.notEqual(main.line, line('AFTER_SLOW'));
	} finally {
		await end(s);
	}
});

test('pause interrupts a next that does not end', async () => {
	const s = await stoppedAt(['forever'], 'BEFORE_FOREVER');
	try {
		await step(s, 'next');
		assert.equal((await at(s)).line, line('FOREVER'));
		const stopped = s.dc.next('stopped', 20000);
		await s.dc.nextRequest({ threadId: s.tid });
		await new Promise((r) => setTimeout(r, 700));
		const t0 = performance.now();
		await s.dc.pauseRequest({ threadId: s.tid });
		const ev = (await stopped) as DebugProtocol.StoppedEvent;
		const ms = performance.now() - t0;
		assert.equal(ev.body.reason, 'pause');
		assert.ok(ms < 3000, `pause took ${ms.toFixed(0)} ms`);
		assert.equal((await at(s)).line, line('FOREVER'));
		// still usable: a continue and a pause after it
		const again = s.dc.next('stopped', 20000);
		await s.dc.continueRequest({ threadId: s.tid });
		await s.dc.pauseRequest({ threadId: s.tid });
		assert.equal(((await again) as DebugProtocol.StoppedEvent).body.reason, 'pause');
	} finally {
		await end(s);
	}
});

test('a signal arriving during next is reported, and delivered on continue', async () => {
	const s = await stoppedAt(['forever'], 'BEFORE_FOREVER');
	try {
		await step(s, 'next');
		const stopped = s.dc.next('stopped', 20000);
		await s.dc.nextRequest({ threadId: s.tid });
		await new Promise((r) => setTimeout(r, 500));
		process.kill(s.tid, 'SIGUSR1'); // the main thread's tid is the pid
		const ev = (await stopped) as DebugProtocol.StoppedEvent;
		assert.equal(ev.body.reason, 'signal');
		assert.equal(ev.body.threadId, s.tid, 'the only running thread took it');
		assert.match(ev.body.text ?? '', /SIGUSR1/);
		// passed to the program's handler on continue: it keeps running
		const again = s.dc.next('stopped', 20000);
		await s.dc.continueRequest({ threadId: s.tid });
		await new Promise((r) => setTimeout(r, 200));
		await s.dc.pauseRequest({ threadId: s.tid });
		assert.equal(((await again) as DebugProtocol.StoppedEvent).body.reason, 'pause');
	} finally {
		await end(s);
	}
});

test('threads exiting during next (8 joined in the stepped line) do not hang it', async () => {
	const s = await stoppedAt(['join'], 'JOIN_DONE');
	try {
		await step(s, 'next');
		assert.equal((await at(s)).line, line('JOIN'));
		const r = await step(s, 'next');
		assert.equal(r.ev.body.reason, 'step');
		assert.equal((await at(s)).line, line('AFTER_JOIN'));
		const th = await s.dc.threadsRequest();
		assert.equal(th.body.threads.length, 1, 'the workers are gone');
	} finally {
		await end(s);
	}
});

test('the stepping thread exiting (next over pthread_exit) ends the step, no hang', async () => {
	const s = await stoppedAt(['texit'], 'PTHREAD_EXIT');
	try {
		const exiter = s.tid;
		assert.equal((await at(s)).name, 'exiter');
		const gone = s.dc.next('thread', 20000);
		const r = await step(s, 'next');
		assert.equal(r.ev.body.reason, 'pause');
		assert.match(r.ev.body.description ?? '', new RegExp(`thread ${exiter} exited during the step`));
		assert.notEqual(r.ev.body.threadId, exiter, 'reported on the main thread');
		const t = (await gone) as DebugProtocol.ThreadEvent;
		assert.deepEqual([t.body.reason, t.body.threadId], ['exited', exiter]);
		s.tid = r.ev.body.threadId!; // for end(): the process's pid
	} finally {
		await end(s);
	}
});

test('a signal that does not stop (SIGALRM) is delivered during next, which goes on', async () => {
	const s = await stoppedAt(['alarm'], 'SELF_ALARM');
	try {
		// the line sends SIGALRM with a syscall instruction: it arrives while single-stepping
		const a = await step(s, 'next');
		assert.equal(a.ev.body.reason, 'step');
		assert.equal((await at(s)).line, line('AFTER_SELF_ALARM'));
		await step(s, 'next');
		assert.equal((await at(s)).line, line('WAIT_ALARM'));
		const frame = (await frames(s))[0];
		const scopes = await s.dc.scopesRequest({ frameId: frame.id });
		const locals = scopes.body.scopes.find((x) => x.name === 'Locals');
		assert.ok(locals, 'a Locals scope');
		const vars = await s.dc.variablesRequest({ variablesReference: locals.variablesReference });
		assert.equal(vars.body.variables.find((v) => v.name === 'seen')?.value, '1', 'the handler ran once, during the first next');
		// and while the line loops (breakpoints, the thread alone): sent from outside
		const stopped = s.dc.next('stopped', 20000);
		await s.dc.nextRequest({ threadId: s.tid });
		await new Promise((r) => setTimeout(r, 500));
		process.kill(s.tid, 'SIGALRM');
		const ev = (await stopped) as DebugProtocol.StoppedEvent;
		assert.equal(ev.body.reason, 'step', 'no stop for SIGALRM: the loop saw it and ended');
		assert.equal((await at(s)).line, line('AFTER_WAIT_ALARM'));
	} finally {
		await end(s);
	}
});

/*
 * Per-thread run control (DAP singleThread, issue 13): the same scene as
 * above — a breakpoint in worker_tick, which the workers reach every 2 ms —
 * but the step and the continue move one thread only; a data breakpoint on
 * the workers' counter (ticks) sees no write during the step. Negative control:
 * without singleThread the same next ends at the workers' breakpoint (the
 * test above).
 */
test('singleThread: next over a 300 ms call leaves the other threads stopped; continue runs one worker alone', async () => {
	const s = await stoppedAt(['slow'], 'SLOW_CALL');
	try {
		const bp = await s.dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: line('WORKER_TICK') }] });
		assert.equal(bp.body.breakpoints[0].verified, true);
		const before = (await s.dc.threadsRequest()).body.threads.map((t) => t.id).filter((t) => t !== s.tid);
		const pcOf = async (tid: number) =>
			(await s.dc.stackTraceRequest({ threadId: tid, levels: 1 })).body.stackFrames[0].instructionPointerReference;
		const workerPcs = await Promise.all(before.map(pcOf));

		// a data breakpoint on the counter every worker writes: it must not change during the step
		const ticksNow = async () => (await s.dc.evaluateRequest({ expression: 'ticks', context: 'watch' })).body.result;
		const info = await s.dc.dataBreakpointInfoRequest({ name: 'ticks' });
		assert.ok(info.body.dataId, `ticks can be watched: ${info.body.description}`);
		const set = await s.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId, accessType: 'write' }] });
		assert.equal(set.body.breakpoints[0].verified, true);
		const ticks0 = await ticksNow();

		const stopped = s.dc.next('stopped', 20000);
		await s.dc.nextRequest({ threadId: s.tid, singleThread: true });
		const ev = (await stopped) as DebugProtocol.StoppedEvent;
		assert.equal(ev.body.reason, 'step', 'no worker ran into its breakpoint or wrote the watched counter during the 300 ms');
		assert.equal((await at(s)).line, line('AFTER_SLOW'));
		assert.deepEqual(await Promise.all(before.map(pcOf)), workerPcs, 'every worker where it was');
		assert.equal(await ticksNow(), ticks0, 'the watched counter did not change');
		await s.dc.setDataBreakpointsRequest({ breakpoints: [] });

		// one worker alone: it reaches worker_tick; main stays at AFTER_SLOW
		const w = before[0];
		const hit = s.dc.next('stopped', 20000);
		const r = await s.dc.continueRequest({ threadId: w, singleThread: true });
		assert.equal(r.body.allThreadsContinued, false);
		const hev = (await hit) as DebugProtocol.StoppedEvent;
		assert.equal(hev.body.reason, 'breakpoint');
		assert.equal(hev.body.threadId, w, 'the thread that ran hit it');
		assert.equal((await frames(s, w))[0].name, 'worker_tick');
		assert.equal((await at(s)).line, line('AFTER_SLOW'), 'main did not move');
		const others = before.slice(1);
		assert.deepEqual(await Promise.all(others.map(pcOf)), workerPcs.slice(1), 'nor did the other workers');
	} finally {
		await end(s);
	}
});

test('singleThread continue: a hit whose hit condition is not met yet resumes that thread alone again', async () => {
	const s = await stoppedAt(['slow'], 'SLOW_CALL');
	try {
		const bp = await s.dc.setBreakpointsRequest({
			source: { path: SRC },
			breakpoints: [{ line: line('WORKER_TICK'), hitCondition: '>= 3' }],
		});
		assert.equal(bp.body.breakpoints[0].verified, true);
		const workers = (await s.dc.threadsRequest()).body.threads.map((t) => t.id).filter((t) => t !== s.tid);
		const pcOf = async (tid: number) =>
			(await s.dc.stackTraceRequest({ threadId: tid, levels: 1 })).body.stackFrames[0].instructionPointerReference;
		const mainLine = (await at(s)).line;
		const otherPcs = await Promise.all(workers.slice(1).map(pcOf));
		const w = workers[0];
		const hit = s.dc.next('stopped', 20000);
		await s.dc.continueRequest({ threadId: w, singleThread: true });
		const hev = (await hit) as DebugProtocol.StoppedEvent;
		assert.equal(hev.body.reason, 'breakpoint');
		assert.equal(hev.body.threadId, w, 'the third hit is the thread that was continued');
		assert.equal((await at(s)).line, mainLine, 'main did not move while the first two hits were passed');
		assert.deepEqual(await Promise.all(workers.slice(1).map(pcOf)), otherPcs, 'nor did the other workers');
	} finally {
		await end(s);
	}
});

test('"stepThreads": "current": a plain next over a 300 ms call runs the stepping thread alone', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const initialized = dc.next('initialized');
		await within(
			dc.launchRequest({ program: PROGRAM, args: ['slow'], stepThreads: 'current' } as DebugProtocol.LaunchRequestArguments),
			20000,
			'launch',
		);
		await initialized;
		await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: line('SLOW_CALL') }] });
		const hit = dc.next('stopped');
		await dc.configurationDoneRequest();
		const tid = ((await hit) as DebugProtocol.StoppedEvent).body.threadId!;
		const s: Session = { dc, tid };
		await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: line('WORKER_TICK') }] });
		const others = (await dc.threadsRequest()).body.threads.map((t) => t.id).filter((t) => t !== tid);
		const pcOf = async (t: number) =>
			(await dc.stackTraceRequest({ threadId: t, levels: 1 })).body.stackFrames[0].instructionPointerReference;
		const pcs = await Promise.all(others.map(pcOf));
		const stopped = dc.next('stopped', 20000);
		await dc.nextRequest({ threadId: tid }); // no singleThread: the launch setting decides
		assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, 'step', 'no worker ran into its breakpoint');
		assert.equal((await at(s)).line, line('AFTER_SLOW'));
		assert.deepEqual(await Promise.all(others.map(pcOf)), pcs, 'every worker where it was');
	} finally {
		await dc.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
		await dc.stop().catch(() => undefined);
	}
});
