/*
 * Freeze / Thaw a thread (issue 13 item 3): test/fixtures/freezer — workers
 * "fa" and "fb" each count in their own global every millisecond. With fa
 * frozen, a continue runs fb (count_b moves) and leaves fa where it was
 * (count_a does not); the Call Stack marks it frozen; thawed, it counts
 * again. Freezing a running process is refused with the reason. How far
 * they count in a given time depends on the machine's load: the test
 * runs and pauses in 100 ms slices until the counter moved by 20 (30 s at
 * most), and the frozen counter is read at every pause.
 *
 * Negative control (run by hand, 2026-12-04): with attach_resume_all not
 * skipping frozen LWPs, count_a moves while frozen — the test fails.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, DapServer, within } from './support';

after(killAll);

async function counter(dc: DapClient, name: string): Promise<number> {
	const r = await dc.evaluateRequest({ expression: name, context: 'watch' });
	return Number(r.body.result);
}

async function pause(dc: DapClient, tid: number): Promise<void> {
	const stopped = dc.next('stopped', 20000);
	await dc.pauseRequest({ threadId: tid });
	await stopped;
}

const SLICE_MS = 100;
const DEADLINE_MS = 30000;

/**
 * Continue and pause again, in slices of SLICE_MS, until `enough()` holds
 * at a pause (DEADLINE_MS at most): how far the threads get in a fixed
 * time depends on the machine's load, so no threshold is asked of one
 * fixed sleep. `each()` runs at every pause first (what must hold all
 * along). The number of slices it took.
 */
async function runUntil(
	dc: DapClient,
	tid: number,
	enough: () => Promise<boolean>,
	what: () => string,
	each: () => Promise<void> = async () => undefined,
): Promise<number> {
	const t0 = Date.now();
	for (let slices = 1; ; slices++) {
		await dc.continueRequest({ threadId: tid });
		await new Promise((r) => setTimeout(r, SLICE_MS));
		await pause(dc, tid);
		await each();
		if (await enough()) return slices;
		if (Date.now() - t0 > DEADLINE_MS) assert.fail(`${what()}: not within ${DEADLINE_MS} ms (${slices} slices)`);
	}
}

test('a frozen thread stays where it is while the others run; thawed, it runs again', async () => {
	const server = await DapServer.start();
	const dc = await server.client();
	try {
		await dc.init();
		let out = '';
		let ready!: () => void;
		const isReady = new Promise<void>((r) => (ready = r));
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			out += e.body.output;
			if (/READY/.test(out)) ready();
		});
		const initialized = dc.next('initialized');
		await within(dc.launchRequest({ program: fixturePath('freezer') } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		const pid = Number((await dc.threadsRequest()).body.threads[0]?.id ?? 0);
		await dc.configurationDoneRequest();
		await within(isReady, 20000, 'READY');
		await pause(dc, pid);
		const threads = (await dc.threadsRequest()).body.threads;
		const fa = threads.find((t) => /^fa \(/.test(t.name));
		assert.ok(fa, JSON.stringify(threads));
		const r = (await dc.customRequest('freezeThread', { threadId: fa.id })).body as { frozen: number[] };
		assert.deepEqual(r.frozen, [fa.id]);
		const labelled = (await dc.threadsRequest()).body.threads.find((t) => t.id === fa.id);
		assert.match(labelled?.name ?? '', /^❄ fa \(\d+\).*\(frozen\)$/);
		const a0 = await counter(dc, 'count_a');
		const b0 = await counter(dc, 'count_b');
		// the other one counts on (20 more at least) while the frozen one,
		// looked at at every pause, never moves
		let b1 = b0;
		await runUntil(
			dc,
			pid,
			async () => (b1 = await counter(dc, 'count_b')) > b0 + 20,
			() => `the other one counts: ${b0} -> ${b1}`,
			async () => assert.equal(await counter(dc, 'count_a'), a0, `the frozen thread did not run (count_b ${b0} -> ${b1})`),
		);
		await dc.customRequest('freezeThread', { threadId: fa.id, frozen: false });
		let a2 = a0;
		await runUntil(
			dc,
			pid,
			async () => (a2 = await counter(dc, 'count_a')) > a0 + 20,
			() => `thawed, it counts again: ${a0} -> ${a2}`,
		);
		await dc.continueRequest({ threadId: pid });
		await assert.rejects(dc.customRequest('freezeThread', { threadId: fa.id }), /running: pause it first|running/);
	} finally {
		await dc.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
		await dc.stop();
		await server.stop();
	}
});
