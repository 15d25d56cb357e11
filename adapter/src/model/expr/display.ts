/*
 * The value of an evaluated expression as the Variables view shows a
 * variable (a Variable tree): an object of a DWARF type is formatted by the
 * native side exactly as `locals` formats it (children, raw value); what
 * the evaluator computed (numbers, pointers it made, `x@n` arrays) is
 * formatted here, C-style.
 */
import type { Variable } from '../debuggee';
import type { ScalarKind } from '../assign';
import { type Evaluator, type Val } from './eval';
import { ExprError } from './lexer';
import { isInteger, typeName, type CType } from './types';

export interface ShowTarget {
	/** As many bytes as are readable at addr, up to n (string previews). */
	readSome(addr: bigint, n: number): Buffer;
	/** An object of DWARF type `id` in memory or held in bytes (count > 0: an array of them), formatted natively. */
	typed(id: string, where: { address: bigint } | { bytes: Buffer }, name: string, expr: string, count?: number): Promise<Variable>;
	/** "main", "main+4": the function an address is in (null: none known). */
	symbolAt(addr: bigint): Promise<string | null>;
}

const MAX_ELEMENTS = 64;

/** `expr` as an operand of a postfix operator. */
function operand(expr: string): string {
	return /^[\w$]+(\.[\w$]+|->[\w$]+|\[[^\]]*\])*$/.test(expr) ? expr : `(${expr})`;
}

function blank(name: string, type: CType, expr: string, value: string): Variable {
	return {
		name,
		type: typeName(type),
		value,
		kind: 'local',
		address: null,
		pointer: null,
		expr,
		raw: null,
		rawKind: null,
		size: null,
		children: null,
	};
}

function esc(c: number, quote: string): string {
	const named: Record<number, string> = { 10: '\\n', 9: '\\t', 13: '\\r', 0: '\\0', 92: '\\\\' };
	if (c in named) return named[c];
	if (String.fromCharCode(c) === quote) return `\\${quote}`;
	if (c < 0x20 || c >= 0x7f) return `\\${c.toString(8).padStart(3, '0')}`;
	return String.fromCharCode(c);
}

/** A double the way C's %g-shortest prints it (inf, nan). */
export function formatFloat(v: number, size: number): string {
	if (Number.isNaN(v)) return 'nan';
	if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
	if (size === 4) {
		for (let p = 1; p <= 9; p++) {
			const s = Number(v.toPrecision(p));
			if (Math.fround(s) === v) return String(s);
		}
	}
	return String(v);
}

/** A scalar's text, as the native side writes it. */
export function formatScalar(t: CType, v: bigint | number): string {
	if (t.kind === 'float') return formatFloat(Number(v), t.size);
	if (t.kind === 'pointer') return `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
	if (t.kind === 'enum') {
		const hit = t.values.find(([, x]) => x === BigInt(v));
		return hit ? hit[0] : String(v);
	}
	if (t.kind === 'int') {
		if (t.bool) return v === 0n ? 'false' : v === 1n ? 'true' : 'true (nonzero)';
		if (t.char && t.size === 1) return `${v} '${esc(Number(BigInt.asUintN(8, BigInt(v))), "'")}'`;
	}
	return String(v);
}

function rawKind(t: CType): ScalarKind | null {
	if (t.kind === 'float') return 'float';
	if (t.kind === 'pointer') return 'pointer';
	if (t.kind === 'int' && t.bool) return 'bool';
	if (isInteger(t)) return t.signed ? 'int' : 'uint';
	return null;
}

