/*
 * Registers of one LWP (x86-64), decoded from the native "regs" body.
 * Values are bigints; names follow the kernel's user_regs_struct.
 */
import type { Hex, RegsBody, XstateComponent } from '../engine/protocol';

/** General registers in display order. */
export const GPR_NAMES = [
	'rax',
	'rbx',
	'rcx',
	'rdx',
	'rsi',
	'rdi',
	'rbp',
	'rsp',
	'r8',
	'r9',
	'r10',
	'r11',
	'r12',
	'r13',
	'r14',
	'r15',
	'rip',
	'orig_rax',
] as const;
export const SEGMENT_NAMES = ['cs', 'ss', 'ds', 'es', 'fs', 'gs', 'fs_base', 'gs_base'] as const;

/** RFLAGS single-bit flags, low bit first. */
const RFLAGS_BITS: readonly [number, string][] = [
	[0, 'CF'],
	[2, 'PF'],
	[4, 'AF'],
	[6, 'ZF'],
	[7, 'SF'],
	[8, 'TF'],
	[9, 'IF'],
	[10, 'DF'],
	[11, 'OF'],
	[14, 'NT'],
	[16, 'RF'],
	[17, 'VM'],
	[18, 'AC'],
	[19, 'VIF'],
	[20, 'VIP'],
	[21, 'ID'],
];

/**
 * Names of the flags set in an RFLAGS value, low bit first, then
 * "IOPL=n" (always listed: it is a 2-bit field, not a flag).
 */
export function decodeRflags(v: bigint): string[] {
	const out = RFLAGS_BITS.filter(([bit]) => (v >> BigInt(bit)) & 1n).map(([, name]) => name);
	out.push(`IOPL=${Number((v >> 12n) & 3n)}`);
	return out;
}

export type RoundingMode = 'nearest' | 'down' | 'up' | 'toward-zero';
const ROUNDING: readonly RoundingMode[] = ['nearest', 'down', 'up', 'toward-zero'];

export interface MxcsrInfo {
	/** Exception flags raised: IE DE ZE OE UE PE. */
	flags: string[];
	/** Exceptions masked: IM DM ZM OM UM PM. */
	masks: string[];
	rounding: RoundingMode;
	daz: boolean;
	ftz: boolean;
}

export function decodeMxcsr(v: bigint): MxcsrInfo {
	const n = Number(v & 0xffffn);
	const exc = ['I', 'D', 'Z', 'O', 'U', 'P'];
	return {
		flags: exc.filter((_, i) => (n >> i) & 1).map((e) => `${e}E`),
		masks: exc.filter((_, i) => (n >> (7 + i)) & 1).map((e) => `${e}M`),
		rounding: ROUNDING[(n >> 13) & 3],
		daz: ((n >> 6) & 1) === 1,
		ftz: ((n >> 15) & 1) === 1,
	};
}

/** x87 control word: precision and rounding control. */
export function decodeFcw(v: bigint): {
	precision: 'single' | 'reserved' | 'double' | 'extended';
	rounding: RoundingMode;
	masks: string[];
} {
	const n = Number(v & 0xffffn);
	const pc = (['single', 'reserved', 'double', 'extended'] as const)[(n >> 8) & 3];
	const exc = ['I', 'D', 'Z', 'O', 'U', 'P'];
	return { precision: pc, rounding: ROUNDING[(n >> 10) & 3], masks: exc.filter((_, i) => (n >> i) & 1).map((e) => `${e}M`) };
}

/** x87 status word: TOP and the condition/exception bits set. */
export function decodeFsw(v: bigint): { top: number; flags: string[] } {
	const n = Number(v & 0xffffn);
	const names: [number, string][] = [
		[0, 'IE'],
		[1, 'DE'],
		[2, 'ZE'],
		[3, 'OE'],
		[4, 'UE'],
		[5, 'PE'],
		[6, 'SF'],
		[7, 'ES'],
		[8, 'C0'],
		[9, 'C1'],
		[10, 'C2'],
		[14, 'C3'],
		[15, 'B'],
	];
	return { top: (n >> 11) & 7, flags: names.filter(([b]) => (n >> b) & 1).map(([, s]) => s) };
}

/**
 * The value of an 80-bit x87 extended-precision register as a JS number
 * (precision beyond a double is lost; this is for display).
 */
