/*
 * Freeze / Thaw a thread (issue 13 item 3): test/fixtures/freezer — workers
 * "fa" and "fb" each count in their own global every millisecond. With fa
 * frozen, a continue runs fb (count_b moves) and leaves fa where it was
 * (count_a does not); the Call Stack marks it frozen; thawed, it counts
 * again. Freezing a running process is refused with the reason.
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

async function run(dc: DapClient, tid: number, ms: number): Promise<void> {
	await dc.continueRequest({ threadId: tid });
	await new Promise((r) => setTimeout(r, ms));
	await pause(dc, tid);
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
		await run(dc, pid, 300);
		const a1 = await counter(dc, 'count_a');
		const b1 = await counter(dc, 'count_b');
		assert.equal(a1, a0, 'the frozen thread did not run');
		assert.ok(b1 > b0 + 20, `the other one did: ${b0} -> ${b1}`);
		await dc.customRequest('freezeThread', { threadId: fa.id, frozen: false });
		await run(dc, pid, 300);
		const a2 = await counter(dc, 'count_a');
		assert.ok(a2 > a1 + 20, `thawed, it counts again: ${a1} -> ${a2}`);
		await dc.continueRequest({ threadId: pid });
		await assert.rejects(dc.customRequest('freezeThread', { threadId: fa.id }), /running: pause it first|running/);
	} finally {
		await dc.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
		await dc.stop();
		await server.stop();
	}
});
