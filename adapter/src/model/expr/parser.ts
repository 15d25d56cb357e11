/*
 * A C expression to a tree: C's precedence, gdb's `@` (between shifts and
 * additive operators, as in gdb's grammar), casts and sizeof with type
 * names, and `=` (setExpression only: the evaluator refuses it elsewhere).
 * A parenthesized name is a type when `isType` says so (typedefs come
 * from the program's DWARF), as a C compiler decides with its symbol table.
 */
import { ExprError, tokenize, type Token } from './lexer';

export type BaseSpec =
	{ k: 'builtin'; name: string } | { k: 'tag'; tag: 'struct' | 'union' | 'enum'; name: string } | { k: 'typedef'; name: string };
export interface TypeSpec {
	base: BaseSpec;
	/** pointer levels after the specifiers (`char **`: 2) */
	ptrs: number;
	/** array dimensions after those (`int [3][2]`), outermost first */
	dims: number[];
	/** a pointer to a function (`int (*)(int, char *)`): base + ptrs is what it returns; `ptrs` levels of pointer to it */
	fn?: { params: TypeSpec[]; ptrs: number };
}

export type Node =
	| { k: 'int'; v: bigint; unsigned: boolean; long: boolean; decimal: boolean }
	| { k: 'char'; v: bigint }
	| { k: 'float'; v: number; single: boolean }
	| { k: 'str'; v: Buffer }
	| { k: 'id'; name: string }
	| { k: 'reg'; name: string }
	/** gdb's convenience functions ($_streq, $_strlen), evaluated by the debugger */
	| { k: 'call'; name: string; args: Node[] }
	| { k: 'unary'; op: '-' | '+' | '!' | '~' | '*' | '&'; e: Node }
	| { k: 'binary'; op: string; l: Node; r: Node }
	| { k: 'cond'; c: Node; t: Node; f: Node }
	| { k: 'cast'; type: TypeSpec; e: Node }
	| { k: 'sizeofType'; type: TypeSpec }
	| { k: 'sizeofExpr'; e: Node }
	| { k: 'member'; e: Node; name: string; arrow: boolean }
	| { k: 'index'; e: Node; i: Node }
	| { k: 'assign'; l: Node; r: Node };

const LEVELS: string[][] = [
	['||'],
	['&&'],
	['|'],
	['^'],
	['&'],
	['==', '!='],
	['<', '>', '<=', '>='],
	['<<', '>>'],
	['@'],
	['+', '-'],
	['*', '/', '%'],
];

const TYPE_WORDS = new Set([
	'void',
	'char',
	'short',
	'int',
	'long',
	'float',
	'double',
	'signed',
	'unsigned',
	'_Bool',
	'bool',
	'const',
	'volatile',
	'restrict',
	'struct',
	'union',
	'enum',
]);

/** Identifiers that may name a typedef: right after `(` (a cast or sizeof). Asked about before parsing. */
export function typeCandidates(src: string): string[] {
	const toks = tokenize(src);
	const out = new Set<string>();
	for (let i = 1; i < toks.length; i++) {
		const p = toks[i - 1];
		const t = toks[i];
		if (p.t === 'op' && p.v === '(' && t.t === 'id' && !TYPE_WORDS.has(t.v)) out.add(t.v);
	}
	return [...out];
}

