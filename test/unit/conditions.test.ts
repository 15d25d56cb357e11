/* The typed raw values of locals (adapter/src/model/conditions.ts);
 * conditions themselves are C expressions (expr.test.ts). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { rawNumber } from '../../adapter/src/model/conditions';

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
