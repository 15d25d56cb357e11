/*
 * The signal table in gdb's words: per signal stop/nostop, print/noprint,
 * pass/nopass. The library decides with it in the tracer thread (see
 * native/src/core/sigpolicy.h, which owns the defaults); this module names
 * signals, parses what users write (the launch.json "signals" attribute,
 * the Debug Console's `handle`), applies the Breakpoints view's exception
 * filters and prints `info signals`. Linux signal numbers (the generic
 * numbering x86-64 and aarch64 share).
 */

export interface SignalRow {
	stop: boolean;
	print: boolean;
	pass: boolean;
}

/** Rows 1..64 (index 0 unused). */
export type SignalTable = SignalRow[];

export class SignalConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SignalConfigError';
	}
}

const CLASSIC: [string, string][] = [
	['SIGHUP', 'Hangup'],
	['SIGINT', 'Interrupt'],
	['SIGQUIT', 'Quit'],
	['SIGILL', 'Illegal instruction'],
	['SIGTRAP', 'Trace/breakpoint trap'],
	['SIGABRT', 'Aborted'],
	['SIGBUS', 'Bus error'],
	['SIGFPE', 'Arithmetic exception'],
	['SIGKILL', 'Killed'],
	['SIGUSR1', 'User defined signal 1'],
	['SIGSEGV', 'Segmentation fault'],
	['SIGUSR2', 'User defined signal 2'],
	['SIGPIPE', 'Broken pipe'],
	['SIGALRM', 'Alarm clock'],
	['SIGTERM', 'Terminated'],
	['SIGSTKFLT', 'Stack fault'],
	['SIGCHLD', 'Child status changed'],
	['SIGCONT', 'Continued'],
	['SIGSTOP', 'Stopped (signal)'],
	['SIGTSTP', 'Stopped (user)'],
	['SIGTTIN', 'Stopped (tty input)'],
	['SIGTTOU', 'Stopped (tty output)'],
	['SIGURG', 'Urgent I/O condition'],
	['SIGXCPU', 'CPU time limit exceeded'],
	['SIGXFSZ', 'File size limit exceeded'],
	['SIGVTALRM', 'Virtual timer expired'],
	['SIGPROF', 'Profiling timer expired'],
	['SIGWINCH', 'Window size changed'],
	['SIGIO', 'I/O possible'],
	['SIGPWR', 'Power fail/restart'],
	['SIGSYS', 'Bad system call'],
];
const ALIASES: Record<string, number> = { SIGPOLL: 29, SIGIOT: 6, SIGCLD: 17, SIGCANCEL: 32, SIGSETXID: 33 };

/** The signals the Breakpoints view's "fatal" filter covers. */
export const FATAL_SIGNALS: readonly number[] = [11, 7, 4, 8, 6];
/** Signals the debugger cannot stop the program with, or never passes through a table. */
const UNTOUCHABLE = new Set([9, 19]);

export const EXCEPTION_FILTERS = [
	{
		filter: 'fatal',
		label: 'Fatal signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT)',
		default: true,
		description: 'Stop when the program gets a signal that kills it by default and usually means a bug.',
	},
	{
		filter: 'other',
		label: 'Other signals that stop',
		default: true,
		description:
			'Stop on every other signal whose table row says "stop" (SIGUSR1, SIGTERM, SIGPIPE, ...). Unchecked: they pass silently.',
	},
] as const;

export function signalName(sig: number): string {
	if (sig >= 1 && sig <= CLASSIC.length) return CLASSIC[sig - 1][0];
	if (sig === 32) return 'SIGCANCEL';
	if (sig === 33) return 'SIGSETXID';
	if (sig >= 34 && sig <= 64) return `SIG${sig}`;
	return `signal ${sig}`;
}

function description(sig: number): string {
	if (sig >= 1 && sig <= CLASSIC.length) return CLASSIC[sig - 1][1];
	if (sig === 32 || sig === 33) return 'glibc internal (threads)';
	return `Real-time signal ${sig - 34 === 0 ? 'SIGRTMIN' : `SIGRTMIN+${sig - 34}`}`;
}

