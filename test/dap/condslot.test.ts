/*
 * Breakpoint slots (native/src/ptrace/bpslot.h): a hit whose compiled
 * condition is false runs on through a copy of the instruction that jumps
 * back, in a page of ours (one stop per hit). On test/fixtures/slotpass.c:
 * 4 workers call slot_hit() (an increment through a pointer, each counting
 * its own calls) while a signaller sends them SIGPROF (passed without a
 * stop), whose handler checks the interrupted pc is in the program's text;
 * the program exits 1 if a counter is off (the copied instruction ran
 * twice or never) or a handler saw a pc outside the text (a slot address
 * leaked into a signal frame). With a breakpoint `c == 0` on slot_hit:
 * the slot path is taken (conditionStats slotPasses) and the program's
 * results are right; FORKALL_SLOTS=0 takes the displaced steps instead;
 * pausing while they hammer never shows a thread inside the slot page
 * (every top frame is the program's, the page is there, named); a detach
 * while they hammer lets the program run on to a correct exit; a
 * watchpoint the slot's copy triggers stops at the program's next
 * instruction (the jump back mapped back). The slot of
 * an instruction with a RIP-relative operand: condnative.test.ts (check()).
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ConditionStatsResponseBody } from '../../adapter/src/dap/custom';
import { FIXTURES_SRC } from '../helpers/paths';
import { type Fixture, killAll, sleep, spawnFixture } from '../helpers/procs';
import { assertNotStoppedOrTraced, readMaps, type Mapping } from '../helpers/procfs';
import { type DapClient, DapServer, findMarker, within } from './support';

after(killAll);

const SRC = path.join(FIXTURES_SRC, 'slotpass.c');
const SLOT = findMarker('SLOT', SRC);

interface Session {
	fx: Fixture<{ pid: number; fn: string }>;
	server: DapServer;
	dc: DapClient;
	out: () => string;
	id: number;
}

/** slotpass W MS, attached, with a breakpoint on #SLOT whose compiled condition is never true (or what `setup` sets), running. */
async function start(
	ms: number,
	env?: NodeJS.ProcessEnv,
	setup?: (dc: DapClient, fn: bigint) => Promise<number>,
	workers = 4,
): Promise<Session> {
	const fx = await spawnFixture<{ pid: number; fn: string }>('slotpass', [String(workers), String(ms)]);
	let out = '';
	fx.proc.stdout!.on('data', (d: string) => (out += d));
	let server: DapServer | null = null;
	let dc: DapClient | null = null;
	try {
		server = await DapServer.start(env ?? process.env);
		dc = await server.client();
		return await configure(fx, server, dc, () => out, setup);
	} catch (e) {
		// nothing started here outlives a failed start
		await dc?.stop().catch(() => undefined);
		await server?.stop().catch(() => undefined);
		await fx.kill();
		throw e;
	}
}

async function configure(
	fx: Fixture<{ pid: number; fn: string }>,
	server: DapServer,
	dc: DapClient,
	out: () => string,
	setup?: (dc: DapClient, fn: bigint) => Promise<number>,
): Promise<Session> {
	await dc.init();
	const initialized = dc.next('initialized');
	await dc.attachRequest({ pid: fx.pid } as DebugProtocol.AttachRequestArguments);
	await initialized;
	let id: number;
	if (setup) {
		id = await setup(dc, BigInt(fx.truth.fn));
	} else {
		const r = await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: SLOT, condition: 'c == 0' }] });
		assert.equal(r.body.breakpoints[0].verified, true, JSON.stringify(r.body));
		id = r.body.breakpoints[0].id!;
	}
	await dc.configurationDoneRequest();
	return { fx, server, dc, out, id };
}

async function stop(s: Session | null): Promise<void> {
	if (!s) return;
	await s.dc.stop().catch(() => undefined);
	await s.server.stop().catch(() => undefined);
	await s.fx.kill();
}

async function stats(s: Session): Promise<ConditionStatsResponseBody> {
	try {
		return (await s.dc.customRequest('conditionStats', { id: s.id })).body as ConditionStatsResponseBody;
	} catch (e) {
		throw new Error(
			`conditionStats: ${(e as Error).message}; slotpass: ${JSON.stringify(s.fx.exited)}, ${s.out().slice(-200)}; stderr: ${s.fx.stderr}`,
		);
	}
}

/** The counters once `enough` hits passed (through the slot, or any way when `how` is 'passes'), polled: the attach's own time varies with the machine's load. */
async function slotted(s: Session, enough: number, how: 'slotPasses' | 'passes' = 'slotPasses'): Promise<ConditionStatsResponseBody> {
	const t0 = Date.now();
	for (;;) {
		const st = await stats(s);
		if (st[how] >= enough || Date.now() - t0 > 15000) return st;
		await sleep(100);
	}
}

