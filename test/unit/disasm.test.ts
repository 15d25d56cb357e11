/*
 * model/disasm: the work of one disassemble is bounded by its count, never
 * by its instruction offset (issue 9 item 6: -1e9 exhausted the heap, +1e9
 * never returned). Memory is a buffer of `nop`s at a fixed address; reads
 * are counted and a budget makes a runaway fail fast instead of eating the
 * machine.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { disassemble, EXACT_SPAN, type ReadFn } from '../../adapter/src/model/disasm';

const BASE = 0x400000n;
const CODE = Buffer.alloc(1 << 20, 0x90); // nop x 1 MiB

/** A reader over CODE at BASE (nothing readable elsewhere) that throws past `budget` bytes read. */
function budgeted(budget: number): { read: ReadFn; bytes: () => number } {
	let bytes = 0;
	const read: ReadFn = (addr, len) => {
		bytes += len;
		if (bytes > budget) throw new Error(`read budget of ${budget} bytes exceeded: the work follows the offset`);
		if (addr < BASE || addr >= BASE + BigInt(CODE.length)) return Buffer.alloc(0);
		const off = Number(addr - BASE);
		return CODE.subarray(off, Math.min(CODE.length, off + len));
	};
	return { read, bytes: () => bytes };
}

test('huge instruction offsets: exactly count rows, work bounded by the count', () => {
	for (const off of [-1e9, 1e9, -(2 ** 53), 2 ** 53, -EXACT_SPAN - 1, EXACT_SPAN + 1]) {
		const { read, bytes } = budgeted(4 << 20);
		const t0 = Date.now();
		const out = disassemble(read, BASE + 0x80000n, off, 10);
		assert.equal(out.length, 10, `offset ${off}`);
		assert.ok(Date.now() - t0 < 2000, `offset ${off}: ${Date.now() - t0} ms`);
		assert.ok(bytes() < 4 << 20, `offset ${off}: read ${bytes()} bytes`);
		for (const i of out) assert.ok(i.address >= 0n && i.address < 1n << 64n, `address in range: ${i.address}`);
	}
});

test('offsets within the exact span stay exact', () => {
	const { read } = budgeted(64 << 20);
	const base = BASE + 0x80000n;
	const before = disassemble(read, base, -5, 10);
	assert.equal(before.length, 10);
	assert.equal(before[5].address, base, 'row 5 of offset -5 is base');
	const after = disassemble(read, base, 100, 3);
	assert.deepEqual(
		after.map((i) => i.address),
		[base + 100n, base + 101n, base + 102n],
	);
	const far = disassemble(read, base, -EXACT_SPAN, 2);
	assert.equal(far[0].address, base - BigInt(EXACT_SPAN), 'a nop is one byte: exact at the edge of the span');
});