/** "SIGUSR1", "usr1", "SIGRTMIN+3", "SIG37", "37": the number, or null. */
export function signalNumber(name: string): number | null {
	const n = name.trim().toUpperCase();
	if (/^\d+$/.test(n)) {
		const v = Number(n);
		return v >= 1 && v <= 64 ? v : null;
	}
	const s = n.startsWith('SIG') ? n : `SIG${n}`;
	const classic = CLASSIC.findIndex(([k]) => k === s);
	if (classic >= 0) return classic + 1;
	if (s in ALIASES) return ALIASES[s];
	let m = /^SIGRTMIN(?:\+(\d+))?$/.exec(s);
	if (m) {
		const v = 34 + Number(m[1] ?? 0);
		return v <= 64 ? v : null;
	}
	m = /^SIGRTMAX(?:-(\d+))?$/.exec(s);
	if (m) {
		const v = 64 - Number(m[1] ?? 0);
		return v >= 34 ? v : null;
	}
	m = /^SIG(\d+)$/.exec(s);
	if (m && Number(m[1]) >= 32 && Number(m[1]) <= 64) return Number(m[1]);
	return null;
}

const WORDS = ['stop', 'nostop', 'print', 'noprint', 'pass', 'nopass', 'ignore', 'noignore'] as const;

/**
 * gdb's words applied to a row, with gdb's implications: `stop` implies
 * `print`, `noprint` implies `nostop`; `ignore` is `nopass`.
 */
export function applyWords(row: SignalRow, words: readonly string[], where: string): SignalRow {
	const r = { ...row };
	for (const raw of words) {
		const w = raw.toLowerCase();
		switch (w) {
			case 'stop':
				r.stop = true;
				r.print = true;
				break;
			case 'nostop':
				r.stop = false;
				break;
			case 'print':
				r.print = true;
				break;
			case 'noprint':
				r.print = false;
				r.stop = false;
				break;
			case 'pass':
			case 'noignore':
				r.pass = true;
				break;
			case 'nopass':
			case 'ignore':
				r.pass = false;
				break;
			default:
				throw new SignalConfigError(`${where}: unknown word "${raw}" (use ${WORDS.join(', ')})`);
		}
	}
	return r;
}

function checkSignal(sig: number, where: string, name: string): void {
	if (UNTOUCHABLE.has(sig)) throw new SignalConfigError(`${where}: ${name} cannot be caught, stopped on or kept from the program`);
}

/**
 * The launch/attach attribute `"signals": {"SIGUSR1": "nostop noprint pass"}`
 * applied to a table. Unknown names and words, and a value of the wrong
 * type, are configuration errors naming the key.
 */
export function applySignalsAttribute(table: SignalTable, cfg: unknown): SignalTable {
	if (cfg === undefined || cfg === null) return table;
	if (typeof cfg !== 'object' || Array.isArray(cfg)) {
		throw new SignalConfigError(
			`"signals" must be an object like {"SIGUSR1": "nostop noprint pass"}, not ${Array.isArray(cfg) ? 'an array' : typeof cfg}`,
		);
	}
	const out = table.map((r) => ({ ...r }));
	for (const [key, value] of Object.entries(cfg as Record<string, unknown>)) {
		const where = `"signals"."${key}"`;
		const sig = signalNumber(key);
		if (sig === null) throw new SignalConfigError(`${where}: unknown signal name (e.g. SIGUSR1, SIGRTMIN+2, SIG40)`);
		checkSignal(sig, where, signalName(sig));
		if (typeof value !== 'string' || !value.trim())
			throw new SignalConfigError(`${where}: the value must be a string of words: ${WORDS.join(', ')}`);
		out[sig] = applyWords(out[sig], value.trim().split(/\s+/), where);
	}
	return out;
}

export interface HandleCommand {
	signals: number[];
	words: string[];
}

/**
 * `handle SIGUSR1 SIGUSR2 nostop noprint`, `handle 14-15 nopass`,
 * `handle all nostop` (all: every signal but the debugger's own, SIGINT
 * and SIGTRAP, as in gdb). The leading "handle" is optional.
 */
