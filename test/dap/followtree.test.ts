/*
 * Following what a program does to its process tree (issue 10): vfork
 * children in their parent's memory, exec in the debuggee, nested forks
 * (a session per process of the tree), followForks "child", and ending
 * the tree with the program.
 *
 * test/fixtures/forker MODE N [EXECD]: a worker thread makes N children
 * (or execs); test/fixtures/execd is the program it execs (exits 5).
 *
 * Negative controls (run by hand, 2026-12-04): with PTRACE_O_TRACEVFORK
 * removed from ATTACH_OPTIONS, the vfork test prints "child 0 killed by
 * signal 5" (the child dies of the parent's breakpoint byte); with the
 * exec event not handled in Debuggee (no rebind), the exec test never
 * stops in execd_work and its breakpoint stays unverified.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath, FIXTURES_SRC } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, DapServer, findMarker, within, type ReverseRequest } from './support';

after(killAll);

const FORKER_SRC = path.join(FIXTURES_SRC, 'forker.c');
const EXECD_SRC = path.join(FIXTURES_SRC, 'execd.c');

interface Session {
	dc: DapClient;
	stdout: string;
	console: string;
	exited: Promise<DebugProtocol.ExitedEvent>;
}

function watch(dc: DapClient): Session {
	const s: Session = {
		dc,
		stdout: '',
		console: '',
		exited: dc.next('exited', 60000) as Promise<DebugProtocol.ExitedEvent>,
	};
	dc.on('output', (e: DebugProtocol.OutputEvent) => {
		if (e.body.category === 'stdout') s.stdout += e.body.output;
		if (e.body.category === 'console') s.console += e.body.output;
	});
	return s;
}

/** Launch forker with source breakpoints at markers (all verified), then configurationDone. */
async function launch(dc: DapClient, args: string[], markers: string[], extra: Record<string, unknown> = {}): Promise<Session> {
	await dc.init();
	const s = watch(dc);
	const initialized = dc.next('initialized');
	await within(
		dc.launchRequest({ program: fixturePath('forker'), args, ...extra } as DebugProtocol.LaunchRequestArguments),
		20000,
		'launch',
	);
	await initialized;
	if (markers.length) {
		const bps = await dc.setBreakpointsRequest({
			source: { path: FORKER_SRC },
			breakpoints: markers.map((m) => ({ line: findMarker(m, FORKER_SRC) })),
		});
		assert.ok(
			bps.body.breakpoints.every((b) => b.verified),
			`breakpoints verified: ${JSON.stringify(bps.body.breakpoints)}`,
		);
	}
	await dc.configurationDoneRequest();
	return s;
}

/** Answer the next startDebugging of `from` with a new session attached to the child it names. */
async function childSession(
	server: DapServer,
	from: DapClient,
	setup: (c: DapClient) => Promise<void> = async () => undefined,
): Promise<{ s: Session; pid: number; req: ReverseRequest }> {
	const req = await from.waitReverse('startDebugging', 20000);
	from.reverse.splice(from.reverse.indexOf(req), 1);
	const args = req.arguments as DebugProtocol.StartDebuggingRequestArguments;
	const dc = await server.client();
	await dc.init();
	const s = watch(dc);
	const initialized = dc.next('initialized');
	await dc.attachRequest(args.configuration as DebugProtocol.AttachRequestArguments);
	await initialized;
	await setup(dc);
	await dc.configurationDoneRequest();
	from.respond(req, true);
	return { s, pid: Number(args.configuration.__forkallChild), req };
}

function alive(pid: number): boolean {
	try {
		const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		return !/^\d+ \(.*\) Z/.test(st);
	} catch {
		return false;
	}
}

