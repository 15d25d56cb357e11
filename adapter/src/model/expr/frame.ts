/*
 * The evaluator's target for one frame of one stopped thread of a
 * Debuggee: its variables (native `frameVars`: innermost scope first, so
 * an inner name shadows an outer one), then globals and statics of every
 * module (`global`), enumerators, registers (the frame's pc and sp; the
 * others are the thread's), memory, the program's types, and writes for
 * setExpression (memory; registers only in the innermost frame).
 */
import type { FileScopeBody, FrameVar } from '../../engine/protocol';
import type { Variable } from '../debuggee';
import type { Registers } from '../registers';
import { ExprError } from './lexer';
import type { ExprTarget, Place, TypeTag } from './eval';
import type { ShowTarget } from './display';
import type { TypeTable } from './typetable';
import { INT, LONG, ULONG, VOID, functionType, pointerTo, type CType, type EnumType, type TypeRef } from './types';

/** What a FrameTarget needs of a Debuggee (stopped). */
export interface FrameSource {
	frameVars(tid: number, frame: number): Promise<{ variables: FrameVar[] }>;
	/** The global or static called `name` (that of pc's compilation unit first): its type's id and address. */
	globalPlace(name: string, pc?: bigint): Promise<{ typeId: string; address: bigint } | null>;
	/** The functions and constants called `name` (pc's compilation unit first). */
	fileScope(name: string, pc?: bigint): Promise<FileScopeBody>;
	/** The function an address is in, and how far into it. */
	locate(addr: bigint): Promise<{ function: string | null; offset: number | null }>;
	registers(tid: number): Promise<Registers>;
	framePcSp(tid: number, frame: number): Promise<{ pc: bigint; sp: bigint | null }>;
	readRaw(addr: bigint, n: number): Buffer;
	readonly types: TypeTable;
	typedValue(id: string, where: { address: bigint } | { bytes: Buffer }, name: string, expr: string, count?: number): Promise<Variable>;
	writeMemory(addr: bigint, data: Uint8Array): number;
	writeRegister(tid: number, name: string, value: bigint): Promise<void>;
}

const CODE_PTR: CType = { kind: 'pointer', target: { kind: 'function', name: 'void ()' }, label: 'void (*)()' };
const DATA_PTR: CType = { ...pointerTo(VOID), label: 'void *' };
const ALIAS: Record<string, string> = { pc: 'rip', sp: 'rsp', fp: 'rbp', rflags: 'eflags' };
const SUB32 = /^e(ax|bx|cx|dx|si|di|bp|sp)$|^r(8|9|1[0-5])d$/;

export class FrameTarget implements ExprTarget, ShowTarget {
	private vars: Promise<{ variables: FrameVar[] }> | null = null;

	/** tid null: no thread selected (globals and types only). */
	constructor(
		private readonly d: FrameSource,
		private readonly tid: number | null,
		private readonly frame: number,
	) {}

	async variable(name: string): Promise<{ type: TypeRef; place: Place } | null> {
		if (this.tid !== null) {
			this.vars ??= this.d.frameVars(this.tid, this.frame);
			const v = (await this.vars).variables.find((x) => x.name === name);
			if (v) return { type: v.type ? { ref: v.type } : VOID, place: this.placeOf(v) };
		}
		if (!/^[A-Za-z_]\w*$/.test(name)) return null;
		// file scope: the frame's compilation unit first (a caller's pc is a return address: pc - 1 is in its call)
		const pc = this.tid === null ? undefined : (await this.d.framePcSp(this.tid, this.frame)).pc - (this.frame > 0 ? 1n : 0n);
		const g = await this.d.globalPlace(name, pc);
		return g ? { type: { ref: g.typeId }, place: { at: 'mem', addr: g.address } } : null;
	}

	/** A constant (DW_AT_const_value: `static const int X = 5;` folded away), else a function: its entry. */
	async fileScope(name: string): Promise<{ type: TypeRef; place: Place } | null> {
		if (!/^[A-Za-z_]\w*$/.test(name)) return null;
		const pc = this.tid === null ? undefined : (await this.d.framePcSp(this.tid, this.frame)).pc - (this.frame > 0 ? 1n : 0n);
		const f = await this.d.fileScope(name, pc).catch(() => null);
		const c = f?.constants[0];
		if (c) {
			const note = `${name} is a constant (it has no address in the program): it cannot be written or watched`;
			return { type: { ref: c.type }, place: { at: 'bytes', bytes: Buffer.from(c.bytes, 'hex'), note } };
		}
		const fn = f?.functions[0];
		if (fn) return { type: functionType(fn.type, fn.name), place: { at: 'mem', addr: BigInt(fn.address) } };
		return null;
	}

