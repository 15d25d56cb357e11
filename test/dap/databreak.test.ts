/*
 * Data breakpoints (issue 13): hardware watchpoints through
 * dataBreakpointInfo + setDataBreakpoints. test/fixtures/watch: main's
 * local `counter`, watched from main's frame at #READY, is written three
 * times by a thread created afterwards: three "data breakpoint" stops in
 * that thread, at #BUMP, the value read back each time; removed, the
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
			assert.match(s.body.description ?? '', /^Data breakpoint: counter \(8 bytes at 0x[0-9a-f]+\) was written$/);
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
