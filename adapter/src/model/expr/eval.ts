/*
 * Evaluation of a parsed C expression over an abstract target (variables
 * of a frame with their places and types, registers, memory, types by
 * name): C's integer promotions and usual arithmetic conversions on 64-bit
 * bigints, pointer arithmetic, lvalues that are read only when their value
 * is needed (so `sizeof *p` and `&a[3]` read nothing), gdb's `x@n`.
 * Nothing is written unless `assign` is allowed (setExpression).
 */
import { arith, compare, decode, encode, literalType, promote, wrap } from './arith';
import { ExprError } from './lexer';
import { parse, typeCandidates, type Node, type TypeSpec } from './parser';
import {
	BUILTIN,
	CHAR,
	DOUBLE,
	FLOAT,
	INT,
	LONG,
	ULONG,
	isInteger,
	isScalar,
	pointerTo,
	typeName,
	VOID,
	type CType,
	type EnumType,
	type IntType,
	type RecordType,
	type TypeRef,
} from './types';

/** Where an object is. */
export type Place =
	| { at: 'mem'; addr: bigint }
	/** a whole general register (of the selected frame), and its bytes */
	| { at: 'reg'; reg: string; bytes: Buffer }
	/** bytes that are nowhere writable (a constant, a computed location, a literal; `note`: why not) */
	| { at: 'bytes'; bytes: Buffer; note?: string }
	/** no value here: why ("<optimized out>") */
	| { at: 'none'; why: string };

export interface Val {
	type: CType;
	/** an lvalue (or a value with bytes): where; null for computed scalars */
	place: Place | null;
	/** bit-fields: bits from the start of place */
	bits?: { off: number; size: number };
	/** computed scalars (and register contents): the number */
	v?: bigint | number;
	/** a $register (as an lvalue: setExpression writes it) */
	reg?: string;
}

export type TypeTag = 'struct' | 'union' | 'enum' | 'typedef';

/** What an expression is evaluated against: one frame of one stopped thread. */
export interface ExprTarget {
	/** The variable called `name` where the frame is (innermost scope first, then globals and statics). */
	variable(name: string): Promise<{ type: TypeRef; place: Place } | null>;
	/** An enumeration constant, as the program's DWARF knows it. */
	enumerator(name: string): Promise<{ type: EnumType; value: bigint } | null>;
	/** What else a name is at file scope: a constant only DWARF knows, or a function (its entry); asked last. */
	fileScope?(name: string): Promise<{ type: TypeRef; place: Place } | null>;
	/** A register by gdb's name (`rip`, `pc`, `sp`, `eflags`); null: no such register. */
	register(name: string): Promise<{ value: bigint; type: CType } | null>;
	/** Exactly n bytes; throws ExprError("cannot read memory at 0x…"). */
	read(addr: bigint, n: number): Promise<Buffer>;
	/** A DWARF type by id. */
	type(id: string): Promise<CType>;
	/** A named type (`struct foo`, a typedef); null: the program has none. */
	typeNamed(tag: TypeTag, name: string): Promise<CType | null>;
	/** setExpression: write memory / a register of the frame. */
	write(addr: bigint, bytes: Buffer): Promise<void>;
	writeRegister(reg: string, value: bigint): Promise<void>;
}

export class Evaluator {
	constructor(
		private readonly target: ExprTarget,
		private readonly opts: { assign?: boolean } = {},
	) {}

	/** Parse (asking the target which parenthesized names are typedefs) and evaluate. */
	async evaluate(src: string): Promise<{ node: Node; val: Val }> {
		const types = new Set<string>();
		for (const n of typeCandidates(src)) {
			// a variable hides a typedef of the same name, as in C
			if (await this.target.variable(n)) continue;
			if (BUILTIN.has(n) || (await this.target.typeNamed('typedef', n))) types.add(n);
		}
		const node = parse(src, (n) => types.has(n));
		return { node, val: await this.eval(node) };
	}

	async resolve(t: TypeRef): Promise<CType> {
		return 'ref' in t ? this.target.type(t.ref) : t;
	}

