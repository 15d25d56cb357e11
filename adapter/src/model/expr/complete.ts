/*
 * Debug Console completions: what is being typed at the cursor — a member
 * after `.` or `->` of an operand (any postfix expression: `s->items[i].`,
 * `(*p).`, `nodes[2].pos.`), a `$register`, or a name — and the members a
 * value's type offers there.
 */
import type { Evaluator, Val } from './eval';
import { typeName, type RecordType } from './types';

export type CompletionContext =
	| { kind: 'member'; base: string; arrow: boolean; partial: string }
	| { kind: 'register'; partial: string }
	| { kind: 'name'; partial: string };

/** The operand that ends text (identifiers, `.x`, `->x`, `[...]`, `(...)`), or '' (text ends with an operator). */
export function operandBefore(text: string): string {
	let i = text.length;
	const skipSpace = (): void => {
		while (i > 0 && /\s/.test(text[i - 1])) i--;
	};
	for (;;) {
		skipSpace();
		const c = text[i - 1];
		if (c === ']' || c === ')') {
			const open = c === ']' ? '[' : '(';
			let depth = 0;
			let j = i - 1;
			for (; j >= 0; j--) {
				if (text[j] === c) depth++;
				else if (text[j] === open && --depth === 0) break;
			}
			if (j < 0) return '';
			i = j;
			if (open === '(') {
				// a parenthesized operand; a call's arguments ($_strlen(s)) take the name before them too
				while (i > 0 && /[\w$]/.test(text[i - 1])) i--;
				return text.slice(i).trim();
			}
			continue;
		}
		const end = i;
		while (i > 0 && /[\w$]/.test(text[i - 1])) i--;
		if (i === end) return text.slice(end).trim();
		const before = i;
		skipSpace();
		if (text[i - 1] === '.' && !/\d/.test(text[before] ?? '')) {
			i--;
			continue;
		}
		if (text[i - 1] === '>' && text[i - 2] === '-') {
			i -= 2;
			continue;
		}
		return text.slice(before).trim();
	}
}

/** What the text before the cursor is completing. */
export function completionContext(before: string): CompletionContext {
	const mem = /(\.|->)\s*([A-Za-z_]\w*)?$/.exec(before);
	if (mem && !/\d\.$/.test(before.slice(0, mem.index + 1))) {
		const base = operandBefore(before.slice(0, mem.index));
		if (base) return { kind: 'member', base, arrow: mem[1] === '->', partial: mem[2] ?? '' };
	}
	const reg = /\$(\w*)$/.exec(before);
	if (reg) return { kind: 'register', partial: `$${reg[1]}` };
	const name = /([A-Za-z_]\w*)?$/.exec(before);
	return { kind: 'name', partial: name?.[1] ?? '' };
}

/** The members of a struct or union value (`arrow`: of what a pointer points to), anonymous members' flattened. */
export async function membersOf(ev: Evaluator, val: Val, arrow: boolean): Promise<{ name: string; type: string }[]> {
	let t = val.type;
	if (arrow) {
		if (t.kind !== 'pointer') return [];
		t = await ev.resolve(t.target);
	}
	if (t.kind !== 'record') return [];
	const out: { name: string; type: string }[] = [];
	const walk = async (r: RecordType): Promise<void> => {
		for (const f of r.fields) {
			const ft = await ev.resolve(f.type);
			if (f.name !== null) out.push({ name: f.name, type: typeName(ft) });
			else if (ft.kind === 'record') await walk(ft);
		}
	};
	await walk(t);
	return out;
}
