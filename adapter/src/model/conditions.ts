/*
 * Breakpoint conditions: a small, honest subset of C that the debugger can
 * evaluate without a compiler — comparisons of variables (by their C
 * expression: `i`, `pt.x`, `numbers[2]`, `p->y`, `*cursor`), registers
 * (`$rax`) and number literals, combined with && and || (no parentheses):
 *
 *   i == 3        count >= 10 && $rdi != 0        flag        !done
 *
 * Values are the frame's locals as numbers: the typed raw value the native
 * side sends with each scalar (`raw`: int/uint/bool/float/pointer), never
 * its display text. No DAP types; pure functions plus a lookup.
 */

import type { RawValue } from '../engine/protocol';

export type Lookup = (name: string) => number | bigint | boolean | undefined;

type Op = '==' | '!=' | '<' | '<=' | '>' | '>=';
interface Cmp {
	neg: boolean;
	lhs: string;
	op: Op | null;
	rhs: string | null;
}
export interface Condition {
	/** disjunction of conjunctions */
	or: Cmp[][];
	text: string;
}

const OPERAND = String.raw`(!?\s*[A-Za-z_$][\w.$\[\]\->*]*|\*[A-Za-z_][\w.\[\]\->]*|-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?))`;
const CMP = new RegExp(String.raw`^\s*${OPERAND}\s*(?:(==|!=|<=|>=|<|>)\s*${OPERAND})?\s*$`);

/** Parse a condition; throws an Error that says what is not understood. */
export function parseCondition(text: string): Condition {
	const or: Cmp[][] = [];
	for (const alt of text.split('||')) {
		const and: Cmp[] = [];
		for (const part of alt.split('&&')) {
			const m = CMP.exec(part);
			if (!m) {
				throw new Error(
					`condition "${part.trim()}" not understood: use comparisons (==, !=, <, <=, >, >=) of variables, $registers and numbers, joined by && or ||`,
				);
			}
			let lhs = m[1].replace(/\s+/g, '');
			const neg = lhs.startsWith('!');
			if (neg) lhs = lhs.slice(1);
			if (neg && m[2]) throw new Error(`"!" only on a bare operand: ${part.trim()}`);
			and.push({ neg, lhs, op: (m[2] as Op | undefined) ?? null, rhs: m[3]?.replace(/\s+/g, '') ?? null });
		}
		or.push(and);
	}
	return { or, text };
}

function literal(s: string): number | bigint | undefined {
	if (/^-?0x[0-9a-f]+$/i.test(s)) return s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s);
	if (/^-?\d+$/.test(s)) return BigInt(s);
	if (/^-?\d+\.\d+$/.test(s)) return Number(s);
	return undefined;
}

function value(s: string, lookup: Lookup): number | bigint | boolean {
	const lit = literal(s);
	if (lit !== undefined) return lit;
	const v = lookup(s);
	if (v === undefined) throw new Error(`no variable or register "${s}" here`);
	return v;
}

function toNum(v: number | bigint | boolean): number | bigint {
	return typeof v === 'boolean' ? (v ? 1n : 0n) : v;
}

function compare(a: number | bigint, op: Op, b: number | bigint): boolean {
	const [x, y] = typeof a === typeof b ? [a, b] : [Number(a), Number(b)];
	switch (op) {
		case '==':
			return x === y;
		case '!=':
			return x !== y;
		case '<':
			return x < y;
		case '<=':
			return x <= y;
		case '>':
			return x > y;
		default:
			return x >= y;
	}
}

/** Evaluate; throws when an operand cannot be found or read. */
export function evaluate(c: Condition, lookup: Lookup): boolean {
	return c.or.some((and) =>
		and.every((t) => {
			const l = toNum(value(t.lhs, lookup));
			const r = t.op && t.rhs ? compare(l, t.op, toNum(value(t.rhs, lookup))) : l !== 0n && l !== 0;
			return t.neg ? !r : r;
		}),
	);
}

/** The number a local holds, from its raw value: integers and pointers as
 * bigint, floats as number, _Bool as boolean (any nonzero byte is true);
 * undefined for a kind this version does not know. */
export function rawNumber(raw: RawValue): number | bigint | boolean | undefined {
	switch (raw.kind) {
		case 'int':
		case 'uint':
		case 'pointer':
			return /^-?(0x[0-9a-f]+|\d+)$/i.test(raw.value) ? toBigInt(raw.value) : undefined;
		case 'bool':
			return /^\d+$/.test(raw.value) ? raw.value !== '0' : undefined;
		case 'float': {
			// C spells them inf, -inf, nan (%g)
			const t = raw.value.replace(/^(-?)inf(inity)?$/i, '$1Infinity');
			if (/^-?nan/i.test(t)) return NaN;
			const n = Number(t);
			return Number.isNaN(n) ? undefined : n;
		}
		default:
			return undefined;
	}
}

function toBigInt(s: string): bigint {
	return s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s);
}
