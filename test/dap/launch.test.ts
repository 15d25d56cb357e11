/*
 * forkall dap, launch flows on test/fixtures/dapdemo: program output in the
 * Debug Console, exit codes, instruction breakpoints (addresses from nm +
 * /proc/PID/maps), instruction stepping, signals as stop reasons, terminate.
 * Source-line breakpoints, stopAtEntry, line stepping and stacks through libc
 * need the native symbols/stack ops: those tests skip (saying so) until the
 * library has them.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, DAPDEMO_SRC, findMarker, Golden, within } from './support';

after(killAll);

const PROGRAM = fixturePath('dapdemo');

/** Address of a function symbol of dapdemo in process pid. */
function symbolAddress(pid: number, name: string): bigint {
	const nm = execFileSync('nm', [PROGRAM], { encoding: 'utf8' });
	const m = new RegExp(`^([0-9a-f]+) [Tt] ${name}$`, 'm').exec(nm);
	if (!m) throw new Error(`nm: no ${name} in ${PROGRAM}`);
	const first = fs
		.readFileSync(`/proc/${pid}/maps`, 'utf8')
		.split('\n')
		.find((l) => l.endsWith(PROGRAM));
	if (!first) throw new Error(`${PROGRAM} not mapped in ${pid}`);
	return BigInt(`0x${first.split('-')[0]}`) + BigInt(`0x${m[1]}`);
}

/** Collected output of one category until `exited`. */
function collectOutput(dc: DapClient): { stdout: string; stderr: string } {
	const out = { stdout: '', stderr: '' };
	dc.on('output', (e: DebugProtocol.OutputEvent) => {
		if (e.body.category === 'stdout') out.stdout += e.body.output;
		if (e.body.category === 'stderr') out.stderr += e.body.output;
	});
	return out;
}

async function launch(dc: DapClient, args: Record<string, unknown>): Promise<number> {
	const initialized = dc.next('initialized');
	await within(dc.launchRequest({ program: PROGRAM, ...args } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
	await initialized;
	const th = await dc.threadsRequest();
	assert.equal(th.body.threads.length, 1, 'one thread right after exec');
	return th.body.threads[0].id;
}

test('launch: output events, exit code, terminated', async () => {
	const g = new Golden('launch-run');
	const dc = new DapClient();
	await dc.start();
	try {
		const init = await dc.init();
		assert.equal(init.body?.supportsInstructionBreakpoints, true, 'int3 breakpoints are in the library');
		const out = collectOutput(dc);
		await launch(dc, { args: ['exit', '3'] });
		const exited = dc.next('exited');
		const terminated = dc.next('terminated');
		await dc.configurationDoneRequest();
		g.log('exited', (await exited).body);
		await terminated;
		g.log('stdout', out.stdout);
		g.log('stderr', out.stderr);
		assert.equal(out.stdout, 'dapdemo start\nresult 47\n');
	} finally {
		await dc.stop();
	}
	g.assertMatches();
});

test('launch: instruction breakpoint at twice(), stack, instruction step, continue to exit', async () => {
	const g = new Golden('launch-instruction-breakpoint');
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const pid = await launch(dc, {});
		g.alias(pid, 'pid');
		const twice = symbolAddress(pid, 'twice');
		const bps = (await dc.send('setInstructionBreakpoints', {
			breakpoints: [{ instructionReference: `0x${twice.toString(16)}` }],
		})) as DebugProtocol.SetInstructionBreakpointsResponse;
		g.log('setInstructionBreakpoints', bps.body.breakpoints);
		assert.equal(bps.body.breakpoints[0].verified, true);
		const stopped = dc.next('stopped');
		await dc.configurationDoneRequest();
		const s = (await stopped) as DebugProtocol.StoppedEvent;
		g.log('stopped', s.body);
		assert.equal(s.body.reason, 'instruction breakpoint');
		assert.deepEqual(s.body.hitBreakpointIds, [bps.body.breakpoints[0].id]);
		const st = await dc.stackTraceRequest({ threadId: pid });
		assert.equal(BigInt(st.body.stackFrames[0].instructionPointerReference!), twice, 'pc at the breakpoint');
		// The int3 is hidden from memory reads and disassembly.
		const mem = (await dc.send('readMemory', {
			memoryReference: `0x${twice.toString(16)}`,
			count: 1,
		})) as DebugProtocol.ReadMemoryResponse;
		assert.notEqual(Buffer.from(mem.body!.data!, 'base64')[0], 0xcc, 'original byte shown, not int3');
		const dis = (await dc.send('disassemble', {
			memoryReference: `0x${twice.toString(16)}`,
			instructionCount: 1,
		})) as DebugProtocol.DisassembleResponse;
		assert.notEqual(dis.body!.instructions[0].instruction, 'int3');
		const stepped = dc.next('stopped');
		await dc.nextRequest({ threadId: pid, granularity: 'instruction' });
		g.log('stepped', (await stepped).body);
		const st2 = await dc.stackTraceRequest({ threadId: pid });
		const pc2 = BigInt(st2.body.stackFrames[0].instructionPointerReference!);
		assert.ok(pc2 > twice && pc2 < twice + 16n, `pc moved by one instruction: ${pc2.toString(16)}`);
		// Remove the breakpoint and run to the end.
		await dc.send('setInstructionBreakpoints', { breakpoints: [] });
		const exited = dc.next('exited');
		await dc.continueRequest({ threadId: pid });
		g.log('exited', (await exited).body);
	} finally {
		await dc.stop();
	}
	g.assertMatches();
});

test('launch: a crash stops with reason exception and the signal; terminate kills', async () => {
	const g = new Golden('launch-crash');
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const pid = await launch(dc, { args: ['crash'] });
		g.alias(pid, 'pid');
		const stopped = dc.next('stopped');
		await dc.configurationDoneRequest();
		g.log('stopped', (await stopped).body);
		const exited = dc.next('exited');
		const terminated = dc.next('terminated');
		await dc.terminateRequest({});
		g.log('exited', (await exited).body);
		await terminated;
		assert.ok(
			!fs.existsSync(`/proc/${pid}`) || /State:\s+Z/.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')),
			'the program is gone',
		);
	} finally {
		await dc.stop();
	}
	g.assertMatches();
});

