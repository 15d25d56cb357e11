/*
 * The program's DWARF types as evaluator types (types.ts), fetched from
 * the native side (`typeInfo`) once per id or name and kept until the
 * program changes (exec): ids name a module's DIEs.
 */
import type { Tracer } from '../../engine/tracer';
import type { TypeLayout } from '../../engine/protocol';
import { BOOL, VOID, type CType, type Field, type TypeRef } from './types';
import type { TypeTag } from './eval';

export class TypeTable {
	private readonly byId = new Map<string, Promise<CType>>();
	private readonly byName = new Map<string, Promise<CType | null>>();
	private readonly misses = new Set<string>();

	constructor(
		private readonly tracer: Tracer,
		private readonly pid: number,
	) {}

	clear(): void {
		this.byId.clear();
		this.byName.clear();
	}

	/** After the program ran: a name not found may be found now (dlopen); what was found stays (ids name loaded modules). */
	forgetMisses(): void {
		for (const k of this.misses) this.byName.delete(k);
		this.misses.clear();
	}

	type(id: string): Promise<CType> {
		let p = this.byId.get(id);
		if (!p) {
			p = this.tracer.request('typeInfo', { pid: this.pid, id: id as `${string}:${string}` }).then((b) => {
				if (!b.type) throw new Error(`no type ${id}`);
				return this.fromLayout(b.type);
			});
			p.catch(() => this.byId.delete(id));
			this.byId.set(id, p);
		}
		return p;
	}

	/** A struct/union/enum/typedef by name, or (tag "enumerator") the enum that has that enumerator. */
	named(tag: TypeTag | 'enumerator', name: string): Promise<CType | null> {
		const key = `${tag} ${name}`;
		let p = this.byName.get(key);
		if (!p) {
			p = this.tracer.request('typeInfo', { pid: this.pid, name, tag }).then((b) => {
				if (!b.type) this.misses.add(key);
				return b.type ? this.fromLayout(b.type) : null;
			});
			p.catch(() => this.byName.delete(key));
			this.byName.set(key, p);
		}
		return p;
	}

	private async fromLayout(l: TypeLayout): Promise<CType> {
		const ref = (id: string | null | undefined): TypeRef => (id ? { ref: id } : VOID);
		const size = l.size ?? 0;
		switch (l.kind) {
			case 'base':
				switch (l.encoding) {
					case 'float':
						return { kind: 'float', name: l.name, size, id: l.id };
					case 'bool':
						return { ...BOOL, name: l.name, size, id: l.id };
					case 'signedChar':
					case 'unsignedChar':
						return { kind: 'int', name: l.name, size, signed: l.encoding === 'signedChar', char: size === 1, id: l.id };
					default:
						return { kind: 'int', name: l.name, size, signed: l.encoding === 'signed', id: l.id };
				}
			case 'pointer':
				return { kind: 'pointer', target: ref(l.target), id: l.id, label: l.name };
			case 'typedef':
			case 'qualified': {
				const t = l.target ? await this.type(l.target) : VOID;
				return { ...t, id: l.id, label: l.name };
			}
			case 'struct':
			case 'union':
				return {
					kind: 'record',
					union: l.kind === 'union',
					name: l.name.replace(/^(struct|union) /, ''),
					size,
					id: l.id,
					fields: (l.fields ?? []).map((f): Field => ({
						name: f.name,
						offset: f.offset,
						type: ref(f.type),
						...(f.bitSize !== undefined ? { bitSize: f.bitSize, bitOffset: f.bitOffset ?? f.offset * 8 } : {}),
					})),
				};
			case 'enum':
				return {
					kind: 'enum',
					name: l.name.replace(/^enum /, ''),
					size: size || 4,
					signed: l.signed ?? false,
					id: l.id,
					values: (l.enumerators ?? []).map((e): [string, bigint] => [e.name, BigInt(e.value)]),
				};
			case 'array': {
				const dims = l.dims?.length ? l.dims : [-1];
				let t: TypeRef = ref(l.target);
				for (let i = dims.length - 1; i >= 0; i--) t = { kind: 'array', elem: t, count: dims[i] >= 0 ? dims[i] : null };
				return { ...(t as CType), id: l.id, label: l.name };
			}
			case 'function':
				return { kind: 'function', name: l.name, id: l.id };
			default:
				return { kind: 'void', id: l.id, label: l.name };
		}
	}
}
