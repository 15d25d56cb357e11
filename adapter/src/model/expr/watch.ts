/*
 * What a data breakpoint (an x86 hardware watchpoint) can watch of an
 * evaluated expression: an lvalue in memory of 1, 2, 4 or 8 bytes at an
 * address that is a multiple of its size; otherwise why not, in one line.
 * And how a watched value is shown when it changes (old → new).
 */
import { decode } from './arith';
import { formatScalar } from './display';
import type { Evaluator, Val } from './eval';
import { isScalar, pointerTo, typeName, VOID, type CType } from './types';

export type Watchable = { ok: true; addr: bigint; size: number; description: string; type: CType } | { ok: false; why: string };

export async function watchable(ev: Evaluator, val: Val, expr: string): Promise<Watchable> {
	const p = val.place;
	const t = val.type;
	if (val.reg) return { ok: false, why: `${expr} is register $${val.reg}: the hardware watches memory only` };
	if (t.kind === 'function') return { ok: false, why: `${expr} is a function, not data` };
	if (val.bits) return { ok: false, why: `${expr} is a bit-field: the hardware watches whole bytes, not bits` };
	if (!p || (p.at === 'bytes' && !p.note))
		return { ok: false, why: `${expr} is not an lvalue (a computed value): nothing in memory to watch` };
	if (p.at === 'reg') return { ok: false, why: `${expr} is in register ${p.reg}, not in memory: nothing to watch` };
	if (p.at === 'bytes') return { ok: false, why: p.note ?? `${expr} is not in memory` };
	if (p.at === 'none') return { ok: false, why: `${expr} is ${p.why}: nothing to watch` };
	const size = await ev.sizeOf(t);
	const at = `0x${p.addr.toString(16)}`;
	if (![1, 2, 4, 8].includes(size))
		return {
			ok: false,
			why: `${expr} (${typeName(t)}) is ${size} bytes at ${at}: the hardware watches 1, 2, 4 or 8 bytes (watch a member or an element)`,
		};
	if (p.addr % BigInt(size) !== 0n)
		return { ok: false, why: `${expr} is unaligned: ${size} bytes at ${at}, not a multiple of ${size} (the hardware cannot watch it)` };
	return { ok: true, addr: p.addr, size, description: `${expr} (${size} bytes at ${at})`, type: t };
}

/** A scalar type for a Variables-view node's raw kind (int, uint, bool, float, pointer) and size. */
export function scalarType(kind: string | null, size: number): CType | null {
	switch (kind) {
		case 'int':
		case 'uint':
			return { kind: 'int', name: kind, size, signed: kind === 'int' };
		case 'bool':
			return { kind: 'int', name: '_Bool', size, signed: false, bool: true };
		case 'float':
			return size === 4 || size === 8 ? { kind: 'float', name: 'float', size } : null;
		case 'pointer':
			return pointerTo(VOID);
		default:
			return null;
	}
}

/** The watched bytes as their type shows them (a scalar), else as hex bytes. */
export function showWatched(t: CType | null, b: Buffer): string {
	if (t && isScalar(t)) {
		try {
			return formatScalar(t, decode(t, b));
		} catch {
			// shown as bytes below
		}
	}
	return `0x${Buffer.from(b).reverse().toString('hex')}`;
}
