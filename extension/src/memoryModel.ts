/*
 * The Forkall memory view's rows: a hex + ASCII dump of what DAP
 * readMemory returned (base64 data from an address, with a count of
 * unreadable bytes after it). Plain values, no vscode API: unit-tested.
 */

export interface MemoryRow {
	/** 0x-prefixed, 16 hex digits */
	address: string;
	/** 16 cells: two hex digits, or "??" for bytes that could not be read / lie outside the range */
	hex: string[];
	/** printable ASCII, "." for the rest, " " outside the range */
	ascii: string;
}

export interface MemoryDump {
	start: string;
	count: number;
	readable: number;
	unreadable: number;
	rows: MemoryRow[];
}

export const BYTES_PER_ROW = 16;

function hex16(v: bigint): string {
	return `0x${v.toString(16).padStart(16, '0')}`;
}

/** Parse "0x7ffd1234", "7ffd1234h" or a decimal address; null if it is none. */
export function parseAddress(text: string): bigint | null {
	const t = text.trim().toLowerCase();
	let v: bigint;
	try {
		if (/^0x[0-9a-f]+$/.test(t)) v = BigInt(t);
		else if (/^[0-9a-f]+h$/.test(t)) v = BigInt(`0x${t.slice(0, -1)}`);
		else if (/^\d+$/.test(t)) v = BigInt(t);
		else return null;
	} catch {
		return null;
	}
	return v >= 0n && v < 1n << 64n ? v : null;
}

/**
 * Rows for `count` bytes from `start`: `data` holds the readable bytes
 * from `address` (readMemory's answer; it may begin after `start` when the
 * first bytes cannot be read), the rest is unreadable.
 */
export function dumpRows(start: bigint, count: number, address: bigint, data: Uint8Array): MemoryDump {
	const rowStart = start - (start % BigInt(BYTES_PER_ROW));
	const end = start + BigInt(count);
	const rows: MemoryRow[] = [];
	for (let a = rowStart; a < end; a += BigInt(BYTES_PER_ROW)) {
		const hex: string[] = [];
		let ascii = '';
		for (let i = 0; i < BYTES_PER_ROW; i++) {
			const b = a + BigInt(i);
			const off = Number(b - address);
			if (b < start || b >= end) {
				hex.push('  ');
				ascii += ' ';
			} else if (off >= 0 && off < data.length) {
				const v = data[off];
				hex.push(v.toString(16).padStart(2, '0'));
				ascii += v >= 0x20 && v < 0x7f ? String.fromCharCode(v) : '.';
			} else {
				hex.push('??');
				ascii += '?';
			}
		}
		rows.push({ address: hex16(a), hex, ascii });
	}
	return { start: hex16(start), count, readable: data.length, unreadable: count - data.length, rows };
}
