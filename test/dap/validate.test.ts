/*
 * forkall dap: every request's arguments are checked against its DAP types
 * (adapter/src/dap/validate.ts) before anything happens; the error names
 * the argument and the value, and the debuggee is untouched (issue 9 item
 * 11: `next {threadId:-1}` answered success, `line:"8"` set line 80,
 * `launch {env:"x"}` was accepted).
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DAPDEMO_SRC } from './support';
import { killAll, spawnFixture } from '../helpers/procs';
import { assertNotStoppedOrTraced, procState } from '../helpers/procfs';
import { RawDap } from './raw';

after(killAll);

const INIT = { adapterID: 'forkall', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' };

/** [command, arguments, expected message] */
const CASES: [string, unknown, RegExp][] = [
	['next', { threadId: -1 }, /^next: threadId must be a thread of this session \(got -1\)$/],
	['stepIn', { threadId: 1 }, /^stepIn: threadId must be a thread of this session \(got 1\)$/],
	['stepOut', { threadId: '7' }, /^stepOut: threadId must be a thread of this session \(got "7"\)$/],
	['next', {}, /^next: threadId is required$/],
	['next', { threadId: 0, granularity: 'word' }, /^next: threadId must be a thread/],
	['pause', { threadId: 3.5 }, /^pause: threadId must be a thread of this session \(got 3\.5\)$/],
	[
		'setBreakpoints',
		{ source: { path: DAPDEMO_SRC }, breakpoints: [{ line: '8' }] },
		/^setBreakpoints: breakpoints\[0\]\.line must be an integer between 0 and 2147483647 \(got "8"\)$/,
	],
	['setBreakpoints', { source: 'dapdemo.c', lines: [8] }, /^setBreakpoints: source must be an object \(got "dapdemo\.c"\)$/],
	['setBreakpoints', { source: { path: 5 } }, /^setBreakpoints: source\.path must be a string \(got 5\)$/],
	['setBreakpoints', { source: { path: DAPDEMO_SRC }, lines: [1, null] }, /^setBreakpoints: lines\[1\] must be an integer/],
	[
		'setFunctionBreakpoints',
		{ breakpoints: [{ name: 'main', condition: 1 }] },
		/^setFunctionBreakpoints: breakpoints\[0\]\.condition must be a string \(got 1\)$/,
	],
	['setFunctionBreakpoints', {}, /^setFunctionBreakpoints: breakpoints is required$/],
	['setInstructionBreakpoints', { breakpoints: [{ instructionReference: 'main' }] }, /instructionReference must be a memory reference/],
	['stackTrace', { threadId: 'main' }, /^stackTrace: threadId must be a thread of this session \(got "main"\)$/],
	['stackTrace', { threadId: 0x7fffffff }, /^stackTrace: threadId must be a thread of this session/],
	['stackTrace', { threadId: null, levels: -1 }, /^stackTrace: threadId must be/],
	['scopes', { frameId: '1' }, /^scopes: frameId must be an integer \(got "1"\)$/],
	['variables', { variablesReference: 1, count: -5 }, /^variables: count must be an integer >= 0 \(got -5\)$/],
	[
		'readMemory',
		{ memoryReference: '0x1000', count: '16' },
		/^readMemory: count must be an integer between 0 and 16777216 \(got "16"\)$/,
	],
	['readMemory', { memoryReference: 4096, count: 16 }, /^readMemory: memoryReference must be a memory reference/],
	['writeMemory', { memoryReference: '0x1000', data: '***' }, /^writeMemory: data must be base64 text \(got "\*\*\*"\)$/],
	[
		'disassemble',
		{ memoryReference: '0x1000', instructionCount: 1e9 },
		/^disassemble: instructionCount must be an integer between 0 and 10000 \(got 1000000000\)$/,
	],
	[
		'disassemble',
		{ memoryReference: '0x1000', instructionCount: 5, instructionOffset: 0.5 },
		/^disassemble: instructionOffset must be an integer/,
	],
	['continue', { threadId: true }, /^continue: threadId must be an integer \(got true\)$/],
	['disconnect', { terminateDebuggee: 'yes' }, /^disconnect: terminateDebuggee must be a boolean \(got "yes"\)$/],
	['forkAllThreads', { mode: 'sideways' }, /^forkAllThreads: mode must be one of "debug", "run", "stopped" \(got "sideways"\)$/],
	['forkAllThreads', { copyDontfork: 0 }, /^forkAllThreads: copyDontfork must be a boolean/],
	['setExceptionBreakpoints', { filters: 'all' }, /^setExceptionBreakpoints: filters must be an array/],
	['attach', { pid: [1] }, /^attach: pid must be an integer or a string \(got \[1\]\)$/],
	['launch', { program: '/bin/true', env: 'x' }, /^launch: env must be an object \(got "x"\)$/],
	['launch', { program: '/bin/true', env: { A: 1 } }, /^launch: env\.A must be a string or null \(got 1\)$/],
	['launch', { program: '/bin/true', args: ['a', 2] }, /^launch: args\[1\] must be a string \(got 2\)$/],
	['launch', { program: ['/bin/true'] }, /^launch: program must be a string/],
	['launch', { program: '/bin/true', stopAtEntry: 'true' }, /^launch: stopAtEntry must be a boolean/],
];

test('wrong argument types and values: an error naming the argument; the attached target is untouched', async () => {
	const fx = await spawnFixture('threads', ['2']);
	const dc = new RawDap();
	try {
		assert.equal((await dc.request('initialize', INIT)).success, true);
		assert.match(
			(await dc.request('initialize', { adapterID: 7 })).message ?? '',
			/^initialize: adapterID must be a string \(got 7\)$/,
		);
		const a = await dc.request('attach', { pid: fx.pid, stopOnAttach: true });
		assert.equal(a.success, true, a.message);
		await dc.request('configurationDone');
		await dc.event('stopped');
		const stoppedEvents = () => dc.messages.filter((m) => m.type === 'event' && (m as { event: string }).event === 'stopped').length;
		const stops = stoppedEvents();
		for (const [command, args, re] of CASES) {
			const r = await dc.request(command, args);
			assert.equal(r.success, false, `${command} ${JSON.stringify(args)} must fail`);
			assert.match(r.message ?? '', re, `${command} ${JSON.stringify(args)}`);
		}
		// the arguments object itself
		assert.match((await dc.request('next', [1])).message ?? '', /^malformed message: "arguments" must be an object$/);
		assert.equal(stoppedEvents(), stops, 'no stop was reported (nothing ran)');
		assert.equal(dc.children().length, 0, 'nothing was launched');
		for (const s of procState(fx.pid)) assert.equal(s.state, 't', `tid ${s.tid} still stopped by us`);
		// valid requests still work
		const from = dc.messages.length;
		const next = await dc.request('next', { threadId: fx.pid, granularity: 'instruction' });
		assert.equal(next.success, true, next.message);
		await dc.waitFor(
			(m) => m.type === 'event' && (m as { event: string }).event === 'stopped' && dc.messages.indexOf(m) >= from,
			20000,
			'the stop after next',
		);
		assert.equal((await dc.request('disconnect', {})).success, true);
		await dc.waitExit(10000);
		assertNotStoppedOrTraced(fx.pid, 'after disconnect');
	} finally {
		await dc.kill();
		await fx.kill();
	}
});
