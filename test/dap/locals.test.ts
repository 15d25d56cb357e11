/*
 * forkall dap, the Locals scope (DWARF variables, the native "locals" operation) on
 * test/fixtures/locals: stopped by a source breakpoint on its "// #LOCALS"
 * line in inspect(), the scope lists inspect()'s parameters and locals with
 * the values the fixture printed (its JSON line on stdout is the truth),
 * structs/arrays/pointers expand, memoryReference and evaluateName are set;
 * main()'s frame has a Locals scope too, frames without source lines do not.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { FIXTURES_SRC, fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, findMarker, Golden, within } from './support';

after(killAll);

const PROGRAM = fixturePath('locals');
const SRC = path.join(FIXTURES_SRC, 'locals.c');

interface Truth {
	count: number;
	total: number;
	mask: number;
	ratio: number;
	big: number;
	numbers: number[];
	pt: { x: number; y: number };
	pp: string;
	msg: string;
	origin: string;
}

function byName(vars: DebugProtocol.Variable[]): Map<string, DebugProtocol.Variable> {
	return new Map(vars.map((v) => [v.name, v]));
}

const hexOf = (p: string): string => `0x${BigInt(p).toString(16)}`;

test('locals: parameters and locals of inspect() at a source breakpoint, expanded', async () => {
	const g = new Golden('locals');
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		let stdout = '';
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'stdout') stdout += e.body.output;
		});
		const initialized = dc.next('initialized');
		await within(dc.launchRequest({ program: PROGRAM, args: ['run'] } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		const line = findMarker('LOCALS', SRC);
		const bps = await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line }] });
		assert.equal(bps.body.breakpoints[0].verified, true, 'breakpoint on the #LOCALS line');
		const hit = dc.next('stopped');
		await dc.configurationDoneRequest();
		const e = (await hit) as DebugProtocol.StoppedEvent;
		assert.equal(e.body.reason, 'breakpoint');
		const tid = e.body.threadId!;
		g.alias(tid, 'pid');
		// the truth line was flushed before the breakpoint line
		await within(
			(async () => {
				while (!stdout.includes('"origin"')) await new Promise((r) => setTimeout(r, 20));
			})(),
			10000,
			'fixture output',
		);
		const truth = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{"count"'))!) as Truth;

		const st = await dc.stackTraceRequest({ threadId: tid });
		const frames = st.body.stackFrames;
		assert.equal(frames[0].name, 'inspect');
		assert.equal(frames[0].line, line);

		const sc = await dc.scopesRequest({ frameId: frames[0].id });
		g.log(
			'scopes',
			sc.body.scopes.map((s) => ({ name: s.name, presentationHint: s.presentationHint, expensive: s.expensive })),
		);
		assert.deepEqual(
			sc.body.scopes.map((s) => s.name),
			['Locals', 'Registers', 'LWP'],
		);
		const locals = (await dc.variablesRequest({ variablesReference: sc.body.scopes[0].variablesReference })).body.variables;
		g.log(
			'locals',
			locals.map((v) => ({
				name: v.name,
				type: v.type,
				value: v.value,
				evaluateName: v.evaluateName,
				expandable: v.variablesReference > 0,
				memoryReference: v.memoryReference !== undefined,
			})),
		);
		const m = byName(locals);
		// parameters first, then the locals, in declaration order
		assert.deepEqual(
			locals.slice(0, 4).map((v) => v.name),
			['count', 'label', 'origin', 'block'],
		);
		assert.equal(m.get('count')!.value, String(truth.count));
		assert.equal(m.get('total')!.value, String(truth.total));
		assert.equal(m.get('mask')!.value, String(truth.mask));
		assert.equal(m.get('mask')!.type, 'unsigned int');
		assert.equal(m.get('letter')!.value, "68 'D'");
		assert.equal(Number(m.get('ratio')!.value), truth.ratio);
		assert.equal(m.get('big')!.value, String(truth.big));
		assert.equal(m.get('flag')!.value, 'true');
		assert.equal(m.get('hue')!.value, 'BLUE');
		assert.equal(m.get('hue')!.type, 'enum color');
		assert.equal(m.get('numbers')!.value, `{${truth.numbers.join(', ')}}`);
		assert.equal(m.get('name')!.value, '"forkall"');
		assert.equal(m.get('label')!.value, `${hexOf(truth.msg)} "hello, locals"`);
		assert.equal(m.get('label')!.memoryReference, hexOf(truth.msg), 'a char * refers to the string');
		assert.equal(m.get('pp')!.value, hexOf(truth.pp));
		assert.equal(m.get('pp')!.memoryReference, hexOf(truth.pp));
		assert.equal(m.get('pt')!.memoryReference, hexOf(truth.pp), 'pt is where pp points');
		assert.equal(m.get('pt')!.value, `{x = ${truth.pt.x}, y = ${truth.pt.y}}`);
		assert.equal(m.get('origin')!.value, hexOf(truth.origin));

		// a struct: members with their own expressions
		const pt = byName((await dc.variablesRequest({ variablesReference: m.get('pt')!.variablesReference })).body.variables);
		assert.equal(pt.get('x')!.value, String(truth.pt.x));
		assert.equal(pt.get('x')!.evaluateName, 'pt.x');
		assert.equal(Number(pt.get('y')!.value), truth.pt.y);
		// an array: its elements
		const nums = (await dc.variablesRequest({ variablesReference: m.get('numbers')!.variablesReference })).body.variables;
		g.log(
			'numbers',
			nums.map((v) => ({ name: v.name, value: v.value, evaluateName: v.evaluateName })),
		);
		assert.deepEqual(
			nums.map((v) => Number(v.value)),
			truth.numbers,
		);
		// a pointer to a struct: the members it points to
		const pp = byName((await dc.variablesRequest({ variablesReference: m.get('pp')!.variablesReference })).body.variables);
		assert.equal(pp.get('x')!.evaluateName, 'pp->x');
		assert.equal(pp.get('x')!.value, String(truth.pt.x));
		const origin = byName((await dc.variablesRequest({ variablesReference: m.get('origin')!.variablesReference })).body.variables);
		assert.equal(origin.get('x')!.value, '1');
		assert.equal(origin.get('y')!.value, '2.5');
		// nested: bx.corner.x
		const bx = byName((await dc.variablesRequest({ variablesReference: m.get('bx')!.variablesReference })).body.variables);
		const corner = byName((await dc.variablesRequest({ variablesReference: bx.get('corner')!.variablesReference })).body.variables);
		assert.equal(corner.get('x')!.value, String(-truth.count));
		assert.equal(corner.get('x')!.evaluateName, 'bx.corner.x');
		// a pointer to an int: the pointee
		const cursor = (await dc.variablesRequest({ variablesReference: m.get('cursor')!.variablesReference })).body.variables;
		assert.deepEqual(
			cursor.map((v) => [v.name, v.value, v.evaluateName]),
			[['*cursor', String(truth.numbers[2]), '*cursor']],
		);

		// main's frame (a caller) has locals too; frames without lines (libc) do not
		const mainFrame = frames.find((f) => f.name === 'main')!;
		const msc = await dc.scopesRequest({ frameId: mainFrame.id });
		assert.equal(msc.body.scopes[0].name, 'Locals');
		const mvars = byName((await dc.variablesRequest({ variablesReference: msc.body.scopes[0].variablesReference })).body.variables);
		assert.ok(mvars.has('argc') && mvars.has('argv'), `main's parameters: ${[...mvars.keys()].join(', ')}`);
		const noLines = frames.find((f) => !f.source);
		if (noLines) {
			const nsc = await dc.scopesRequest({ frameId: noLines.id });
			assert.deepEqual(
				nsc.body.scopes.map((s) => s.name),
				['Registers', 'LWP'],
				`${noLines.name} has no Locals`,
			);
		}

		const exited = dc.next('exited');
		await dc.continueRequest({ threadId: tid });
		g.log('exited', (await exited).body);
	} finally {
		await dc.stop();
	}
	g.assertMatches();
});
