/*
 * Disconnect after a breakpoint stop never kills the debuggee (issue 9,
 * item 5). bphammer's 8 threads call hammer_hit() in a tight loop; with a
 * breakpoint on it several threads execute the int3 at about the same time,
 * and some of them are caught by the stop-all interrupt after the int3 but
 * before their SIGTRAP is dequeued (pc just past the int3, SIGTRAP pending).
 * Detaching such a thread as it is kills the process with SIGTRAP.
 *
 * Each round: attach, function breakpoint on hammer_hit, wait for the stop,
 * disconnect {}; the process must stay alive, untraced and not stopped.
 * Every other round first removes the breakpoint and continues (the same
 * threads, once the int3 bytes are gone, would take a SIGTRAP that is no
 * longer ours: a SIGTRAP "exception" stop, then death on disconnect).
 * Bounded by time: ~20 s in `npm test`; `npm run stress` runs it for
 * FORKALL_STRESS_SECONDS (default 300). FORKALL_STRESS_ROUNDS caps rounds.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { killAll, sleep, spawnFixture, type Fixture } from '../helpers/procs';
import { assertNotStoppedOrTraced, taskStat } from '../helpers/procfs';
import { DapServer, within } from './support';

after(killAll);

const STRESS = process.env.FORKALL_STRESS === '1';
const BUDGET_MS = Number(process.env.FORKALL_STRESS_SECONDS ?? (STRESS ? 300 : 20)) * 1000;
const MAX_ROUNDS = Number(process.env.FORKALL_STRESS_ROUNDS ?? (STRESS ? 1e9 : 200));

export interface HammerTruth {
	pid: number;
	fn: string;
	tids: number[];
}

function alive(fx: Fixture, context: string): void {
	assert.equal(fx.exited, null, `${context}: bphammer ${fx.pid} died: ${JSON.stringify(fx.exited)}`);
	const st = taskStat(fx.pid, fx.pid);
	assert.ok(st && st.state !== 'Z' && st.state !== 'X', `${context}: bphammer ${fx.pid} is ${st ? st.state : 'gone'}`);
}

test('attach, breakpoint stop, disconnect {} — repeated: the debuggee survives every round', { timeout: BUDGET_MS + 120000 }, async (t) => {
	const fx = await spawnFixture<HammerTruth>('bphammer', ['8']);
	const server = await DapServer.start();
	const t0 = Date.now();
	let rounds = 0;
	try {
		while (rounds < MAX_ROUNDS && Date.now() - t0 < BUDGET_MS) {
			rounds++;
			const what = `round ${rounds}`;
			const dc = await server.client();
			try {
				await dc.init();
				const initialized = dc.next('initialized');
				await dc.attachRequest({ pid: fx.pid } as DebugProtocol.AttachRequestArguments);
				await initialized;
				const bps = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'hammer_hit' }] });
				assert.equal(bps.body.breakpoints[0].verified, true, `${what}: ${JSON.stringify(bps.body.breakpoints[0])}`);
				const stopped = dc.next('stopped', 10000);
				await dc.configurationDoneRequest();
				const s = (await stopped) as DebugProtocol.StoppedEvent;
				assert.equal(s.body.reason, 'function breakpoint', `${what}: stop reason`);
				if (rounds % 2 === 0) {
					await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
					await dc.continueRequest({ threadId: s.body.threadId! });
					// (a socket client's waitForEvent has no timeout of its own)
					const extra = await within(dc.waitForEvent('stopped'), 200, 'stopped').then(
						(e) => e,
						() => null,
					);
					assert.equal(extra, null, `${what}: a stop after the only breakpoint was removed: ${JSON.stringify(extra?.body)}`);
				}
				await within(dc.disconnectRequest({}), 10000, `${what}: disconnect`);
			} finally {
				await dc.stop();
			}
			// a SIGTRAP left pending is delivered the moment the thread runs untraced
			await sleep(20);
			alive(fx, what);
			assertNotStoppedOrTraced(fx.pid, what);
		}
		// and it keeps running, every thread of it
		await fx.waitAllRunning('stalled', 15000);
		alive(fx, `after ${rounds} rounds`);
		assertNotStoppedOrTraced(fx.pid, `after ${rounds} rounds`);
		t.diagnostic(`${rounds} rounds in ${((Date.now() - t0) / 1000).toFixed(1)} s, the debuggee survived every one`);
		assert.ok(rounds >= Math.min(MAX_ROUNDS, 10), `only ${rounds} rounds ran in ${BUDGET_MS} ms`);
	} finally {
		await server.stop();
		await fx.kill();
	}
});
