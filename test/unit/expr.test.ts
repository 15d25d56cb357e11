/*
 * The C expression evaluator (adapter/src/model/expr) without a process:
 * lexer, parser (precedence, casts vs parentheses), evaluation with C's
 * promotions and conversions, pointer arithmetic, members, bit-fields,
 * x@n, assignment, and the one-line errors — over a small in-memory
 * target (variables at addresses of a byte array, a few types).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tokenize, ExprError } from '../../adapter/src/model/expr/lexer';
import { parse } from '../../adapter/src/model/expr/parser';
import { Evaluator, type ExprTarget, type Place, type TypeTag } from '../../adapter/src/model/expr/eval';
import { formatScalar } from '../../adapter/src/model/expr/display';
import { showWatched, watchable } from '../../adapter/src/model/expr/watch';
import {
	BUILTIN,
	CHAR,
	INT,
	LONG,
	functionType,
	pointerTo,
	typeName,
	type CType,
	type RecordType,
	type EnumType,
} from '../../adapter/src/model/expr/types';

const BASE = 0x1000n;
const U8 = BUILTIN.get('unsigned char')!;
const UINT = BUILTIN.get('unsigned int')!;
const SHORT = BUILTIN.get('short')!;

const POINT: RecordType = {
	kind: 'record',
	union: false,
	name: 'point',
	size: 8,
	fields: [
		{ name: 'x', offset: 0, type: INT },
		{ name: 'y', offset: 4, type: INT },
	],
};
const FLAGS: RecordType = {
	kind: 'record',
	union: false,
	name: 'flags',
	size: 4,
	fields: [
		{ name: 'ready', offset: 0, bitSize: 1, bitOffset: 0, type: UINT },
		{ name: 'level', offset: 0, bitSize: 3, bitOffset: 1, type: UINT },
		{ name: 'delta', offset: 0, bitSize: 4, bitOffset: 4, type: INT },
		{
			name: null,
			offset: 2,
			type: {
				kind: 'record',
				union: true,
				name: null,
				size: 2,
				fields: [
					{ name: 'h', offset: 0, type: SHORT },
					{ name: 'c', offset: 0, type: CHAR },
				],
			},
		},
	],
};
const COLOR: EnumType = {
	kind: 'enum',
	name: 'color',
	size: 4,
	signed: false,
	values: [
		['RED', 0n],
		['GREEN', 5n],
		['BLUE', 6n],
	],
};

/** memory: 256 bytes at BASE; variables placed in it */
function makeTarget() {
	const mem = Buffer.alloc(256);
	const vars = new Map<string, { type: CType; place: Place }>();
	const regs = new Map<string, bigint>([
		['rax', 0x42n],
		['rip', 0x401000n],
	]);
	let off = 0;
	const put = (name: string, type: CType, bytes: Buffer) => {
		off = (off + 7) & ~7;
		bytes.copy(mem, off);
		vars.set(name, { type, place: { at: 'mem', addr: BASE + BigInt(off) } });
		off += bytes.length;
	};
	const i32 = (...v: number[]) => {
		const b = Buffer.alloc(4 * v.length);
		v.forEach((x, k) => b.writeInt32LE(x, 4 * k));
		return b;
	};
	put('i', INT, i32(3));
	put('arr', { kind: 'array', elem: INT, count: 5 }, i32(10, 20, 30, 40, 50));
	put('pt', POINT, i32(6, -7));
	// flags: ready=1, level=5, delta=-3; h = 0x0141
	const fl = Buffer.alloc(4);
	fl.writeUInt16LE(1 | (5 << 1) | ((-3 & 0xf) << 4), 0);
	fl.writeInt16LE(0x0141, 2);
	put('fl', FLAGS, fl);
	put('uc', U8, Buffer.from([200]));
	put('hue', COLOR, i32(5));
	put(
		'd',
		BUILTIN.get('double')!,
		(() => {
			const b = Buffer.alloc(8);
			b.writeDoubleLE(2.5);
			return b;
		})(),
	);
	const arrAddr = (vars.get('arr')!.place as { addr: bigint }).addr;
	const ptAddr = (vars.get('pt')!.place as { addr: bigint }).addr;
	const ptr = (v: bigint) => {
		const b = Buffer.alloc(8);
		b.writeBigUInt64LE(v);
		return b;
	};
	put('ip', pointerTo(INT), ptr(arrAddr + 4n));
	put('pp', pointerTo(POINT), ptr(ptAddr));
	put('np', pointerTo(POINT), ptr(0n));
	put('vp', pointerTo({ kind: 'void' }), ptr(arrAddr));
	put('text', { kind: 'array', elem: CHAR, count: 8 }, Buffer.from('abc\0xyz\0'));
	put('s', pointerTo(CHAR), ptr((vars.get('text')!.place as { addr: bigint }).addr));
	vars.set('r', { type: LONG, place: { at: 'reg', reg: 'rbx', bytes: ptr(77n) } });
	vars.set('gone', { type: INT, place: { at: 'none', why: '<optimized out>' } });
	// a function designator (fileScope: entry address, C type) and a DW_AT_const_value constant
	vars.set('fn', { type: functionType('int (int)', 'fn'), place: { at: 'mem', addr: 0x401136n } });
	vars.set('LIMIT', { type: INT, place: { at: 'bytes', bytes: i32(5), note: 'LIMIT is a constant' } });
	const writes: string[] = [];
	const target: ExprTarget = {
		async variable(name) {
			return vars.get(name) ?? null;
		},
		async enumerator(name) {
			const hit = COLOR.values.find(([n]) => n === name);
			return hit ? { type: COLOR, value: hit[1] } : null;
		},
		async register(name) {
			if (name === '_tid') return { value: 99n, type: INT };
			const v = regs.get(name === 'pc' ? 'rip' : name);
			return v === undefined ? null : { value: v, type: LONG };
		},
		async read(addr, n) {
			const o = Number(addr - BASE);
			if (addr < BASE || o + n > mem.length) throw new ExprError(`cannot read memory at 0x${addr.toString(16)}`);
			return Buffer.from(mem.subarray(o, o + n));
		},
		async type(id) {
			throw new Error(`no type ${id}`);
		},
		async typeNamed(tag: TypeTag, name: string) {
			if (tag === 'struct' && name === 'point') return POINT;
			if (tag === 'enum' && name === 'color') return COLOR;
			if (tag === 'typedef' && name === 'myint') return { ...LONG, label: 'myint' };
			return null;
		},
		async write(addr, bytes) {
			const o = Number(addr - BASE);
			bytes.copy(mem, o);
			writes.push(`mem ${addr.toString(16)} ${bytes.toString('hex')}`);
		},
		async writeRegister(reg, value) {
			regs.set(reg, value);
			writes.push(`reg ${reg} ${value.toString(16)}`);
		},
	};
	return { target, writes, arrAddr, ptAddr, regs };
}

