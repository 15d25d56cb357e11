/*
 * Recreate Dead Threads (issue 11 item 6). test/fixtures/deadlock: "holder"
 * holds table_lock, cfg_lock (rwlock, written), db->mutex and robust_lock
 * (robust) when a thread forks; the child locks table_lock and waits
 * forever. `recreateDeadThreads` on the child's session brings holder and
 * the idle threads back inside it (from the parent's picture at the fork):
 * holder wakes up in hold_table, unlocks everything — its copies of the
 * owner fields name its new tid — and the child gets table_lock, prints
 * "child got the lock" and exits 0, which the parent reports.
 *
 * Cases: at the deadlock stop (glibc's fork() ran in the child: the dead
 * threads' descriptors were given up and are handed back), at the fork
 * stop (the child is run out of fork() first), a fork from a worker (main
 * is one of the dead, on a user stack), a failure injected after the
 * threads were built (FORKALL_FAULT=recreate-locks: everything undone, the
 * child as it was), and requests that make no sense.
 *
 * Negative controls (run by hand, 2026-12-04): without the owner rewrite
 * (fix_lock_owners skipped) holder's pthread_rwlock_unlock(&cfg_lock) sees
 * another thread's tid in __cur_writer and the child never gets the lock —
 * test 1 times out; without reclaim_undo (glibc's bookkeeping left as the
 * child's fork() made it) __nptl_nthreads stays 1 ... (see the closing note).
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath, FIXTURES_SRC } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, DapServer, within } from './support';
import type { ForkInfoResponseBody, RecreateDeadThreadsResponseBody } from '../../adapter/src/dap/custom';

after(killAll);

const SRC = path.join(FIXTURES_SRC, 'deadlock.c');
void SRC;

interface Pair {
	server: DapServer;
	parent: DapClient;
	child: DapClient;
	pid: number;
	parentOut: () => string;
	parentExited: Promise<DebugProtocol.ExitedEvent>;
	childExited: Promise<DebugProtocol.ExitedEvent>;
}

type Session = Pair & { configure: () => Promise<void> };

/** The deadlock program launched, its fork child attached in a session of its own (held at the fork until configured). */
async function childSession(args: string[], env?: NodeJS.ProcessEnv): Promise<Session> {
	const server = await DapServer.start(env ? { ...process.env, ...env } : process.env);
	const parent = await server.client();
	await parent.init();
	let out = '';
	parent.on('output', (e: DebugProtocol.OutputEvent) => {
		if (e.body.category === 'stdout') out += e.body.output;
	});
	const parentExited = parent.next('exited', 60000) as Promise<DebugProtocol.ExitedEvent>;
	const initialized = parent.next('initialized');
	await within(parent.launchRequest({ program: fixturePath('deadlock'), args } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
	await initialized;
	await parent.configurationDoneRequest();
	const req = await parent.waitReverse('startDebugging', 20000);
	const cfg = (req.arguments as DebugProtocol.StartDebuggingRequestArguments).configuration;
	const child = await server.client();
	await child.init();
	const childExited = child.next('exited', 60000) as Promise<DebugProtocol.ExitedEvent>;
	const cinit = child.next('initialized');
	await child.attachRequest(cfg as DebugProtocol.AttachRequestArguments);
	await cinit;
	const configure = async (): Promise<void> => {
		await child.configurationDoneRequest();
		parent.respond(req, true);
	};
	return { server, parent, child, pid: Number(cfg.__forkallChild), parentOut: () => out, parentExited, childExited, configure };
}

async function stopAll(p: Partial<Pair>): Promise<void> {
	await p.parent?.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
	await p.child?.stop();
	await p.parent?.stop();
	await p.server?.stop();
}

function taskCount(pid: number): number {
	return fs.readdirSync(`/proc/${pid}/task`).length;
}

/** The child's threads after a recreation: every one live (no dead entries), named as in the parent. */
async function assertRecreated(child: DapClient, pid: number, r: RecreateDeadThreadsResponseBody, names: string[]): Promise<void> {
	assert.deepEqual(r.threads.map((t) => t.name).sort(), [...names].sort());
	for (const t of r.threads) assert.notEqual(t.childTid, t.parentTid);
	assert.equal(taskCount(pid), 1 + names.length, 'the kernel has every thread');
	const threads = (await child.threadsRequest()).body.threads;
	assert.equal(threads.filter((t) => t.name.startsWith('✝')).length, 0, `no dead entries left: ${JSON.stringify(threads)}`);
	for (const t of r.threads)
		assert.ok(
			threads.some((x) => x.id === t.childTid),
			`thread ${t.childTid} listed`,
		);
	const info = (await child.customRequest('forkInfo')).body as ForkInfoResponseBody & { recreated?: unknown[] };
	assert.equal(info.deadThreads.length, 0);
	assert.equal(info.heldLocks.length, 0, 'no lock is held by a dead thread any more');
}

/** body on a childSession; every session and process stopped after it, even when it fails. */
async function withChild(args: string[], body: (s: Session) => Promise<void>, env?: NodeJS.ProcessEnv): Promise<void> {
	let p: Partial<Pair> = {};
	try {
		const s = await childSession(args, env);
		p = s;
		await body(s);
	} finally {
		await stopAll(p);
	}
}

/** Configure the child and wait for its deadlock stop (table_lock, held by the dead holder). */
async function runToDeadlock(s: Session): Promise<void> {
	const stopped = s.child.next('stopped', 20000) as Promise<DebugProtocol.StoppedEvent>;
	await s.configure();
	assert.equal((await stopped).body.reason, 'deadlock');
}

/** The child got the lock and exited 0; the parent reported it and exited 0 too. */
async function assertBothExitZero(s: Session): Promise<void> {
	assert.equal((await within(s.childExited, 20000, 'child exit')).body.exitCode, 0);
	assert.equal((await within(s.parentExited, 20000, 'parent exit')).body.exitCode, 0);
	assert.match(s.parentOut(), /^child exited 0$/m, s.parentOut());
}

/** The recreated thread `name` is on its own stack again, in the live thread: a frame of `fn`. */
async function assertOnItsStack(s: Session, r: RecreateDeadThreadsResponseBody, name: string, fn: string): Promise<void> {
	const t = r.threads.find((x) => x.name === name)!;
	const st = await s.child.stackTraceRequest({ threadId: t.childTid });
	assert.ok(
		st.body.stackFrames.some((f) => f.name === fn),
		st.body.stackFrames.map((f) => f.name).join(' ← '),
	);
}

test('at the deadlock stop: holder, idle, idle come back; holder unlocks; the child gets the lock and exits 0', () =>
	withChild(['main'], async (s) => {
		await runToDeadlock(s);
		assert.equal(taskCount(s.pid), 1);
		const restopped = s.child.next('stopped', 20000) as Promise<DebugProtocol.StoppedEvent>;
		const r = (await s.child.customRequest('recreateDeadThreads')).body as RecreateDeadThreadsResponseBody;
		assert.equal(r.stepsOutOfFork, 0, 'past fork() already');
		assert.equal(r.descriptorsRestored, 3, "glibc's fork() had given up all three descriptors");
		assert.equal(r.locksFixed, 4, 'table_lock, cfg_lock (__cur_writer), db->mutex, shards[2].m');
		assert.equal(r.robustOwnersFixed, 2, "robust_lock and the heap one, through holder's robust list (before the DWARF pass)");
		const ev = await restopped;
		assert.match(ev.body.description ?? '', /^Recreated 3 dead threads$/);
		await assertRecreated(s.child, s.pid, r, ['holder', 'idle', 'idle']);
		await assertOnItsStack(s, r, 'holder', 'hold_table');
		await s.child.continueRequest({ threadId: s.pid });
		await assertBothExitZero(s);
	}));

test('at the fork stop (the child still inside fork()): run out of fork() first, then recreated; the child never deadlocks', () =>
	withChild(['main'], async (s) => {
		const r = (await s.child.customRequest('recreateDeadThreads')).body as RecreateDeadThreadsResponseBody;
		assert.ok(r.stepsOutOfFork >= 1, `stepped out of fork(): ${r.stepsOutOfFork}`);
		assert.equal(r.descriptorsRestored, 3);
		await assertRecreated(s.child, s.pid, r, ['holder', 'idle', 'idle']);
		const st = await s.child.stackTraceRequest({ threadId: s.pid });
		assert.ok(
			st.body.stackFrames[0]?.name === 'fork_and_wait',
			`the main thread is back in the program, right after fork(): ${st.body.stackFrames.map((f) => f.name).join(' ← ')}`,
		);
		let deadlock = false;
		s.child.on('stopped', (e: DebugProtocol.StoppedEvent) => (deadlock ||= e.body.reason === 'deadlock'));
		await s.configure();
		await assertBothExitZero(s);
		assert.equal(deadlock, false);
	}));

test('fork from a worker: main is recreated too (its descriptor was on the user-stack list)', () =>
	withChild(['worker'], async (s) => {
		await runToDeadlock(s);
		const r = (await s.child.customRequest('recreateDeadThreads')).body as RecreateDeadThreadsResponseBody;
		assert.equal(r.descriptorsRestored, 4);
		await assertRecreated(s.child, s.pid, r, ['deadlock', 'holder', 'idle', 'idle']);
		await assertOnItsStack(s, r, 'deadlock', 'main');
		await s.child.continueRequest({ threadId: s.pid });
		await assertBothExitZero(s);
	}));

test('a failure after the threads were built (FORKALL_FAULT=recreate-locks): everything undone, the child as it was', () =>
	withChild(
		['main'],
		async (s) => {
			await runToDeadlock(s);
			const before = (await s.child.customRequest('forkInfo')).body as ForkInfoResponseBody;
			const regsBefore = fs.readFileSync(`/proc/${s.pid}/task/${s.pid}/syscall`, 'utf8');
			await assert.rejects(s.child.customRequest('recreateDeadThreads'), /injected fault at step "recreate-locks"/);
			assert.equal(taskCount(s.pid), 1, 'the threads built were ended');
			const after = (await s.child.customRequest('forkInfo')).body as ForkInfoResponseBody;
			assert.deepEqual(after.deadThreads, before.deadThreads);
			assert.deepEqual(after.heldLocks, before.heldLocks, 'owner fields put back: the locks name the dead holder again');
			assert.equal(fs.readFileSync(`/proc/${s.pid}/task/${s.pid}/syscall`, 'utf8'), regsBefore, 'the main thread as it was');
			const threads = (await s.child.threadsRequest()).body.threads;
			assert.equal(threads.filter((t) => t.name.startsWith('✝')).length, 3);
		},
		{ FORKALL_FAULT: 'recreate-locks' },
	));

test('requests that make no sense get a clear error', () =>
	withChild(['main'], async (s) => {
		await assert.rejects(s.parent.customRequest('recreateDeadThreads'), /was not forked by a process followed here/);
		await runToDeadlock(s);
		await s.child.customRequest('recreateDeadThreads');
		await assert.rejects(s.child.customRequest('recreateDeadThreads'), /no dead threads left to recreate/);
		await s.child.continueRequest({ threadId: s.pid });
	}));
