/*
 * What to tell the user when a fatal-looking signal stops a program that
 * handles it itself. Managed runtimes raise SIGSEGV on purpose: HotSpot's
 * safepoint polls and implicit null checks fault many times a second, and
 * its handler recovers; a debugger with gdb's defaults stops at every one.
 * The stop then says so, and how to let them pass (gdb's `handle`).
 * Read from /proc at the stop (only signal stops pay for it).
 */
import * as fs from 'node:fs';

/** Runtimes known to raise a signal on purpose, by a library they map. */
const RUNTIMES: { lib: RegExp; name: string; signals: readonly number[]; why: string }[] = [
	{
		lib: /\/libjvm\.so$/m,
		name: 'a HotSpot JVM (libjvm.so)',
		signals: [11],
		why: 'it raises SIGSEGV on purpose for safepoints and null checks',
	},
];

/** Does process `pid` have a handler installed for `sig` (SigCgt)? */
export function catchesSignal(pid: number, sig: number): boolean {
	let status: string;
	try {
		status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	} catch {
		return false;
	}
	const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
	if (!m || sig < 1 || sig > 64) return false;
	return ((BigInt(`0x${m[1]}`) >> BigInt(sig - 1)) & 1n) === 1n;
}

function runtimeOf(pid: number, sig: number): (typeof RUNTIMES)[number] | undefined {
	let maps: string;
	try {
		maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
	} catch {
		return undefined;
	}
	return RUNTIMES.find((r) => r.signals.includes(sig) && r.lib.test(maps));
}

/**
 * The sentence added to a signal stop's description when the program
 * handles `sig` itself, or '' when it does not (the signal is then what
 * it looks like).
 */
export function handledSignalHint(pid: number, sig: number, name: string): string {
	if (!catchesSignal(pid, sig)) return '';
	const rt = runtimeOf(pid, sig);
	const how = `\`handle ${name} nostop noprint\` in the Debug Console (or "signals": {"${name}": "nostop noprint"} in launch.json) lets it pass`;
	if (rt) return `; the program is ${rt.name}: ${rt.why} and handles it — ${how}`;
	return `; the program has its own ${name} handler — if this one is expected, ${how}`;
}