/** The value of `val` (the expression `expr`) as a Variable tree. */
export async function show(ev: Evaluator, st: ShowTarget, val: Val, expr: string, name = expr, depth = 0): Promise<Variable> {
	const t = val.type;
	const p = val.place;
	if (p?.at === 'none') return blank(name, t, expr, p.why);
	if (depth === 0 && p?.at === 'mem' && t.kind !== 'function' && st.readSome(p.addr, 1).length === 0)
		throw new ExprError(`cannot read memory at 0x${p.addr.toString(16)}`);
	// an object of a DWARF type: the native formatter, as the Variables view
	if (t.id && p && !val.bits && val.v === undefined && t.kind !== 'function') {
		const where = p.at === 'mem' ? { address: p.addr } : { bytes: p.bytes };
		// children are named expr.x, expr[2]: expr must bind tighter than those
		const v = await st.typed(t.id, where, name, operand(expr));
		v.expr = expr;
		if (t.label && t.label !== v.type && !(t.kind === 'array' && !t.label)) v.type = t.label;
		return v;
	}
	if (t.kind === 'array') return showArray(ev, st, val, expr, name, depth);
	if (t.kind === 'record') return blank(name, t, expr, '{...}');
	if (t.kind === 'void') return blank(name, t, expr, 'void');
	if (t.kind === 'function') {
		// gdb's {int (int)} 0x401136 <main>
		let value = typeName(t);
		if (p?.at === 'mem') {
			const sym = await st.symbolAt(p.addr).catch(() => null);
			value = `{${typeName(t)}} 0x${p.addr.toString(16)}${sym ? ` <${sym}>` : ''}`;
		}
		const out = blank(name, t, expr, value);
		if (p?.at === 'mem') {
			out.address = p.addr;
			out.pointer = p.addr;
		}
		return out;
	}
	let v: bigint | number;
	try {
		v = await ev.load(val);
	} catch (e) {
		if (depth === 0) throw e;
		return blank(name, t, expr, `<${(e as Error).message}>`);
	}
	const out = blank(name, t, expr, formatScalar(t, v));
	const rk = rawKind(t);
	if (rk) {
		out.raw = typeof v === 'bigint' && t.kind === 'int' && t.bool ? v !== 0n : v;
		if (p?.at === 'mem' && !val.bits) {
			out.address = p.addr;
			out.rawKind = rk;
			out.size = await ev.sizeOf(t);
		}
	}
	if (t.kind === 'pointer') {
		const ptr = BigInt.asUintN(64, BigInt(v));
		out.pointer = ptr;
		const target = await ev.resolve(t.target);
		if (target.kind === 'function' && ptr !== 0n) {
			const sym = await st.symbolAt(ptr).catch(() => null);
			if (sym) out.value += ` <${sym}>`;
		} else if (target.kind === 'int' && target.char && target.size === 1 && ptr !== 0n) {
			const b = st.readSome(ptr, 64);
			const nul = b.indexOf(0);
			const s = [...(nul >= 0 ? b.subarray(0, nul) : b)].map((c) => esc(c, '"')).join('');
			out.value += b.length ? ` "${s}"${nul < 0 ? '...' : ''}` : ' <unreadable>';
		} else if (ptr !== 0n && depth < 2 && target.kind !== 'void' && target.kind !== 'function') {
			const star = `*${operand(expr)}`;
			const pointee = await show(ev, st, { type: target, place: { at: 'mem', addr: ptr } }, star, star, depth + 1);
			if (target.kind === 'record' && pointee.children) {
				// the members right under the pointer, as the Variables view: p->x
				const inner = `(${star}).`;
				const rename = (x: Variable): Variable => ({
					...x,
					expr: x.expr?.startsWith(inner) ? `${operand(expr)}->${x.expr.slice(inner.length)}` : x.expr,
					children: x.children ? x.children.map(rename) : null,
				});
				out.children = pointee.children.map(rename);
			} else {
				out.children = [pointee];
			}
		}
	}
	return out;
}

async function showArray(ev: Evaluator, st: ShowTarget, val: Val, expr: string, name: string, depth: number): Promise<Variable> {
	const t = val.type as Extract<CType, { kind: 'array' }>;
	const elem = await ev.resolve(t.elem);
	const count = t.count ?? 0;
	const p = val.place;
	if (elem.id && p?.at === 'mem' && count > 0) {
		const v = await st.typed(elem.id, { address: p.addr }, name, operand(expr), count);
		v.expr = expr;
		v.type = typeName(t);
		return v;
	}
	const out = blank(name, t, expr, '');
	if (p?.at === 'mem') out.address = p.addr;
	if (p && p.at !== 'none' && p.at !== 'mem' && elem.kind === 'int' && elem.char && elem.size === 1) {
		const b = p.bytes;
		const nul = b.indexOf(0);
		out.value = `"${[...(nul >= 0 ? b.subarray(0, nul) : b)].map((c) => esc(c, '"')).join('')}"`;
		return out;
	}
	if (depth >= 3) {
		out.value = `[${count}]`;
		return out;
	}
	const kids: Variable[] = [];
	const esz = await ev.sizeOf(elem);
	for (let i = 0; i < Math.min(count, MAX_ELEMENTS); i++) {
		const place =
			p?.at === 'mem'
				? { at: 'mem' as const, addr: p.addr + BigInt(i * esz) }
				: p && p.at !== 'none'
					? { at: 'bytes' as const, bytes: p.bytes.subarray(i * esz, (i + 1) * esz) }
					: p;
		kids.push(await show(ev, st, { type: elem, place }, `${operand(expr)}[${i}]`, `[${i}]`, depth + 1));
	}
	out.children = kids;
	out.value = `{${kids.map((k) => k.value).join(', ')}${count > MAX_ELEMENTS ? ', ...' : ''}}`;
	return out;
}
