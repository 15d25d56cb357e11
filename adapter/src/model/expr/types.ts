/*
 * C types as the expression evaluator sees them (x86-64, LP64): scalars it
 * computes with, and aggregates it only lays out. Types from DWARF carry
 * their id (`id`, what the native side formats memory with) and the name
 * they were declared with (`label`: a typedef's name, `const char *`).
 * Pointee, element and member types may be references to a DWARF type not
 * fetched yet (`{ ref }`): linked structures stay finite.
 */

export interface Named {
	/** the DWARF type this is (native `typeInfo`/`typedValue`); absent: made here */
	id?: string;
	/** the C name to show (typedefs kept); absent: made from the structure */
	label?: string;
}

export type IntType = Named & { kind: 'int'; name: string; size: number; signed: boolean; char?: boolean; bool?: boolean };
export type FloatType = Named & { kind: 'float'; name: string; size: number };
export type PointerType = Named & { kind: 'pointer'; target: TypeRef };
export type ArrayType = Named & { kind: 'array'; elem: TypeRef; count: number | null };
export interface Field {
	name: string | null;
	offset: number;
	/** bit-fields: width and offset in bits from the start of the record */
	bitSize?: number;
	bitOffset?: number;
	type: TypeRef;
}
export type RecordType = Named & { kind: 'record'; union: boolean; name: string | null; size: number; fields: Field[] };
export type EnumType = Named & { kind: 'enum'; name: string | null; size: number; signed: boolean; values: [string, bigint][] };
/** name: the whole C type ("int (int)"); ret + params: its parts, for declarators ("int (*)(int)") */
export type FunctionType = Named & { kind: 'function'; name: string; ret?: string; params?: string; symbol?: string };
export type VoidType = Named & { kind: 'void' };

export type CType = IntType | FloatType | PointerType | ArrayType | RecordType | EnumType | FunctionType | VoidType;
/** A type, or the id of a DWARF type to fetch when needed. */
export type TypeRef = CType | { ref: string };

export const VOID: VoidType = { kind: 'void' };
const int = (name: string, size: number, signed: boolean, extra: Partial<IntType> = {}): IntType => ({
	kind: 'int',
	name,
	size,
	signed,
	...extra,
});
export const INT = int('int', 4, true);
export const UINT = int('unsigned int', 4, false);
export const LONG = int('long', 8, true);
export const ULONG = int('unsigned long', 8, false);
export const LLONG = int('long long', 8, true);
export const ULLONG = int('unsigned long long', 8, false);
export const CHAR = int('char', 1, true, { char: true });
export const BOOL = int('_Bool', 1, false, { bool: true });
export const DOUBLE: FloatType = { kind: 'float', name: 'double', size: 8 };
export const FLOAT: FloatType = { kind: 'float', name: 'float', size: 4 };
export const LDOUBLE: FloatType = { kind: 'float', name: 'long double', size: 16 };

/** C's base types by their canonical spelling, and the <stdint.h>/<stddef.h> names (LP64). */
export const BUILTIN: ReadonlyMap<string, CType> = new Map<string, CType>([
	['void', VOID],
	['char', CHAR],
	['signed char', int('signed char', 1, true, { char: true })],
	['unsigned char', int('unsigned char', 1, false, { char: true })],
	['short', int('short', 2, true)],
	['unsigned short', int('unsigned short', 2, false)],
	['int', INT],
	['unsigned int', UINT],
	['long', LONG],
	['unsigned long', ULONG],
	['long long', LLONG],
	['unsigned long long', ULLONG],
	['_Bool', BOOL],
	['bool', BOOL],
	['float', FLOAT],
	['double', DOUBLE],
	['long double', LDOUBLE],
	...(
		[
			['int8_t', 1, true],
			['uint8_t', 1, false],
			['int16_t', 2, true],
			['uint16_t', 2, false],
			['int32_t', 4, true],
			['uint32_t', 4, false],
			['int64_t', 8, true],
			['uint64_t', 8, false],
			['intptr_t', 8, true],
			['uintptr_t', 8, false],
			['size_t', 8, false],
			['ssize_t', 8, true],
			['ptrdiff_t', 8, true],
			['off_t', 8, true],
			['pid_t', 4, true],
		] as const
	).map(([n, s, sg]): [string, CType] => [n, int(n, s, sg)]),
]);

export function pointerTo(t: TypeRef): PointerType {
	return { kind: 'pointer', target: t };
}

export function isScalar(t: CType): boolean {
	return t.kind === 'int' || t.kind === 'float' || t.kind === 'enum' || t.kind === 'pointer';
}

export function isInteger(t: CType): t is IntType | EnumType {
	return t.kind === 'int' || t.kind === 'enum';
}

/** The C name of a type, with an optional declarator inside (`int *[3]`, `char (*)[4]`). */
export function typeName(t: TypeRef, inner = ''): string {
	if ('ref' in t) return `?${inner ? ` ${inner}` : ''}`;
	if (t.label) return join(t.label, inner);
	switch (t.kind) {
		case 'pointer': {
			const ti = 'ref' in t.target ? null : t.target;
			const wrap = ti && (ti.kind === 'array' || ti.kind === 'function') && !ti.label;
			return typeName(t.target, wrap ? `(*${inner})` : `*${inner}`);
		}
		case 'array':
			return typeName(t.elem, `${inner}[${t.count ?? ''}]`);
		case 'record':
			return join(`${t.union ? 'union' : 'struct'} ${t.name ?? '{...}'}`, inner);
		case 'enum':
			return join(`enum ${t.name ?? '{...}'}`, inner);
		case 'function':
			if (t.ret !== undefined && t.params !== undefined)
				return `${t.ret}${inner ? `${t.ret.endsWith('*') ? '' : ' '}${inner}` : ' '}${t.params}`;
			return join(t.name, inner);
		case 'void':
			return join('void', inner);
		default:
			return join(t.name, inner);
	}
}

function join(base: string, inner: string): string {
	return inner ? `${base} ${inner}` : base;
}

/** The type of a function designator: from its C type text ("int (int)"; null: no DWARF, as gdb says it). */
export function functionType(text: string | null, symbol: string): FunctionType {
	if (text === null) return { kind: 'function', name: '<text variable, no debug info>', symbol };
	// the parameter list: the balanced (...) at the end
	let depth = 0;
	for (let i = text.length - 1; i >= 0; i--) {
		if (text[i] === ')') depth++;
		else if (text[i] === '(' && --depth === 0) {
			return { kind: 'function', name: text, ret: text.slice(0, i).trimEnd(), params: text.slice(i), symbol };
		}
	}
	return { kind: 'function', name: text, symbol };
}
