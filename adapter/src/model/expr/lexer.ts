/*
 * Tokens of a C expression: identifiers, $registers, integer, floating,
 * character and string literals (C's escapes and suffixes), punctuators.
 */

export type Token =
	| { t: 'int'; v: bigint; unsigned: boolean; long: boolean; decimal: boolean; pos: number }
	| { t: 'float'; v: number; single: boolean; pos: number }
	| { t: 'char'; v: bigint; pos: number }
	| { t: 'str'; v: Buffer; pos: number }
	| { t: 'id'; v: string; pos: number }
	| { t: 'reg'; v: string; pos: number }
	| { t: 'op'; v: string; pos: number }
	| { t: 'end'; pos: number };

export class ExprError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ExprError';
	}
}

const OPS = [
	'->',
	'<<',
	'>>',
	'<=',
	'>=',
	'==',
	'!=',
	'&&',
	'||',
	'(',
	')',
	'[',
	']',
	'.',
	',',
	'?',
	':',
	'+',
	'-',
	'*',
	'/',
	'%',
	'&',
	'|',
	'^',
	'!',
	'~',
	'<',
	'>',
	'=',
	'@',
];

const ESC: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, a: 7, b: 8, f: 12, v: 11, e: 27, '\\': 92, "'": 39, '"': 34, '?': 63 };

/** One character of a char/string literal at s[i]: its code and the index after it. */
function charAt(s: string, i: number): [number, number] {
	if (s[i] !== '\\') return [s.charCodeAt(i), i + 1];
	const c = s[i + 1];
	if (c === 'x') {
		const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 2));
		if (!m) throw new ExprError('\\x with no hex digits');
		return [parseInt(m[0], 16), i + 2 + m[0].length];
	}
	const oct = /^[0-7]{1,3}/.exec(s.slice(i + 1));
	if (oct) return [parseInt(oct[0], 8) & 0xff, i + 1 + oct[0].length];
	if (c !== undefined && c in ESC) return [ESC[c], i + 2];
	throw new ExprError(`unknown escape \\${c ?? ''}`);
}

export function tokenize(src: string): Token[] {
	const out: Token[] = [];
	let i = 0;
	while (i < src.length) {
		const c = src[i];
		if (/\s/.test(c)) {
			i++;
			continue;
		}
		const rest = src.slice(i);
		let m: RegExpExecArray | null;
		if (
			(m = /^(?:0[xX][0-9a-fA-F]+|\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|0[bB][01]+|\d+)([a-zA-Z]*)/.exec(
				rest,
			))
		) {
			const body = m[0].slice(0, m[0].length - m[1].length);
			const suf = m[1].toLowerCase();
			if (/[.eE]/.test(body) && !/^0[xX]/.test(body)) {
				if (suf && suf !== 'f' && suf !== 'l') throw new ExprError(`bad suffix "${m[1]}" on ${body}`);
				out.push({ t: 'float', v: Number(body), single: suf === 'f', pos: i });
			} else {
				if (!/^(u|l|ul|lu|ll|ull|llu)?$/.test(suf)) throw new ExprError(`bad suffix "${m[1]}" on ${body}`);
				const v = /^0[0-7]+$/.test(body) ? BigInt('0o' + body.slice(1)) : BigInt(body);
				out.push({ t: 'int', v, unsigned: suf.includes('u'), long: suf.includes('l'), decimal: /^[1-9]/.test(body), pos: i });
			}
			i += m[0].length;
			continue;
		}
		if ((m = /^[A-Za-z_]\w*/.exec(rest))) {
			out.push({ t: 'id', v: m[0], pos: i });
			i += m[0].length;
			continue;
		}
		if ((m = /^\$\w*/.exec(rest))) {
			out.push({ t: 'reg', v: m[0].slice(1), pos: i });
			i += m[0].length;
			continue;
		}
		if (c === "'") {
			if (src[i + 1] === "'") throw new ExprError('empty character constant');
			const [v, j] = charAt(src, i + 1);
			if (src[j] !== "'") throw new ExprError(`unterminated character constant at ${i + 1}`);
			out.push({ t: 'char', v: BigInt(v), pos: i });
			i = j + 1;
			continue;
		}
		if (c === '"') {
			const bytes: number[] = [];
			let j = i + 1;
			while (j < src.length && src[j] !== '"') {
				const [v, k] = charAt(src, j);
				if (v > 0xff) bytes.push(...Buffer.from(String.fromCharCode(v), 'utf8'));
				else bytes.push(v);
				j = k;
			}
			if (src[j] !== '"') throw new ExprError(`unterminated string at ${i + 1}`);
			out.push({ t: 'str', v: Buffer.from(bytes), pos: i });
			i = j + 1;
			continue;
		}
		const op = OPS.find((o) => rest.startsWith(o));
		if (!op) throw new ExprError(`unexpected "${c}" at ${i + 1}`);
		if ((op === '+' || op === '-') && rest[1] === op) throw new ExprError(`"${op}${op}" has a side effect: not evaluated`);
		if (op !== '=' && op.length === 1 && '+-*/%&|^'.includes(op) && rest[1] === '=')
			throw new ExprError(`"${op}=" is not supported: write x = x ${op} y`);
		if ((op === '<<' || op === '>>') && rest[2] === '=') throw new ExprError(`"${op}=" is not supported: write x = x ${op} y`);
		out.push({ t: 'op', v: op, pos: i });
		i += op.length;
	}
	out.push({ t: 'end', pos: src.length });
	return out;
}
