/*
 * Breakpoint conditions compiled for the tracer thread (the native
 * `bpCondition` program, native/src/debuginfo/condprog.h): a condition of
 * a simple shape — comparisons, && || !, arithmetic and bitwise operators
 * over scalar variables (locals, parameters, globals: resolved natively at
 * the breakpoint's pc) and integer, character and floating constants —
 * becomes a postfix program the tracer evaluates at each hit; a false one
 * passes the breakpoint without waking the adapter. Anything else (members,
 * indexing, pointers dereferenced, casts, registers, enumerators, calls…)
 * is not compiled: the hit is reported and this adapter evaluates the
 * condition as before. So is a name the native side cannot resolve.
 */
import { literalType } from './arith';
import { parse, type Node } from './parser';
import { INT, LONG, UINT, ULONG } from './types';

const BINARY = new Set(['<', '<=', '>', '>=', '==', '!=', '&&', '||', '+', '-', '*', '/', '%', '&', '|', '^']);
const MAX_CODE = 48;
const MAX_VARS = 6;

/** The native program of a condition, or null when it is not of a shape the tracer evaluates. */
export function compileCondition(src: string): string | null {
	let n: Node;
	try {
		n = parse(src);
	} catch {
		return null;
	}
	const out: string[] = [];
	if (!emit(n, out)) return null;
	const vars = new Set(out.filter((t) => t.startsWith('v:')));
	return out.length <= MAX_CODE && vars.size <= MAX_VARS ? out.join(' ') : null;
}

/** The condition that holds when any of these does (several breakpoints at one address). */
export function anyOf(programs: readonly string[]): string {
	return programs.map((p, i) => (i === 0 ? p : `${p} ||`)).join(' ');
}

function emit(n: Node, out: string[]): boolean {
	switch (n.k) {
		case 'int': {
			const t = literalType(n);
			const cls = t === INT ? 'i32' : t === UINT ? 'u32' : t === LONG ? 'i64' : t === ULONG ? 'u64' : null;
			if (!cls) return false;
			out.push(`${cls}:${n.v}`);
			return true;
		}
		case 'char':
			out.push(`i32:${BigInt.asIntN(8, n.v)}`);
			return true;
		case 'float': {
			const v = n.single ? Math.fround(n.v) : n.v;
			if (!Number.isFinite(v)) return false;
			out.push(`f64:${v}`);
			return true;
		}
		case 'id':
			if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n.name) || n.name.length > 63) return false;
			out.push(`v:${n.name}`);
			return true;
		case 'unary': {
			const op = n.op === '-' ? 'neg' : n.op === '!' || n.op === '~' ? n.op : n.op === '+' ? '' : null;
			if (op === null || !emit(n.e, out)) return false;
			if (op) out.push(op);
			return true;
		}
		case 'binary':
			if (!BINARY.has(n.op) || !emit(n.l, out) || !emit(n.r, out)) return false;
			out.push(n.op);
			return true;
		default:
			return false;
	}
}
