/*
 * After a fork: the threads the child did not get (issue 11, items 1, 2
 * and 5). test/fixtures/deadlock: "holder" holds table_lock (asleep in
 * hold_table), two "idle" threads pause; the main thread (or a "forker"
 * worker) forks; the child locks table_lock — a breakpoint there stops it.
 *
 * The child session lists the dead threads (labelled, the parent's tids),
 * unwinds them from the child's own memory with the registers captured at
 * the fork (through libc: clock_nanosleep ← usleep ← hold_table ← holder),
 * shows their registers and locals, and `forkInfo` describes them.
 *
 * The third test: the child locks table_lock, whose owner field names
 * holder's tid: the parent session prints the hazard at the fork
 * (category "important"), the child session stops with reason "deadlock"
 * naming the lock, the dead owner and where it was (items 3 and 4);
 * own_lock, held by the forking thread, is not reported.
 *
 * Negative controls (run by hand, 2026-12-04): with the capture disabled
 * (follow_capture not called: no ghosts), the child's threads request has
 * one thread and forkInfo's deadThreads is empty — tests 1 and 2 fail;
 * without watchDeadlocks the child never stops — test 3 times out.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath, FIXTURES_SRC } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, DapServer, findMarker, within } from './support';
import type { ForkInfoResponseBody, LwpsResponseBody } from '../../adapter/src/dap/custom';

after(killAll);

const SRC = path.join(FIXTURES_SRC, 'deadlock.c');

async function childAtLock(
	server: DapServer,
	parent: DapClient,
	args: string[],
): Promise<{ child: DapClient; pid: number; tid: number; parentPid: number }> {
	await parent.init();
	const initialized = parent.next('initialized');
	await within(parent.launchRequest({ program: fixturePath('deadlock'), args } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
	await initialized;
	const parentPid = Number((await parent.threadsRequest()).body.threads[0]?.id ?? 0);
	await parent.configurationDoneRequest();
	const req = await parent.waitReverse('startDebugging', 20000);
	const cfg = (req.arguments as DebugProtocol.StartDebuggingRequestArguments).configuration;
	const child = await server.client();
	await child.init();
	const cinit = child.next('initialized');
	await child.attachRequest(cfg as DebugProtocol.AttachRequestArguments);
	await cinit;
	await child.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: findMarker('CHILD_LOCK', SRC) }] });
	const stopped = child.next('stopped', 20000) as Promise<DebugProtocol.StoppedEvent>;
	await child.configurationDoneRequest();
	parent.respond(req, true);
	const ev = await stopped;
	assert.equal(ev.body.reason, 'breakpoint');
	return { child, pid: Number(cfg.__forkallChild), tid: ev.body.threadId!, parentPid };
}

async function frameNames(dc: DapClient, threadId: number): Promise<string[]> {
	const st = await dc.stackTraceRequest({ threadId });
	return st.body.stackFrames.map((f) => f.name);
}

test('fork from main: the child session shows holder and the idle threads as dead, unwound from its own memory', async () => {
	const server = await DapServer.start();
	const parent = await server.client();
	let child: DapClient | null = null;
	try {
		const c = await childAtLock(server, parent, ['main']);
		child = c.child;
		assert.equal(c.tid, c.pid, 'the child has one live thread: the forking one, with the pid');
		const threads = (await child.threadsRequest()).body.threads;
		const dead = threads.filter((t) => t.id !== c.pid);
		assert.equal(dead.length, 3, `threads: ${JSON.stringify(threads)}`);
		for (const t of dead) assert.match(t.name, new RegExp(`^✝ dead: was ${t.id} "(holder|idle)" \\(lost in the fork\\)$`));
		const holder = dead.find((t) => t.name.includes('"holder"'))!;
		assert.ok(holder, 'holder is among the dead');

		const names = await frameNames(child, holder.id);
		assert.ok(names.includes('hold_table'), `holder's stack, unwound from the child's memory: ${names.join(' ← ')}`);
		assert.ok(names.indexOf('hold_table') > 0, 'through libc (usleep/clock_nanosleep) first');
		assert.ok(names.includes('holder'), `the thread's start routine: ${names.join(' ← ')}`);
		const st = await child.stackTraceRequest({ threadId: holder.id });
		const ht = st.body.stackFrames.find((f) => f.name === 'hold_table')!;
		assert.equal(ht.line, findMarker('HOLDING', SRC), 'hold_table at its usleep line');
		// locals of the dead thread's frame: hold_table's slot, read from the child's memory
		const scopes = await child.scopesRequest({ frameId: ht.id });
		const locals = scopes.body.scopes.find((s) => /local|argument/i.test(s.name))!;
		const vars = await child.variablesRequest({ variablesReference: locals.variablesReference });
		assert.ok(
			vars.body.variables.some((v) => v.name === 'slot' && /^\d+$/.test(v.value) && Number(v.value) < 16),
			`slot: ${JSON.stringify(vars.body.variables)}`,
		);
		// its registers, as captured at the fork
		const regs = scopes.body.scopes.find((s) => /register/i.test(s.name));
		assert.ok(regs, 'a Registers scope');

		const info = (await child.customRequest('forkInfo')).body as ForkInfoResponseBody;
		assert.equal(info.parent, c.parentPid);
		assert.equal(info.child, c.pid);
		assert.equal(info.kind, 'fork');
		assert.equal(info.forkingTid, c.parentPid, 'main forked');
		assert.deepEqual(info.deadThreads.map((t) => t.name).sort(), ['holder', 'idle', 'idle']);
		const h = info.deadThreads.find((t) => t.name === 'holder')!;
		assert.equal(h.parentTid, holder.id);
		assert.ok(h.stack && BigInt(h.stack.low) < BigInt(h.stack.high), 'its stack range, still mapped in the child');
		assert.ok(h.function, 'where it was: a function');

		// the LWP view's table: the live thread, then the dead ones (greyed there)
		const lwps = (await child.customRequest('lwps')).body as LwpsResponseBody;
		assert.deepEqual(
			lwps.lwps.map((r) => [r.tid, !!r.dead]),
			[[c.pid, false], ...info.deadThreads.map((t) => [t.parentTid, true])],
		);
		const hr = lwps.lwps.find((r) => r.tid === holder.id)!;
		assert.equal(hr.stack?.low, h.stack!.low);
	} finally {
		await parent.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
		await child?.stop();
		await parent.stop();
		await server.stop();
	}
});

test('fork from a worker: the dead threads include the main thread', async () => {
	const server = await DapServer.start();
	const parent = await server.client();
	let child: DapClient | null = null;
	try {
		const c = await childAtLock(server, parent, ['worker']);
		child = c.child;
		const info = (await child.customRequest('forkInfo')).body as ForkInfoResponseBody;
		await child.threadsRequest();
		assert.notEqual(info.forkingTid, c.parentPid, 'a worker forked');
		const main = info.deadThreads.find((t) => t.parentTid === c.parentPid);
		assert.ok(main, `main is dead in the child: ${JSON.stringify(info.deadThreads)}`);
		assert.equal(main.name, 'deadlock');
		const names = await frameNames(child, c.parentPid);
		assert.ok(names.includes('main'), `main's stack (in pthread_join): ${names.join(' ← ')}`);
		assert.equal(info.deadThreads.length, 4, 'main, holder, 2 idle');
	} finally {
		await parent.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
		await child?.stop();
		await parent.stop();
		await server.stop();
	}
});

test('the child locks table_lock: the fork names the held lock, the child session stops with reason "deadlock"', async () => {
	const server = await DapServer.start();
	const parent = await server.client();
	let child: DapClient | null = null;
	try {
		await parent.init();
		let important = '';
		parent.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'important') important += e.body.output;
		});
		const initialized = parent.next('initialized');
		await within(parent.launchRequest({ program: fixturePath('deadlock') } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		await parent.configurationDoneRequest();
		const req = await parent.waitReverse('startDebugging', 20000);
		const cfg = (req.arguments as DebugProtocol.StartDebuggingRequestArguments).configuration;
		child = await server.client();
		await child.init();
		const cinit = child.next('initialized');
		await child.attachRequest(cfg as DebugProtocol.AttachRequestArguments);
		await cinit;
		const stopped = child.next('stopped', 20000) as Promise<DebugProtocol.StoppedEvent>;
		const t0 = Date.now();
		await child.configurationDoneRequest();
		parent.respond(req, true);
		const ev = await stopped;
		const ms = Date.now() - t0;
		assert.equal(ev.body.reason, 'deadlock');
		assert.equal(ev.body.threadId, Number(cfg.__forkallChild));
		assert.match(
			ev.body.description ?? '',
			/^Deadlock: thread \d+ waits for table_lock \(pthread_mutex_t at 0x[0-9a-f]+\), held by "holder" \(was \d+\), a thread that did not survive the fork — it was in hold_table \(deadlock\.c:\d+\)$/,
		);
		assert.ok(ms < 3000, `stopped ${ms} ms after the child started`);
		const st = await child.stackTraceRequest({ threadId: ev.body.threadId! });
		assert.ok(
			st.body.stackFrames.some((f) => f.name === 'child_locks'),
			`blocked in child_locks: ${st.body.stackFrames.map((f) => f.name).join(' ← ')}`,
		);
		assert.match(
			important,
			/table_lock \(pthread_mutex_t at 0x[0-9a-f]+\) is held by "holder" \(tid \d+\), a thread the child does not have/,
		);
		assert.doesNotMatch(important, /own_lock/, 'held by the forking thread: the child has it');
		const info = (await child.customRequest('forkInfo')).body as ForkInfoResponseBody;
		const hidden = info.heldLocks.filter((l) => l.symbol.startsWith('*(pthread_mutex_t *)0x'));
		assert.equal(
			hidden.length,
			1,
			`the heap robust mutex no global reaches, found through holder's robust list: ${JSON.stringify(info.heldLocks)}`,
		);
		assert.equal(hidden[0].symbol, `*(pthread_mutex_t *)${hidden[0].address}`);
		assert.deepEqual(
			info.heldLocks
				.filter((l) => !hidden.includes(l))
				.map((l) => [l.symbol, l.type, l.ownerName])
				.sort(),
			[
				['cfg_lock', 'pthread_rwlock_t', 'holder'],
				['db->mutex', 'pthread_mutex_t', 'holder'],
				['robust_lock', 'pthread_mutex_t', 'holder'],
				['shards[2].m', 'pthread_mutex_t', 'holder'],
				['table_lock', 'pthread_mutex_t', 'holder'],
			],
			'a global mutex, an rwlock held for writing, a mutex in a heap struct reachable from a global, a robust mutex (named once), a mutex in an array of self-referencing structs; not own_lock',
		);
		for (const l of info.heldLocks) assert.match(l.ownerWas ?? '', /^hold_table \(deadlock\.c:\d+\)$/);
	} finally {
		await parent.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
		await child?.stop();
		await parent.stop();
		await server.stop();
	}
});

test("glibc's own locks are no hazard: forks while threads are inside malloc and dlopen report no held lock", async () => {
	const server = await DapServer.start();
	const parent = await server.client();
	const children: DapClient[] = [];
	try {
		await parent.init();
		let important = '';
		let out = '';
		parent.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'important') important += e.body.output;
			if (e.body.category === 'stdout') out += e.body.output;
		});
		const exited = parent.next('exited', 60000) as Promise<DebugProtocol.ExitedEvent>;
		const initialized = parent.next('initialized');
		await within(
			parent.launchRequest({ program: fixturePath('mallocfork'), args: ['3'] } as DebugProtocol.LaunchRequestArguments),
			20000,
			'launch',
		);
		await initialized;
		await parent.configurationDoneRequest();
		for (let k = 0; k < 3; k++) {
			const req = await parent.waitReverse('startDebugging', 20000);
			parent.reverse.splice(parent.reverse.indexOf(req), 1); // the next fork's is another
			const cfg = (req.arguments as DebugProtocol.StartDebuggingRequestArguments).configuration;
			const child = await server.client();
			children.push(child);
			await child.init();
			const cinit = child.next('initialized');
			await child.attachRequest(cfg as DebugProtocol.AttachRequestArguments);
			await cinit;
			const info = (await child.customRequest('forkInfo')).body as ForkInfoResponseBody;
			assert.deepEqual(info.deadThreads.map((t) => t.name).sort(), ['churn', 'churn', 'churn', 'churn', 'loader']);
			assert.deepEqual(info.heldLocks, [], `fork ${k}: malloc arenas, stdio and dl_load_lock are glibc's to reset`);
			const cexit = child.next('exited', 20000) as Promise<DebugProtocol.ExitedEvent>;
			await child.configurationDoneRequest();
			parent.respond(req, true);
			assert.equal((await cexit).body.exitCode, 0);
		}
		assert.equal((await exited).body.exitCode, 0, out);
		assert.match(out, /^child 2 exited 0$/m);
		assert.doesNotMatch(important, /held by/);
	} finally {
		await parent.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
		for (const c of children) await c.stop();
		await parent.stop();
		await server.stop();
	}
});