async function value(src: string, assign = false): Promise<string> {
	const { target } = makeTarget();
	const ev = new Evaluator(target, { assign });
	const { val } = await ev.evaluate(src);
	return formatScalar(val.type, await ev.load(val));
}

async function fails(src: string, re: RegExp, assign = false): Promise<void> {
	const { target } = makeTarget();
	await assert.rejects(
		new Evaluator(target, { assign }).evaluate(src).then(async ({ val }) => new Evaluator(target).load(val)),
		re,
	);
}

test('lexer: literals with C suffixes and escapes; side effects refused', () => {
	const t = tokenize("0x1fUL 017 42 'a' '\\n' '\\x41' \"a\\tb\" 1.5f 2e3 $rip ->");
	assert.deepEqual(
		t.map((x) => x.t),
		['int', 'int', 'int', 'char', 'char', 'char', 'str', 'float', 'float', 'reg', 'op', 'end'],
	);
	assert.equal((t[0] as { v: bigint }).v, 31n);
	assert.equal((t[1] as { v: bigint }).v, 15n, 'octal');
	assert.equal((t[5] as { v: bigint }).v, 0x41n);
	assert.equal((t[6] as { v: Buffer }).v.toString(), 'a\tb');
	assert.throws(() => tokenize('i++'), /side effect/);
	assert.throws(() => tokenize('i += 1'), /not supported/);
	assert.throws(() => tokenize('a # b'), /unexpected "#"/);
});

