/*
 * Step bench (issue 8 item 4): `next` over the one-line loop of
 * test/fixtures/stepper (`for (long i = 0; i < n; i++) sink += i;`, 8 other
 * threads ticking every 2 ms), stopped at a breakpoint on that line:
 *   - forkall: `forkall dap` over stdio, from the `next` request to the
 *     `stopped` event (median of RUNS sessions)
 *   - gdb: `gdb -nx -batch`, the same breakpoint, `next` timed by gdb's own
 *     Python clock around the command (median of GDB_RUNS), same binary,
 *     same run
 * Both must land on the next line (#AFTER_LOOP). Goals: 3000 iterations in
 * ≤ 5% of gdb's time; 300,000 iterations under 100 ms (gdb would need
 * minutes there: not run).
 */
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapClient, findMarker } from '../test/dap/support';
import { fixturePath, which } from '../test/helpers/paths';
import { gdbTimed } from './gdb';
import { Table, median } from './table';

const RUNS = Number(process.env.FORKALL_BENCH_STEP_RUNS ?? 5);
const GDB_RUNS = Number(process.env.FORKALL_BENCH_STEP_GDB_RUNS ?? 3);
const PROGRAM = fixturePath('stepper');
const SRC = path.join(path.dirname(path.dirname(PROGRAM)), 'stepper.c');

/** One forkall session: ms from `next` to `stopped`, on the right line. */
async function forkallNext(iterations: number): Promise<number> {
	const loop = findMarker('LOOP', SRC);
	const after = findMarker('AFTER_LOOP', SRC);
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const initialized = dc.next('initialized');
		await dc.launchRequest({ program: PROGRAM, args: ['loop', String(iterations)] } as DebugProtocol.LaunchRequestArguments);
		await initialized;
		await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: loop }] });
		const hit = dc.next('stopped');
		await dc.configurationDoneRequest();
		const tid = ((await hit) as DebugProtocol.StoppedEvent).body.threadId!;
		const stopped = dc.next('stopped', 600000);
		const t0 = performance.now();
		await dc.nextRequest({ threadId: tid });
		const ev = (await stopped) as DebugProtocol.StoppedEvent;
		const ms = performance.now() - t0;
		const top = (await dc.stackTraceRequest({ threadId: tid, levels: 1 })).body.stackFrames[0];
		if (ev.body.reason !== 'step' || top.line !== after) {
			throw new Error(`forkall next over ${iterations}: stopped (${ev.body.reason}) at line ${top.line}, want ${after}`);
		}
		await dc.disconnectRequest({ terminateDebuggee: true });
		return ms;
	} finally {
		await dc.stop().catch(() => undefined);
	}
}

/** One gdb -batch run: the `next` alone, timed inside gdb. */
async function gdbNext(gdb: string, iterations: number): Promise<number> {
	const loop = findMarker('LOOP', SRC);
	const after = findMarker('AFTER_LOOP', SRC);
	const r = await gdbTimed(gdb, {
		before: [`break stepper.c:${loop}`, `run loop ${iterations} > /dev/null`],
		timed: 'next',
		after: ['info line *$pc', 'kill'],
		program: PROGRAM,
		args: ['loop', String(iterations)],
	});
	if (!new RegExp(`Line ${after} of`).test(r.stdout))
		throw new Error(`gdb's next did not land on line ${after}: ${r.stdout.slice(-300)}`);
	return r.ms;
}

export async function stepBench(): Promise<string> {
	const gdb = which('gdb');
	const table = new Table('next over a one-line loop, 8 other threads: forkall vs gdb', [
		'iterations',
		'forkall next ms',
		'gdb next ms',
		'forkall / gdb',
		'goal',
		'met',
	]);
	const small = [];
	for (let i = 0; i < RUNS; i++) small.push(await forkallNext(3000));
	const f3 = median(small);
	let g3: number | null = null;
	if (gdb) {
		const g = [];
		for (let i = 0; i < GDB_RUNS; i++) g.push(await gdbNext(gdb, 3000));
		g3 = median(g);
	}
	process.stderr.write('bench: step 3000 done\n');
	const ratio = g3 === null ? null : f3 / g3;
	table.addRow([
		3000,
		Number(f3.toFixed(1)),
		g3 === null ? null : Number(g3.toFixed(0)),
		ratio === null ? null : `${(ratio * 100).toFixed(1)}%`,
		'≤ 5% of gdb',
		ratio === null ? '—' : ratio <= 0.05 ? 'yes' : 'NO',
	]);
	const big = [];
	for (let i = 0; i < RUNS; i++) big.push(await forkallNext(300000));
	const f300 = median(big);
	process.stderr.write('bench: step 300000 done\n');
	table.addRow([300000, Number(f300.toFixed(1)), null, null, '< 100 ms', f300 < 100 ? 'yes' : 'NO']);
	table.note(
		`forkall: \`forkall dap\` over stdio, \`next\` request → \`stopped\` event, median of ${RUNS} sessions; it range-steps the line ${400} instructions, then runs it with breakpoints (native/src/engine/step.c).`,
	);
	table.note(
		gdb
			? `gdb: \`gdb -nx -batch\`, the same breakpoint and \`next\` on the same binary in the same run, timed by gdb's Python clock around the command, median of ${GDB_RUNS}; 300,000 iterations not run for gdb (minutes).`
			: 'gdb: not installed, columns skipped.',
	);
	return table.render();
}
