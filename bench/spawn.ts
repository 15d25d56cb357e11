/*
 * Spawn bench (issue 10 item 5): test/fixtures/forker `system 200` — a
 * worker thread calls system("exit 7") 200 times (glibc: clone(CLONE_VM |
 * CLONE_VFORK) + exec of /bin/sh) while 3 other threads idle — run to
 * completion:
 *   - plain: the program alone (spawn → exit)
 *   - forkall, followForks "parent", no breakpoint: each vfork child is let
 *     go at once
 *   - forkall, followForks "parent", a breakpoint in the parent
 *     (parent_done): each vfork child is traced until its exec so that it
 *     passes the breakpoint bytes in the memory it shares
 *   - forkall, followForks "both": each child is a session of its own
 *     (startDebugging answered with a real attach + configurationDone)
 *   - gdb -nx -batch (default: follow-fork-mode parent, detach-on-fork on),
 *     `run` timed by gdb's Python clock
 * forkall: `launch` request → `exited` event through `forkall dap`, every
 * child's status checked ("child N exited 7"). Medians of RUNS. Goal:
 * "parent" ≤ 2× plain and faster than gdb.
 */
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapClient, DapServer, findMarker } from '../test/dap/support';
import { gdbTimed } from './gdb';
import { fixturePath, which } from '../test/helpers/paths';
import { Table, median } from './table';

const RUNS = Number(process.env.FORKALL_BENCH_SPAWN_RUNS ?? 5);
const N = Number(process.env.FORKALL_BENCH_SPAWN_N ?? 200);
const PROGRAM = fixturePath('forker');
const SRC = path.join(path.dirname(path.dirname(PROGRAM)), 'forker.c');

function checkOutput(out: string, what: string): void {
	for (let i = 0; i < N; i++) {
		if (!out.includes(`child ${i} exited 7\n`)) throw new Error(`${what}: child ${i} did not exit 7:\n${out.slice(-500)}`);
	}
}

async function plain(): Promise<number> {
	const t0 = performance.now();
	const out = await new Promise<string>((resolve, reject) => {
		const cp = spawn(PROGRAM, ['system', String(N)], { stdio: ['ignore', 'pipe', 'inherit'] });
		let s = '';
		cp.stdout.setEncoding('utf8').on('data', (d: string) => (s += d));
		cp.on('error', reject);
		cp.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`forker exited ${code}`))));
	});
	const ms = performance.now() - t0;
	checkOutput(out, 'plain');
	return ms;
}

/** One session, launch → exited (ms). "both": children answered with sessions of their own. */
async function forkall(mode: 'parent' | 'both', breakpoint: boolean): Promise<number> {
	const server = mode === 'both' ? await DapServer.start() : null;
	const dc = server ? await server.client() : new DapClient();
	if (!server) await dc.start();
	const children: DapClient[] = [];
	try {
		await dc.init();
		let out = '';
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'stdout') out += e.body.output;
		});
		const answering = (async () => {
			if (!server) return;
			for (;;) {
				const req = await dc.waitReverse('startDebugging', 600000).catch(() => null);
				if (!req) return;
				dc.reverse.splice(dc.reverse.indexOf(req), 1);
				const c = await server.client();
				children.push(c);
				await c.init();
				const init = c.next('initialized');
				await c.attachRequest(
					(req.arguments as DebugProtocol.StartDebuggingRequestArguments).configuration as DebugProtocol.AttachRequestArguments,
				);
				await init;
				await c.configurationDoneRequest();
				dc.respond(req, true);
			}
		})();
		const exited = dc.next('exited', 600000);
		const initialized = dc.next('initialized');
		const t0 = performance.now();
		await dc.launchRequest({
			program: PROGRAM,
			args: ['system', String(N)],
			followForks: mode,
		} as DebugProtocol.LaunchRequestArguments);
		await initialized;
		if (breakpoint) await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: findMarker('PARENT_DONE', SRC) }] });
		if (breakpoint) {
			const stop = dc.next('stopped', 600000);
			await dc.configurationDoneRequest();
			await stop;
			await dc.continueRequest({ threadId: 0 });
		} else {
			await dc.configurationDoneRequest();
		}
		const code = ((await exited) as DebugProtocol.ExitedEvent).body.exitCode;
		const ms = performance.now() - t0;
		if (code !== 0) throw new Error(`forkall ${mode}: forker exited ${code}`);
		await new Promise((r) => setTimeout(r, 100)); // the last output lines
		checkOutput(out, `forkall ${mode}`);
		void answering;
		return ms;
	} finally {
		for (const c of children) await c.stop().catch(() => undefined);
		await dc.stop().catch(() => undefined);
		await server?.stop();
	}
}

async function gdbRun(gdb: string): Promise<number> {
	const r = await gdbTimed(gdb, { timed: 'run', program: PROGRAM, args: ['system', String(N)] });
	checkOutput(r.stdout, 'gdb');
	return r.ms;
}

export async function spawnBench(): Promise<string> {
	const gdb = which('gdb');
	const table = new Table(`system() ×${N} from a worker thread, run to completion: forkall vs plain vs gdb`, [
		'how',
		'ms',
		'× plain',
		'× gdb',
	]);
	const times = async (fn: () => Promise<number>): Promise<number> => {
		const xs: number[] = [];
		for (let i = 0; i < RUNS; i++) xs.push(await fn());
		return median(xs);
	};
	const p = await times(plain);
	const g = gdb ? await times(() => gdbRun(gdb)) : null;
	const rows: [string, number][] = [
		['plain run', p],
		['forkall, followForks "parent"', await times(() => forkall('parent', false))],
		['forkall, "parent" + a breakpoint in the parent', await times(() => forkall('parent', true))],
		['forkall, followForks "both" (a session per child)', await times(() => forkall('both', false))],
	];
	if (g !== null) rows.push(['gdb -batch (follow-fork-mode parent)', g]);
	for (const [how, ms] of rows) {
		table.addRow([how, Number(ms.toFixed(1)), `${(ms / p).toFixed(2)}×`, g === null ? null : `${(ms / g).toFixed(2)}×`]);
	}
	const parentMs = rows[1][1];
	table.note(
		`goal: "parent" ≤ 2× plain and faster than gdb — ${parentMs / p <= 2 && (g === null || parentMs < g) ? 'met' : 'NOT met'} (${(parentMs / p).toFixed(2)}× plain${g === null ? '' : `, ${(parentMs / g).toFixed(2)}× gdb`}).`,
	);
	table.note(
		`medians of ${RUNS} runs in the same bench run; forkall times are launch request → exited event through \`forkall dap\` (adapter already running), every child's exit status checked; gdb: \`run\` timed by gdb's Python clock.`,
	);
	return table.render();
}
