/* encodeScalar: the bytes an assignment writes, with C's conversions. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AssignError, encodeScalar, parseRegister } from '../../adapter/src/model/assign';

const hex = (b: Buffer) => b.toString('hex');

test('integers: decimal, hex, octal, binary, char literals, suffixes; wrapped to the width like C', () => {
	assert.equal(hex(encodeScalar('int', 4, '77')), '4d000000');
	assert.equal(hex(encodeScalar('int', 4, '-1')), 'ffffffff');
	assert.equal(hex(encodeScalar('uint', 2, '0x1ffff')), 'ffff', 'truncated to 16 bits');
	assert.equal(hex(encodeScalar('int', 1, "'A'")), '41');
	assert.equal(hex(encodeScalar('int', 1, "'\\n'")), '0a');
	assert.equal(hex(encodeScalar('uint', 4, '010')), '08000000', 'octal');
	assert.equal(hex(encodeScalar('uint', 4, '0b101')), '05000000');
	assert.equal(hex(encodeScalar('int', 8, '5ul')), '0500000000000000');
	assert.equal(hex(encodeScalar('int', 4, '3.9')), '03000000', 'a double converts toward zero');
	assert.equal(hex(encodeScalar('int', 4, '-3.9')), 'fdffffff');
});

test('floats, bools, pointers, and what is refused', () => {
	assert.equal(encodeScalar('float', 8, '2.5').readDoubleLE(), 2.5);
	assert.equal(encodeScalar('float', 4, '0.5f').readFloatLE(), 0.5);
	assert.equal(hex(encodeScalar('bool', 1, '42')), '01', 'nonzero is true');
	assert.equal(hex(encodeScalar('bool', 1, 'false')), '00');
	assert.equal(hex(encodeScalar('pointer', 8, '0x7f0000001000')), '00100000007f0000');
	assert.throws(() => encodeScalar('int', 4, 'abc'), AssignError);
	assert.throws(() => encodeScalar('pointer', 8, '1.5'), /not a pointer value/);
	assert.throws(() => encodeScalar('float', 16, '1'), /long double/);
	assert.equal(parseRegister('-1'), 0xffffffffffffffffn);
	assert.throws(() => parseRegister('x'), /not an integer/);
});