test('parser: precedence, @ between shifts and +, casts only of type names', () => {
	assert.deepEqual(parse('1 + 2 * 3'), {
		k: 'binary',
		op: '+',
		l: { k: 'int', v: 1n, unsigned: false, long: false, decimal: true },
		r: {
			k: 'binary',
			op: '*',
			l: { k: 'int', v: 2n, unsigned: false, long: false, decimal: true },
			r: { k: 'int', v: 3n, unsigned: false, long: false, decimal: true },
		},
	});
	const at = parse('a[0]@n+1');
	assert.equal(at.k === 'binary' && at.op, '@');
	assert.equal(parse('(x)*y').k, 'binary', 'x is not a type: a product');
	assert.equal(parse('(x)*y', (n) => n === 'x').k, 'cast', 'x is a typedef: a cast of *y');
	assert.equal(parse('(unsigned long)p').k, 'cast');
	assert.equal(parse('sizeof(struct point)').k, 'sizeofType');
	assert.equal(parse('sizeof x').k, 'sizeofExpr');
	assert.throws(() => parse('1 +'), /incomplete expression/);
	assert.throws(() => parse('f(1)'), /function calls are not evaluated/);
	assert.throws(() => parse('a, b'), /comma operator/);
	assert.throws(() => parse('(1'), /expected "\)"/);
});

test('arithmetic: integer promotions, usual conversions, wrap-around, C division', async () => {
	assert.equal(await value('uc + uc'), '400', 'unsigned char promotes to int');
	assert.equal(await value('(unsigned)0 - 1'), '4294967295');
	assert.equal(await value('-1 < 1u'), '0', 'int converts to unsigned int');
	assert.equal(await value('-1L < 1u'), '1', 'long holds every unsigned int: signed compare');
	assert.equal(await value('1 << 31'), '-2147483648');
	assert.equal(await value('1L << 40'), '1099511627776');
	assert.equal(await value('7 / -2'), '-3', 'truncation toward zero');
	assert.equal(await value('-7 % 2'), '-1');
	assert.equal(await value('(char)300'), "44 ','");
	assert.equal(await value('(_Bool)0.5'), 'true');
	assert.equal(await value('(int)-2.7'), '-2');
	assert.equal(await value('1.5f * 2'), '3');
	assert.equal(await value('d / 2'), '1.25');
	assert.equal(await value('0.1f'), '0.1', 'a float shown by its shortest text');
	assert.equal(await value('~0u'), '4294967295');
	assert.equal(await value('!i + !!i'), '1');
	assert.equal(await value('i > 2 ? i * 2 : -1'), '6');
	assert.equal(await value('0xffffffff'), '4294967295', 'a hex literal that fits unsigned int');
	assert.equal(await value('-3000000000 < 0'), '1', 'a decimal literal past int is a long, never unsigned');
	assert.equal(await value('-0x80000000 < 0'), '0', 'a hex literal past int is unsigned int');
	assert.equal(await value('(myint)-1'), '-1', 'a typedef of the program in a cast');
	await fails('1 / 0', /division by zero/);
	await fails('1 << 40', /shift by 40/);
});

test('pointers: arithmetic scales, differences, comparisons, &, *, [], void *', async () => {
	const { arrAddr, ptAddr } = makeTarget();
	assert.equal(await value('*ip'), '20');
	assert.equal(await value('ip[2]'), '40');
	assert.equal(await value('2[ip]'), '40', 'i[p] is p[i]');
	assert.equal(await value('*(ip + 1) - *(ip - 1)'), '20');
	assert.equal(await value('&arr[4] - ip'), '3');
	assert.equal(await value('ip > arr && ip < &arr[2]'), '1');
	assert.equal(await value('&arr[1] == ip'), '1');
	assert.equal(await value('*&i'), '3');
	assert.equal(await value('vp + 4 == ip'), '1', 'void * steps by bytes');
	assert.equal(await value('&pt'), `0x${ptAddr.toString(16)}`);
	assert.equal(await value('arr + 0'), `0x${arrAddr.toString(16)}`, 'an array decays to a pointer');
	assert.equal(await value('pp->y + (*pp).x'), '-1');
	assert.equal(await value('((struct point *)ip)->y'), '30');
	assert.equal(await value('sizeof(int [3])'), '12');
	assert.equal(await value('sizeof(char **)'), '8');
	assert.equal(await value('sizeof arr'), '20');
	assert.equal(await value('sizeof *np'), '8', 'the NULL pointee is not read');
	await fails('np->x', /cannot read memory at 0x0/);
	await fails('*i', /^ExprError: cannot dereference a value of type int$/);
	await fails('*vp', /cannot dereference a void \*/);
	await fails('np.x', /use "->"/);
	await fails('&r', /register rbx/);
});

