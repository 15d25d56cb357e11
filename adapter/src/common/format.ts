/*
 * Pure formatting helpers shared by the CLI (and later the DAP server).
 */

/** "0x…" lower-case, no padding (the protocol's form). */
export function hex(v: bigint | number): string {
	return `0x${BigInt(v).toString(16)}`;
}

/** "0x" + value zero-padded to `digits` hex digits. */
export function hexPad(v: bigint | number, digits: number): string {
	return `0x${BigInt(v).toString(16).padStart(digits, '0')}`;
}

/** Parse a "0x…" string (or decimal) into a bigint; throws on garbage. */
export function parseHex(s: string): bigint {
	if (!/^0x[0-9a-fA-F]+$/.test(s)) {
		throw new Error(`not a hex value: ${JSON.stringify(s)}`);
	}
	return BigInt(s);
}

/** Interpret the low `bits` bits of v as a two's complement signed value. */
export function toSigned(v: bigint, bits = 64): bigint {
	return BigInt.asIntN(bits, v);
}

/** Human size: 4096 -> "4K", 8392704 -> "8196K", 1048576 -> "1M". */
export function formatSize(n: number | bigint): string {
	const v = BigInt(n);
	if (v === 0n) {
		return '0';
	}
	const units: [bigint, string][] = [
		[1n << 30n, 'G'],
		[1n << 20n, 'M'],
		[1n << 10n, 'K'],
	];
	for (const [unit, suffix] of units) {
		if (v >= unit && v % unit === 0n) {
			return `${v / unit}${suffix}`;
		}
	}
	return `${v}`;
}

export type Align = 'left' | 'right';

/**
 * Lay out rows as an aligned text table. The first row is the header.
 * Columns are separated by two spaces; trailing blanks are trimmed.
 */
export function formatTable(rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
	if (rows.length === 0) {
		return '';
	}
	const ncol = Math.max(...rows.map((r) => r.length));
	const width: number[] = [];
	for (let c = 0; c < ncol; c++) {
		width.push(Math.max(...rows.map((r) => displayWidth(r[c] ?? ''))));
	}
	return rows
		.map((r) => {
			const cells: string[] = [];
			for (let c = 0; c < ncol; c++) {
				const cell = r[c] ?? '';
				const pad = ' '.repeat(width[c] - displayWidth(cell));
				cells.push(align[c] === 'right' ? pad + cell : cell + pad);
			}
			return cells.join('  ').trimEnd();
		})
		.join('\n');
}

/** Width in terminal columns (code points; good enough for our output). */
export function displayWidth(s: string): number {
	return [...s].length;
}

/**
 * Split a hex value into groups of `groupDigits` digits, most significant
 * first, padded to `totalDigits`: vector registers stay readable.
 */
export function hexGroups(v: bigint, totalDigits: number, groupDigits = 16): string {
	const s = v.toString(16).padStart(totalDigits, '0');
	const out: string[] = [];
	for (let i = 0; i < s.length; i += groupDigits) {
		out.push(s.slice(i, i + groupDigits));
	}
	return `0x${out.join('_')}`;
}

/** Make a label safe to print in one table cell (no control chars, spaces shown). */
export function printable(s: string): string {
	return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
