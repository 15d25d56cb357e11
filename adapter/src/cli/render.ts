/*
 * Text and JSON renderings of model objects for the CLI. Pure functions:
 * given a snapshot or registers, return the string to print.
 */
import * as os from 'node:os';
import { formatSize, formatTable, hex, hexGroups, hexPad, printable, toSigned } from '../common/format';
import type { ForkBody } from '../engine/protocol';
import type { Lwp } from '../model/lwp';
import type { ThreadsSnapshot } from '../model/process';
import type { Registers } from '../model/registers';
import { GPR_NAMES, decodeFcw, decodeFsw, decodeMxcsr, decodeRflags, decodeSigmask, x87ToNumber } from '../model/registers';

// ---- threads ---------------------------------------------------------------

export function threadsHeader(s: ThreadsSnapshot): string {
	const n = s.lwps.length;
	return `pid ${s.pid}: ${n} thread${n === 1 ? '' : 's'}, paused ${s.pauseUs} µs`;
}

function sourceCell(l: Lwp): string {
	const p = l.pthreadSource ?? '-';
	const st = l.stack?.source ? l.stack.source.replace(/^maps:/, '') : '-';
	return `${p}/${st}${l.spInStack ? '' : ',sp-off-stack'}`;
}

export function renderThreadsText(s: ThreadsSnapshot): string {
	const rows: string[][] = [['TID', 'PTHREAD', 'NAME', 'STATE', 'STACK-LOW', 'STACK-HIGH', 'GUARD', 'PC', 'SP', 'SRC']];
	for (const l of s.lwps) {
		rows.push([
			String(l.tid),
			l.pthread === null ? '-' : hex(l.pthread),
			printable(l.name),
			l.state,
			l.stack ? hex(l.stack.low) : '-',
			l.stack ? hex(l.stack.high) : '-',
			l.stack ? formatSize(l.stack.guard) : '-',
			hex(l.pc),
			hex(l.sp),
			sourceCell(l),
		]);
	}
	const align = ['right', 'left', 'left', 'left', 'left', 'left', 'right', 'left', 'left', 'left'] as const;
	return `${threadsHeader(s)}\n${formatTable(rows, align)}\n`;
}

/** The documented --json shape (extra keys: pthreadSource, stack.source, spInStack). */
export function threadsJson(s: ThreadsSnapshot): object {
	return {
		pid: s.pid,
		pauseUs: s.pauseUs,
		threads: s.lwps.map((l) => ({
			tid: l.tid,
			pthread: l.pthread === null ? null : hex(l.pthread),
			pthreadSource: l.pthreadSource,
			name: l.name,
			state: l.state,
			stack: l.stack
				? {
						low: hex(l.stack.low),
						high: hex(l.stack.high),
						guard: l.stack.guard,
						source: l.stack.source,
					}
				: null,
			pc: hex(l.pc),
			sp: hex(l.sp),
			...(l.spInStack ? {} : { spInStack: false }),
		})),
	};
}

// ---- registers -------------------------------------------------------------

const POINTER_REGS = new Set(['rip', 'rsp', 'rbp', 'fs_base', 'gs_base']);

function reg(name: string, v: bigint, decimal: boolean): string[] {
	return [name, hexPad(v, 16), decimal ? String(toSigned(v)) : ''];
}

function section(title: string, body: string): string {
	const indented = body
		.split('\n')
		.map((l) => (l ? `  ${l}` : l))
		.join('\n');
	return `${title}\n${indented}\n`;
}

function bracket(list: string[]): string {
	return list.length ? `[ ${list.join(' ')} ]` : '[ ]';
}

