/*
 * Memory of a debuggee: reads that report unreadable gaps (split at
 * /proc/PID/maps boundaries), writes, and the int3 bytes of our own
 * breakpoints hidden from what the user sees. No DAP types.
 */
import * as fs from 'node:fs';
import { loadNative } from '../engine/native';

export interface MemoryRead {
	address: bigint;
	/** Readable bytes from `address` on. */
	data: Buffer;
	/** Unreadable bytes right after `data` (0: none, or end of the request). */
	unreadable: number;
}

export interface Region {
	start: bigint;
	end: bigint;
	perms: string;
	name: string;
}

export type Patcher = (addr: bigint, len: number) => { offset: number; byte: number }[];

export class Memory {
	constructor(
		readonly pid: number,
		private readonly patches: Patcher = () => [],
	) {}

	/** Raw read: as many bytes as are readable from addr (possibly 0). */
	readRaw(addr: bigint, len: number): Buffer {
		if (len <= 0) {
			return Buffer.alloc(0);
		}
		try {
			const buf = loadNative().memRead(this.pid, addr, len);
			for (const p of this.patches(addr, buf.length)) {
				buf[p.offset] = p.byte;
			}
			return buf;
		} catch {
			return Buffer.alloc(0);
		}
	}

	/** One byte as the program sees it (our int3s hidden), or null. */
	readByte(addr: bigint): number | null {
		const b = this.readRaw(addr, 1);
		return b.length ? b[0] : null;
	}

	/**
	 * Read count bytes at addr: the readable prefix, then how many bytes
	 * after it are unreadable (up to the next readable mapping or the end).
	 */
	read(addr: bigint, count: number): MemoryRead {
		const data = this.readRaw(addr, count);
		if (data.length === count) {
			return { address: addr, data, unreadable: 0 };
		}
		const holeStart = addr + BigInt(data.length);
		const end = addr + BigInt(count);
		// The hole ends where the next readable mapping starts (or at the end).
		let next = end;
		for (const r of this.regions()) {
			if (r.perms[0] === 'r' && r.start > holeStart && r.start < next) {
				next = r.start;
			}
		}
		return { address: addr, data, unreadable: Number(next - holeStart) };
	}

	/** Write; returns bytes written. Throws with an errno message on failure. */
	write(addr: bigint, data: Uint8Array): number {
		return loadNative().memWrite(this.pid, addr, data);
	}

	regions(): Region[] {
		let text: string;
		try {
			text = fs.readFileSync(`/proc/${this.pid}/maps`, 'utf8');
		} catch {
			return [];
		}
		return text
			.split('\n')
			.filter(Boolean)
			.map((line) => {
				const parts = line.split(/\s+/);
				const [a, b] = parts[0].split('-');
				return { start: BigInt(`0x${a}`), end: BigInt(`0x${b}`), perms: parts[1], name: parts.slice(5).join(' ') };
			});
	}
}
