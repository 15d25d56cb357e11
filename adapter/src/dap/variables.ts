/*
 * The Locals, Registers and LWP scopes as trees of plain nodes; the session turns
 * nodes with children into variablesReferences. Values come from the model
 * (Registers, Lwp); formatting lives here.
 */
import * as os from 'node:os';
import { formatSize, hex, hexGroups, hexPad } from '../common/format';
import { syscallName } from '../common/syscalls';
import {
	GPR_NAMES,
	decodeFcw,
	decodeFsw,
	decodeMxcsr,
	decodeRflags,
	decodeSigmask,
	x87ToNumber,
	scalarType,
	showWatched,
	type Lwp,
	type Registers,
	type Variable,
} from '../model';

export interface VarNode {
	name: string;
	value: string;
	type?: string;
	memoryReference?: string;
	/** Sub-nodes, possibly computed on first expansion. */
	children?: VarNode[] | (() => Promise<VarNode[]>);
	/** Number of children, when known up front. */
	named?: number;
	/** An expression for the node (locals: "pt.x", "numbers[2]"). */
	evaluateName?: string;
	/** dataBreakpointInfo: the bytes a data breakpoint on this node watches ("0x…/8"), or why not; how they read. */
	data?: { dataId: string | null; description: string; show?: (b: Buffer) => string };
	/** setVariable: write `text` (C conversions) and say what it reads now. Absent: read-only. */
	assign?: (text: string) => Promise<{ value: string; type?: string }>;
}

/** How a Locals node writes its variable (Debuggee.assign bound to a frame). */
export type VariableWriter = (v: Variable, text: string) => Promise<Variable>;
/** How a Registers node writes a general register (Debuggee.assignRegister bound to a thread). */
export type RegisterWriter = (name: string, text: string) => Promise<bigint>;

const SEGMENTS = ['cs', 'ss', 'ds', 'es', 'fs', 'gs'] as const;

/** A frame variable (DWARF) and its members/elements/pointee. The memory
 * reference is where a pointer points, else where the variable is. */
function localNode(v: Variable, write?: VariableWriter): VarNode {
	const n: VarNode = { name: v.name, value: v.value, type: v.type };
	if (v.expr) n.evaluateName = v.expr;
	const mem = v.pointer !== null && v.pointer !== 0n ? v.pointer : v.address;
	if (mem !== null) n.memoryReference = hex(mem);
	const what = v.expr ?? v.name;
	n.data =
		v.address === null
			? { dataId: null, description: `${what} is not in memory (a register, or computed): nothing to watch` }
			: v.size && [1, 2, 4, 8].includes(v.size) && v.address % BigInt(v.size) === 0n
				? {
						dataId: `${hex(v.address)}/${v.size}`,
						description: `${what} (${v.size} bytes at ${hex(v.address)})`,
						show: (b: Buffer) => showWatched(scalarType(v.rawKind, b.length), b),
					}
				: {
						dataId: null,
						description: `${what}: the hardware watches 1, 2, 4 or 8 aligned bytes (a member or element of it can be watched)`,
					};
	if (v.children) {
		n.children = localNodes(v.children, write);
		n.named = v.children.length;
	} else if (write && v.rawKind && (v.size || v.expr) && (v.address !== null || v.expr)) {
		n.assign = async (text) => {
			const now = await write(v, text);
			return { value: now.value, type: now.type };
		};
	}
	return n;
}

/** The Locals scope: parameters and locals of a frame (writable scalars in memory with `write`). */
export function localNodes(vars: Variable[], write?: VariableWriter): VarNode[] {
	return vars.map((v) => localNode(v, write));
}

function gpr(name: string, v: bigint, write?: RegisterWriter): VarNode {
	const n: VarNode = { name, value: hexPad(v, 16), type: 'uint64', memoryReference: hex(v) };
	if (write) n.assign = async (text) => ({ value: hexPad(await write(name, text), 16), type: 'uint64' });
	return n;
}

function group(name: string, children: VarNode[]): VarNode {
	return { name, value: `${children.length} registers`, children, named: children.length };
}

