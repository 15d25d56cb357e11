/*
 * evaluate (hover, watch, repl): variables of the selected frame, members,
 * elements, pointees' members and registers, formatted as the Variables
 * view formats them; errors are one clear line (expr.test.ts: the whole
 * C grammar).
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { FIXTURES_SRC, fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, within } from './support';

after(killAll);

const SRC = path.join(FIXTURES_SRC, 'locals.c');

test('evaluate: locals, members, elements, pointee members, registers; errors name the cause', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		const init = await dc.init();
		assert.equal(init.body?.supportsEvaluateForHovers, true);
		let stdout = '';
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'stdout') stdout += e.body.output;
		});
		const tid = (await dc.launchToBreakpoint(fixturePath('locals'), SRC, ['LOCALS'], { args: ['run'] })).body.threadId!;
		await within(
			(async () => {
				while (!stdout.includes('"origin"')) await new Promise((r) => setTimeout(r, 20));
			})(),
			10000,
			'fixture output',
		);
		const truth = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{"count"'))!) as {
			count: number;
			numbers: number[];
			pt: { x: number; y: number };
		};
		const frameId = (await dc.stackTraceRequest({ threadId: tid })).body.stackFrames[0].id;
		const ev = async (expression: string, context = 'hover') => (await dc.evaluateRequest({ expression, frameId, context })).body;

		assert.equal((await ev('count')).result, String(truth.count));
		assert.equal((await ev('count', 'watch')).type, 'int');
		assert.equal((await ev(' pt . x ')).result, String(truth.pt.x), 'members, spaces ignored');
		assert.equal((await ev('numbers[2]')).result, String(truth.numbers[2]));
		assert.equal((await ev('pp->x')).result, String(truth.pt.x), 'a pointee member');
		assert.equal((await ev('(*pp).x')).result, String(truth.pt.x), '(*p).m is p->m');
		const pt = await ev('pt');
		assert.ok(pt.variablesReference > 0, 'a struct is expandable');
		const members = (await dc.variablesRequest({ variablesReference: pt.variablesReference })).body.variables;
		assert.deepEqual(
			members.map((m) => m.name),
			['x', 'y'],
		);
		// globals and file statics, when the frame has no such name
		assert.equal((await ev('origin_pt.x')).result, '1', 'a member of a global struct');
		assert.equal((await ev('origin_pt.y', 'watch')).result, '2.5');
		assert.ok((await ev('origin_pt')).variablesReference > 0, 'a global struct is expandable');
		assert.match((await ev('sink')).result, /^-?\d+$/);
		assert.equal((await ev('origin->x')).result, '1', 'the parameter pointing at it, as before');
		assert.match((await ev('$rip', 'repl')).result, /^0x[0-9a-f]{16}$/);
		assert.ok((await ev('$rsp')).memoryReference, 'a register refers to memory');

		const err = async (expression: string): Promise<string> => {
			try {
				await dc.evaluateRequest({ expression, frameId, context: 'watch' });
			} catch (e) {
				return (e as Error).message;
			}
			assert.fail(`${expression} evaluated`);
		};
		assert.match(await err('nosuchvar'), /no symbol "nosuchvar" in this frame/);
		assert.equal((await ev('count + 1')).result, String(truth.count + 1), 'operators (expr.test.ts has the rest)');
		assert.match(await err('count +'), /incomplete expression/);
		assert.match(await err('$nosuch'), /no register "\$nosuch"/);
		assert.match(
			await dc.evaluateRequest({ expression: 'count', frameId: 999999, context: 'hover' }).then(
				() => 'ok',
				(e: Error) => e.message,
			),
			/frame is gone/,
		);

		// Debug Console completions: names of the frame, member paths, registers, commands
		assert.equal(init.body?.supportsCompletionsRequest, true);
		const complete = async (text: string) =>
			(await dc.customRequest('completions', { text, column: text.length + 1, frameId })).body
				.targets as DebugProtocol.CompletionItem[];
		const labels = async (text: string) => (await complete(text)).map((t) => t.label);
		assert.ok((await labels('cou')).includes('count'), 'a local by its prefix');
		assert.deepEqual((await labels('pt.')).sort(), ['x', 'y'], 'the members of a struct');
		const rip = (await complete('print $ri')).find((t) => t.label === '$rip');
		assert.ok(rip, 'a register');
		assert.equal(rip.start, 'print '.length, 'replaces the word being typed');
		assert.ok((await labels('han')).includes('handle '), 'a console command');
		assert.deepEqual(await labels('zzz'), [], 'nothing matches');

		// setVariable: scalars in memory with C's conversions, read back; a general register
		assert.equal(init.body?.supportsSetVariable, true);
		const scopes = (await dc.scopesRequest({ frameId })).body.scopes;
		const localsRef = scopes.find((x) => x.name === 'Locals')!.variablesReference;
		const locals = (await dc.variablesRequest({ variablesReference: localsRef })).body.variables;
		const numbersRef = locals.find((v) => v.name === 'numbers')!.variablesReference;
		const set = async (ref: number, name: string, value: string) =>
			(await dc.setVariableRequest({ variablesReference: ref, name, value })).body;
		assert.equal((await set(numbersRef, '[1]', '77')).value, '77');
		assert.equal((await ev('numbers[1]')).result, '77', 'written to the process: read back from its memory');
		assert.equal((await set(numbersRef, '[2]', '0x10')).value, '16', 'a hex literal');
		assert.equal((await set(numbersRef, '[3]', '-1')).value, '-1');
		const ptRef = locals.find((v) => v.name === 'pt')!.variablesReference;
		assert.equal((await set(ptRef, 'y', '2.5')).value, '2.5', 'a double');
		assert.equal((await set(ptRef, 'x', '3.9')).value, '3', 'C truncates toward zero');
		const setErr = async (ref: number, name: string, value: string): Promise<string> => {
			try {
				await dc.setVariableRequest({ variablesReference: ref, name, value });
			} catch (e) {
				return (e as Error).message;
			}
			assert.fail(`${name} = ${value} succeeded`);
		};
		assert.match(await setErr(numbersRef, '[0]', 'abc'), /"abc" is not a number/);
		assert.match(await setErr(localsRef, 'pt', '1'), /cannot be written/);
		const regsRef = scopes.find((x) => x.name === 'Registers')!.variablesReference;
		const general = (await dc.variablesRequest({ variablesReference: regsRef })).body.variables.find((v) => v.name === 'General')!;
		assert.equal((await set(general.variablesReference, 'r15', '0x1234')).value, '0x0000000000001234');
		assert.equal((await ev('$r15')).result, '0x0000000000001234', 'the register, read back');
		await dc.disconnectRequest({ terminateDebuggee: true });
	} finally {
		await dc.stop();
	}
});