	async sizeOf(t: CType): Promise<number> {
		switch (t.kind) {
			case 'int':
			case 'float':
			case 'record':
			case 'enum':
				return t.size;
			case 'pointer':
				return 8;
			case 'array':
				return t.count === null ? 0 : t.count * (await this.sizeOf(await this.resolve(t.elem)));
			default:
				return 1;
		}
	}

	/** The scalar a value holds: integers, enums and pointers as bigint, floats as number (arrays decay). */
	async load(x: Val): Promise<bigint | number> {
		if (x.v !== undefined) return x.v;
		const t = x.type;
		if (t.kind === 'array' || t.kind === 'function') {
			if (x.place?.at === 'mem') return x.place.addr;
			throw new ExprError(`${t.kind === 'array' ? 'this array' : 'this function'} is not in memory: it has no address`);
		}
		if (t.kind === 'record') throw new ExprError(`a ${typeName(t)} is not a number`);
		if (t.kind === 'void') throw new ExprError('a void value is not a number');
		const size = await this.sizeOf(t);
		if (x.bits) {
			const first = Math.floor(x.bits.off / 8);
			const nb = Math.ceil(((x.bits.off % 8) + x.bits.size) / 8);
			const b = await this.bytesOf(x, first, nb);
			let raw = 0n;
			for (let i = nb - 1; i >= 0; i--) raw = (raw << 8n) | BigInt(b[i]);
			raw = (raw >> BigInt(x.bits.off % 8)) & ((1n << BigInt(x.bits.size)) - 1n);
			return isInteger(t) && t.signed ? BigInt.asIntN(x.bits.size, raw) : raw;
		}
		return decode(t, await this.bytesOf(x, 0, size));
	}

	private async bytesOf(x: Val, off: number, n: number): Promise<Buffer> {
		const p = x.place;
		if (!p) throw new ExprError('no value');
		switch (p.at) {
			case 'mem':
				return this.target.read(p.addr + BigInt(off), n);
			case 'none':
				throw new ExprError(`the value is ${p.why}`);
			default:
				if (off + n > p.bytes.length) throw new ExprError('the value is not available (a location shorter than its type)');
				return p.bytes.subarray(off, off + n);
		}
	}

	private async eval(n: Node): Promise<Val> {
		switch (n.k) {
			case 'int':
				return { type: literalType(n), place: null, v: n.v };
			case 'char':
				return { type: CHAR, place: null, v: BigInt.asIntN(8, n.v) };
			case 'float':
				return n.single ? { type: FLOAT, place: null, v: Math.fround(n.v) } : { type: DOUBLE, place: null, v: n.v };
			case 'str': {
				const bytes = Buffer.concat([n.v, Buffer.alloc(1)]);
				return { type: { kind: 'array', elem: CHAR, count: bytes.length }, place: { at: 'bytes', bytes } };
			}
			case 'id': {
				const v = await this.target.variable(n.name);
				if (v) return { type: await this.resolve(v.type), place: v.place };
				const e = await this.target.enumerator(n.name);
				if (e) return { type: e.type, place: null, v: e.value };
				const f = await this.target.fileScope?.(n.name);
				if (f) return { type: await this.resolve(f.type), place: f.place };
				// <stdbool.h> and <stddef.h> macros (not in DWARF)
				if (n.name === 'true' || n.name === 'false') return { type: INT, place: null, v: n.name === 'true' ? 1n : 0n };
				if (n.name === 'NULL') return { type: pointerTo(VOID), place: null, v: 0n };
				throw new ExprError(`no symbol "${n.name}" in this frame`);
			}
			case 'reg': {
				const r = await this.target.register(n.name);
				if (!r) throw new ExprError(`no register "$${n.name}" (e.g. $rip, $rsp, $rax, $eflags, $_tid)`);
				return { type: r.type, place: null, v: r.value, reg: n.name };
			}
			case 'unary':
				return this.unary(n.op, n.e);
			case 'binary':
				return this.binary(n.op, n.l, n.r);
			case 'cond': {
				const c = await this.eval(n.c);
				return this.eval((await this.truth(c)) ? n.t : n.f);
			}
			case 'cast':
				return this.convert(await this.eval(n.e), await this.typeOf(n.type));
			case 'sizeofType':
				return { type: ULONG, place: null, v: BigInt(await this.sizeOf(await this.typeOf(n.type))) };
			case 'sizeofExpr': {
				const x = await this.eval(n.e);
				return { type: ULONG, place: null, v: BigInt(await this.sizeOf(x.type)) };
			}
			case 'member':
				return this.member(await this.eval(n.e), n.name, n.arrow);
			case 'index':
				return this.index(await this.eval(n.e), await this.eval(n.i));
			case 'assign':
				return this.assign(n.l, n.r);
			case 'call':
				return this.convenience(n.name, n.args);
		}
	}