export function renderRegsText(r: Registers): string {
	const out: string[] = [`pid ${r.pid}, tid ${r.tid}\n`];

	const general = GPR_NAMES.filter((n) => r.gpr.has(n)).map((n) => reg(n, r.get(n), !POINTER_REGS.has(n)));
	out.push(section('General', formatTable(general, ['left', 'left', 'right'])));

	const fl = r.rflags;
	out.push(
		section('Flags', `rflags    ${hexPad(fl, 8)}  ${bracket(decodeRflags(fl).filter((f) => !f.startsWith('IOPL')))} IOPL=${r.iopl}`),
	);

	const segs = ['cs', 'ss', 'ds', 'es', 'fs', 'gs']
		.filter((n) => r.gpr.has(n))
		.map((n) => `${n} ${hexPad(r.get(n), 4)}`)
		.join('  ');
	const bases = ['fs_base', 'gs_base'].filter((n) => r.gpr.has(n)).map((n) => reg(n, r.get(n), false));
	out.push(section('Segments', `${segs}\n${formatTable(bases)}`));

	const f = r.fpu;
	const fcw = decodeFcw(f.fcw);
	const fsw = decodeFsw(f.fsw);
	const x87Lines = [
		`fcw ${hexPad(f.fcw, 4)}  (precision ${fcw.precision}, rounding ${fcw.rounding}, masks ${bracket(fcw.masks)})`,
		`fsw ${hexPad(f.fsw, 4)}  (TOP=${fsw.top} ${bracket(fsw.flags)})`,
		`ftw ${hexPad(f.ftw, 4)}  fop ${hexPad(f.fop, 4)}  fip ${hex(f.fip)}  fdp ${hex(f.fdp)}`,
		formatTable(f.st.map((v, i) => [`st${i}`, hexPad(v, 20), formatFloat(x87ToNumber(v))])),
	];
	out.push(section('x87', x87Lines.join('\n')));

	const mx = decodeMxcsr(f.mxcsr);
	const mxExtra = [mx.daz ? 'DAZ' : '', mx.ftz ? 'FTZ' : ''].filter(Boolean).join(' ');
	const sse = [
		`mxcsr ${hexPad(f.mxcsr, 4)}  rounding ${mx.rounding}  masks ${bracket(mx.masks)}  raised ${bracket(mx.flags)}` +
			`${mxExtra ? `  ${mxExtra}` : ''}  (mxcsr_mask ${hex(f.mxcsrMask)})`,
		formatTable(r.vector.xmm.map((v, i) => [`xmm${i}`, hexGroups(v, 32)])),
	];
	out.push(section('SSE', sse.join('\n')));

	if (r.vector.ymm) {
		out.push(section('AVX', formatTable(r.vector.ymm.map((v, i) => [`ymm${i}`, hexGroups(v, 64)]))));
	}
	if (r.vector.k || r.vector.zmm) {
		const rows: string[][] = [];
		(r.vector.k ?? []).forEach((v, i) => rows.push([`k${i}`, hexPad(v, 16)]));
		(r.vector.zmm ?? []).forEach((v, i) => rows.push([`zmm${i}`, hexGroups(v, 128)]));
		out.push(section('AVX-512', formatTable(rows)));
	}
	if (r.xstate) {
		const inUse = r.xstate.components.filter((c) => c.inUse).map((c) => c.name);
		out.push(
			section(
				'XSAVE',
				`size ${r.xstate.size}  xcr0 ${hex(r.xstate.xcr0)}  xstate_bv ${hex(r.xstate.xstateBv)}  ` + `in use ${bracket(inUse)}`,
			),
		);
	}
	if (r.sigmask === null) {
		out.push(section('Signal mask', 'sigmask unavailable (PTRACE_GETSIGMASK failed)'));
	} else {
		const blocked = decodeSigmask(r.sigmask, os.constants.signals);
		out.push(section('Signal mask', `sigmask ${hexPad(r.sigmask, 16)}  blocked ${bracket(blocked)}`));
	}
	return out.join('\n');
}

function formatFloat(x: number): string {
	if (Number.isNaN(x)) {
		return 'nan';
	}
	if (!Number.isFinite(x)) {
		return x > 0 ? 'inf' : '-inf';
	}
	if (Object.is(x, -0)) {
		return '-0';
	}
	return String(x);
}

/** The native body as is, plus "rflags": {value, flags}. */
export function regsJson(r: Registers): object {
	return { ...r.raw, rflags: { value: hex(r.rflags), flags: decodeRflags(r.rflags) } };
}

/** `forkall fork` without --json: the child, the tid map, the phases. */
export function renderForkText(r: ForkBody): string {
	const t = r.timings;
	const lines: string[] = [];
	lines.push(
		`forked ${r.parent} -> child ${r.child}${r.sameTids ? ` (same pid and tids inside its PID namespace${r.userNamespace ? ', in a user namespace of its own' : ''}; init ${r.namespaceInit ?? '?'})` : ''}: ${r.threads.length} thread${r.threads.length === 1 ? '' : 's'}`,
	);
	lines.push(`parent paused ${t.pauseUs} µs (fork ${t.forkUs} µs); child threads built in ${t.threadsUs} µs; total ${t.totalUs} µs`);
	if (r.zombieLeader) lines.push("the main thread had exited: the child's leader exited too (zombie leader, as in the parent)");
	if (r.dontfork.regions) {
		const d = r.dontfork;
		const size = `${mib(d.bytes)} mapped${d.residentBytes !== undefined ? `, ${mib(d.residentBytes)} resident` : ''}`;
		lines.push(
			`MADV_DONTFORK: ${d.regions} region${d.regions === 1 ? '' : 's'} (${size}) ${d.copied ? 'copied into the child (copy-on-write: the resident part is what it costs)' : 'NOT copied (absent in the child)'}`,
		);
	}
	for (const w of r.wipeonfork) lines.push(`MADV_WIPEONFORK: ${w.start}-${w.end} ${w.path} is zero in the child`);
	if (r.robustOwnersFixed) lines.push(`robust mutex owners rewritten: ${r.robustOwnersFixed}`);
	for (const w of r.warnings) lines.push(`warning: ${w}`);
	const pw = Math.max(10, ...r.threads.map((x) => String(x.parentTid).length));
	lines.push(`${'PARENT-TID'.padEnd(pw)}  CHILD-TID`);
	for (const x of r.threads) lines.push(`${String(x.parentTid).padEnd(pw)}  ${x.childTid}`);
	return lines.join('\n') + '\n';
}

/* 2173095936 -> "2072.4 MiB"; small sizes in KiB */
function mib(bytes: number): string {
	return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
}
