/*
 * A signal that arrives while every thread is stopped at a breakpoint is
 * reported after that stop, and the breakpoint is not reported again for
 * the same hit (issue 10). The step over the breakpoint runs with the
 * thread's signals blocked, so the signal cannot interrupt it and leave the
 * thread on the int3 to trap a second time.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath, FIXTURES_SRC } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, findMarker, within } from './support';

after(killAll);

const SRC = path.join(FIXTURES_SRC, 'sigbp.c');

async function argN(dc: DapClient, threadId: number): Promise<number> {
	const st = await dc.stackTraceRequest({ threadId, startFrame: 0, levels: 1 });
	const sc = await dc.scopesRequest({ frameId: st.body.stackFrames[0].id });
	const locals = sc.body.scopes.find((s) => /local/i.test(s.name));
	assert.ok(locals, `a Locals scope: ${sc.body.scopes.map((s) => s.name)}`);
	const vars = await dc.variablesRequest({ variablesReference: locals.variablesReference });
	const n = vars.body.variables.find((v) => v.name === 'n');
	assert.ok(n, `parameter n: ${vars.body.variables.map((v) => v.name)}`);
	return Number.parseInt(n.value, 10);
}

test('SIGUSR2 while stopped at a breakpoint: reported next, then the NEXT hit of the breakpoint', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const initialized = dc.next('initialized');
		await within(dc.launchRequest({ program: fixturePath('sigbp') } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		const pid = (await dc.threadsRequest()).body.threads[0].id; // the only thread right after exec: its tid is the pid
		await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: findMarker('HIT', SRC) }] });
		let stop = dc.next('stopped');
		await dc.configurationDoneRequest();
		let ev = (await stop) as DebugProtocol.StoppedEvent;
		assert.equal(ev.body.reason, 'breakpoint');
		const tid = ev.body.threadId!;
		const first = await argN(dc, tid);
		for (let round = 0; round < 5; round++) {
			process.kill(pid, 'SIGUSR2');
			await new Promise((r) => setTimeout(r, 50)); // queued while every thread is stopped
			stop = dc.next('stopped');
			await dc.continueRequest({ threadId: tid });
			ev = (await stop) as DebugProtocol.StoppedEvent;
			assert.notEqual(
				ev.body.reason,
				'breakpoint',
				`round ${round}: the signal is reported before any breakpoint (got ${ev.body.reason} ${ev.body.text ?? ''})`,
			);
			assert.match(`${ev.body.text ?? ''} ${ev.body.description ?? ''}`, /SIGUSR2/);
			stop = dc.next('stopped');
			await dc.continueRequest({ threadId: tid });
			ev = (await stop) as DebugProtocol.StoppedEvent;
			assert.equal(ev.body.reason, 'breakpoint');
			assert.equal(await argN(dc, ev.body.threadId!), first + round + 1, `round ${round}: the next hit, not the same one again`);
		}
		await dc.disconnectRequest({ terminateDebuggee: true });
	} finally {
		await dc.stop();
	}
});