async function exitOf(fx: Fixture, ms: number): Promise<{ code: number | null; signal: string | null }> {
	const t0 = Date.now();
	while (!fx.exited && Date.now() - t0 < ms) await sleep(50);
	assert.ok(fx.exited, `slotpass did not exit within ${ms} ms`);
	return fx.exited;
}

/** The program's RESULT line: calls, sigs, bad, wrong. */
function result(s: Session): Record<string, number> {
	const m = /RESULT calls=(\d+) sigs=(\d+) bad=(\d+) wrong=(\d+)/.exec(s.out());
	assert.ok(m, `no RESULT line; stdout tail: ${s.out().slice(-300)}; stderr: ${s.fx.stderr}`);
	return { calls: Number(m[1]), sigs: Number(m[2]), bad: Number(m[3]), wrong: Number(m[4]) };
}

/** The slot page: named [anon:forkall-slots] where the kernel names mappings (CONFIG_ANON_VMA_NAME), else the one anonymous r-x page. */
function slotPage(pid: number): Mapping | undefined {
	const maps = readMaps(pid);
	return (
		maps.find((m) => m.name.includes('forkall-slots')) ??
		maps.find((m) => m.perms === 'r-xp' && m.name === '' && m.end - m.start === 4096n)
	);
}

test('a false compiled condition passes through the slot: slotPasses counted, every call incremented once, signal handlers never see a slot pc', async () => {
	let s: Session | null = null;
	try {
		s = await start(5000);
		let stops = 0;
		s.dc.on('stopped', () => stops++);
		const st = await slotted(s, 5000);
		assert.deepEqual([st.compiled, st.holds, st.errors], [true, 0, 0], JSON.stringify(st));
		assert.ok(st.slotPasses > 1000, `hits passed through the slot: ${JSON.stringify(st)}`);
		assert.ok(st.slotPasses <= st.passes, JSON.stringify(st));
		const page = slotPage(s.fx.pid);
		assert.ok(
			page?.perms.startsWith('r-x'),
			`the slot page in /proc/PID/maps: ${page ? `${page.start.toString(16)} ${page.perms}` : 'none'}`,
		);
		const ex = await exitOf(s.fx, 30000);
		const r = result(s);
		assert.deepEqual(ex, { code: 0, signal: null }, `slotpass: ${JSON.stringify(r)}; stderr: ${s.fx.stderr}`);
		assert.equal(stops, 0, 'no stop');
		assert.ok(r.sigs > 0, `SIGPROF handled: ${JSON.stringify(r)}`);
		assert.deepEqual([r.bad, r.wrong], [0, 0], JSON.stringify(r));
		console.log(`counters: ${JSON.stringify(st)}; the program: ${JSON.stringify(r)}`);
	} finally {
		await stop(s);
	}
});

test('FORKALL_SLOTS=0: the same hits pass by displaced steps, no slot page', async () => {
	let s: Session | null = null;
	try {
		s = await start(5000, { ...process.env, FORKALL_SLOTS: '0' });
		const st = await slotted(s, 1000, 'passes');
		assert.ok(st.passes >= 1000 && st.slotPasses === 0, JSON.stringify(st));
		assert.equal(slotPage(s.fx.pid), undefined);
		const ex = await exitOf(s.fx, 30000);
		assert.deepEqual(ex, { code: 0, signal: null }, `slotpass: ${s.out().slice(-200)}; stderr: ${s.fx.stderr}`);
	} finally {
		await stop(s);
	}
});

test('pausing while 4 threads pass through the slot: no thread is ever seen inside the slot page; continue runs on', async () => {
	let s: Session | null = null;
	try {
		s = await start(8000);
		await slotted(s, 1000);
		const page = slotPage(s.fx.pid);
		assert.ok(page, 'the slot page is mapped');
		const inPage = (a: bigint): boolean => a >= page.start && a < page.end;
		const fn = BigInt(s.fx.truth.fn);
		let seenAtSlotHit = 0;
		for (let round = 0; round < 12; round++) {
			const stopped = within(s.dc.waitForEvent('stopped'), 10000, 'stopped after pause');
			const threads = (await s.dc.threadsRequest()).body.threads;
			await s.dc.pauseRequest({ threadId: threads[0].id });
			await stopped;
			for (const t of (await s.dc.threadsRequest()).body.threads) {
				const top = (await s.dc.stackTraceRequest({ threadId: t.id, levels: 1 })).body.stackFrames[0];
				assert.ok(top?.instructionPointerReference, `thread ${t.id}: a top frame with a pc`);
				const pc = BigInt(top.instructionPointerReference);
				assert.ok(!inPage(pc), `round ${round}: thread ${t.id} (${t.name}) reported at 0x${pc.toString(16)}, inside the slot page`);
				assert.ok(top.name && !/^0x/.test(top.name), `round ${round}: thread ${t.id}'s top frame is a function (${top.name})`);
				if (pc === fn || pc === fn + 3n) seenAtSlotHit++;
			}
			await s.dc.continueRequest({ threadId: threads[0].id });
			await sleep(30);
		}
		const st = await stats(s);
		assert.ok(st.slotPasses > 100, JSON.stringify(st));
		await s.dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [] });
		const ex = await exitOf(s.fx, 30000);
		assert.deepEqual(ex, { code: 0, signal: null }, `slotpass: ${s.out().slice(-200)}; stderr: ${s.fx.stderr}`);
		assert.deepEqual([result(s).bad, result(s).wrong], [0, 0]);
		// (how often a pause caught a thread at the breakpoint or just after the copied instruction: informative)
		console.log(`pauses that found a thread at slot_hit or after its first instruction: ${seenAtSlotHit}`);
	} finally {
		await stop(s);
	}
});

