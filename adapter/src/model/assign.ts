/*
 * Assignment of a scalar from text, with C's conversions (setVariable,
 * setExpression): the bytes of the new value for an object of a known
 * kind and size. Plain values; no process.
 */

export type ScalarKind = 'int' | 'uint' | 'float' | 'bool' | 'pointer';

export class AssignError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'AssignError';
	}
}

/** A C integer literal (decimal, 0x, 0, 0b; a sign; u/l suffixes), a char literal, true/false; null if not one. */
function parseInteger(text: string): bigint | null {
	const t = text.trim();
	const ch = /^'(\\?.)'$/.exec(t);
	if (ch) {
		const esc: Record<string, number> = { '\\n': 10, '\\t': 9, '\\r': 13, '\\0': 0, "\\'": 39, '\\\\': 92 };
		const c = ch[1];
		if (c.length === 1) return BigInt(c.charCodeAt(0));
		if (c in esc) return BigInt(esc[c]);
		return null;
	}
	if (t === 'true') return 1n;
	if (t === 'false') return 0n;
	const m = /^([-+]?)(0x[0-9a-f]+|0b[01]+|0[0-7]*|[1-9][0-9]*)(?:[ul]{0,3})$/i.exec(t);
	if (!m) return null;
	const body = m[2];
	let v: bigint;
	if (/^0[0-7]+$/.test(body)) v = BigInt('0o' + body.slice(1));
	else v = BigInt(body);
	return m[1] === '-' ? -v : v;
}

/** The bytes (little-endian, x86-64) of `text` for an object of this kind and size. */
export function encodeScalar(kind: ScalarKind, size: number, text: string): Buffer {
	const t = text.trim();
	if (kind === 'float') {
		const v = Number(t.replace(/f$/i, ''));
		if (!t || (Number.isNaN(v) && !/^[-+]?nan$/i.test(t))) throw new AssignError(`"${text}" is not a number`);
		const b = Buffer.alloc(size);
		if (size === 4) b.writeFloatLE(v);
		else if (size === 8) b.writeDoubleLE(v);
		else throw new AssignError(`cannot write a ${size}-byte floating-point value (long double) yet`);
		return b;
	}
	let v = parseInteger(t);
	if (v === null) {
		const f = Number(t);
		if (t && Number.isFinite(f) && kind !== 'pointer')
			v = BigInt(Math.trunc(f)); // C truncates toward zero
		else throw new AssignError(`"${text}" is not a ${kind === 'pointer' ? 'pointer value (an address)' : 'number'}`);
	}
	if (kind === 'bool') v = v !== 0n ? 1n : 0n;
	if (size < 1 || size > 8) throw new AssignError(`cannot write a ${size}-byte integer`);
	const bits = BigInt(size * 8);
	const wrapped = BigInt.asUintN(Number(bits), v); // C's conversion to an unsigned type of that width (and two's complement)
	const b = Buffer.alloc(size);
	for (let i = 0; i < size; i++) b[i] = Number((wrapped >> BigInt(8 * i)) & 0xffn);
	return b;
}

/** A register's new value (64-bit, or a C integer that fits). */
export function parseRegister(text: string): bigint {
	const v = parseInteger(text);
	if (v === null) throw new AssignError(`"${text}" is not an integer`);
	return BigInt.asUintN(64, v);
}