export function parse(src: string, isType: (name: string) => boolean = () => false): Node {
	const toks = tokenize(src);
	let i = 0;
	const peek = (): Token => toks[i];
	const isOp = (v: string, t: Token = toks[i]): boolean => t.t === 'op' && t.v === v;
	const describe = (t: Token): string =>
		t.t === 'end' ? 'the end' : `"${src.slice(t.pos, toks[toks.indexOf(t) + 1]?.pos ?? src.length).trim()}"`;
	const expect = (v: string): void => {
		if (!isOp(v)) throw new ExprError(`expected "${v}" but found ${describe(peek())} at ${peek().pos + 1}`);
		i++;
	};
	const startsType = (t: Token): boolean => t.t === 'id' && (TYPE_WORDS.has(t.v) || isType(t.v));

	function typeSpec(): TypeSpec {
		const words: string[] = [];
		let base: BaseSpec | null = null;
		for (;;) {
			const t = peek();
			if (t.t !== 'id') break;
			if (t.v === 'const' || t.v === 'volatile' || t.v === 'restrict') {
				i++;
				continue;
			}
			if (t.v === 'struct' || t.v === 'union' || t.v === 'enum') {
				i++;
				const n = peek();
				if (n.t !== 'id') throw new ExprError(`expected a name after "${t.v}"`);
				i++;
				base = { k: 'tag', tag: t.v, name: n.v };
				continue;
			}
			if (TYPE_WORDS.has(t.v)) {
				words.push(t.v);
				i++;
				continue;
			}
			if (!base && words.length === 0 && isType(t.v)) {
				base = { k: 'typedef', name: t.v };
				i++;
				continue;
			}
			break;
		}
		if (base && words.length)
			throw new ExprError(`"${words.join(' ')}" with ${base.k === 'tag' ? `${base.tag} ${base.name}` : base.name}`);
		if (!base) base = { k: 'builtin', name: canonical(words) };
		let ptrs = 0;
		for (;;) {
			if (isOp('*')) {
				ptrs++;
				i++;
			} else if (peek().t === 'id' && ['const', 'volatile', 'restrict'].includes((peek() as { v: string }).v)) {
				i++;
			} else break;
		}
		if (isOp('(') && isOp('*', toks[i + 1])) {
			// an abstract function-pointer declarator: (*)(params)
			i++;
			let fptrs = 0;
			while (isOp('*')) {
				fptrs++;
				i++;
			}
			expect(')');
			expect('(');
			const params: TypeSpec[] = [];
			if (!isOp(')')) {
				for (;;) {
					if (!startsType(peek()))
						throw new ExprError(`expected a parameter type but found ${describe(peek())} at ${peek().pos + 1}`);
					params.push(typeSpec());
					if (!isOp(',')) break;
					i++;
				}
			}
			expect(')');
			return { base, ptrs, dims: [], fn: { params, ptrs: fptrs } };
		}
		const dims: number[] = [];
		while (isOp('[')) {
			i++;
			const n = peek();
			if (n.t !== 'int') throw new ExprError('an array type needs a constant size: [N]');
			i++;
			expect(']');
			dims.push(Number(n.v));
		}
		return { base, ptrs, dims };
	}

	function primary(): Node {
		const t = peek();
		i++;
		switch (t.t) {
			case 'int':
				return { k: 'int', v: t.v, unsigned: t.unsigned, long: t.long, decimal: t.decimal };
			case 'char':
				return { k: 'char', v: t.v };
			case 'float':
				return { k: 'float', v: t.v, single: t.single };
			case 'str': {
				let b = t.v;
				while (peek().t === 'str') b = Buffer.concat([b, (toks[i++] as { v: Buffer }).v]);
				return { k: 'str', v: b };
			}
			case 'id':
				if (t.v === 'sizeof' || TYPE_WORDS.has(t.v)) throw new ExprError(`unexpected "${t.v}" at ${t.pos + 1}`);
				return { k: 'id', name: t.v };
			case 'reg':
				return { k: 'reg', name: t.v };
			case 'op':
				if (t.v === '(') {
					const e = expression();
					expect(')');
					return e;
				}
				break;
			default:
				break;
		}
		i--;
		throw new ExprError(t.t === 'end' ? 'incomplete expression' : `unexpected ${describe(t)} at ${t.pos + 1}`);
	}

	function postfix(): Node {
		let e = primary();
		for (;;) {
			if (isOp('[')) {
				i++;
				const idx = expression();
				expect(']');
				e = { k: 'index', e, i: idx };
			} else if (isOp('.') || isOp('->')) {
				const arrow = isOp('->');
				i++;
				const n = peek();
				if (n.t !== 'id') throw new ExprError(`expected a member name after "${arrow ? '->' : '.'}"`);
				i++;
				e = { k: 'member', e, name: n.v, arrow };
			} else if (isOp('(') && e.k === 'reg') {
				i++;
				const args: Node[] = [];
				if (!isOp(')')) {
					for (;;) {
						args.push(conditional());
						if (!isOp(',')) break;
						i++;
					}
				}
				expect(')');
				e = { k: 'call', name: e.name, args };
			} else if (isOp('(')) {
				throw new ExprError('function calls are not evaluated (no code runs in the program)');
			} else return e;
		}
	}

	function unary(): Node {
		const t = peek();
		if (t.t === 'op' && ['-', '+', '!', '~', '*', '&'].includes(t.v)) {
			i++;
			return { k: 'unary', op: t.v as '-', e: unary() };
		}
		if (t.t === 'id' && t.v === 'sizeof') {
			i++;
			if (isOp('(') && startsType(toks[i + 1])) {
				i++;
				const type = typeSpec();
				expect(')');
				return { k: 'sizeofType', type };
			}
			return { k: 'sizeofExpr', e: unary() };
		}
		if (isOp('(') && startsType(toks[i + 1])) {
			i++;
			const type = typeSpec();
			expect(')');
			return { k: 'cast', type, e: unary() };
		}
		return postfix();
	}

	function binary(level: number): Node {
		if (level >= LEVELS.length) return unary();
		let l = binary(level + 1);
		for (;;) {
			const t = peek();
			if (t.t === 'op' && LEVELS[level].includes(t.v)) {
				i++;
				l = { k: 'binary', op: t.v, l, r: binary(level + 1) };
			} else return l;
		}
	}

	function conditional(): Node {
		const c = binary(0);
		if (!isOp('?')) return c;
		i++;
		const t = expression();
		expect(':');
		return { k: 'cond', c, t, f: conditional() };
	}

	function expression(): Node {
		const l = conditional();
		if (isOp('=')) {
			i++;
			return { k: 'assign', l, r: expression() };
		}
		return l;
	}

	const e = expression();
	if (peek().t !== 'end') {
		const t = peek();
		if (isOp(',')) throw new ExprError('the comma operator is not supported');
		throw new ExprError(`unexpected ${describe(t)} at ${t.pos + 1}`);
	}
	return e;
}

/** The canonical name of a base type from its specifier words (`long unsigned` → `unsigned long`). */
function canonical(words: string[]): string {
	const n = (w: string) => words.filter((x) => x === w).length;
	const sign = n('unsigned') ? 'unsigned' : n('signed') ? 'signed' : '';
	if (n('unsigned') && n('signed')) throw new ExprError('both signed and unsigned');
	if (n('void')) return 'void';
	if (n('_Bool') || n('bool')) return '_Bool';
	if (n('float')) return 'float';
	if (n('double')) return n('long') ? 'long double' : 'double';
	if (n('char')) return sign ? `${sign} char` : 'char';
	const u = sign === 'unsigned' ? 'unsigned ' : '';
	if (n('short')) return `${u}short`;
	if (n('long') >= 2) return `${u}long long`;
	if (n('long')) return `${u}long`;
	if (words.length === 0) throw new ExprError('expected a type name');
	return `${u}int`;
}

/** Throws when `src` is not a C expression whatever its names turn out to be (a typedef or a variable). */
export function checkSyntax(src: string): void {
	try {
		parse(src, () => false);
	} catch (e) {
		try {
			parse(src, () => true);
		} catch {
			throw new ExprError(`condition "${src}" not understood: ${(e as Error).message}`);
		}
	}
}
