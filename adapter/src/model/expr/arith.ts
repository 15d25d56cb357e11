/*
 * C's arithmetic on x86-64 (LP64) for the evaluator: the type of an
 * integer literal, integer promotions, the usual arithmetic conversions,
 * wrap-around to a type's width, comparisons, and the bytes of scalars.
 */
import { x87ToNumber } from '../registers';
import { ExprError } from './lexer';
import { DOUBLE, FLOAT, INT, LLONG, LONG, UINT, ULLONG, ULONG, type CType, type EnumType, type IntType } from './types';

/** The type of an integer literal (C 6.4.4.1: the first that holds it of int, long — and, for hex and octal, their
 * unsigned kinds; u and l narrow the list; unsigned long past long, as gcc). */
export function literalType(n: { v: bigint; unsigned: boolean; long: boolean; decimal: boolean }): IntType {
	const order = n.unsigned
		? n.long
			? [ULONG]
			: [UINT, ULONG]
		: n.decimal
			? n.long
				? [LONG, ULONG]
				: [INT, LONG, ULONG]
			: n.long
				? [LONG, ULONG]
				: [INT, UINT, LONG, ULONG];
	for (const t of order) {
		if (wrap(n.v, t) === n.v) return t;
	}
	return ULLONG;
}

/** The type an integer operand is promoted to (C 6.3.1.1). */
export function promote(t: IntType | EnumType): IntType {
	if (t.size < 4) return INT;
	if (t.size === 4) return t.signed ? INT : UINT;
	if (t.kind === 'enum') return t.signed ? LONG : ULONG;
	return t;
}

/** The usual arithmetic conversions (C 6.3.1.8): the common type of two scalars. */
export function arith(a: CType, b: CType): CType {
	if (a.kind === 'float' || b.kind === 'float') {
		const fa = a.kind === 'float' ? a.size : 0;
		const fb = b.kind === 'float' ? b.size : 0;
		return Math.max(fa, fb) === 4 ? FLOAT : DOUBLE;
	}
	if (a.kind === 'pointer' || b.kind === 'pointer') return ULONG;
	const x = promote(a as IntType);
	const y = promote(b as IntType);
	if (x.signed === y.signed) return x.size >= y.size ? x : y;
	const [u, s] = x.signed ? [y, x] : [x, y];
	if (u.size >= s.size) return u;
	return s.size > u.size ? s : s.size === 8 ? (s === LLONG ? ULLONG : ULONG) : UINT;
}

export function wrap(v: bigint, t: { size: number; signed: boolean } | IntType): bigint {
	const bits = t.size * 8;
	return t.signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
}

export function compare(op: string, a: bigint | number, b: bigint | number): boolean {
	switch (op) {
		case '==':
			return a === b;
		case '!=':
			return a !== b;
		case '<':
			return a < b;
		case '<=':
			return a <= b;
		case '>':
			return a > b;
		default:
			return a >= b;
	}
}

/** The number little-endian bytes of a scalar type hold. */
export function decode(t: CType, b: Buffer): bigint | number {
	if (t.kind === 'float') {
		if (t.size === 4) return b.readFloatLE(0);
		if (t.size === 8) return b.readDoubleLE(0);
		if (t.size >= 10) {
			let v = 0n;
			for (let i = 9; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
			return x87ToNumber(v);
		}
		throw new ExprError(`a ${t.size}-byte floating-point type`);
	}
	let v = 0n;
	for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
	if (t.kind === 'int' && t.bool) return v !== 0n ? 1n : 0n;
	if ((t.kind === 'int' || t.kind === 'enum') && t.signed) return BigInt.asIntN(b.length * 8, v);
	return v;
}

/** The bytes of a scalar of type t (already converted to it). */
export function encode(t: CType, size: number, v: bigint | number): Buffer {
	const b = Buffer.alloc(size);
	if (t.kind === 'float') {
		if (size === 4) b.writeFloatLE(Number(v));
		else if (size === 8) b.writeDoubleLE(Number(v));
		else throw new ExprError('cannot write a long double yet');
		return b;
	}
	const u = BigInt.asUintN(size * 8, BigInt(v));
	for (let i = 0; i < size; i++) b[i] = Number((u >> BigInt(8 * i)) & 0xffn);
	return b;
}