export function x87ToNumber(v: bigint): number {
	const mant = v & ((1n << 64n) - 1n);
	const exp = Number((v >> 64n) & 0x7fffn);
	const sign = (v >> 79n) & 1n ? -1 : 1;
	if (exp === 0 && mant === 0n) {
		return sign * 0;
	}
	if (exp === 0x7fff) {
		// Infinity when the fraction (below the integer bit) is zero, else NaN.
		return (mant & ((1n << 63n) - 1n)) === 0n ? sign * Infinity : NaN;
	}
	// value = mant * 2^(exp - 16383 - 63); denormals use exp = 1.
	const e = (exp === 0 ? 1 : exp) - 16383 - 63;
	// Keep the top 53 bits of the mantissa to stay exact in a double.
	const lead = mant === 0n ? 0 : mant.toString(2).length;
	const shift = Math.max(0, lead - 53);
	return sign * Number(mant >> BigInt(shift)) * 2 ** (e + shift);
}

/** Blocked signal names of a 64-bit kernel sigset (bit n-1 = signal n). */
export function decodeSigmask(v: bigint, signalNames: Readonly<Record<string, number>>): string[] {
	const byNumber = new Map<number, string>();
	for (const [name, num] of Object.entries(signalNames)) {
		if (!byNumber.has(num) && name !== 'SIGIOT' && name !== 'SIGPOLL') {
			byNumber.set(num, name);
		}
	}
	const out: string[] = [];
	for (let sig = 1; sig <= 64; sig++) {
		if ((v >> BigInt(sig - 1)) & 1n) {
			// glibc reserves 32 and 33; SIGRTMIN as seen by programs is 34.
			out.push(byNumber.get(sig) ?? (sig >= 34 ? `SIGRTMIN+${sig - 34}` : `SIG${sig}`));
		}
	}
	return out;
}

function big(h: Hex): bigint {
	return BigInt(h);
}

export interface Fpu {
	fcw: bigint;
	fsw: bigint;
	ftw: bigint;
	fop: bigint;
	fip: bigint;
	fdp: bigint;
	mxcsr: bigint;
	mxcsrMask: bigint;
	/** st0..st7, 80-bit raw values. */
	st: bigint[];
}

export interface VectorRegs {
	xmm: bigint[];
	ymm: bigint[] | null;
	k: bigint[] | null;
	zmm: bigint[] | null;
}

export class Registers {
	readonly pid: number;
	readonly tid: number;
	/** General, segment and base registers by name (eflags included). */
	readonly gpr: ReadonlyMap<string, bigint>;
	readonly fpu: Fpu;
	readonly vector: VectorRegs;
	readonly xstate: { size: number; xcr0: bigint; xstateBv: bigint; components: XstateComponent[] } | null;
	/** null when the kernel would not say (PTRACE_GETSIGMASK failed) */
	readonly sigmask: bigint | null;

	constructor(readonly raw: RegsBody) {
		this.pid = raw.pid;
		this.tid = raw.tid;
		this.gpr = new Map(Object.entries(raw.gpr).map(([k, v]) => [k, big(v)]));
		const f = raw.fpu;
		this.fpu = {
			fcw: big(f.fcw),
			fsw: big(f.fsw),
			ftw: big(f.ftw),
			fop: big(f.fop),
			fip: big(f.fip),
			fdp: big(f.fdp),
			mxcsr: big(f.mxcsr),
			mxcsrMask: big(f.mxcsr_mask),
			st: f.st.map(big),
		};
		const v = raw.vector;
		this.vector = {
			xmm: v.xmm.map(big),
			ymm: v.ymm ? v.ymm.map(big) : null,
			k: v.k ? v.k.map(big) : null,
			zmm: v.zmm ? v.zmm.map(big) : null,
		};
		this.xstate = raw.xstate
			? {
					size: raw.xstate.size,
					xcr0: big(raw.xstate.xcr0),
					xstateBv: big(raw.xstate.xstate_bv),
					components: raw.xstate.components,
				}
			: null;
		this.sigmask = raw.sigmask === null ? null : big(raw.sigmask);
	}

	/** A general/segment register by name; throws on an unknown name. */
	get(name: string): bigint {
		const v = this.gpr.get(name);
		if (v === undefined) {
			throw new Error(`no register ${name}`);
		}
		return v;
	}

	get pc(): bigint {
		return this.get('rip');
	}
	get sp(): bigint {
		return this.get('rsp');
	}
	get rflags(): bigint {
		return this.get('eflags');
	}

	decodeRflags(): string[] {
		return decodeRflags(this.rflags);
	}

	get iopl(): number {
		return Number((this.rflags >> 12n) & 3n);
	}

	decodeMxcsr(): MxcsrInfo {
		return decodeMxcsr(this.fpu.mxcsr);
	}
}
