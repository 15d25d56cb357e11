/*
 * The memory view's rows (extension/src/memoryModel.ts): hex + ASCII from a
 * readMemory answer, rows aligned to 16 bytes, unreadable bytes as ??, and
 * the addresses users type.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { dumpRows, parseAddress } from '../../extension/src/memoryModel';

test('dump: aligned rows, bytes outside the range blank, printable ASCII', () => {
	const data = Buffer.from('Hello, forkall!\n\x00\x01\xff', 'latin1');
	const d = dumpRows(0x1004n, data.length, 0x1004n, data);
	assert.equal(d.rows.length, 2);
	assert.equal(d.rows[0].address, '0x0000000000001000');
	assert.deepEqual(d.rows[0].hex.slice(0, 5), ['  ', '  ', '  ', '  ', '48'], 'before the start: blank');
	assert.equal(d.rows[0].ascii, '    Hello, forka');
	assert.equal(d.rows[1].ascii.trimEnd(), 'll!....');
	assert.deepEqual(d.rows[1].hex.slice(0, 8), ['6c', '6c', '21', '0a', '00', '01', 'ff', '  ']);
	assert.equal(d.unreadable, 0);
});

test('dump: the bytes readMemory could not read are ?? (its answer may start later, or stop early)', () => {
	// 32 bytes asked from 0x2000; only 0x2008..0x2010 readable
	const d = dumpRows(0x2000n, 32, 0x2008n, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
	assert.deepEqual(d.rows[0].hex, ['??', '??', '??', '??', '??', '??', '??', '??', '01', '02', '03', '04', '05', '06', '07', '08']);
	assert.ok(d.rows[1].hex.every((h) => h === '??'));
	assert.equal(d.unreadable, 24);
	assert.equal(d.rows[0].ascii, '????????........');
});

test('addresses as users type them', () => {
	assert.equal(parseAddress('0x7ffc9e1c2a10'), 0x7ffc9e1c2a10n);
	assert.equal(parseAddress(' 7FFCh '), 0x7ffcn);
	assert.equal(parseAddress('4096'), 4096n);
	assert.equal(parseAddress('0xffffffffffffffff'), (1n << 64n) - 1n);
	assert.equal(parseAddress('0x10000000000000000'), null);
	assert.equal(parseAddress('main'), null);
	assert.equal(parseAddress(''), null);
});