test('detach while 4 threads pass through the slot: the program runs on untraced to a correct exit', async () => {
	let s: Session | null = null;
	try {
		s = await start(5000);
		const st = await slotted(s, 5000);
		assert.ok(st.slotPasses >= 5000, JSON.stringify(st));
		await within(s.dc.disconnectRequest({}), 10000, 'disconnect');
		await sleep(50);
		assert.equal(s.fx.exited, null, `slotpass died: ${JSON.stringify(s.fx.exited)}; stderr: ${s.fx.stderr}`);
		assertNotStoppedOrTraced(s.fx.pid, 'after detach');
		assert.ok(slotPage(s.fx.pid), 'the slot page stays (harmless)');
		const ex = await exitOf(s.fx, 30000);
		const r = result(s);
		assert.deepEqual(ex, { code: 0, signal: null }, `slotpass: ${JSON.stringify(r)}; stderr: ${s.fx.stderr}`);
		assert.deepEqual([r.bad, r.wrong], [0, 0]);
	} finally {
		await stop(s);
	}
});

test("a watchpoint that the slot's copy triggers: the stop is at the program's next instruction, not the slot's jump back", async () => {
	let s: Session | null = null;
	// slot_hit at -O1: mov (%rdi),%rax; add $1,%rax; mov %rax,(%rdi) (fn+7, the breakpoint: its copy writes the counter); ret (fn+10)
	const STORE = 7n;
	const AFTER = 10n;
	try {
		s = await start(
			8000,
			undefined,
			async (dc, fn) => {
				const mem = (await dc.send('readMemory', {
					memoryReference: `0x${(fn + STORE).toString(16)}`,
					count: 3,
				})) as DebugProtocol.ReadMemoryResponse;
				assert.equal(Buffer.from(mem.body?.data ?? '', 'base64').toString('hex'), '488907', 'slot_hit+7 is mov %rax,(%rdi)');
				const r = (await dc.send('setInstructionBreakpoints', {
					breakpoints: [{ instructionReference: `0x${(fn + STORE).toString(16)}`, condition: 'c == 0' }],
				})) as DebugProtocol.SetInstructionBreakpointsResponse;
				assert.equal(r.body.breakpoints[0].verified, true, JSON.stringify(r.body));
				const info = (await dc.dataBreakpointInfoRequest({ name: 'counters[0]' })).body;
				assert.ok(info.dataId, info.description);
				const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.dataId, accessType: 'write' }] });
				assert.equal(set.body.breakpoints[0].verified, true, JSON.stringify(set.body));
				return r.body.breakpoints[0].id!;
			},
			1,
		);
		const fn = BigInt(s.fx.truth.fn);
		let tid = 0;
		for (let round = 0; round < 6; round++) {
			const stopped = within(s.dc.waitForEvent('stopped'), 15000, 'the watchpoint stop') as Promise<DebugProtocol.StoppedEvent>;
			if (round) await s.dc.continueRequest({ threadId: tid });
			const ev = await stopped;
			tid = ev.body.threadId!;
			assert.equal(ev.body.reason, 'data breakpoint', JSON.stringify(ev.body));
			const top: DebugProtocol.StackFrame = (await s.dc.stackTraceRequest({ threadId: tid, levels: 1 })).body.stackFrames[0];
			const pc = BigInt(top.instructionPointerReference ?? '0');
			assert.equal(
				pc,
				fn + AFTER,
				`round ${round}: the write's stop at slot_hit+10 (0x${(fn + AFTER).toString(16)}), not 0x${pc.toString(16)}`,
			);
			assert.match(top.name, /^slot_hit\b/);
		}
		const st = await stats(s);
		assert.ok(st.slotPasses >= 6 && st.errors === 0, `the writes came from the slot: ${JSON.stringify(st)}`);
		await s.dc.setDataBreakpointsRequest({ breakpoints: [] });
		await s.dc.send('setInstructionBreakpoints', { breakpoints: [] });
		await s.dc.continueRequest({ threadId: tid });
		const ex = await exitOf(s.fx, 30000);
		assert.deepEqual(ex, { code: 0, signal: null }, `slotpass: ${s.out().slice(-200)}; stderr: ${s.fx.stderr}`);
	} finally {
		await stop(s);
	}
});
