/*
 * Breakpoint conditions compiled for the tracer thread
 * (adapter/src/model/expr/compile.ts): the postfix program of each simple
 * shape, literal types as C gives them, and the shapes left to the
 * adapter's evaluator (null).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { anyOf, compileCondition } from '../../adapter/src/model/expr/compile';

test('simple conditions become postfix programs', () => {
	assert.equal(compileCondition('i < 0'), 'v:i i32:0 <');
	assert.equal(compileCondition('a == 41 && b == 2'), 'v:a i32:41 == v:b i32:2 == &&');
	assert.equal(compileCondition('!(x || -y > 3)'), 'v:x v:y neg i32:3 > || !');
	assert.equal(compileCondition('~m & 0xff'), 'v:m ~ i32:255 &');
	assert.equal(compileCondition('+n % 3 != 1'), 'v:n i32:3 % i32:1 !=');
	assert.equal(compileCondition("c == 'A'"), 'v:c i32:65 ==');
	assert.equal(compileCondition("c != '\\xff'"), 'v:c i32:-1 !=', 'a char constant is a (signed) char promoted');
	assert.equal(compileCondition('d > 0.5 && f == 1.5f'), 'v:d f64:0.5 > v:f f64:1.5 == &&');
	assert.equal(compileCondition('f == 0.1f'), `v:f f64:${Math.fround(0.1)} ==`, 'a float constant is rounded to float');
});

test('integer literals get C types', () => {
	assert.equal(compileCondition('x == 2147483647'), 'v:x i32:2147483647 ==');
	assert.equal(compileCondition('x == 2147483648'), 'v:x i64:2147483648 ==', 'decimal: int, then long');
	assert.equal(compileCondition('x == 0x80000000'), 'v:x u32:2147483648 ==', 'hex: unsigned int before long');
	assert.equal(compileCondition('x == 1u'), 'v:x u32:1 ==');
	assert.equal(compileCondition('x == 1L'), 'v:x i64:1 ==');
	assert.equal(compileCondition('x == 1UL'), 'v:x u64:1 ==');
	assert.equal(compileCondition('x == 18446744073709551615'), 'v:x u64:18446744073709551615 ==');
});

test('other shapes are left to the adapter', () => {
	for (const c of [
		'p->x == 1',
		's.x == 1',
		'a[2] == 1',
		'*p == 1',
		'&x == 0',
		'(long)x == 1',
		'sizeof(x) == 4',
		'$rax == 1',
		'$_streq(s, "a")',
		'x ? 1 : 2',
		'x << 2',
		'x == "s"',
		'x = 1',
		'x ==== 1',
	])
		assert.equal(compileCondition(c), null, c);
	const many = Array.from({ length: 30 }, (_, i) => `v${i} == ${i}`).join(' && ');
	assert.equal(compileCondition(many), null, 'longer than the native program holds');
	assert.equal(compileCondition('a+b+c+d+e+f+g == 0'), null, 'more than 6 variables');
});

test('several conditions at one address: any of them', () => {
	assert.equal(anyOf(['v:i i32:1 ==']), 'v:i i32:1 ==');
	assert.equal(anyOf(['v:i i32:1 ==', 'v:j i32:2 ==', 'v:k']), 'v:i i32:1 == v:j i32:2 == || v:k ||');
});
