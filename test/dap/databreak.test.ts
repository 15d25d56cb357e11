/*
 * Data breakpoints (issue 13): hardware watchpoints through
 * dataBreakpointInfo + setDataBreakpoints. test/fixtures/watch: main's
 * local `counter`, watched from main's frame at #READY, is written three
 * times by a thread created afterwards: three "data breakpoint" stops in
 * that thread, at #BUMP, the value read back each time, the description
 * naming the thread and the old → new values; removed, the
 * program runs to its end. Negative control: with watch_on_stop not called
 * (new threads without the debug registers) there is no stop at all.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { FIXTURES_SRC, fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, findMarker } from './support';

after(killAll);

const SRC = path.join(FIXTURES_SRC, 'watch.c');

test('a data breakpoint on a local stops the thread that writes it (created later), each write', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		const init = await dc.init();
		assert.equal(init.body?.supportsDataBreakpoints, true);
		let stdout = '';
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'stdout') stdout += e.body.output;
		});
		const ev = await dc.launchToBreakpoint(fixturePath('watch'), SRC, ['READY']);
		const mainTid = ev.body.threadId!;
		const st = await dc.stackTraceRequest({ threadId: mainTid });
		const mainFrame = st.body.stackFrames.find((f) => f.name === 'main')!;
		const scopes = (await dc.scopesRequest({ frameId: mainFrame.id })).body.scopes;
		const localsRef = scopes.find((s) => s.name === 'Locals')!.variablesReference;
		const info = (await dc.dataBreakpointInfoRequest({ variablesReference: localsRef, name: 'counter' })).body;
		assert.match(info.dataId ?? '', /^0x[0-9a-f]+\/8$/);
		assert.match(info.description, /^counter \(8 bytes at 0x[0-9a-f]+\)$/);
		assert.deepEqual(info.accessTypes, ['write', 'readWrite']);
		const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.dataId!, accessType: 'write' }] });
		assert.equal(set.body.breakpoints[0].verified, true, JSON.stringify(set.body.breakpoints[0]));
		const id = set.body.breakpoints[0].id;

		for (let i = 1; i <= 3; i++) {
			const stopped = dc.next('stopped', 20000);
			await dc.continueRequest({ threadId: mainTid });
			const s = (await stopped) as DebugProtocol.StoppedEvent;
			assert.equal(s.body.reason, 'data breakpoint', JSON.stringify(s.body));
			assert.notEqual(s.body.threadId, mainTid, 'the bumper thread wrote it');
			assert.deepEqual(s.body.hitBreakpointIds, [id]);
			const m = /^Data breakpoint: counter \(8 bytes at 0x[0-9a-f]+\) was written by thread watch \((\d+)\): (-?\d+) → (-?\d+)$/.exec(
				s.body.description ?? '',
			);
			assert.ok(m, s.body.description);
			assert.deepEqual([Number(m[1]), m[2], m[3]], [s.body.threadId, String(i - 1), String(i)], 'the thread, old → new');
			const top = (await dc.stackTraceRequest({ threadId: s.body.threadId!, levels: 1 })).body.stackFrames[0];
			assert.equal(top.name, 'bumper');
			// x86 reports the access once the instruction is done: pc is past it, on the write's line or the next one
			assert.ok([findMarker('BUMP', SRC), findMarker('BUMP', SRC) + 1].includes(top.line), `line ${top.line}`);
			// the write is done: the watched bytes hold i (main may be inside pthread_create's clone3 still)
			const mem = (await dc.customRequest('readMemory', {
				memoryReference: info.dataId!.split('/')[0],
				count: 8,
			})) as DebugProtocol.ReadMemoryResponse;
			assert.equal(Buffer.from(mem.body!.data!, 'base64').readBigInt64LE(), BigInt(i), `counter = ${i}`);
		}
		await dc.setDataBreakpointsRequest({ breakpoints: [] });
		const exited = dc.next('exited', 20000);
		await dc.continueRequest({ threadId: mainTid });
		assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 0);
		assert.match(stdout, /^counter 3 other 1$/m, 'no other stop: `other` was not watched, the watchpoint was removed');
	} finally {
		await dc.stop();
	}
});

const XSRC = path.join(FIXTURES_SRC, 'watchexpr.c');

/*
 * test/fixtures/watchexpr: at #READY in arm(), `s` points at a heap struct
 * box; a thread "writer" created afterwards writes s->count (10, 20),
 * s->items[3] (107, 207) and g_slots[2] in turn. Watches set from
 * expressions (no variablesReference, as the Watch view asks): a member
 * through a pointer (frame given), an array element (no frame: the top
 * frame of the thread that stopped). Each stop names the writer thread
 * and says old → new. Expressions that cannot be watched say why; a 5th
 * watchpoint is refused with the 4 in use named.
 */
