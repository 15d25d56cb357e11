/*
 * forkall dap: a request's work is bounded by its own size (instructionCount,
 * count, levels), never by its offsets (issue 9 item 6): disassemble at
 * instruction offsets of ±1e9 answers exactly the count at once; sizes over
 * the limits get a clear error; the target is never hurt.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { killAll, spawnFixture } from '../helpers/procs';
import { assertNotStoppedOrTraced } from '../helpers/procfs';
import { RawDap } from './raw';

after(killAll);

test('disassemble at instruction offsets ±1e9: exactly count rows within seconds; huge counts are refused', async () => {
	const fx = await spawnFixture('threads', ['2']);
	const dc = new RawDap();
	try {
		await dc.request('initialize', { adapterID: 'forkall', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
		assert.equal((await dc.request('attach', { pid: fx.pid, stopOnAttach: true })).success, true);
		await dc.request('configurationDone');
		await dc.event('stopped');
		const st = (await dc.request('stackTrace', { threadId: fx.pid, startFrame: 0, levels: 1e9 })) as DebugProtocol.StackTraceResponse;
		assert.equal(st.success, true, st.message);
		const pc = st.body.stackFrames[0].instructionPointerReference!;
		for (const off of [-1e9, 1e9, -1e15, 1e15]) {
			const t0 = Date.now();
			const r = (await dc.request(
				'disassemble',
				{ memoryReference: pc, instructionOffset: off, instructionCount: 10 },
				10000,
			)) as DebugProtocol.DisassembleResponse;
			assert.equal(r.success, true, `offset ${off}: ${r.message}`);
			assert.equal(r.body?.instructions.length, 10, `offset ${off}`);
			assert.ok(Date.now() - t0 < 5000, `offset ${off} took ${Date.now() - t0} ms`);
		}
		const big = await dc.request('disassemble', { memoryReference: pc, instructionCount: 1e9 });
		assert.equal(big.success, false);
		assert.match(big.message ?? '', /^disassemble: instructionCount must be an integer between 0 and 10000 \(got 1000000000\)$/);
		const mem = await dc.request('readMemory', { memoryReference: pc, count: 1e12 });
		assert.equal(mem.success, false);
		assert.match(mem.message ?? '', /^readMemory: count must be an integer between 0 and 16777216/);
		const far = await dc.request('readMemory', { memoryReference: pc, offset: -1e15, count: 16 });
		assert.equal(far.success, false, 'an address below 0 is refused');
		const thr = await dc.request('threads');
		assert.equal(thr.success, true);
		assert.equal((await dc.request('disconnect', {})).success, true);
		await dc.waitExit(10000);
		assertNotStoppedOrTraced(fx.pid, 'after disconnect');
	} finally {
		await dc.kill();
		await fx.kill();
	}
});
