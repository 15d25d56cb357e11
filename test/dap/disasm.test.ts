/*
 * The Disassembly view (issue 15 item 1): scrolling up from the first
 * instruction of a function shows the code before it as instructions (the
 * function before it gives the instruction boundary), and direct calls,
 * jumps and RIP-relative operands are named: `call 0x… <hit>`, and a call
 * into the PLT `call 0x… <usleep@plt>` (the stub has no symbol: it is named
 * from the relocation of the GOT slot it jumps through).
 *
 * RIP-relative operands that point at a global are named after its data
 * symbol (`<usr2>`).
 *
 * Negative controls (run by hand, 2026-12-04): without the PLT names the
 * call reads `<_init+80>`, without data symbols the operand `<_fini+N>`:
 * the test fails.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath, FIXTURES_SRC } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient } from './support';

after(killAll);

const SRC = path.join(FIXTURES_SRC, 'sigbp.c');

function dis(
	dc: DapClient,
	ref: string,
	instructionOffset: number,
	instructionCount: number,
): Promise<DebugProtocol.DisassembledInstruction[]> {
	return dc
		.send('disassemble', { memoryReference: ref, instructionOffset, instructionCount, resolveSymbols: true })
		.then((r) => (r as DebugProtocol.DisassembleResponse).body!.instructions);
}

test('disassemble: scrolling up past a function start decodes the code before it; calls are named', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const ev = await dc.launchToBreakpoint(fixturePath('sigbp'), SRC, ['HIT']);
		const st = await dc.stackTraceRequest({ threadId: ev.body.threadId!, startFrame: 0, levels: 2 });
		const [top, caller] = st.body.stackFrames;
		assert.match(top.name, /hit/);

		// the caller's return address: the instruction before it calls hit, by name
		const around = await dis(dc, caller.instructionPointerReference!, -4, 5);
		const call = around[3];
		assert.match(
			call.instruction,
			/^call\s+0x[0-9a-f]+ <hit>$/,
			`the call before the return address: ${JSON.stringify(around.map((i) => i.instruction))}`,
		);

		// main's next call goes through the PLT: named after the function its GOT slot is for
		const after = await dis(dc, caller.instructionPointerReference!, 0, 6);
		assert.ok(
			after.some((i) => /^call\s+0x[0-9a-f]+ <usleep@plt>$/.test(i.instruction)),
			`call … <usleep@plt> after the return address (not <_init+N>): ${JSON.stringify(after.map((i) => i.instruction))}`,
		);
		// and printf's argument, the global usr2, read RIP-relative: named after the data symbol
		assert.ok(
			after.some((i) => /^mov\s+esi, \[0x[0-9a-f]+\] <usr2>$/.test(i.instruction)),
			`mov esi, [0x…] <usr2> (not <_fini+N>): ${JSON.stringify(after.map((i) => i.instruction))}`,
		);

		// hit's first instruction, then 24 instructions before it
		const fromPc = await dis(dc, top.instructionPointerReference!, -16, 17);
		const start = fromPc.find((i) => i.symbol === 'hit');
		assert.ok(start, `a row starts hit: ${JSON.stringify(fromPc.map((i) => [i.symbol, i.instruction]))}`);
		const before = await dis(dc, start.address, -24, 24);
		assert.equal(before.length, 24);
		const bad = before.filter((i) => i.presentationHint === 'invalid' || i.instruction === '??');
		assert.deepEqual(bad, [], 'every row before hit is an instruction');
		assert.equal(
			BigInt(before[23].address) + BigInt(before[23].instructionBytes!.split(' ').length),
			BigInt(start.address),
			'the last row ends where hit starts',
		);
		await dc.disconnectRequest({ terminateDebuggee: true });
	} finally {
		await dc.stop();
	}
});