	/** gdb's $_streq(a, b) and $_strlen(s): C strings compared and measured here, no code run in the program. */
	private async convenience(name: string, args: Node[]): Promise<Val> {
		const want = name === '_streq' ? 2 : name === '_strlen' ? 1 : -1;
		if (want < 0) throw new ExprError(`no convenience function "$${name}" (there are $_streq(a, b) and $_strlen(s))`);
		if (args.length !== want) throw new ExprError(`$${name} takes ${want} argument${want > 1 ? 's' : ''}`);
		const strs = await Promise.all(args.map(async (a) => this.cString(await this.eval(a))));
		return { type: INT, place: null, v: name === '_strlen' ? BigInt(strs[0].length) : strs[0].equals(strs[1]) ? 1n : 0n };
	}

	/** The bytes of a C string a char array or pointer holds (up to its NUL; at most 4096). */
	private async cString(x: Val): Promise<Buffer> {
		if (x.type.kind === 'array' && x.place && x.place.at !== 'mem' && x.place.at !== 'none') {
			const b = x.place.bytes;
			const nul = b.indexOf(0);
			return nul >= 0 ? b.subarray(0, nul) : b;
		}
		if (x.type.kind !== 'pointer' && x.type.kind !== 'array')
			throw new ExprError(`a string must be a char array or pointer (this is ${typeName(x.type)})`);
		const addr = BigInt(await this.load(x));
		const parts: Buffer[] = [];
		for (let off = 0; off < 4096; off += 64) {
			const chunk = await this.target.read(addr + BigInt(off), 1).then(() => this.readUpTo(addr + BigInt(off), 64));
			const nul = chunk.indexOf(0);
			if (nul >= 0) {
				parts.push(chunk.subarray(0, nul));
				return Buffer.concat(parts);
			}
			parts.push(chunk);
		}
		return Buffer.concat(parts);
	}

	/** n bytes at addr, or as many as are readable (at least one). */
	private async readUpTo(addr: bigint, n: number): Promise<Buffer> {
		for (let k = n; k > 1; k >>= 1) {
			try {
				return await this.target.read(addr, k);
			} catch {
				// a shorter read, near the end of a mapping
			}
		}
		return this.target.read(addr, 1);
	}

	/** A function designator as the pointer it converts to; anything else as it is. */
	async decay(x: Val): Promise<Val> {
		if (x.type.kind !== 'function') return x;
		return { type: pointerTo(x.type), place: null, v: BigInt(await this.load(x)) };
	}

	async truth(x: Val): Promise<boolean> {
		x = await this.decay(x);
		if (!isScalar(x.type) && x.type.kind !== 'array')
			throw new ExprError(`a ${typeName(x.type)} is not a truth value (compare a member or a scalar)`);
		const v = await this.load(x);
		return typeof v === 'number' ? v !== 0 : v !== 0n;
	}

	/** The C type a type name in a cast or sizeof stands for. */
	async typeOf(s: TypeSpec): Promise<CType> {
		let t: CType | null;
		const b = s.base;
		if (b.k === 'builtin') t = BUILTIN.get(b.name) ?? null;
		else if (b.k === 'tag') t = await this.target.typeNamed(b.tag, b.name);
		else t = (await this.target.typeNamed('typedef', b.name)) ?? BUILTIN.get(b.name) ?? null;
		if (!t) throw new ExprError(`no type named "${b.k === 'tag' ? `${b.tag} ${b.name}` : b.name}"`);
		for (let i = 0; i < s.ptrs; i++) t = pointerTo(t);
		if (s.fn) {
			// (int (*)(int)): a pointer to a function returning t
			const ps = await Promise.all(s.fn.params.map(async (p) => typeName(await this.typeOf(p))));
			const params = `(${ps.join(', ')})`;
			const ret = typeName(t);
			t = { kind: 'function', name: `${ret} ${params}`, ret, params };
			for (let i = 0; i < s.fn.ptrs; i++) t = pointerTo(t);
			return t;
		}
		for (let i = s.dims.length - 1; i >= 0; i--) t = { kind: 'array', elem: t, count: s.dims[i] };
		return t;
	}

