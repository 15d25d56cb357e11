/*
 * x86-64 disassembly of debuggee memory (iced-x86), with the exact
 * instruction count a client asked for: unreadable bytes become "invalid"
 * rows, and instructions before an address (negative offsets) are found by
 * decoding forward from earlier start points until one lands on it.
 * No DAP types.
 */
import { Decoder, DecoderOptions, FlowControl, Formatter, FormatterSyntax } from 'iced-x86';

export interface Instruction {
	address: bigint;
	/** Raw bytes (empty for unreadable memory). */
	bytes: Buffer;
	/** Text, e.g. "mov rax,[rbp-8]"; "??" when unreadable, "(bad)" when undecodable. */
	text: string;
	length: number;
	invalid: boolean;
	/** Control flow, for stepping. */
	isCall: boolean;
	isReturn: boolean;
	/** A direct call/jump's target, or the address a RIP-relative memory operand names (to be named by a symbol). */
	target?: bigint;
}

/** Reads memory as the program sees it (may return fewer bytes). */
export type ReadFn = (addr: bigint, len: number) => Buffer;

const MAX_INSN = 15;
const FLOW_CALL = FlowControl.Call;
const FLOW_INDIRECT_CALL = FlowControl.IndirectCall;
const FLOW_RETURN = FlowControl.Return;
/* flows whose target is in the instruction */
const DIRECT = new Set<FlowControl>([FlowControl.Call, FlowControl.UnconditionalBranch, FlowControl.ConditionalBranch]);
const ADDR_MAX = (1n << 64n) - 1n;

let formatter: Formatter | null = null;
function fmt(): Formatter {
	if (!formatter) {
		formatter = new Formatter(FormatterSyntax.Intel);
		formatter.firstOperandCharIndex = 8;
		formatter.hexPrefix = '0x';
		formatter.hexSuffix = '';
		formatter.uppercaseHex = false;
		formatter.spaceAfterOperandSeparator = true;
		formatter.showBranchSize = false;
	}
	return formatter;
}

function unreadable(address: bigint): Instruction {
	return { address, bytes: Buffer.alloc(0), text: '??', length: 1, invalid: true, isCall: false, isReturn: false };
}

/** Decode instructions from `start` until `stop` (exclusive) or `max` instructions. */
export function decodeRange(read: ReadFn, start: bigint, max: number, stop: bigint = ADDR_MAX): Instruction[] {
	const out: Instruction[] = [];
	let addr = start;
	while (out.length < max && addr < stop) {
		const want = Math.min(Number(stop - addr < 4096n ? stop - addr + 16n : 4096n), (max - out.length) * MAX_INSN + MAX_INSN);
		const buf = read(addr, Math.max(want, MAX_INSN));
		if (buf.length === 0) {
			out.push(unreadable(addr));
			addr += 1n;
			continue;
		}
		const dec = new Decoder(64, new Uint8Array(buf), DecoderOptions.None);
		dec.ip = addr;
		let consumed = 0;
		try {
			while (dec.canDecode && out.length < max && addr < stop) {
				const insn = dec.decode();
				try {
					const len = insn.length;
					// A truncated instruction at the end of the buffer: read again from here.
					if (insn.isInvalid && consumed + MAX_INSN > buf.length && buf.length >= MAX_INSN) {
						break;
					}
					const flow = insn.flowControl;
					const row: Instruction = {
						address: addr,
						bytes: Buffer.from(buf.subarray(consumed, consumed + len)),
						text: insn.isInvalid ? '(bad)' : fmt().format(insn),
						length: len,
						invalid: insn.isInvalid,
						isCall: flow === FLOW_CALL || flow === FLOW_INDIRECT_CALL,
						isReturn: flow === FLOW_RETURN,
					};
					if (!insn.isInvalid) {
						if (DIRECT.has(flow)) row.target = BigInt.asUintN(64, insn.nearBranchTarget);
						else if (insn.isIpRelMemoryOperand) row.target = BigInt.asUintN(64, insn.ipRelMemoryAddress);
					}
					out.push(row);
					consumed += len;
					addr += BigInt(len);
				} finally {
					insn.free();
				}
			}
		} finally {
			dec.free();
		}
		if (consumed === 0) {
			// Nothing decodable (a short readable tail): one invalid row.
			out.push(unreadable(addr));
			addr += 1n;
		}
	}
	return out;
}

