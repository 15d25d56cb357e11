/* Markdown tables and small statistics for the benchmarks. Reusable: a
 * benchmark builds a Table, adds rows, prints table.render(). */

export type Cell = string | number | null | undefined;

export class Table {
	private rows: string[][] = [];
	private notes: string[] = [];

	constructor(
		readonly title: string,
		readonly columns: string[],
	) {}

	addRow(cells: Cell[]): this {
		if (cells.length !== this.columns.length) {
			throw new Error(`row has ${cells.length} cells, table "${this.title}" has ${this.columns.length} columns`);
		}
		this.rows.push(cells.map(formatCell));
		return this;
	}

	note(text: string): this {
		this.notes.push(text);
		return this;
	}

	render(): string {
		const widths = this.columns.map((c, i) => Math.max(c.length, ...this.rows.map((r) => r[i].length)));
		const line = (cells: string[]): string =>
			'| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
		const sep = '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
		const out = [`### ${this.title}`, '', line(this.columns), sep, ...this.rows.map(line)];
		if (this.notes.length) out.push('', ...this.notes.map((n) => `- ${n}`));
		return out.join('\n') + '\n';
	}
}

function formatCell(c: Cell): string {
	if (c === null || c === undefined) return '—';
	if (typeof c === 'number') {
		if (!Number.isFinite(c)) return '—';
		if (Number.isInteger(c)) return String(c);
		return Math.abs(c) >= 100 ? c.toFixed(0) : Math.abs(c) >= 10 ? c.toFixed(1) : c.toFixed(2);
	}
	return c;
}

export function median(xs: number[]): number {
	if (xs.length === 0) return NaN;
	const s = [...xs].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/* Run fn n times (sequentially), return the results. */
export async function repeat<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
	const out: T[] = [];
	for (let i = 0; i < n; i++) out.push(await fn(i));
	return out;
}