	/** "main", "main+4": the function an address is in (null: none known). */
	async symbolAt(addr: bigint): Promise<string | null> {
		const l = await this.d.locate(addr);
		return l.function ? (l.offset ? `${l.function}+${l.offset}` : l.function) : null;
	}

	private placeOf(v: FrameVar): Place {
		if (v.unavailable) return { at: 'none', why: v.unavailable };
		if (v.address) return { at: 'mem', addr: BigInt(v.address) };
		const bytes = Buffer.from(v.bytes ?? '', 'hex');
		if (v.register && this.frame === 0) return { at: 'reg', reg: v.register, bytes };
		if (v.register)
			return {
				at: 'bytes',
				bytes,
				note: `${v.name} is in register ${v.register} of a caller: only the innermost frame's registers can be written`,
			};
		return { at: 'bytes', bytes, note: `${v.name} is not in memory here (a constant or a computed value): it cannot be written` };
	}

	async enumerator(name: string): Promise<{ type: EnumType; value: bigint } | null> {
		const t = await this.d.types.named('enumerator', name);
		if (!t || t.kind !== 'enum') return null;
		const hit = t.values.find(([n]) => n === name);
		return hit ? { type: t, value: hit[1] } : null;
	}

	async register(name: string): Promise<{ value: bigint; type: CType } | null> {
		if (name === '_tid') return this.tid === null ? null : { value: BigInt(this.tid), type: INT };
		if (this.tid === null) return null;
		const n = ALIAS[name] ?? name;
		if (n === 'rip' || n === 'rsp') {
			const f = await this.d.framePcSp(this.tid, this.frame);
			const v = n === 'rip' ? f.pc : f.sp;
			if (v !== null) return { value: v, type: n === 'rip' ? CODE_PTR : DATA_PTR };
		}
		const r = await this.d.registers(this.tid);
		if (SUB32.test(n)) {
			const full = n.startsWith('e') ? `r${n.slice(1)}` : n.slice(0, -1);
			const v = r.gpr.get(full);
			return v === undefined ? null : { value: BigInt.asIntN(32, v), type: INT };
		}
		const v = r.gpr.get(n);
		if (v === undefined) return null;
		return { value: v, type: n === 'rbp' ? DATA_PTR : n === 'rip' ? CODE_PTR : n === 'rsp' ? DATA_PTR : n === 'eflags' ? ULONG : LONG };
	}

	async read(addr: bigint, n: number): Promise<Buffer> {
		const b = this.d.readRaw(addr, n);
		if (b.length < n) throw new ExprError(`cannot read memory at 0x${(addr + BigInt(b.length)).toString(16)}`);
		return b;
	}

	readSome(addr: bigint, n: number): Buffer {
		return this.d.readRaw(addr, n);
	}

	type(id: string): Promise<CType> {
		return this.d.types.type(id);
	}

	typeNamed(tag: TypeTag, name: string): Promise<CType | null> {
		return this.d.types.named(tag, name);
	}

	typed(id: string, where: { address: bigint } | { bytes: Buffer }, name: string, expr: string, count?: number): Promise<Variable> {
		return this.d.typedValue(id, where, name, expr, count);
	}

	async write(addr: bigint, bytes: Buffer): Promise<void> {
		const n = this.d.writeMemory(addr, bytes);
		if (n !== bytes.length) throw new ExprError(`cannot write memory at 0x${(addr + BigInt(n)).toString(16)}`);
	}

	async writeRegister(reg: string, value: bigint): Promise<void> {
		if (this.tid === null) throw new ExprError('no thread selected: cannot write a register');
		if (this.frame !== 0) throw new ExprError(`registers can be written in the innermost frame only (this is frame ${this.frame})`);
		const n = ALIAS[reg] ?? reg;
		if (SUB32.test(n) || n === '_tid') throw new ExprError(`$${reg} cannot be written (write the whole 64-bit register)`);
		await this.d.writeRegister(this.tid, n, value);
	}
}