test('members: offsets, anonymous unions, bit-fields; enums; registers; x@n', async () => {
	assert.equal(await value('pt.y'), '-7');
	assert.equal(await value('fl.ready'), '1');
	assert.equal(await value('fl.level'), '5');
	assert.equal(await value('fl.delta'), '-3');
	assert.equal(await value('fl.h'), '321', 'a member of an anonymous union');
	assert.equal(await value('fl.c'), "65 'A'");
	assert.equal(await value('hue'), 'GREEN');
	assert.equal(await value('hue == GREEN && BLUE - RED == 6'), '1');
	assert.equal(await value('(enum color)6'), 'BLUE');
	assert.equal(await value('r + 1'), '78', 'a local in a register');
	assert.equal(await value('$rax + $_tid'), String(0x42 + 99));
	assert.equal(await value('$pc'), String(0x401000));
	await fails('$nope', /no register "\$nope"/);
	await fails('gone + 1', /<optimized out>/);
	await fails('nosuch', /no symbol "nosuch" in this frame/);
	await fails('pt.z', /struct point has no member named "z"/);
	await fails('(struct nosuch *)0', /no type named "struct nosuch"/);
	const { target } = makeTarget();
	const ev = new Evaluator(target);
	const { val } = await ev.evaluate('arr[1]@3');
	assert.equal(typeName(val.type), 'int [3]');
	assert.equal(await ev.load(await ev.evaluate('(arr[1]@3)[2]').then((r) => r.val)), 40n);
	await fails('i@0', /positive count/);
	await fails('1@2', /object in memory/);
});

test('assignment: only for setExpression; C conversions; bit-fields; registers', async () => {
	await fails('i = 4', /only through Set Value/);
	const { target, writes, regs } = makeTarget();
	const ev = new Evaluator(target, { assign: true });
	const load = async (s: string) => ev.load((await ev.evaluate(s)).val);
	await ev.evaluate('i = 2.9');
	assert.equal(await load('i'), 2n, 'a double converts to int by truncation');
	await ev.evaluate('uc = 300');
	assert.equal(await load('uc'), 44n, 'wraps to unsigned char');
	await ev.evaluate('fl.level = 7');
	assert.equal(await load('fl.level'), 7n);
	assert.equal(await load('fl.delta'), -3n, 'the neighbours stay');
	assert.equal(await load('fl.ready'), 1n);
	await ev.evaluate('fl.delta = -8');
	assert.equal(await load('fl.delta'), -8n);
	await ev.evaluate('pp->x = arr[0] + 1');
	assert.equal(await load('pt.x'), 11n);
	await ev.evaluate('$rax = -1');
	assert.equal(regs.get('rax'), 0xffffffffffffffffn);
	await ev.evaluate('r = 5');
	assert.ok(writes.includes('reg rbx 5'), writes.join('; '));
	await assert.rejects(ev.evaluate('i + 1 = 3'), /not something that can be written/);
	await assert.rejects(ev.evaluate('arr = 3'), /cannot assign to an array/);
});

test("gdb's convenience functions: $_streq, $_strlen (strings read here)", async () => {
	assert.equal(await value('$_streq(s, "abc")'), '1');
	assert.equal(await value('$_streq(text, "abc") && !$_streq(s, "ab")'), '1');
	assert.equal(await value('$_strlen(s) + $_strlen("")'), '3');
	await fails('$_streq(s)', /takes 2 arguments/);
	await fails('$_strlen(i)', /a char array or pointer \(this is int\)/);
	await fails('$_system("ls")', /no convenience function/);
	await fails('$_strlen((char *)8)', /cannot read memory at 0x8/);
});

test('formatScalar: C-style text', () => {
	assert.equal(formatScalar(CHAR, 0n), "0 '\\0'");
	assert.equal(formatScalar(BUILTIN.get('_Bool')!, 1n), 'true');
	assert.equal(formatScalar(BUILTIN.get('double')!, 1 / 0), 'inf');
	assert.equal(formatScalar(BUILTIN.get('float')!, Math.fround(3.14159)), '3.14159');
	assert.equal(formatScalar(pointerTo(INT), 255n), '0xff');
	assert.equal(formatScalar(COLOR, 9n), '9');
});

