/*
 * forkAllThreads through the debug adapter: modes "run" and "stopped" over
 * stdio, and "debug" in server mode (the child becomes a second session of
 * the same adapter process through startDebugging). Targets run under
 * test/fixtures/reaper: the forked child's parent is the target's parent.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ForkAllThreadsResponseBody } from '../../adapter/src/dap/custom';
import { cleanupFork, killAndReap, procStat, registerChild, spawnReaped } from '../helpers/forkTarget';
import { fixturePath } from '../helpers/paths';
import { assertNotStoppedOrTraced, listTasks, procState } from '../helpers/procfs';
import { killAll } from '../helpers/procs';
import { DapClient, DapServer, Golden, within, type DapdemoTruth } from './support';

after(async () => {
	await cleanupFork();
	await killAll();
});

function spawnDemo() {
	return spawnReaped<DapdemoTruth>(fixturePath('dapdemo'), ['wait'], {}, 'dapdemo wait');
}

async function fork(dc: DapClient, mode: string): Promise<ForkAllThreadsResponseBody> {
	const r = await within(dc.customRequest('forkAllThreads', { mode }), 30000, `forkAllThreads ${mode}`);
	const body = r.body as ForkAllThreadsResponseBody;
	registerChild(body.child);
	return body;
}

test('forkAllThreads mode run and stopped (stdio): child with every thread, progress events, parent still stopped in the session', async () => {
	const t = await spawnDemo();
	const g = new Golden('fork-run-stopped').alias(t.pid, 'pid');
	t.truth.tids.forEach((x, i) => g.alias(x, `worker${i}`));
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		await dc.attachStopped(t.pid);
		for (const mode of ['run', 'stopped']) {
			const progressStart = dc.next('progressStart');
			const progressEnd = dc.next('progressEnd');
			const body = await fork(dc, mode);
			g.alias(body.child, `child-${mode}`);
			body.threads.forEach((x, i) => x.childTid !== body.child && g.alias(x.childTid, `child-${mode}-t${i}`));
			const ps = (await progressStart) as DebugProtocol.ProgressStartEvent;
			const pe = (await progressEnd) as DebugProtocol.ProgressEndEvent;
			assert.equal(ps.body.progressId, pe.body.progressId);
			g.log(`forkAllThreads ${mode}`, {
				mode: body.mode,
				parent: body.parent,
				child: body.child,
				threads: body.threads,
				warnings: body.warnings,
			});
			g.log(`progress ${mode}`, { title: ps.body.title, message: ps.body.message });
			assert.equal(body.parent, t.pid);
			assert.deepEqual(
				body.threads.map((x) => x.parentTid).sort((a, b) => a - b),
				listTasks(t.pid),
			);
			assert.deepEqual(
				body.threads.map((x) => x.childTid).sort((a, b) => a - b),
				listTasks(body.child),
			);
			assert.equal(procStat(body.child)?.ppid, t.reaperPid, "the child's parent is the target's parent");
			let states = procState(body.child);
			assert.ok(
				states.every((s) => s.tracerPid === 0),
				`${mode}: child untraced`,
			);
			if (mode === 'run') assertNotStoppedOrTraced(body.child, 'run-mode child');
			else {
				/* the SIGSTOP is queued before the detach; each thread enters
				 * the group stop when it next runs: moments later */
				for (let i = 0; i < 200 && !states.every((s) => s.state === 'T'); i++) {
					await new Promise((r) => setTimeout(r, 10));
					states = procState(body.child);
				}
				assert.ok(
					states.every((s) => s.state === 'T'),
					`stopped-mode child group-stopped: ${JSON.stringify(states)}`,
				);
			}
			// The parent is still stopped in the session.
			assert.ok(
				procState(t.pid).every((s) => s.state === 't'),
				'parent still in a tracing stop',
			);
			assert.ok(await killAndReap(body.child), `child ${body.child} killed and reaped`);
		}
		await dc.disconnectRequest({});
	} finally {
		await dc.stop();
	}
	assertNotStoppedOrTraced(t.pid, 'parent after disconnect');
	g.assertMatches();
	await t.stop();
});

