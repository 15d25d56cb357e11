/*
 * Breakpoints removed while the program runs: a thread that executed the
 * int3 just before its original byte came back reports its SIGTRAP a moment
 * later, at an address where there is no breakpoint any more. That trap is
 * ours, not the program's: it must be recognised (gdb's "moribund"
 * locations), the thread rewound and resumed — never reported as a SIGTRAP
 * exception, never delivered (bphammer has no handler: it would die).
 *
 * 8 threads call hammer_hit() in a tight loop; its breakpoint (with a hit
 * condition that never matches, so every hit resumes at once) is removed
 * and set again 60 times while they run.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, within } from './support';

after(killAll);

test('a breakpoint removed and set again 60 times while 8 threads hit it: no SIGTRAP stop, the program lives', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		let exited = false;
		dc.on('exited', () => (exited = true));
		const initialized = dc.next('initialized');
		await within(
			dc.launchRequest({ program: fixturePath('bphammer'), args: ['8'] } as DebugProtocol.LaunchRequestArguments),
			20000,
			'launch',
		);
		await initialized;
		await dc.configurationDoneRequest();
		await new Promise((r) => setTimeout(r, 300)); // every worker in its loop
		const bp = [{ name: 'hammer_hit', hitCondition: '1000000000' }];
		for (let i = 0; i < 60; i++) {
			const set = await dc.setFunctionBreakpointsRequest({ breakpoints: bp });
			assert.equal(set.body.breakpoints[0].verified, true);
			await new Promise((r) => setTimeout(r, 20));
			await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
			assert.deepEqual(
				dc.stops().map((s) => `${s.body.reason} ${s.body.text ?? ''}`),
				[],
				`round ${i}: no stop at all`,
			);
			assert.equal(exited, false, `round ${i}: the program lives`);
		}
		await dc.terminateRequest();
	} finally {
		await dc.stop();
	}
});
