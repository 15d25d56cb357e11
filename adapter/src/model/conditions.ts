/*
 * The number a variable of `locals` holds, from the typed raw value the
 * native side sends with each scalar (`raw`: int/uint/bool/float/pointer),
 * never its display text. (Breakpoint conditions are C expressions now:
 * expr/; the comparison subset that was here measured slower — it
 * formatted every local of the frame at each hit.)
 */

import type { RawValue } from '../engine/protocol';

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