test('vfork + execve from a worker, breakpoint on the code the vfork child runs ("parent"): the child passes it, exits 7', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		const s = await launch(dc, ['vfork', '3'], ['VFORK_CHILD', 'PARENT_DONE'], { followForks: 'parent' });
		// the parent stops only at parent_done: vfork_child_work runs in the children alone
		const stop = await dc.next('stopped', 30000);
		assert.equal(s.dc.stops().length, 1);
		const st = await dc.stackTraceRequest({ threadId: (stop as DebugProtocol.StoppedEvent).body.threadId!, levels: 1 });
		assert.equal(st.body.stackFrames[0].name, 'parent_done');
		await dc.continueRequest({ threadId: 0 });
		assert.equal((await s.exited).body.exitCode, 0, `output:\n${s.stdout}`);
		for (let i = 0; i < 3; i++) assert.match(s.stdout, new RegExp(`^child ${i} exited 7$`, 'm'), `child ${i}:\n${s.stdout}`);
		assert.doesNotMatch(s.stdout, /killed by signal/);
		assert.equal((s.console.match(/\[detached child \d+ \(vfork by thread \d+\)\]/g) ?? []).length, 3, s.console);
	} finally {
		await dc.stop();
	}
});

test('vfork child session ("both"): breakpoints refused until its exec, the parent\'s passed silently; both end right', async () => {
	const server = await DapServer.start();
	const parent = await server.client();
	let child: Session | null = null;
	try {
		const ps = await launch(parent, ['vfork', '1'], ['VFORK_CHILD']);
		let refused: DebugProtocol.Breakpoint | undefined;
		const c = await childSession(server, parent, async (dc) => {
			const r = await dc.setBreakpointsRequest({
				source: { path: FORKER_SRC },
				breakpoints: [{ line: findMarker('VFORK_CHILD', FORKER_SRC) }],
			});
			refused = r.body.breakpoints[0];
		});
		child = c.s;
		assert.match(
			String((c.req.arguments as DebugProtocol.StartDebuggingRequestArguments).configuration.name),
			/\[child \d+\] vforked by \d+/,
		);
		assert.equal(refused?.verified, false);
		assert.match(refused?.message ?? '', /made by vfork\(\) and shares the memory of process \d+ until it calls exec/);
		assert.equal((await c.s.exited).body.exitCode, 7, 'the vfork child ran sh -c "exit 7"');
		assert.equal((await ps.exited).body.exitCode, 0, ps.stdout);
		assert.match(ps.stdout, /^child 0 exited 7$/m);
		assert.equal(
			c.s.dc.stops().length + ps.dc.stops().length,
			0,
			"no stop: the parent never runs vfork_child_work, the child passes the parent's breakpoint",
		);
		assert.match(c.s.console, /called execve: now running \/(usr\/)?bin\/(da|ba)?sh/);
	} finally {
		await child?.dc.stop();
		await parent.stop();
		await server.stop();
	}
});

test('exec from a worker thread: a breakpoint set before, in the new program, becomes verified and hits; the worker exits', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const s = watch(dc);
		const changed: DebugProtocol.BreakpointEvent[] = [];
		dc.on('breakpoint', (e: DebugProtocol.BreakpointEvent) => changed.push(e));
		const exitedThreads: number[] = [];
		dc.on('thread', (e: DebugProtocol.ThreadEvent) => {
			if (e.body.reason === 'exited') exitedThreads.push(e.body.threadId);
		});
		const initialized = dc.next('initialized');
		await dc.launchRequest({
			program: fixturePath('forker'),
			args: ['exec', '1', fixturePath('execd')],
			followForks: 'parent',
		} as DebugProtocol.LaunchRequestArguments);
		await initialized;
		const r = await dc.setBreakpointsRequest({
			source: { path: EXECD_SRC },
			breakpoints: [{ line: findMarker('EXECD_WORK', EXECD_SRC) }],
		});
		assert.equal(r.body.breakpoints[0].verified, false, 'execd is not loaded yet');
		const id = r.body.breakpoints[0].id;
		const stopped = dc.next('stopped', 30000) as Promise<DebugProtocol.StoppedEvent>;
		await dc.configurationDoneRequest();
		const ev = await stopped;
		assert.equal(ev.body.reason, 'breakpoint');
		const st = await dc.stackTraceRequest({ threadId: ev.body.threadId!, levels: 1 });
		assert.equal(st.body.stackFrames[0].name, 'execd_work');
		assert.equal(st.body.stackFrames[0].source?.path, EXECD_SRC);
		const upd = changed.find((e) => e.body.breakpoint.id === id);
		assert.ok(upd && upd.body.reason === 'changed' && upd.body.breakpoint.verified, `breakpoint event: ${JSON.stringify(changed)}`);
		const threads = await dc.threadsRequest();
		assert.equal(threads.body.threads.length, 1, 'the new program has one thread');
		assert.ok(exitedThreads.length >= 4, `every thread of the old program exited (the exec'ing worker included): ${exitedThreads}`);
		assert.ok(!exitedThreads.includes(threads.body.threads[0].id), 'the remaining thread carries the pid');
		await dc.continueRequest({ threadId: ev.body.threadId! });
		assert.equal((await s.exited).body.exitCode, 5);
		assert.match(s.stdout, /^execd from-forker$/m);
		assert.match(s.console, /called execve: now running .*execd/);
	} finally {
		await dc.stop();
	}
});

