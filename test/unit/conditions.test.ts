/* Breakpoint conditions (adapter/src/model/conditions.ts): parsing and
 * evaluation against a lookup, and the formatted-value reader. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { evaluate, parseCondition, parseFormattedValue, type Lookup } from '../../adapter/src/model/conditions';

const vars: Record<string, number | bigint | boolean> = { i: 3n, 'pt.x': 6n, 'numbers[2]': 12n, flag: true, d: 2.5, $rax: 0x10n };
const lookup: Lookup = (n) => vars[n];

test('conditions: comparisons, &&, ||, !, registers, literals', () => {
	assert.equal(evaluate(parseCondition('i == 3'), lookup), true);
	assert.equal(evaluate(parseCondition('i != 3'), lookup), false);
	assert.equal(evaluate(parseCondition('pt.x >= 6 && numbers[2] < 13'), lookup), true);
	assert.equal(evaluate(parseCondition('i > 5 || $rax == 0x10'), lookup), true);
	assert.equal(evaluate(parseCondition('flag'), lookup), true);
	assert.equal(evaluate(parseCondition('!flag'), lookup), false);
	assert.equal(evaluate(parseCondition('d > 2'), lookup), true, 'a double against an integer');
	assert.equal(evaluate(parseCondition('-1 < i'), lookup), true);
});

test('conditions: errors name what is wrong', () => {
	assert.throws(() => parseCondition('i ==== 1'), /not understood/);
	assert.throws(() => parseCondition('!i == 1'), /only on a bare operand/);
	assert.throws(() => evaluate(parseCondition('nope == 1'), lookup), /no variable or register "nope"/);
});

test('parseFormattedValue reads what the native side prints', () => {
	assert.equal(parseFormattedValue("68 'D'"), 68n);
	assert.equal(parseFormattedValue('-7'), -7n);
	assert.equal(parseFormattedValue('true'), true);
	assert.equal(parseFormattedValue('0x7ffd1234 "abc"'), 0x7ffd1234n);
	assert.equal(parseFormattedValue('2.5'), 2.5);
	assert.equal(parseFormattedValue('<optimized out>'), undefined);
});