test('server mode: forkAllThreads mode debug opens a child session on the same tracer', async () => {
	const t = await spawnDemo();
	const server = await DapServer.start();
	const g = new Golden('fork-debug-server').alias(t.pid, 'pid');
	t.truth.tids.forEach((x, i) => g.alias(x, `worker${i}`));
	const parent = await server.client();
	let child: DapClient | null = null;
	try {
		await parent.init();
		await parent.attachStopped(t.pid);
		const body = await fork(parent, 'debug');
		g.alias(body.child, 'child');
		body.threads.forEach((x, i) => x.childTid !== body.child && g.alias(x.childTid, `child-t${i}`));
		assert.equal(body.childSession, true);
		const req = await parent.waitReverse('startDebugging');
		g.log('startDebugging', req.arguments);
		const args = req.arguments as DebugProtocol.StartDebuggingRequestArguments;
		assert.equal(args.request, 'attach');
		assert.equal(args.configuration.__forkallChild, body.child);
		// The child is kept traced (by the server process) and stopped.
		const serverTids = listTasks(server.proc.pid!);
		assert.ok(
			procState(body.child).every((s) => serverTids.includes(s.tracerPid) && s.state === 't'),
			`child traced by the adapter and stopped: ${JSON.stringify(procState(body.child))}`,
		);

		child = await server.client();
		await child.init();
		const initialized = child.next('initialized');
		await child.attachRequest(args.configuration as DebugProtocol.AttachRequestArguments);
		await initialized;
		const stopped = child.next('stopped');
		await child.configurationDoneRequest();
		parent.respond(req, true);
		g.log('child stopped', (await stopped).body);
		const th = await child.threadsRequest();
		g.log(
			'child threads',
			th.body.threads.map((x) => x.id),
		);
		assert.deepEqual(
			th.body.threads.map((x) => x.id).sort((a, b) => a - b),
			listTasks(body.child),
		);
		// A second claim of the same child fails.
		const other = await server.client();
		try {
			await other.init();
			g.log('second claim', await other.expectError('attach', { __forkallChild: body.child }));
		} finally {
			await other.stop();
		}
		// Both sessions work independently: continue the child, pause it again.
		await child.continueRequest({ threadId: body.child });
		const paused = child.next('stopped');
		await child.pauseRequest({ threadId: body.child });
		g.log('child paused', (await paused).body);
		const st = await child.stackTraceRequest({ threadId: body.child });
		assert.ok(st.body.stackFrames.length >= 1);
		await child.disconnectRequest({});
		assertNotStoppedOrTraced(body.child, 'child after its session detached');
		const pth = await parent.threadsRequest();
		assert.equal(pth.body.threads.length, 3, 'parent session still answers');
		await parent.disconnectRequest({});
		assertNotStoppedOrTraced(t.pid, 'parent after disconnect');
		assert.ok(await killAndReap(body.child));
	} finally {
		if (child) await child.stop();
		await parent.stop();
		await server.stop();
	}
	g.assertMatches();
	await t.stop();
});

test('server mode: a refused startDebugging lets the child go (detached, running)', async () => {
	const t = await spawnDemo();
	const server = await DapServer.start();
	const parent = await server.client();
	try {
		await parent.init();
		await parent.attachStopped(t.pid);
		const body = await fork(parent, 'debug');
		const req = await parent.waitReverse('startDebugging');
		const out = parent.next('output');
		parent.respond(req, false, undefined, 'user said no');
		assert.match(((await out) as DebugProtocol.OutputEvent).body.output, /did not start a session/);
		for (let i = 0; i < 100 && procState(body.child).some((s) => s.tracerPid !== 0); i++) await new Promise((r) => setTimeout(r, 20));
		assertNotStoppedOrTraced(body.child, 'released child');
		assert.ok(await killAndReap(body.child));
		await parent.disconnectRequest({});
	} finally {
		await parent.stop();
		await server.stop();
	}
	assertNotStoppedOrTraced(t.pid, 'parent after disconnect');
	await t.stop();
});