/** The one instruction at addr. */
export function decodeOne(read: ReadFn, addr: bigint): Instruction {
	return decodeRange(read, addr, 1)[0];
}

/**
 * `count` instructions, the first one `instructionOffset` instructions away
 * from `base` (negative: before it). `hint` is a known instruction boundary
 * at or before base (e.g. the enclosing function's start), if any.
 */
export function disassemble(read: ReadFn, base: bigint, instructionOffset: number, count: number, hint?: bigint): Instruction[] {
	if (count <= 0) {
		return [];
	}
	if (Math.abs(instructionOffset) > exactSpan(count)) {
		// Far away: the work must follow the count, not the offset (a client
		// sent ±1e9). Start at an estimated address, decoding forward from it.
		return decodeRange(read, estimate(base, instructionOffset, count), count);
	}
	const out: Instruction[] = [];
	if (instructionOffset < 0) {
		const want = -instructionOffset;
		const before = instructionsBefore(read, base, want, hint);
		// Not enough found (start of memory, unreadable): pad with invalid rows.
		const pad: Instruction[] = [];
		for (let i = want - before.length; i > 0; i--) {
			const a = (before.length ? before[0].address : base) - BigInt(i);
			pad.push(unreadable(a < 0n ? 0n : a));
		}
		out.push(...pad, ...before);
		if (out.length >= count) {
			return out.slice(0, count);
		}
		out.push(...decodeRange(read, base, count - out.length));
		return out;
	}
	const all = decodeRange(read, base, instructionOffset + count);
	return all.slice(instructionOffset);
}

/**
 * Instruction offsets up to this far from base are exact (decoded one by
 * one); farther ones start at an estimated address, so the work of one
 * request is bounded by its count whatever its offset.
 */
export function exactSpan(count: number): number {
	return Math.max(EXACT_SPAN, count);
}

export const EXACT_SPAN = 1024;
/** Bytes per instruction assumed for an estimated start (x86-64 code averages about 4). */
const AVG_INSN = 4n;

/** base + offset instructions, estimated, kept inside the address space with room for count rows. */
function estimate(base: bigint, instructionOffset: number, count: number): bigint {
	const a = base + BigInt(Math.trunc(instructionOffset)) * AVG_INSN;
	const top = ADDR_MAX - BigInt(count) * BigInt(MAX_INSN);
	return a < 0n ? 0n : a > top ? (top < 0n ? 0n : top) : a;
}

/** Up to n instructions that end exactly at base. */
function instructionsBefore(read: ReadFn, base: bigint, n: number, hint?: bigint): Instruction[] {
	const span = BigInt(n * MAX_INSN + 64);
	const lowest = base > span ? base - span : 0n;
	// A known boundary close enough: decode from it.
	if (hint !== undefined && hint <= base && base - hint <= 1n << 16n) {
		const seq = decodeRange(read, hint, 1 << 16, base);
		if (landsOn(seq, base)) {
			return seq.slice(-n);
		}
	}
	// Try every start point in [lowest, lowest + 16): keep the sequence that
	// lands on base with the most valid instructions.
	let best: Instruction[] = [];
	for (let s = lowest; s < lowest + 16n && s < base; s++) {
		const seq = decodeRange(read, s, n * MAX_INSN + 64, base);
		if (!landsOn(seq, base)) {
			continue;
		}
		const tail = seq.slice(-n);
		const score = tail.filter((i) => !i.invalid).length;
		if (score > best.filter((i) => !i.invalid).length || best.length === 0) {
			best = tail;
		}
		if (score === n && tail.length === n) {
			break;
		}
	}
	return best;
}

function landsOn(seq: Instruction[], base: bigint): boolean {
	if (seq.length === 0) {
		return false;
	}
	const last = seq[seq.length - 1];
	return last.address + BigInt(last.length) === base;
}