test('data breakpoints on expressions: a member through a pointer and an array element, written by a later thread', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		let stdout = '';
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'stdout') stdout += e.body.output;
		});
		const ev = await dc.launchToBreakpoint(fixturePath('watchexpr'), XSRC, ['READY']);
		const mainTid = ev.body.threadId!;
		const top = (await dc.stackTraceRequest({ threadId: mainTid })).body.stackFrames[0];
		assert.equal(top.name, 'arm');
		const info = async (name: string, frameId?: number) =>
			(await dc.dataBreakpointInfoRequest({ name, ...(frameId !== undefined ? { frameId } : {}) })).body;

		const count = await info('s->count', top.id);
		assert.match(count.dataId ?? '', /^0x[0-9a-f]+\/4$/, count.description);
		assert.match(count.description, /^s->count \(4 bytes at 0x[0-9a-f]+\)$/);
		assert.deepEqual(count.accessTypes, ['write', 'readWrite']);
		const item = await info('s->items[3]');
		assert.match(item.dataId ?? '', /^0x[0-9a-f]+\/8$/, item.description);
		assert.match(item.description, /^s->items\[3\] \(8 bytes at 0x[0-9a-f]+\)$/);
		const base = BigInt(count.dataId!.split('/')[0]);
		assert.equal(BigInt(item.dataId!.split('/')[0]) - base, 32n, 'items[3] is 8 + 3*8 bytes into the box');
		const slot = await info('g_slots[2]');
		assert.match(slot.description, /^g_slots\[2\] \(8 bytes at 0x[0-9a-f]+\)$/);
		const hits = await info('s->st.hits', top.id);
		assert.match(hits.description, /^s->st\.hits \(4 bytes at 0x[0-9a-f]+\)$/);

		// the same from the Variables view: members and elements under the pointer s
		const localsRef = (await dc.scopesRequest({ frameId: top.id })).body.scopes.find((x) => x.name === 'Locals')!.variablesReference;
		const sVar = (await dc.variablesRequest({ variablesReference: localsRef })).body.variables.find((v) => v.name === 's')!;
		const members = (await dc.variablesRequest({ variablesReference: sVar.variablesReference })).body.variables;
		const viewCount = (await dc.dataBreakpointInfoRequest({ variablesReference: sVar.variablesReference, name: 'count' })).body;
		assert.equal(viewCount.dataId, count.dataId, viewCount.description);
		assert.match(viewCount.description, /^s->count \(4 bytes at 0x[0-9a-f]+\)$/);
		const itemsRef = members.find((v) => v.name === 'items')!.variablesReference;
		const viewItem = (await dc.dataBreakpointInfoRequest({ variablesReference: itemsRef, name: '[3]' })).body;
		assert.equal(viewItem.dataId, item.dataId, viewItem.description);
		assert.match(viewItem.description, /^s->items\[3\] \(8 bytes at 0x[0-9a-f]+\)$/);
		const viewName = (await dc.dataBreakpointInfoRequest({ variablesReference: sVar.variablesReference, name: 'name' })).body;
		assert.equal(viewName.dataId, null);
		assert.match(viewName.description, /^s->name: the hardware watches 1, 2, 4 or 8 aligned bytes/);

		// what cannot be watched, and why
		const no = async (name: string, why: RegExp) => {
			const r = await info(name, top.id);
			assert.equal(r.dataId, null, `${name}: ${r.description}`);
			assert.match(r.description, why, name);
		};
		await no('s->count + 1', /^s->count \+ 1 is not an lvalue/);
		await no('s->name', /^s->name \(char \[12\]\) is 12 bytes at 0x[0-9a-f]+: the hardware watches 1, 2, 4 or 8 bytes/);
		await no('*(int *)((char *)s + 2)', /is unaligned: 4 bytes at 0x[0-9a-f]+, not a multiple of 4/);
		await no('$rax', /is register \$rax/);
		await no('s', /^s is in register r[a-z0-9]+, not in memory/);
		await no('nosuch', /^nosuch: no symbol "nosuch" in this frame$/);

		// five: the fifth is refused, naming the four in use
		const five = await dc.setDataBreakpointsRequest({
			breakpoints: [count, item, slot, hits, await info('g_slots[0]')].map((x) => ({ dataId: x.dataId!, accessType: 'write' })),
		});
		assert.deepEqual(
			five.body.breakpoints.map((b) => b.verified),
			[true, true, true, true, false],
		);
		assert.match(
			five.body.breakpoints[4].message ?? '',
			/^g_slots\[0\] \(8 bytes at 0x[0-9a-f]+\): x86-64 has 4 hardware watchpoints, all in use \(s->count .*, s->items\[3\] .*, g_slots\[2\] .*, s->st\.hits .*\): remove one first$/,
		);

		const set = await dc.setDataBreakpointsRequest({
			breakpoints: [count, item].map((x) => ({ dataId: x.dataId!, accessType: 'write' })),
		});
		assert.deepEqual(
			set.body.breakpoints.map((b) => b.verified),
			[true, true],
		);
		const expected: [number, RegExp][] = [
			[0, /^Data breakpoint: s->count \(4 bytes at 0x[0-9a-f]+\) was written by thread writer \((\d+)\): 0 → 10$/],
			[1, /^Data breakpoint: s->items\[3\] \(8 bytes at 0x[0-9a-f]+\) was written by thread writer \((\d+)\): 0 → 107$/],
			[0, /^Data breakpoint: s->count \(4 bytes at 0x[0-9a-f]+\) was written by thread writer \((\d+)\): 10 → 20$/],
			[1, /^Data breakpoint: s->items\[3\] \(8 bytes at 0x[0-9a-f]+\) was written by thread writer \((\d+)\): 107 → 207$/],
		];
		for (const [which, re] of expected) {
			const stopped = dc.next('stopped', 20000);
			await dc.continueRequest({ threadId: mainTid });
			const s = (await stopped) as DebugProtocol.StoppedEvent;
			assert.equal(s.body.reason, 'data breakpoint', JSON.stringify(s.body));
			assert.notEqual(s.body.threadId, mainTid);
			assert.deepEqual(s.body.hitBreakpointIds, [set.body.breakpoints[which].id]);
			const m = re.exec(s.body.description ?? '');
			assert.ok(m, s.body.description);
			assert.equal(Number(m[1]), s.body.threadId, 'the description names the thread that stopped');
			const f = (await dc.stackTraceRequest({ threadId: s.body.threadId!, levels: 1 })).body.stackFrames[0];
			assert.equal(f.name, 'writer');
		}
		await dc.setDataBreakpointsRequest({ breakpoints: [] });
		const exited = dc.next('exited', 20000);
		await dc.continueRequest({ threadId: mainTid });
		assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 0);
		assert.match(stdout, /^count 20 item 207 slot -2 hits 1$/m);
	} finally {
		await dc.stop();
	}
});