	private async unary(op: string, e: Node): Promise<Val> {
		const x = await this.eval(e);
		switch (op) {
			case '&': {
				if (x.bits) throw new ExprError('cannot take the address of a bit-field');
				if (x.place?.at === 'mem') return { type: pointerTo(x.type), place: null, v: x.place.addr };
				if (x.place?.at === 'reg' || x.reg)
					throw new ExprError(`cannot take the address of a value in register ${x.reg ?? (x.place as { reg: string }).reg}`);
				throw new ExprError('cannot take the address of a value that is not in memory');
			}
			case '*':
				return this.deref(x);
			case '!':
				return { type: INT, place: null, v: (await this.truth(x)) ? 0n : 1n };
			default:
				break;
		}
		const t = x.type;
		if (t.kind === 'float') {
			if (op === '~') throw new ExprError(`"~" needs an integer, not a ${typeName(t)}`);
			const v = (await this.load(x)) as number;
			return { type: t, place: null, v: op === '-' ? -v : v };
		}
		if (!isInteger(t)) throw new ExprError(`"${op}" needs a number, not a ${typeName(t)}`);
		const pt = promote(t);
		const v = BigInt(await this.load(x));
		return { type: pt, place: null, v: wrap(op === '-' ? -v : op === '~' ? ~v : v, pt) };
	}

	async deref(x: Val): Promise<Val> {
		const t = x.type;
		if (t.kind === 'array') return this.index(x, { type: INT, place: null, v: 0n });
		if (t.kind === 'function') return x; // *main is main
		if (t.kind !== 'pointer') throw new ExprError(`cannot dereference a value of type ${typeName(t)}`);
		const target = await this.resolve(t.target);
		if (target.kind === 'void') throw new ExprError('cannot dereference a void * (cast it to a typed pointer first)');
		const addr = BigInt(await this.load(x));
		return { type: target, place: { at: 'mem', addr } };
	}

	private async member(x: Val, name: string, arrow: boolean): Promise<Val> {
		let base = x;
		if (arrow) {
			if (x.type.kind !== 'pointer') throw new ExprError(`"->${name}" on a ${typeName(x.type)}, not a pointer (use ".")`);
			base = await this.deref(x);
		} else if (x.type.kind === 'pointer') {
			throw new ExprError(`".${name}" on a pointer (${typeName(x.type)}): use "->"`);
		}
		const rt = base.type;
		if (rt.kind !== 'record') throw new ExprError(`"${name}": a ${typeName(rt)} has no members`);
		const found = await this.findField(rt, name, 0);
		if (!found) throw new ExprError(`${typeName(rt)} has no member named "${name}"`);
		const [f, off] = found;
		const type = await this.resolve(f.type);
		if (f.bitSize) return { type, place: base.place, bits: { off: (f.bitOffset ?? 0) + (off - f.offset) * 8, size: f.bitSize } };
		return { type, place: shift(base.place, off) };
	}

	/** A member by name, through anonymous structs and unions; its byte offset from the record. */
	private async findField(rt: RecordType, name: string, at: number): Promise<[RecordType['fields'][number], number] | null> {
		for (const f of rt.fields) {
			if (f.name === name) return [f, at + f.offset];
		}
		for (const f of rt.fields) {
			if (f.name !== null) continue;
			const t = await this.resolve(f.type);
			if (t.kind !== 'record') continue;
			const r = await this.findField(t, name, at + f.offset);
			if (r) return [r[0], r[1]];
		}
		return null;
	}