test('data breakpoints and fork children: the parent\'s dataId watches a child session ("both", as VS Code sends it); "child" carries it over', async () => {
	for (const mode of ['both', 'child'] as const) {
		const server = await DapServer.start();
		const parent = await server.client();
		const sessions: Session[] = [];
		try {
			const ps = await launch(parent, ['fork', '1'], [], { stopAtEntry: true, followForks: mode });
			const entry = await ps.dc.stopNumber(1);
			const info = await parent.dataBreakpointInfoRequest({ name: 'sink' });
			const dataId = info.body.dataId;
			assert.ok(dataId, `sink can be watched: ${info.body.description}`);
			const set = await parent.setDataBreakpointsRequest({ breakpoints: [{ dataId, accessType: 'write' }] });
			assert.equal(set.body.breakpoints[0].verified, true);
			await parent.continueRequest({ threadId: entry.body.threadId! });
			let s = ps;
			if (mode === 'both') {
				// VS Code sends every data breakpoint to a new session while it configures it
				const c = await childSession(server, parent, async (dc) => {
					const r = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId, accessType: 'write' }] });
					assert.equal(r.body.breakpoints[0].verified, true, "the parent's dataId is valid in the child (same addresses)");
				});
				sessions.push(c.s);
				s = c.s;
			}
			const stop = await s.dc.stopNumber(mode === 'both' ? 1 : 2);
			assert.equal(stop.body.reason, 'data breakpoint', `${mode}: ${JSON.stringify(s.dc.stops().map((x) => x.body))}`);
			assert.match(stop.body.description ?? '', /sink/);
			const st = await s.dc.stackTraceRequest({ threadId: stop.body.threadId!, levels: 1 });
			assert.equal(st.body.stackFrames[0].name, 'child_work', `${mode}: the write in child_work`);
			if (mode === 'child') assert.match(ps.console, /\[following child \d+/);
			await s.dc.continueRequest({ threadId: stop.body.threadId! });
			if (mode === 'both') {
				assert.equal((await s.exited).body.exitCode, 7);
				// the parent's own write of sink (in parent_done): its watch is its own
				const pstop = await ps.dc.stopNumber(2);
				assert.equal(pstop.body.reason, 'data breakpoint');
				const pst = await parent.stackTraceRequest({ threadId: pstop.body.threadId!, levels: 1 });
				assert.equal(pst.body.stackFrames[0].name, 'parent_done');
				await parent.continueRequest({ threadId: pstop.body.threadId! });
				assert.equal((await ps.exited).body.exitCode, 0);
			} else {
				// the parent was detached (its watch cleared: its own write in parent_done does not kill it)
				assert.equal((await ps.exited).body.exitCode, 7, 'the session followed the child to its end');
				for (let i = 0; i < 250 && !/^child 0 exited 7$/m.test(ps.stdout); i++) await new Promise((r) => setTimeout(r, 20));
				assert.match(
					ps.stdout,
					/^child 0 exited 7$/m,
					'the detached parent saw its child end (its own write of sink did not kill it)',
				);
			}
		} finally {
			for (const x of sessions) await x.dc.stop();
			await parent.stop();
			await server.stop();
		}
	}
});