test('launch: stopAtEntry, source breakpoint, step in/over/out, stack through libc (needs the symbols and stack ops)', async (t) => {
	const dc = new DapClient();
	await dc.start();
	try {
		const init = await dc.init();
		if (!init.body?.supportsFunctionBreakpoints) {
			t.skip('this libforkall has no symbols operation yet');
			return;
		}
		const g = new Golden('launch-source-stepping');
		const initialized = dc.next('initialized');
		await dc.launchRequest({ program: PROGRAM, stopAtEntry: true } as DebugProtocol.LaunchRequestArguments);
		await initialized;
		const line = findMarker('MAIN_CALL');
		const bps = await dc.setBreakpointsRequest({ source: { path: DAPDEMO_SRC }, breakpoints: [{ line }] });
		g.log(
			'setBreakpoints',
			bps.body.breakpoints.map((b) => ({ verified: b.verified, line: b.line })),
		);
		const entry = dc.next('stopped');
		await dc.configurationDoneRequest();
		const e = (await entry) as DebugProtocol.StoppedEvent;
		const tid = e.body.threadId!;
		g.alias(tid, 'pid');
		g.log('entry', e.body);
		const top = async () => (await dc.stackTraceRequest({ threadId: tid })).body.stackFrames[0];
		g.log('entry frame', { name: (await top()).name, line: (await top()).line });
		const hit = dc.next('stopped');
		await dc.continueRequest({ threadId: tid });
		g.log('breakpoint', (await hit).body);
		assert.equal((await top()).line, line);
		const stepIn = dc.next('stopped');
		await dc.stepInRequest({ threadId: tid });
		await stepIn;
		const f1 = await top();
		g.log('after stepIn', { name: f1.name, line: f1.line });
		assert.equal(f1.line, findMarker('TWICE_CALL'));
		const next = dc.next('stopped');
		await dc.nextRequest({ threadId: tid });
		await next;
		const f2 = await top();
		g.log('after next', { name: f2.name, line: f2.line });
		assert.equal(f2.line, findMarker('TWICE_RET'));
		const out = dc.next('stopped');
		await dc.stepOutRequest({ threadId: tid });
		await out;
		const f3 = await top();
		g.log('after stepOut', { name: f3.name });
		assert.equal(f3.name, 'main');
		const full = await dc.stackTraceRequest({ threadId: tid });
		assert.ok(
			full.body.stackFrames.some((f) => f.presentationHint === 'subtle'),
			'libc frames below main are subtle',
		);
		assert.ok(full.body.stackFrames.every((f) => /^0x[0-9a-f]+$/.test(f.instructionPointerReference ?? '')));
		const fb = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'add' }, { name: 'no_such_function' }] });
		g.log(
			'setFunctionBreakpoints',
			fb.body.breakpoints.map((b) => ({ verified: b.verified, message: b.message })),
		);
		const fhit = dc.next('stopped');
		await dc.continueRequest({ threadId: tid });
		g.log('function breakpoint', (await fhit).body);
		const f4 = await top();
		assert.equal(f4.name, 'add');
		const callers = (await dc.stackTraceRequest({ threadId: tid, startFrame: 1, levels: 1 })).body;
		assert.equal(callers.stackFrames.length, 1, 'paging: one frame from startFrame 1');
		assert.equal(callers.stackFrames[0].name, 'main', 'add was called from main (MAIN_ADD)');
		assert.equal(callers.stackFrames[0].line, findMarker('MAIN_ADD'));
		await dc.disconnectRequest({});
		g.assertMatches();
	} finally {
		await dc.stop();
	}
});
