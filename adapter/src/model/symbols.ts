/*
 * Symbol and line lookups in a debuggee (native "symbols"), and call
 * stacks ("stack"). Both ops may be missing from an older library:
 * then lookups answer "unknown" and stacks have one frame built from the
 * registers. No DAP types.
 */
import { TracerError } from '../engine/errors';
import type { StackFrameInfo, SymbolsRequest } from '../engine/protocol';
import { hexArg, type Tracer } from '../engine/tracer';

export interface Location {
	function: string | null;
	offset: number | null;
	module: string | null;
	file: string | null;
	line: number | null;
}

export interface Frame {
	/** Index from the innermost frame (0). */
	index: number;
	pc: bigint;
	sp: bigint | null;
	function: string | null;
	offset: number | null;
	module: string | null;
	file: string | null;
	line: number | null;
	column: number | null;
}

/** The library does not know this operation (an older libforkall). */
export function isUnknownOp(e: unknown): boolean {
	return e instanceof TracerError && e.kind === 'unknown-op';
}

export class Symbols {
	private available: boolean | null = null;
	private readonly byAddr = new Map<bigint, Location>();

	constructor(
		private readonly tracer: Tracer,
		private readonly pid: number,
	) {}

	/** Forget what was learnt about addresses (a new program: execve). */
	forget(): void {
		this.byAddr.clear();
	}

	/** false once the library said it has no symbols op. */
	get supported(): boolean {
		return this.available !== false;
	}

	/** Entry addresses of a function (empty when unknown). */
	async functionAddresses(name: string): Promise<bigint[]> {
		const body = await this.query({ function: name });
		return (body?.addresses ?? []).map((a) => BigInt(a));
	}

	/** Addresses of the code of FILE:LINE, and the line that has code (>= line). */
	async lineAddresses(file: string, line: number): Promise<{ addresses: bigint[]; line: number | null }> {
		if (!Number.isInteger(line) || line < 1 || line > 0x7fffffff) {
			return { addresses: [], line: null };
		}
		const body = await this.query({ file, line });
		return { addresses: (body?.addresses ?? []).map((a) => BigInt(a)), line: body?.line ?? null };
	}

	/** Function and source line of an address (cached; the code does not move). */
	async at(addr: bigint): Promise<Location> {
		const hit = this.byAddr.get(addr);
		if (hit) {
			return hit;
		}
		const body = await this.query({ addr: hexArg(addr) });
		const loc: Location = {
			function: body?.function ?? null,
			offset: body?.offset ?? null,
			module: body?.module ?? null,
			file: body?.file ?? null,
			line: body?.line ?? null,
		};
		if (body) {
			this.byAddr.set(addr, loc);
		}
		return loc;
	}

	private async query(q: Omit<SymbolsRequest, 'pid'>) {
		if (this.available === false) {
			return null;
		}
		try {
			const body = await this.tracer.request('symbols', { pid: this.pid, ...q });
			this.available = true;
			return body;
		} catch (e) {
			if (isUnknownOp(e)) {
				this.available = false;
				return null;
			}
			throw e;
		}
	}
}

export function frameFromInfo(index: number, f: StackFrameInfo): Frame {
	return {
		index,
		pc: BigInt(f.pc),
		sp: f.sp ? BigInt(f.sp) : null,
		function: f.function ?? null,
		offset: f.offset ?? null,
		module: f.module ?? null,
		file: f.file ?? null,
		line: f.line ?? null,
		column: f.column ?? null,
	};
}