test('nested fork ("both"): the grandchild gets a session of its own (from the child\'s session) and stops at its breakpoint', async () => {
	const server = await DapServer.start();
	const parent = await server.client();
	const sessions: Session[] = [];
	try {
		const ps = await launch(parent, ['nested', '1'], []);
		const c = await childSession(server, parent);
		sessions.push(c.s);
		const g = await childSession(server, c.s.dc, async (dc) => {
			const r = await dc.setBreakpointsRequest({
				source: { path: FORKER_SRC },
				breakpoints: [{ line: findMarker('CHILD_WORK', FORKER_SRC) }],
			});
			assert.equal(r.body.breakpoints[0].verified, true);
		});
		sessions.push(g.s);
		// its stop may come before childSession returns: counted from the session's start
		const stop = await g.s.dc.stopNumber(1);
		assert.equal(stop.body.reason, 'breakpoint');
		assert.equal(stop.body.threadId, g.pid, "the grandchild's only thread");
		const st = await g.s.dc.stackTraceRequest({ threadId: g.pid, levels: 1 });
		assert.equal(st.body.stackFrames[0].name, 'child_work');
		await g.s.dc.continueRequest({ threadId: g.pid });
		assert.equal((await g.s.exited).body.exitCode, 7);
		assert.equal((await c.s.exited).body.exitCode, 8, 'the child saw the grandchild exit 7');
		assert.equal((await ps.exited).body.exitCode, 0);
		assert.match(ps.stdout, /^child 0 exited 8$/m);
	} finally {
		for (const s of sessions) await s.dc.stop();
		await parent.stop();
		await server.stop();
	}
});

test('followForks "child": the session follows the child (same breakpoints), the parent is detached and finishes', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const s = await launch(dc, ['fork', '1'], ['CHILD_WORK', 'PARENT_DONE'], { followForks: 'child' });
		const stop = (await dc.next('stopped', 30000)) as DebugProtocol.StoppedEvent;
		const m = /\[following child (\d+) \(fork by thread \d+\); process (\d+) detached\]/.exec(s.console);
		assert.ok(m, s.console);
		const [childPid, parentPid] = [Number(m[1]), Number(m[2])];
		assert.equal(stop.body.threadId, childPid);
		const st = await dc.stackTraceRequest({ threadId: childPid, levels: 1 });
		assert.equal(st.body.stackFrames[0].name, 'child_work');
		await dc.continueRequest({ threadId: childPid });
		assert.equal((await s.exited).body.exitCode, 7, 'the session ends with the child');
		// the detached parent runs on, untraced, through its own breakpoint site
		await within(
			(async () => {
				while (alive(parentPid)) await new Promise((r) => setTimeout(r, 50));
			})(),
			10000,
			'the parent finishing',
		);
		assert.equal(s.dc.stops().length, 1, 'one stop: the child at child_work; parent_done is not followed');
	} finally {
		await dc.stop();
	}
});

test("terminating the parent ends the child sessions' processes too (terminateChildren, the default)", async () => {
	const server = await DapServer.start();
	const parent = await server.client();
	let child: Session | null = null;
	try {
		await launch(parent, ['fork', '1'], []);
		const c = await childSession(server, parent, async (dc) => {
			await dc.setBreakpointsRequest({ source: { path: FORKER_SRC }, breakpoints: [{ line: findMarker('CHILD_WORK', FORKER_SRC) }] });
		});
		child = c.s;
		await c.s.dc.next('stopped', 20000);
		assert.ok(alive(c.pid));
		await parent.disconnectRequest({ terminateDebuggee: true });
		await within(
			(async () => {
				while (alive(c.pid)) await new Promise((r) => setTimeout(r, 50));
			})(),
			10000,
			'the child ending with the parent',
		);
		const ex = await c.s.exited;
		assert.equal(ex.body.exitCode, 137, 'killed: 128 + SIGKILL');
	} finally {
		await child?.dc.stop();
		await parent.stop();
		await server.stop();
	}
});
