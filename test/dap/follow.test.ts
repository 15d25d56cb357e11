/*
 * Programs that fork while other threads run (issue 10): a child made by
 * fork() is a copy of the parent's memory, breakpoint bytes included. It
 * must never die of them: the library removes them from the child's copy
 * and detaches it ("[detached child N]" in the Debug Console). vfork-style
 * children (system, posix_spawn) run next to a parent with breakpoints.
 *
 * test/fixtures/forker: a worker thread makes N children one after the
 * other and prints each one's wait status.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath, FIXTURES_SRC } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { listTasks, procState } from '../helpers/procfs';
import { DapClient, DapServer, findMarker, within } from './support';

after(killAll);

const SRC = path.join(FIXTURES_SRC, 'forker.c');

interface Run {
	stdout: string;
	console: string;
	stops: DebugProtocol.StoppedEvent[];
	exitCode: number | undefined;
}

/* Launch forker (followForks "parent") with breakpoints at the given
 * markers; continue from every stop; collect the output until it exits. */
async function run(args: string[], markers: string[]): Promise<Run> {
	const dc = new DapClient();
	await dc.start();
	const r: Run = { stdout: '', console: '', stops: [], exitCode: undefined };
	try {
		await dc.init();
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'stdout') r.stdout += e.body.output;
			if (e.body.category === 'console') r.console += e.body.output;
		});
		dc.on('stopped', (e: DebugProtocol.StoppedEvent) => {
			r.stops.push(e);
			void dc.continueRequest({ threadId: e.body.threadId ?? 0 }).catch(() => undefined);
		});
		const initialized = dc.next('initialized');
		await within(
			dc.launchRequest({ program: fixturePath('forker'), args, followForks: 'parent' } as DebugProtocol.LaunchRequestArguments),
			20000,
			'launch',
		);
		await initialized;
		const bps = await dc.setBreakpointsRequest({
			source: { path: SRC },
			breakpoints: markers.map((m) => ({ line: findMarker(m, SRC) })),
		});
		assert.ok(
			bps.body.breakpoints.every((b) => b.verified),
			`breakpoints verified: ${JSON.stringify(bps.body.breakpoints)}`,
		);
		const exited = dc.next('exited', 60000);
		await dc.configurationDoneRequest();
		r.exitCode = ((await exited) as DebugProtocol.ExitedEvent).body.exitCode;
		return r;
	} finally {
		await dc.stop();
	}
}

describe('programs that fork', () => {
	test('fork() from a worker: the child runs through a breakpoint in its code and exits 7', async () => {
		const r = await run(['fork', '3'], ['CHILD_WORK']);
		assert.equal(r.exitCode, 0, `exit code; output:\n${r.stdout}`);
		for (let i = 0; i < 3; i++) assert.match(r.stdout, new RegExp(`^child ${i} exited 7$`, 'm'), `child ${i}:\n${r.stdout}`);
		assert.doesNotMatch(r.stdout, /killed by signal/);
		assert.equal(r.stops.length, 0, 'the parent never runs child_work: no stop');
		assert.equal((r.console.match(/\[detached child \d+ \(fork by thread \d+\)\]/g) ?? []).length, 3, `console:\n${r.console}`);
	});

	for (const how of ['system', 'spawn']) {
		test(`${how} ×50 from a worker with a breakpoint in the parent: every child's status right, then the breakpoint`, async () => {
			const r = await run([how, '50'], ['PARENT_DONE']);
			assert.equal(r.exitCode, 0, `exit code; output:\n${r.stdout.slice(-2000)}`);
			for (let i = 0; i < 50; i++) assert.match(r.stdout, new RegExp(`^child ${i} exited 7$`, 'm'), `child ${i}`);
			assert.equal(r.stops.length, 1, 'one stop: parent_done');
			assert.equal(r.stops[0].body.reason, 'breakpoint');
			assert.match(r.stdout, /^done$/m);
		});
	}
});

test('followForks "both" (the default): the child is a session of its own, held until configured, and stops at its breakpoint', async () => {
	const server = await DapServer.start();
	const parent = await server.client();
	let child: DapClient | null = null;
	try {
		await parent.init();
		let stdout = '';
		parent.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'stdout') stdout += e.body.output;
		});
		const initialized = parent.next('initialized');
		await within(
			parent.launchRequest({ program: fixturePath('forker'), args: ['fork', '1'] } as DebugProtocol.LaunchRequestArguments),
			20000,
			'launch',
		);
		await initialized;
		const exited = parent.next('exited', 60000);
		await parent.configurationDoneRequest();

		const req = await parent.waitReverse('startDebugging', 20000);
		const args = req.arguments as DebugProtocol.StartDebuggingRequestArguments;
		assert.equal(args.request, 'attach');
		const pid = Number(args.configuration.__forkallChild);
		assert.match(String(args.configuration.name), new RegExp(`^forker \\[child ${pid}\\] forked by \\d+ "forker"$`));
		const serverTids = listTasks(server.proc.pid!);
		assert.ok(
			procState(pid).every((s) => serverTids.includes(s.tracerPid) && s.state === 't'),
			'held: traced by the adapter, stopped',
		);

		child = await server.client();
		await child.init();
		const cinit = child.next('initialized');
		await child.attachRequest(args.configuration as DebugProtocol.AttachRequestArguments);
		await cinit;
		const bps = await child.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: findMarker('CHILD_WORK', SRC) }] });
		assert.equal(bps.body.breakpoints[0].verified, true);
		const stopped = child.next('stopped');
		await child.configurationDoneRequest();
		parent.respond(req, true);
		const ev = (await stopped) as DebugProtocol.StoppedEvent;
		assert.equal(ev.body.reason, 'breakpoint', 'the child stops at its breakpoint: set before its first instruction ran');
		const st = await child.stackTraceRequest({ threadId: ev.body.threadId!, levels: 1 });
		assert.equal(st.body.stackFrames[0].name, 'child_work');
		const cexit = child.next('exited', 20000);
		await child.continueRequest({ threadId: ev.body.threadId! });
		assert.equal(((await cexit) as DebugProtocol.ExitedEvent).body.exitCode, 7, 'the child exits 7 in its own session');
		assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 0);
		assert.match(stdout, /^child 0 exited 7$/m, 'the parent saw the status of the child');
	} finally {
		if (child) await child.stop();
		await parent.stop();
		await server.stop();
	}
});