	private async index(a: Val, i: Val): Promise<Val> {
		if (isInteger(a.type) && (i.type.kind === 'pointer' || i.type.kind === 'array')) [a, i] = [i, a];
		if (!isInteger(i.type)) throw new ExprError(`an index must be an integer, not a ${typeName(i.type)}`);
		const k = BigInt(await this.load(i));
		if (a.type.kind === 'array') {
			const elem = await this.resolve(a.type.elem);
			const off = k * BigInt(await this.sizeOf(elem));
			if (a.place && a.place.at !== 'mem' && a.place.at !== 'none') {
				const n = await this.sizeOf(elem);
				if (k < 0n || Number(off) + n > a.place.bytes.length) throw new ExprError(`index ${k} is outside this value`);
			}
			return { type: elem, place: shift(a.place, Number(off), off) };
		}
		if (a.type.kind === 'pointer') return this.deref(await this.pointerAdd(a, k));
		throw new ExprError(`cannot index a value of type ${typeName(a.type)}`);
	}

	private async pointerAdd(p: Val, k: bigint): Promise<Val> {
		const t = p.type;
		if (t.kind !== 'pointer' && t.kind !== 'array') throw new ExprError('not a pointer');
		const target = await this.resolve(t.kind === 'pointer' ? t.target : t.elem);
		const sz = BigInt(await this.sizeOf(target));
		const base = BigInt(await this.load(p));
		return { type: t.kind === 'pointer' ? t : pointerTo(target), place: null, v: BigInt.asUintN(64, base + k * sz) };
	}

	private async binary(op: string, ln: Node, rn: Node): Promise<Val> {
		if (op === '&&' || op === '||') {
			const l = await this.truth(await this.eval(ln));
			if (op === '&&' ? !l : l) return { type: INT, place: null, v: op === '||' ? 1n : 0n };
			return { type: INT, place: null, v: (await this.truth(await this.eval(rn))) ? 1n : 0n };
		}
		let l = await this.eval(ln);
		let r = await this.eval(rn);
		if (op === '@') return this.slice(l, r);
		// a function designator is a pointer to the function in arithmetic and comparisons (C 6.3.2.1)
		l = await this.decay(l);
		r = await this.decay(r);
		const lp = l.type.kind === 'pointer' || l.type.kind === 'array';
		const rp = r.type.kind === 'pointer' || r.type.kind === 'array';
		if (lp || rp) return this.pointerOp(op, l, r, lp, rp);
		for (const x of [l, r]) if (!isScalar(x.type)) throw new ExprError(`"${op}" needs numbers, not a ${typeName(x.type)}`);
		const t = arith(l.type as IntType, r.type as IntType);
		const a = await this.load(l);
		const b = await this.load(r);
		if (['==', '!=', '<', '<=', '>', '>='].includes(op)) {
			const [x, y] = t.kind === 'float' ? [Number(a), Number(b)] : [wrap(BigInt(a), t as IntType), wrap(BigInt(b), t as IntType)];
			return { type: INT, place: null, v: compare(op, x, y) ? 1n : 0n };
		}
		if (t.kind === 'float') {
			if (['%', '<<', '>>', '&', '|', '^'].includes(op)) throw new ExprError(`"${op}" needs integers, not ${typeName(t)}`);
			const x = Number(a);
			const y = Number(b);
			const v = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : x / y;
			return { type: t, place: null, v: t.size === 4 ? Math.fround(v) : v };
		}
		const it = t as IntType;
		if (op === '<<' || op === '>>') {
			const lt = promote(l.type as IntType);
			const x = wrap(BigInt(a), lt);
			const s = BigInt(b);
			if (s < 0n || s >= BigInt(lt.size * 8)) throw new ExprError(`shift by ${s}: outside 0..${lt.size * 8 - 1}`);
			return { type: lt, place: null, v: wrap(op === '<<' ? x << s : x >> s, lt) };
		}
		const x = wrap(BigInt(a), it);
		const y = wrap(BigInt(b), it);
		let v: bigint;
		switch (op) {
			case '+':
				v = x + y;
				break;
			case '-':
				v = x - y;
				break;
			case '*':
				v = x * y;
				break;
			case '/':
			case '%':
				if (y === 0n) throw new ExprError('division by zero');
				v = op === '/' ? x / y : x % y;
				break;
			case '&':
				v = x & y;
				break;
			case '|':
				v = x | y;
				break;
			case '^':
				v = x ^ y;
				break;
			default:
				throw new ExprError(`unknown operator "${op}"`);
		}
		return { type: it, place: null, v: wrap(v, it) };
	}