export function parseHandle(line: string): HandleCommand {
	const parts = line.trim().split(/\s+/).filter(Boolean);
	if (parts[0]?.toLowerCase() === 'handle') parts.shift();
	const signals: number[] = [];
	const words: string[] = [];
	for (const p of parts) {
		if ((WORDS as readonly string[]).includes(p.toLowerCase())) {
			words.push(p);
			continue;
		}
		if (words.length) throw new SignalConfigError(`handle: "${p}" after the words: signals come first (handle SIGUSR1 nostop)`);
		if (p.toLowerCase() === 'all') {
			for (let s = 1; s <= 64; s++) if (!UNTOUCHABLE.has(s) && s !== 2 && s !== 5) signals.push(s);
			continue;
		}
		const range = /^(\d+)-(\d+)$/.exec(p);
		if (range) {
			const [a, b] = [Number(range[1]), Number(range[2])];
			if (a < 1 || b > 64 || a > b) throw new SignalConfigError(`handle: bad range ${p} (1-64)`);
			for (let s = a; s <= b; s++) if (!UNTOUCHABLE.has(s)) signals.push(s);
			continue;
		}
		const sig = signalNumber(p);
		if (sig === null) throw new SignalConfigError(`handle: unknown signal or word "${p}"`);
		checkSignal(sig, 'handle', signalName(sig));
		signals.push(sig);
	}
	if (!signals.length) throw new SignalConfigError('handle: which signal? (handle SIGUSR1 nostop noprint)');
	return { signals, words };
}

/**
 * What the Breakpoints view's exception filters leave of a table: an
 * unchecked filter makes its signals nostop (they keep print and pass).
 */
export function applyExceptionFilters(table: SignalTable, filters: readonly string[]): SignalTable {
	const fatal = filters.includes('fatal');
	const other = filters.includes('other');
	return table.map((r, sig) => {
		if (sig === 0 || !r.stop) return r;
		const isFatal = FATAL_SIGNALS.includes(sig);
		if ((isFatal && !fatal) || (!isFatal && !other)) return { ...r, stop: false };
		return r;
	});
}

/** gdb's `info signals` layout (all rows, or the given signals). */
export function formatSignals(table: SignalTable, only?: readonly number[]): string {
	const yn = (b: boolean) => (b ? 'Yes' : 'No');
	const rows = (only ?? table.map((_, i) => i).filter((i) => i >= 1 && i < table.length)).map((sig) => {
		const r = table[sig];
		return `${signalName(sig).padEnd(14)}${yn(r.stop).padEnd(6)}${yn(r.print).padEnd(7)}${yn(r.pass).padEnd(16)}${description(sig)}`;
	});
	return [`${'Signal'.padEnd(14)}${'Stop'.padEnd(6)}${'Print'.padEnd(7)}${'Pass to program'.padEnd(16)}Description`, ...rows].join('\n');
}

/** Three 64-bit masks (bit sig-1 set = "no"), as the library takes them. */
export function toMasks(table: SignalTable): { nostop: bigint; noprint: bigint; nopass: bigint } {
	let nostop = 0n;
	let noprint = 0n;
	let nopass = 0n;
	for (let sig = 1; sig < table.length && sig <= 64; sig++) {
		const bit = 1n << BigInt(sig - 1);
		if (!table[sig].stop) nostop |= bit;
		if (!table[sig].print) noprint |= bit;
		if (!table[sig].pass) nopass |= bit;
	}
	return { nostop, noprint, nopass };
}

export function fromMasks(m: { nostop: bigint; noprint: bigint; nopass: bigint }): SignalTable {
	const t: SignalTable = [{ stop: true, print: true, pass: true }];
	for (let sig = 1; sig <= 64; sig++) {
		const bit = 1n << BigInt(sig - 1);
		t.push({ stop: (m.nostop & bit) === 0n, print: (m.noprint & bit) === 0n, pass: (m.nopass & bit) === 0n });
	}
	return t;
}
