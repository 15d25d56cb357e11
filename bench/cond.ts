/*
 * Conditional breakpoint throughput (issue 13 item 5): test/fixtures/stepper
 * `hot N` calls hot(i) N times on the main thread while 8 workers tick; a
 * breakpoint on its line (#HOT) with the condition `i < 0` (never true) is
 * evaluated at every call and never stops. forkall (DAP; the condition is
 * compiled for the tracer thread, which evaluates it at each hit and passes
 * the false ones through the breakpoint's slot — a copy of the instruction
 * that jumps back, one stop per hit —, without the adapter and without
 * stopping the other threads; FORKALL_SLOTS=0: with a displaced step, two
 * stops per hit; FORKALL_DISPLACED_STEPS=0: with the others stopped) vs
 * `gdb -batch` (`break … if i < 0`, then `run`), same binary, same run:
 * hits per second, from the start of the run to the program's exit.
 */
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapClient } from '../test/dap/support';
import { findMarker } from '../test/dap/support';
import { fixturePath, which } from '../test/helpers/paths';
import { gdbTimed } from './gdb';
import { Table, median } from './table';

const N = Number(process.env.FORKALL_BENCH_COND_N ?? 10000);
const RUNS = Number(process.env.FORKALL_BENCH_COND_RUNS ?? 3);
const PROGRAM = fixturePath('stepper');
const SRC = path.join(path.dirname(path.dirname(PROGRAM)), 'stepper.c');

async function forkallRun(): Promise<number> {
	const line = findMarker('HOT', SRC);
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const initialized = dc.next('initialized');
		await dc.launchRequest({ program: PROGRAM, args: ['hot', String(N)] } as DebugProtocol.LaunchRequestArguments);
		await initialized;
		const r = await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line, condition: 'i < 0' }] });
		if (!r.body.breakpoints[0]?.verified) throw new Error(`the breakpoint at stepper.c:${line} was not verified`);
		const exited = dc.next('exited', 600000) as Promise<DebugProtocol.ExitedEvent>;
		let stopped = false;
		dc.on('stopped', () => (stopped = true));
		const t0 = performance.now();
		await dc.configurationDoneRequest();
		const ev = await exited;
		const ms = performance.now() - t0;
		if (stopped || ev.body.exitCode !== 0) throw new Error(`forkall: stopped ${stopped}, exit ${ev.body.exitCode}`);
		return ms;
	} finally {
		await dc.stop().catch(() => undefined);
	}
}

async function gdbRun(gdb: string): Promise<number> {
	const line = findMarker('HOT', SRC);
	const r = await gdbTimed(gdb, {
		before: [`break stepper.c:${line} if i < 0`],
		timed: `run hot ${N} > /dev/null`, // run's own arguments: a bare redirection would replace them
		program: PROGRAM,
		args: ['hot', String(N)],
	});
	if (!/exited normally/.test(r.stdout)) throw new Error(`gdb: the program did not run to its end: ${r.stdout.slice(-300)}`);
	return r.ms;
}

export async function condBench(): Promise<string> {
	const gdb = which('gdb');
	const f: number[] = [];
	const g: number[] = [];
	for (let i = 0; i < RUNS; i++) {
		f.push(await forkallRun());
		if (gdb) g.push(await gdbRun(gdb));
	}
	const table = new Table(`a conditional breakpoint that never stops (i < 0), hit ${N} times, 8 other threads: forkall vs gdb`, [
		'tool',
		'run ms (median)',
		'hits / s',
		'vs gdb',
	]);
	const fm = median(f);
	const fh = (N / fm) * 1000;
	const gm = g.length ? median(g) : null;
	const gh = gm ? (N / gm) * 1000 : null;
	table.addRow(['forkall (DAP)', Number(fm.toFixed(0)), Math.round(fh), gh ? `${(fh / gh).toFixed(2)}×` : '?']);
	if (gm && gh) table.addRow(['gdb -batch', Number(gm.toFixed(0)), Math.round(gh), '1×']);
	table.note(
		`${RUNS} runs each, alternating; from the start of the run to the program's exit (both include its start and its 8 workers' joins). Goal (issue 13): ≥ 2× gdb.`,
	);
	return table.render();
}