/** Register groups: General, rflags, Segments, x87, SSE, AVX, AVX-512. */
export function registerGroups(r: Registers, write?: RegisterWriter): VarNode[] {
	const groups: VarNode[] = [];
	groups.push(
		group(
			'General',
			GPR_NAMES.filter((n) => r.gpr.has(n)).map((n) => gpr(n, r.get(n), write)),
		),
	);

	const fl = r.rflags;
	const set = decodeRflags(fl);
	const bits: [string, number][] = [
		['CF', 0],
		['PF', 2],
		['AF', 4],
		['ZF', 6],
		['SF', 7],
		['TF', 8],
		['IF', 9],
		['DF', 10],
		['OF', 11],
		['NT', 14],
		['RF', 16],
		['AC', 18],
		['ID', 21],
	];
	const flagNodes: VarNode[] = bits.map(([n, b]) => ({ name: n, value: String(Number((fl >> BigInt(b)) & 1n)), type: 'bit' }));
	flagNodes.push({ name: 'IOPL', value: String(r.iopl), type: 'uint2' });
	groups.push({
		name: 'rflags',
		value: `${hexPad(fl, 8)} [${set.filter((s) => !s.startsWith('IOPL')).join(' ')}]`,
		type: 'uint64',
		children: flagNodes,
		named: flagNodes.length,
	});

	const seg: VarNode[] = SEGMENTS.filter((n) => r.gpr.has(n)).map((n) => ({ name: n, value: hexPad(r.get(n), 4), type: 'uint16' }));
	for (const n of ['fs_base', 'gs_base']) {
		if (r.gpr.has(n)) seg.push(gpr(n, r.get(n)));
	}
	groups.push(group('Segments', seg));

	const f = r.fpu;
	const fcw = decodeFcw(f.fcw);
	const fsw = decodeFsw(f.fsw);
	const x87: VarNode[] = [
		{ name: 'fcw', value: `${hexPad(f.fcw, 4)} (${fcw.precision}, round ${fcw.rounding})`, type: 'uint16' },
		{ name: 'fsw', value: `${hexPad(f.fsw, 4)} (TOP=${fsw.top}${fsw.flags.length ? ` ${fsw.flags.join(' ')}` : ''})`, type: 'uint16' },
		{ name: 'ftw', value: hexPad(f.ftw, 4), type: 'uint16' },
		{ name: 'fop', value: hexPad(f.fop, 4), type: 'uint16' },
		{ name: 'fip', value: hexPad(f.fip, 16), type: 'uint64' },
		{ name: 'fdp', value: hexPad(f.fdp, 16), type: 'uint64' },
		...f.st.map((v, i) => ({ name: `st${i}`, value: `${x87ToNumber(v)} (${hexPad(v, 20)})`, type: 'float80' })),
	];
	groups.push(group('x87', x87));

	const mx = decodeMxcsr(f.mxcsr);
	const sse: VarNode[] = [
		{
			name: 'mxcsr',
			value:
				`${hexPad(f.mxcsr, 8)} (round ${mx.rounding}${mx.flags.length ? ` ${mx.flags.join(' ')}` : ''}` +
				`${mx.daz ? ' DAZ' : ''}${mx.ftz ? ' FTZ' : ''})`,
			type: 'uint32',
		},
		...r.vector.xmm.map((v, i) => ({ name: `xmm${i}`, value: hexGroups(v, 32), type: 'uint128' })),
	];
	groups.push(group('SSE', sse));
	if (r.vector.ymm) {
		groups.push(
			group(
				'AVX',
				r.vector.ymm.map((v, i) => ({ name: `ymm${i}`, value: hexGroups(v, 64), type: 'uint256' })),
			),
		);
	}
	if (r.vector.zmm || r.vector.k) {
		const z: VarNode[] = [
			...(r.vector.zmm ?? []).map((v, i) => ({ name: `zmm${i}`, value: hexGroups(v, 128), type: 'uint512' })),
			...(r.vector.k ?? []).map((v, i) => ({ name: `k${i}`, value: hexPad(v, 16), type: 'uint64' })),
		];
		groups.push(group('AVX-512', z));
	}
	return groups;
}

/**
 * DAP thread name, short enough for a ~300 px Call Stack: the thread's name
 * and tid first, then what it is blocked in, if anything: `waiter (29500)
 * in futex`. The pthread_t, state and stack are in the LWP scope and the LWP
 * view; a stop state is not repeated (VS Code shows "Paused on …" itself).
 */
export function threadLabel(l: Lwp): string {
	const act = l.syscall !== null ? `in ${syscallName(l.syscall)}` : l.state === 'D' ? 'uninterruptible' : l.state === 'Z' ? 'zombie' : '';
	return `${l.name} (${l.tid})${act ? ` ${act}` : ''}`;
}

/** The LWP scope: kernel-thread facts. `regs` (when stopped) adds the signal mask. */
export function lwpNodes(l: Lwp, regs: Registers | null): VarNode[] {
	const out: VarNode[] = [
		{ name: 'tid', value: String(l.tid), type: 'pid_t' },
		{ name: 'name', value: JSON.stringify(l.name), type: 'comm' },
		{
			name: 'pthread_t',
			value: l.pthread === null ? '(not a glibc thread)' : hex(l.pthread),
			type: 'pthread_t',
			...(l.pthread !== null ? { memoryReference: hex(l.pthread) } : {}),
		},
		{ name: 'state', value: `${l.state} (${l.stateName})`, type: 'char' },
		{ name: 'syscall', value: l.syscall === null ? '(none)' : `${syscallName(l.syscall)} (${l.syscall})`, type: 'int' },
		{ name: 'pc', value: hex(l.pc), type: 'void *', memoryReference: hex(l.pc) },
		{ name: 'sp', value: hex(l.sp), type: 'void *', memoryReference: hex(l.sp) },
	];
	if (l.stack) {
		const s = l.stack;
		out.push(
			{ name: 'stack low', value: hex(s.low), type: 'void *', memoryReference: hex(s.low) },
			{ name: 'stack high', value: hex(s.high), type: 'void *', memoryReference: hex(s.high) },
			{ name: 'stack size', value: formatSize(s.high - s.low), type: 'size_t' },
			{ name: 'stack guard', value: formatSize(s.guard), type: 'size_t' },
			{
				name: 'SP depth',
				value: l.spInStack ? `${s.high - l.sp} bytes` : 'SP outside the stack (alternate signal stack?)',
				type: 'size_t',
			},
		);
	}
	if (l.fsBase !== null) {
		out.push({ name: 'TLS base (fs_base)', value: hex(l.fsBase), type: 'void *', memoryReference: hex(l.fsBase) });
	}
	if (regs && regs.sigmask !== null) {
		const names = decodeSigmask(regs.sigmask, os.constants.signals);
		out.push({
			name: 'signal mask',
			value: `${hexPad(regs.sigmask, 16)}${names.length ? ` [${names.join(' ')}]` : ''}`,
			type: 'sigset_t',
		});
	}
	return out;
}

export { syscallName };