	private async pointerOp(op: string, l: Val, r: Val, lp: boolean, rp: boolean): Promise<Val> {
		if (op === '+' && lp !== rp) {
			const [p, i] = lp ? [l, r] : [r, l];
			if (!isInteger(i.type)) throw new ExprError(`cannot add a ${typeName(i.type)} to a pointer`);
			return this.pointerAdd(p, BigInt(await this.load(i)));
		}
		if (op === '-' && lp && !rp) {
			if (!isInteger(r.type)) throw new ExprError(`cannot subtract a ${typeName(r.type)} from a pointer`);
			return this.pointerAdd(l, -BigInt(await this.load(r)));
		}
		if (op === '-' && lp && rp) {
			const lt = await this.resolve(l.type.kind === 'pointer' ? l.type.target : (l.type as { elem: TypeRef }).elem);
			const sz = BigInt(Math.max(1, await this.sizeOf(lt)));
			const d = BigInt.asIntN(64, BigInt(await this.load(l)) - BigInt(await this.load(r)));
			return { type: LONG, place: null, v: d / sz };
		}
		if (['==', '!=', '<', '<=', '>', '>='].includes(op)) {
			for (const x of [l, r])
				if (!(x.type.kind === 'pointer' || x.type.kind === 'array' || isInteger(x.type)))
					throw new ExprError(`cannot compare a pointer with a ${typeName(x.type)}`);
			const a = BigInt.asUintN(64, BigInt(await this.load(l)));
			const b = BigInt.asUintN(64, BigInt(await this.load(r)));
			return { type: INT, place: null, v: compare(op, a, b) ? 1n : 0n };
		}
		throw new ExprError(`"${op}" is not defined on pointers`);
	}

	/** gdb's x@n: n objects like x, from x's address on. */
	private async slice(l: Val, r: Val): Promise<Val> {
		if (!isInteger(r.type)) throw new ExprError('the count after @ must be an integer');
		const n = BigInt(await this.load(r));
		if (n <= 0n) throw new ExprError(`only a positive count after @ (not ${n})`);
		if (n > 1_000_000n) throw new ExprError(`${n} elements: too many (at most 1000000)`);
		if (l.place?.at !== 'mem' || l.bits) throw new ExprError('the left of @ must be an object in memory');
		return { type: { kind: 'array', elem: l.type, count: Number(n) }, place: l.place };
	}

	/** A value converted to type `to` (a cast, or the conversion of an assignment). */
	async convert(x: Val, to: CType): Promise<Val> {
		const from = x.type;
		if (to.kind === 'void') return { type: VOID, place: null };
		if (to.kind === 'record' || to.kind === 'array') {
			// only to the same struct or union (an assignment of one, or a no-op cast)
			if (to.kind === 'record' && from.kind === 'record' && (from.id === to.id || typeName(from) === typeName(to)))
				return { ...x, type: to };
			throw new ExprError(`cannot convert a ${typeName(from)} to ${typeName(to)}`);
		}
		if (to.kind === 'function') throw new ExprError(`cannot convert to a function type (${typeName(to)})`);
		if (!isScalar(from) && from.kind !== 'array' && from.kind !== 'function')
			throw new ExprError(`cannot convert a ${typeName(from)} to ${typeName(to)}`);
		if (to.kind === 'pointer' && from.kind === 'float') throw new ExprError(`cannot convert a ${typeName(from)} to a pointer`);
		if (from.kind === 'pointer' && to.kind === 'float') throw new ExprError(`cannot convert a pointer to ${typeName(to)}`);
		const v = await this.load(x);
		if (to.kind === 'float') return { type: to, place: null, v: to.size === 4 ? Math.fround(Number(v)) : Number(v) };
		let i: bigint;
		if (typeof v === 'number') {
			if (!Number.isFinite(v)) throw new ExprError(`${v} has no integer value`);
			i = BigInt(Math.trunc(v));
		} else i = v;
		if (to.kind === 'int' && to.bool) return { type: to, place: null, v: (typeof v === 'number' ? v !== 0 : v !== 0n) ? 1n : 0n };
		if (to.kind === 'pointer') return { type: to, place: null, v: BigInt.asUintN(64, i) };
		return { type: to, place: null, v: wrap(i, to as IntType) };
	}

