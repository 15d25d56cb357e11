/* Breakpoint conditions (adapter/src/model/conditions.ts): parsing and
 * evaluation against a lookup, and the typed raw values they compare. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { evaluate, parseCondition, rawNumber, type Lookup } from '../../adapter/src/model/conditions';

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

test('rawNumber reads the typed raw value the native side sends', () => {
	assert.equal(rawNumber({ kind: 'int', value: '68' }), 68n, "a char: 68 'D' is shown, 68 is compared");
	assert.equal(rawNumber({ kind: 'int', value: '-7' }), -7n);
	assert.equal(rawNumber({ kind: 'uint', value: '18446744073709551615' }), 18446744073709551615n);
	assert.equal(rawNumber({ kind: 'bool', value: '1' }), true);
	assert.equal(rawNumber({ kind: 'bool', value: '0' }), false);
	assert.equal(rawNumber({ kind: 'bool', value: '2' }), true, 'a nonzero _Bool byte is true');
	assert.equal(rawNumber({ kind: 'pointer', value: '0x7ffd1234' }), 0x7ffd1234n);
	assert.equal(rawNumber({ kind: 'float', value: '2.5' }), 2.5);
	assert.equal(rawNumber({ kind: 'float', value: '-inf' }), -Infinity);
	assert.ok(Number.isNaN(rawNumber({ kind: 'float', value: 'nan' })));
	assert.equal(rawNumber({ kind: 'float', value: 'x' }), undefined);
	assert.equal(rawNumber({ kind: 'int', value: "68 'D'" }), undefined, 'never display text');
});

test('conditions compare raw values, whatever the display says', () => {
	const raw: Record<string, number | bigint | boolean | undefined> = {
		c: rawNumber({ kind: 'int', value: '68' }), // shown as 68 'D'
		color: rawNumber({ kind: 'uint', value: '2' }), // shown as BLUE
		ok: rawNumber({ kind: 'bool', value: '2' }), // shown as true (nonzero)
	};
	const look: Lookup = (n) => raw[n];
	assert.equal(evaluate(parseCondition('c == 68'), look), true);
	assert.equal(evaluate(parseCondition('color == 2'), look), true);
	assert.equal(evaluate(parseCondition('ok'), look), true);
});
