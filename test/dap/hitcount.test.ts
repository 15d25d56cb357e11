/*
 * Hit-count breakpoints: a function breakpoint on tick() (called every 10 ms
 * by main and the workers in "wait" mode) with hitCondition "3" stops exactly once, on the
 * third hit; without a condition it stops again at once after continue.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as path from 'node:path';
import { fixturePath, FIXTURES_SRC } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, findMarker, within } from './support';

after(killAll);

const PROGRAM = fixturePath('dapdemo');

function noStopWithin(dc: DapClient, ms: number): Promise<boolean> {
	return dc.waitForEvent('stopped', ms).then(
		() => false,
		() => true,
	);
}

test('hit condition: a function breakpoint with hitCondition "3" stops once, on the third hit', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const initialized = dc.next('initialized');
		await within(dc.launchRequest({ program: PROGRAM, args: ['wait'] } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		const bps = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'tick', hitCondition: '3' }] });
		assert.equal(bps.body.breakpoints[0].verified, true, JSON.stringify(bps.body.breakpoints[0]));
		const stopped = dc.next('stopped');
		await dc.configurationDoneRequest();
		const s = (await stopped) as DebugProtocol.StoppedEvent;
		assert.equal(s.body.reason, 'function breakpoint');
		await dc.continueRequest({ threadId: s.body.threadId! });
		assert.ok(await noStopWithin(dc, 1500), 'no second stop: hits 4, 5, ... do not match "3"');
		// the same breakpoint without a condition stops again at once
		const againP = dc.waitForEvent('stopped', 5000);
		await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'tick' }] });
		const again = (await againP) as DebugProtocol.StoppedEvent;
		assert.equal(again.body.reason, 'function breakpoint', 'a hit of the new breakpoint, not of the replaced one');
		await dc.terminateRequest();
	} finally {
		await dc.stop();
	}
});

test('condition: a function breakpoint on add() with "a == 41" stops only on the second call (add(41, 2))', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const initialized = dc.next('initialized');
		await within(dc.launchRequest({ program: PROGRAM } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		const bps = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'add', condition: 'a == 41 && b == 2' }] });
		assert.equal(bps.body.breakpoints[0].verified, true, JSON.stringify(bps.body.breakpoints[0]));
		const stopped = dc.next('stopped');
		await dc.configurationDoneRequest();
		const s = (await stopped) as DebugProtocol.StoppedEvent;
		assert.equal(s.body.reason, 'function breakpoint', JSON.stringify(s.body));
		const st = await dc.stackTraceRequest({ threadId: s.body.threadId! });
		const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0].id });
		const locals = scopes.body.scopes.find((x) => x.name === 'Locals');
		assert.ok(locals, 'a Locals scope');
		const vars = await dc.variablesRequest({ variablesReference: locals!.variablesReference });
		const a = vars.body.variables.find((v) => v.name === 'a');
		assert.equal(a?.value.split(' ')[0], '41', `stopped on the call where a == 41: ${JSON.stringify(vars.body.variables)}`);
		// an operand that does not exist: it stops and says why
		const bad = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'add', condition: 'a ==== 1' }] });
		assert.match(bad.body.breakpoints[0].message ?? '', /not understood/);
		await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
		const exited = dc.next('exited');
		await dc.continueRequest({ threadId: s.body.threadId! });
		await exited;
	} finally {
		await dc.stop();
	}
});

/*
 * Logpoints: a source breakpoint with logMessage on add()'s line prints
 * "add a=<a> b=<b>" for each call (add(20, 20) from twice(), then
 * add(41, 2)) and never stops; a {name} that is not there says so.
 * Negative control: without the logpoint handling in Debuggee the
 * breakpoint stops (a "breakpoint" stop instead of the exit).
 */
test('logpoint: add() logs its arguments on every call and the program runs to its end', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		let out = '';
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'console') out += e.body.output;
		});
		const initialized = dc.next('initialized');
		await within(dc.launchRequest({ program: PROGRAM } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		const src = path.join(FIXTURES_SRC, 'dapdemo.c');
		const bps = await dc.setBreakpointsRequest({
			source: { path: src },
			breakpoints: [{ line: findMarker('ADD', src), logMessage: 'add a={a} b={b} $rip={$rip} {nope}' }],
		});
		assert.equal(bps.body.breakpoints[0].verified, true);
		const exited = dc.next('exited', 20000);
		await dc.configurationDoneRequest();
		assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 0);
		assert.equal(dc.stops().length, 0, 'a logpoint never stops');
		const lines = out.split('\n').filter((l) => l.startsWith('add '));
		assert.equal(lines.length, 2, out);
		assert.match(lines[0], /^add a=20 b=20 \$rip=0x[0-9a-f]+ <no symbol "nope" in this frame>$/);
		assert.match(lines[1], /^add a=41 b=2 /);
	} finally {
		await dc.stop();
	}
});