test('function designators: the address, decay to a pointer in comparisons, casts, & and *; types as C writes them', async () => {
	assert.equal(await value('(long)fn'), String(0x401136));
	assert.equal(await value('(unsigned long)&fn'), String(0x401136));
	assert.equal(await value('&fn == fn'), '1');
	assert.equal(await value('*fn == fn'), '1');
	assert.equal(await value('fn == 0'), '0');
	assert.equal(await value('fn != 0 && !!fn'), '1');
	assert.equal(await value('fn + 0 == fn'), '1', 'pointer arithmetic on the decayed pointer (void-like: size 1)');
	assert.equal(await value('LIMIT * 2'), '10', 'a constant computes');
	const { target } = makeTarget();
	const ev = new Evaluator(target);
	const f = (await ev.evaluate('fn')).val;
	assert.equal(f.type.kind, 'function');
	assert.equal(typeName(f.type), 'int (int)');
	assert.equal(typeName((await ev.evaluate('&fn')).val.type), 'int (*)(int)');
	assert.equal(typeName(pointerTo(functionType('char *(const char *, ...)', 'g'))), 'char *(*)(const char *, ...)');
	assert.equal(typeName(functionType(null, 'printf')), '<text variable, no debug info>');
	await fails('fn * 2', /needs numbers|not defined on pointers/);
	// casts to function-pointer types
	assert.equal(await value('(long)(int (*)(int))fn'), String(0x401136));
	assert.equal(await value('*(int (*)(int))fn == fn'), '1');
	assert.equal(typeName((await ev.evaluate('(int (*)(int))0')).val.type), 'int (*)(int)');
	assert.equal(typeName((await ev.evaluate('(char *(*)(int, struct point *))0')).val.type), 'char *(*)(int, struct point *)');
	assert.equal(typeName((await ev.evaluate('(void (**)(void))0')).val.type), 'void (**)(void)');
	await fails('(int (*)(x))0', /expected a parameter type but found "x"/);
});

test('what a data breakpoint can watch: an lvalue in memory of 1/2/4/8 aligned bytes, else why not', async () => {
	const { target, arrAddr } = makeTarget();
	const ev = new Evaluator(target);
	const w = async (src: string) => watchable(ev, (await ev.evaluate(src)).val, src);
	const ok = await w('arr[3]');
	assert.deepEqual(ok.ok && [ok.addr, ok.size, ok.description], [
		arrAddr + 12n,
		4,
		`arr[3] (4 bytes at 0x${(arrAddr + 12n).toString(16)})`,
	]);
	const p = await w('pp->y');
	assert.ok(p.ok && p.size === 4, p.ok ? '' : p.why);
	const ptr = await w('ip');
	assert.ok(ptr.ok && ptr.size === 8);
	const why = async (src: string, re: RegExp) => {
		const r = await w(src);
		assert.ok(!r.ok, `${src} can be watched?`);
		assert.match(r.why, re, src);
	};
	await why('i + 1', /^i \+ 1 is not an lvalue/);
	await why('r', /^r is in register rbx, not in memory/);
	await why('$rax', /^\$rax is register \$rax/);
	await why('arr', /^arr \(int \[5\]\) is 20 bytes at 0x[0-9a-f]+: the hardware watches 1, 2, 4 or 8 bytes/);
	await why('*(int *)((char *)&i + 2)', /^\*\(int \*\)\(\(char \*\)&i \+ 2\) is unaligned: 4 bytes at 0x[0-9a-f]+, not a multiple of 4/);
	await why('fl.level', /is a bit-field/);
	await why('gone', /^gone is <optimized out>/);
	await why('LIMIT', /^LIMIT is a constant$/);
	await why('fn', /^fn is a function, not data$/);
	// how a hit shows the watched bytes
	assert.equal(showWatched(INT, Buffer.from([0xfe, 0xff, 0xff, 0xff])), '-2');
	assert.equal(showWatched(pointerTo(INT), Buffer.from('3612400000000000', 'hex')), '0x401236');
	assert.equal(showWatched(null, Buffer.from([1, 2])), '0x0201');
});
