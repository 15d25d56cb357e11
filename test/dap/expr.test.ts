/*
 * C expressions over DWARF on a real traced process (test/fixtures/exprs.c):
 * hover/watch/repl/clipboard with operators, C's conversions, casts to the
 * program's types, sizeof, pointer arithmetic, x@n, bit-fields, unions,
 * enums, shadowing, $registers; setExpression (memory, a bit-field, a
 * register) seen by the program; a breakpoint condition in the full
 * grammar; a logpoint with expressions.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { FIXTURES_SRC, fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, findMarker, within } from './support';

after(killAll);

const SRC = path.join(FIXTURES_SRC, 'exprs.c');

interface Truth {
	sizeofNode: number;
	sizeofFlags: number;
	n1: string;
	n2: string;
	table: string;
}

async function start(condition?: string, logMessage?: string) {
	const dc = new DapClient();
	await dc.start();
	const init = await dc.init();
	let stdout = '';
	dc.on('output', (e: DebugProtocol.OutputEvent) => {
		if (e.body.category === 'stdout') stdout += e.body.output;
	});
	const initialized = dc.next('initialized');
	await within(dc.launchRequest({ program: fixturePath('exprs') } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
	await initialized;
	const bp: DebugProtocol.SourceBreakpoint = { line: findMarker('EXPR', SRC) };
	if (condition) bp.condition = condition;
	if (logMessage) bp.logMessage = logMessage;
	const set = await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [bp] });
	assert.equal(set.body.breakpoints[0].verified, true, JSON.stringify(set.body));
	const stopped = logMessage ? null : dc.waitForEvent('stopped', 20000);
	await dc.configurationDoneRequest();
	const out = () => stdout;
	return { dc, init, stopped, out };
}

async function truthOf(out: () => string): Promise<Truth> {
	await within(
		(async () => {
			while (!out().includes('"sizeofNode"')) await new Promise((r) => setTimeout(r, 20));
		})(),
		10000,
		'fixture output',
	);
	return JSON.parse(
		out()
			.split('\n')
			.find((l) => l.startsWith('{"sizeofNode"'))!,
	) as Truth;
}

test('expressions: operators, conversions, casts, sizeof, pointers, x@n, bit-fields, unions, enums, shadowing, registers', async () => {
	const { dc, init, stopped, out } = await start();
	try {
		assert.equal(init.body?.supportsSetExpression, true);
		const tid = ((await stopped!) as DebugProtocol.StoppedEvent).body.threadId!;
		const truth = await truthOf(out);
		const frameId = (await dc.stackTraceRequest({ threadId: tid })).body.stackFrames[0].id;
		const ev = async (expression: string, context = 'watch') => (await dc.evaluateRequest({ expression, frameId, context })).body;
		const val = async (expression: string, context = 'watch') => (await ev(expression, context)).result;
		const err = async (expression: string): Promise<string> => {
			try {
				await dc.evaluateRequest({ expression, frameId, context: 'watch' });
			} catch (e) {
				return (e as Error).message;
			}
			assert.fail(`${expression} evaluated`);
		};

		// the first stop: i == 0
		assert.equal(await val('i'), '0');
		assert.equal(await val('shadow'), '0', 'the local hides the global of the same name');
		assert.equal(await val('level'), '100', "the block's local hides the function's");
		// members, pointers, arithmetic with C's rules
		assert.equal(await val('p->pos.x + 1', 'hover'), '4');
		assert.equal(await val('(p->pos.x + 1) * 2 == 8'), '1');
		assert.equal(await val('p->next->value - p->value', 'repl'), '10');
		assert.match(await val('p->next->label'), /^0x[0-9a-f]+ "second"$/);
		assert.equal(await val('p->next->scores[1] * -2'), '-16');
		assert.equal(await val('10 / 3 * 3 + 10 % 3'), '10');
		assert.equal(await val('0x10 >> 2 | 1'), '5');
		assert.equal(await val('1.0 / 4'), '0.25');
		assert.equal(await val("'A' + 1"), '66');
		assert.equal(await val('-1 < 0u'), '0', 'the usual arithmetic conversions: -1 becomes unsigned');
		assert.equal(await val('-1 < 0'), '1');
		assert.equal(await val('(unsigned char)-1'), "255 '\\377'");
		assert.equal(await val('(char)p->value'), "10 '\\n'");
		assert.equal(await val('(int)ratio == 0 ? 7 : 8'), '7');
		assert.equal(await val('!p->next->next && p->next'), '1', 'short-circuit: a NULL is never dereferenced');
		// sizeof: types by name from DWARF, and expressions (nothing read)
		assert.equal(await val('sizeof(struct node)'), String(truth.sizeofNode));
		assert.equal(await val('sizeof fl'), String(truth.sizeofFlags));
		assert.equal(await val('sizeof(counter_t)'), '8', 'a typedef of the program');
		assert.equal(await val('sizeof arr / sizeof arr[0]'), '5');
		assert.equal(await val('sizeof *p->next->next'), String(truth.sizeofNode), 'a NULL pointee is not read');
		// pointer arithmetic and comparison
		assert.equal(await val('&g_table[4] - &g_table[1]'), '3');
		assert.equal(await val('*(g_table + 3)'), '3');
		assert.equal(await val('(long)&g_table[2] - (long)g_table'), '8');
		assert.equal(await val('&g_table[1] < &g_table[2]'), '1');
		assert.equal(BigInt((await ev('&g_table[0]')).memoryReference!), BigInt(truth.table), 'memoryReference of a pointer');
		assert.equal(BigInt(await val('p')), BigInt(truth.n1));
		assert.equal(await val('p->next == (struct node *)' + truth.n2), '1', 'a cast to a struct pointer type of the program');
		assert.equal(await val('((struct point *)g_table)[1].x'), '2');
		// structured results stay expandable
		const node = await ev('*p->next');
		assert.ok(node.variablesReference > 0);
		const kids = (await dc.variablesRequest({ variablesReference: node.variablesReference })).body.variables;
		assert.deepEqual(
			kids.map((k) => `${k.name}=${k.name === 'next' || k.name === 'label' ? '' : k.value}`),
			['value=20', 'pos={x = 5, y = 6}', 'next=', 'label=', 'scores={7, 8, 9}'],
		);
		assert.equal(kids[1].evaluateName, '(*p->next).pos', 'evaluateName of a member of a dereference');
		const pos = (await dc.variablesRequest({ variablesReference: kids[1].variablesReference })).body.variables;
		assert.equal(pos[0].evaluateName, '(*p->next).pos.x');
		assert.equal(await val(pos[0].evaluateName!), '5', 'and it evaluates');
		const setKid = await dc.setVariableRequest({ variablesReference: kids[1].variablesReference, name: 'y', value: '66' });
		assert.equal(setKid.body.value, '66', 'a member of a Watch result can be set');
		assert.equal(await val('p->next->pos.y'), '66');
		// gdb's x@n
		const slice = await ev('g_table[1]@4');
		assert.equal(slice.result, '{1, 2, 3, 5}');
		assert.equal(slice.type, 'int [4]');
		const elems = (await dc.variablesRequest({ variablesReference: slice.variablesReference })).body.variables;
		assert.equal(elems.length, 4);
		assert.equal(await val(elems[3].evaluateName!), '5', `${elems[3].evaluateName} evaluates`);
		assert.equal(await val('arr[1]@2'), '{1, 0}');
		// bit-fields, unions, enums
		assert.equal(await val('fl.level'), '5');
		assert.equal(await val('fl.delta'), '-3', 'a signed bit-field');
		assert.equal(await val('fl.ready + fl.level'), '6');
		assert.equal(await val('w.u == 0x3fc00000'), '1', 'the bytes of 1.5f');
		assert.equal(await val('w.b[3]'), "63 '?'");
		assert.equal(await val('k'), 'KIND_IDLE');
		assert.equal(await val('KIND_STOP - KIND_RUN'), '1', 'enumerators by name');
		assert.equal(await val('(enum kind)4'), 'KIND_STOP');
		// globals, strings
		assert.equal(await val('g_origin.x * g_origin.y'), '12');
		assert.match(await val('g_greeting'), /^0x[0-9a-f]+ "hello"$/);
		assert.equal(await val("g_greeting[1] == 'e'"), '1');
		assert.equal(await val('g_count'), '7');
		assert.equal(await val('$_streq(p->next->label, "second") + $_strlen(g_greeting)'), '6', "gdb's $_streq, $_strlen");
		// registers
		assert.equal(await val('$rip == $pc'), '1');
		assert.match(await val('$rip', 'repl'), /^0x[0-9a-f]{16}$/);
		assert.equal(await val('$_tid'), String(tid));
		assert.equal(await val('(unsigned long)$rsp % 8'), '0');
		assert.match(await err('$rsp % 8'), /not defined on pointers/);
		assert.ok((await ev('$rsp', 'clipboard')).memoryReference);
		// a caller's frame: its own variables, its pc; registers are written in the innermost frame only
		const frames = (await dc.stackTraceRequest({ threadId: tid })).body.stackFrames;
		assert.equal(frames[1].name.replace(/\(.*$/, '').trim(), 'main');
		const inMain = async (expression: string) =>
			(await dc.evaluateRequest({ expression, frameId: frames[1].id, context: 'watch' })).body.result;
		assert.match(await inMain('n1.next->label'), /^0x[0-9a-f]+ "second"$/);
		assert.equal(await inMain('n1.pos.x + n2.pos.y'), '69', 'n2.pos.y was set to 66 above');
		assert.equal(BigInt(await inMain('$pc')), BigInt(frames[1].instructionPointerReference!));
		await assert.rejects(
			dc.customRequest('setExpression', { expression: '$rax', value: '1', frameId: frames[1].id }),
			/innermost frame only/,
		);
		assert.equal(await inMain('i'), '0', "main's loop counter, in a callee-saved register the unwinder recovered");
		await assert.rejects(
			dc.customRequest('setExpression', { expression: 'i', value: '1', frameId: frames[1].id }),
			/i is in register r[a-z0-9]+ of a caller: only the innermost frame's registers can be written/,
		);
		// errors: one clear line
		assert.match(await err('nosuch + 1'), /^no symbol "nosuch" in this frame$/);
		assert.match(await err('*i'), /^cannot dereference a value of type int$/);
		assert.match(await err('(struct nosuch *)0'), /^no type named "struct nosuch"$/);
		assert.match(await err('*(int *)8'), /^cannot read memory at 0x8$/);
		assert.match(await err('p->nosuch'), /no member named "nosuch"/);
		assert.match(await err('i = 2'), /only through Set Value/);
		assert.match(await err('use(p)'), /function calls are not evaluated/);
		assert.match(await err('1 / (i - i)'), /division by zero/);

		// setExpression: memory, a bit-field, an element from an expression, a register
		const set = async (expression: string, value: string) =>
			(await dc.customRequest('setExpression', { expression, value, frameId })).body as DebugProtocol.SetExpressionResponse['body'];
		assert.equal((await set('fl.level', '6')).value, '6');
		assert.equal(await val('fl.delta'), '-3', 'the neighbouring bit-field is untouched');
		assert.equal((await set('arr[2]', 'p->value * 2 + 0.9')).value, '20', 'C converts 20.9 to int: 20');
		assert.equal((await set('g_origin.y', '-1')).value, '-1');
		const rax = await val('$rax');
		assert.equal((await set('$rax', '0x1234')).value, '0x0000000000001234');
		assert.equal(await val('$rax == 0x1234'), '1');
		await set('$rax', rax);
		try {
			await dc.customRequest('setExpression', { expression: 'i + 1', value: '3', frameId });
			assert.fail('an rvalue was assigned');
		} catch (e) {
			assert.match((e as Error).message, /not something that can be written/);
		}
		// a parameter the compiler keeps in a register (i, in rbp at -O1): read and written there
		assert.match(await err('&i'), /cannot take the address of a value in register r[a-z0-9]+/);
		assert.equal((await set('i', '4')).value, '4');
		// setVariable (Variables view) goes through the evaluator for what is not a plain scalar in memory
		const scopes = (await dc.scopesRequest({ frameId })).body.scopes;
		const locals = (await dc.variablesRequest({ variablesReference: scopes.find((x) => x.name === 'Locals')!.variablesReference })).body
			.variables;
		const flRef = locals.find((v) => v.name === 'fl')!.variablesReference;
		const setv = async (ref: number, name: string, value: string) =>
			(await dc.setVariableRequest({ variablesReference: ref, name, value })).body.value;
		assert.equal(await setv(flRef, 'ready', 'false'), '0', 'a bit-field');
		assert.equal(await val('fl.ready == 0 && fl.level == 6'), '1');
		// the program sees what was written
		const before = out().length;
		const next = dc.waitForEvent('stopped', 20000); // listening before the continue: the stop can come with its answer
		await dc.continueRequest({ threadId: tid });
		await next;
		assert.match(out().slice(before), /walk i=4 level=6 arr2=20 y=-1 sum=19\n/, 'i = 4: arr[4] is 9');
	} finally {
		await dc.stop().catch(() => {});
	}
});

test('breakpoint condition in the full grammar; logpoint with expressions', async () => {
	// arr[i] is i+... except arr[2] == 0; shadow is i*10: holds first at i == 3
	const cond = '(p->pos.x + 1) * 2 == 8 && arr[i] != 0 && shadow > 10 && k == KIND_RUN && $_streq(p->label, "first")';
	const a = await start(cond);
	try {
		const tid = ((await a.stopped!) as DebugProtocol.StoppedEvent).body.threadId!;
		const frameId = (await a.dc.stackTraceRequest({ threadId: tid })).body.stackFrames[0].id;
		assert.equal((await a.dc.evaluateRequest({ expression: 'i', frameId, context: 'watch' })).body.result, '3');
		assert.match(a.out(), /walk i=2 /, 'the hits where it was false ran on');
		assert.doesNotMatch(a.out(), /walk i=3 /);
	} finally {
		await a.dc.stop().catch(() => {});
	}

	const b = await start(undefined, 'i={i} sum-to-be={p->value + arr[i]} bits={fl.level << 1} {nosuch}');
	try {
		const logs: string[] = [];
		b.dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'console' && e.body.output.startsWith('i=')) logs.push(e.body.output.trim());
		});
		await b.dc.waitForEvent('terminated', 20000);
		assert.deepEqual(logs.slice(0, 2), [
			'i=0 sum-to-be=10 bits=10 <no symbol "nosuch" in this frame>',
			'i=1 sum-to-be=12 bits=10 <no symbol "nosuch" in this frame>',
		]);
	} finally {
		await b.dc.stop().catch(() => {});
	}
});

test('file scope: each compilation unit sees its own static; a global of a shared library', async () => {
	const LIB = path.join(FIXTURES_SRC, 'exprs-lib', 'lib.c');
	// the library is loaded once the program runs: its breakpoint is set at the first stop
	const { dc, stopped } = await start();
	try {
		const first = ((await stopped!) as DebugProtocol.StoppedEvent).body.threadId!;
		const lib = await dc.setBreakpointsRequest({ source: { path: LIB }, breakpoints: [{ line: findMarker('LIB', LIB) }] });
		assert.equal(lib.body.breakpoints[0].verified, true, JSON.stringify(lib.body));
		await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [] });
		const next = dc.waitForEvent('stopped', 20000);
		await dc.continueRequest({ threadId: first });
		const tid = ((await next) as DebugProtocol.StoppedEvent).body.threadId!;
		const frames = (await dc.stackTraceRequest({ threadId: tid })).body.stackFrames;
		assert.equal(frames[0].name.replace(/\(.*$/, '').trim(), 'lib_add');
		const at = async (frameId: number, expression: string) =>
			(await dc.evaluateRequest({ expression, frameId, context: 'watch' })).body.result;
		assert.equal(await at(frames[0].id, 'hidden'), '2', "lib.c's static, in lib.c's code");
		assert.equal(await at(frames[1].id, 'hidden'), '1', "exprs.c's static, in its caller walk()");
		assert.equal(await at(frames[0].id, 'lib_total + v'), '41', "a global of libexprs.so; v is exprs.c's hidden");
		assert.equal(await at(frames[1].id, 'lib_total == 40 && g_count == 7'), '1', 'globals of both modules from either frame');
	} finally {
		await dc.stop().catch(() => {});
	}
});

test('function names as values (main, &main, (long)main, printf of libc), comparisons; a constant without an address', async () => {
	const { dc, stopped } = await start();
	try {
		const tid = ((await stopped!) as DebugProtocol.StoppedEvent).body.threadId!;
		const frames = (await dc.stackTraceRequest({ threadId: tid })).body.stackFrames;
		const frameId = frames[0].id;
		const ev = async (expression: string) => (await dc.evaluateRequest({ expression, frameId, context: 'watch' })).body;
		const val = async (expression: string) => (await ev(expression)).result;

		// gdb's {int (void)} 0x… <main>: the entry (the caller's return address is inside it)
		const main = await ev('main');
		const m = /^\{int \(void\)\} 0x([0-9a-f]+) <main>$/.exec(main.result);
		assert.ok(m, main.result);
		assert.equal(main.type, 'int (void)');
		const entry = BigInt(`0x${m[1]}`);
		const ret = BigInt(frames.find((f) => f.name === 'main')!.instructionPointerReference!);
		assert.ok(ret > entry && ret < entry + 0x400n, `main's frame pc ${ret.toString(16)} is past its entry ${entry.toString(16)}`);
		assert.equal(await val('(long)main'), String(entry));
		const amp = await ev('&main');
		assert.equal(amp.result, `0x${m[1]} <main>`);
		assert.equal(amp.type, 'int (*)(void)');
		assert.equal(await val('main == &main'), '1');
		assert.equal(await val('*main == main'), '1');
		assert.equal(await val('walk != main && walk'), '1');
		assert.match(await val('walk'), /^\{int \(struct node \*, int\)\} 0x[0-9a-f]+ <walk>$/);
		assert.match(await val('lib_add'), /^\{int \(int\)\} 0x[0-9a-f]+ <lib_add>$/, 'a function of libexprs.so');
		assert.equal(await val('g_op == lib_add'), '1', "the program's function pointer holds libexprs.so's lib_add");
		assert.equal(await val('g_op == walk'), '0');
		// casts to function-pointer types
		const cast = await ev('(int (*)(int))g_op');
		assert.match(cast.result, /^0x[0-9a-f]+ <lib_add>$/);
		assert.equal(cast.type, 'int (*)(int)');
		assert.equal(await val('(void (*)(void))main == main'), '1');
		// a function of libc (its ELF symbol; typed when libc's DWARF is installed)
		const printf = await val('printf');
		const pm = /^\{(<text variable, no debug info>|int \(const char \*, \.\.\.\))\} 0x([0-9a-f]+) <printf>$/.exec(printf);
		assert.ok(pm, printf);
		assert.notEqual(BigInt(`0x${pm[2]}`), entry);
		assert.equal(await val('printf != main'), '1');
		// a constant: DW_AT_const_value, no address
		const limit = await ev('LIMIT');
		assert.equal(limit.result, '5');
		assert.equal(limit.type, 'const int');
		assert.equal(await val('LIMIT * 2 + 1'), '11');
		await assert.rejects(dc.evaluateRequest({ expression: '&LIMIT', frameId, context: 'watch' }), /not in memory/);
		await assert.rejects(dc.customRequest('setExpression', { expression: 'LIMIT', value: '6', frameId }), /LIMIT is a constant/);
		const dbi = (await dc.dataBreakpointInfoRequest({ name: 'LIMIT', frameId })).body;
		assert.equal(dbi.dataId, null);
		assert.match(dbi.description, /^LIMIT is a constant/);
		assert.match((await dc.dataBreakpointInfoRequest({ name: 'main', frameId })).body.description, /^main is a function, not data$/);
		// without a frame: file scope alone
		assert.match((await dc.evaluateRequest({ expression: 'main', context: 'repl' })).body.result, /<main>$/);
	} finally {
		await dc.stop().catch(() => {});
	}
});

test('completions: members after . and -> of any operand, registers after $, globals/statics/constants/functions of every module', async () => {
	const { dc, stopped } = await start();
	try {
		const tid = ((await stopped!) as DebugProtocol.StoppedEvent).body.threadId!;
		const frameId = (await dc.stackTraceRequest({ threadId: tid })).body.stackFrames[0].id;
		const complete = async (text: string, withFrame = true) =>
			(await dc.customRequest('completions', { text, column: text.length + 1, ...(withFrame ? { frameId } : {}) })).body
				.targets as DebugProtocol.CompletionItem[];
		const labels = async (text: string, withFrame = true) => (await complete(text, withFrame)).map((t) => t.label);

		// members: through a pointer, nested, of a union, of a parenthesized operand; the range is the member's
		const it = await complete('p->po');
		assert.deepEqual(
			it.map((t) => [t.label, t.start, t.length, t.type]),
			[['pos', 3, 2, 'field']],
		);
		assert.equal(it[0].detail, 'struct point');
		assert.deepEqual(await labels('p->next->la'), ['label']);
		assert.deepEqual(await labels('p->pos.'), ['x', 'y']);
		assert.deepEqual(await labels('1 + p->next->pos .'), ['x', 'y']);
		assert.deepEqual(await labels('fl.'), ['ready', 'level', 'delta', 'tail']);
		assert.deepEqual(await labels('w.'), ['u', 'f', 'b']);
		assert.deepEqual(await labels('(*p).sc'), ['scores']);
		assert.deepEqual(await labels('p->next->scores[1] + g_origin.'), ['x', 'y'], 'a global struct');
		assert.deepEqual(await labels('p.'), [], '"." on a pointer: nothing');
		assert.deepEqual(await labels('i->'), []);
		assert.deepEqual(await labels('nosuch->'), []);
		// registers and gdb's convenience names
		assert.ok((await labels('$ri')).includes('$rip'));
		assert.deepEqual((await labels('$_s')).sort(), ['$_streq(', '$_strlen(']);
		// globals, statics, constants and functions of every module, sorted; locals first
		const g = await labels('g_');
		assert.deepEqual(g, ['g_count', 'g_greeting', 'g_op', 'g_origin', 'g_table']);
		assert.deepEqual(await labels('lib_'), ['lib_add', 'lib_total'], 'libexprs.so');
		assert.deepEqual(await labels('LIM'), ['LIMIT'], 'a constant');
		assert.ok((await labels('prin')).includes('printf'), 'a function of libc (its symbol table)');
		const sh = await labels('sh');
		assert.equal(sh[0], 'shadow', 'the local first');
		assert.deepEqual(await labels('g_', false), g, 'no frame: the file scope still');
		// capped
		assert.equal((await labels('s')).length, 200);
	} finally {
		await dc.stop().catch(() => {});
	}
});