	private async assign(ln: Node, rn: Node): Promise<Val> {
		if (!this.opts.assign) throw new ExprError('assignment ("=") only through Set Value (setExpression); use "==" to compare');
		const l = await this.eval(ln);
		const r = await this.eval(rn);
		if (l.reg) {
			const v = await this.convert(r, l.type);
			await this.target.writeRegister(l.reg, BigInt.asUintN(64, BigInt(v.v ?? 0n)));
			return { ...l, v: BigInt.asUintN(64, BigInt(v.v ?? 0n)) };
		}
		if (l.place?.at === 'bytes' && l.place.note) throw new ExprError(l.place.note);
		if (!l.place || l.place.at === 'bytes' || l.place.at === 'none')
			throw new ExprError(
				'the left of "=" is not something that can be written (a variable, member, element, *pointer or $register)',
			);
		if (l.type.kind === 'record') {
			const c = await this.convert(r, l.type);
			if (c.place?.at !== 'mem') throw new ExprError('the right of "=" is not in memory');
			const bytes = await this.target.read(c.place.addr, l.type.size);
			await this.writeAt(l, bytes);
			return l;
		}
		if (l.type.kind === 'array') throw new ExprError('cannot assign to an array (assign its elements)');
		const c = await this.convert(r, l.type);
		const size = await this.sizeOf(l.type);
		if (l.bits) {
			if (l.place.at !== 'mem') throw new ExprError('cannot write a bit-field that is not in memory');
			const first = Math.floor(l.bits.off / 8);
			const nb = Math.ceil(((l.bits.off % 8) + l.bits.size) / 8);
			const b = Buffer.from(await this.target.read(l.place.addr + BigInt(first), nb));
			let raw = 0n;
			for (let i = nb - 1; i >= 0; i--) raw = (raw << 8n) | BigInt(b[i]);
			const sh = BigInt(l.bits.off % 8);
			const mask = ((1n << BigInt(l.bits.size)) - 1n) << sh;
			raw = (raw & ~mask) | ((BigInt(c.v ?? 0n) << sh) & mask);
			for (let i = 0; i < nb; i++) b[i] = Number((raw >> BigInt(8 * i)) & 0xffn);
			await this.target.write(l.place.addr + BigInt(first), b);
			return l;
		}
		const bytes = encode(l.type, size, c.v ?? 0n);
		await this.writeAt(l, bytes);
		return l.place.at === 'reg' ? { ...l, place: { ...l.place, bytes } } : l;
	}

	private async writeAt(l: Val, bytes: Buffer): Promise<void> {
		const p = l.place!;
		if (p.at === 'mem') return this.target.write(p.addr, bytes);
		if (p.at === 'reg') {
			if (bytes.length > 8) throw new ExprError(`cannot write ${bytes.length} bytes to register ${p.reg}`);
			const old = Buffer.alloc(8);
			p.bytes.copy(old, 0, 0, Math.min(8, p.bytes.length));
			bytes.copy(old);
			return this.target.writeRegister(p.reg, old.readBigUInt64LE());
		}
		throw new ExprError('not writable');
	}
}

function shift(p: Place | null, off: number, big?: bigint): Place | null {
	if (!p) return p;
	switch (p.at) {
		case 'mem':
			return { at: 'mem', addr: BigInt.asUintN(64, p.addr + (big ?? BigInt(off))) };
		case 'none':
			return p;
		case 'reg':
			return off === 0 ? p : { at: 'bytes', bytes: p.bytes.subarray(off) };
		default:
			return { at: 'bytes', bytes: p.bytes.subarray(off) };
	}
}
