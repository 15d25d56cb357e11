/*
 * The threads a fork child lost (issue 11), through VS Code:
 * test/fixtures/deadlock.c ("main" mode): a "holder" thread holds the
 * global table_lock (in hold_table) when main forks; two "idle" threads
 * sleep. The child locks table_lock and waits forever. With followForks
 * "both" (the default) the child gets a session of its own, which lists
 * the three threads it lost as `✝ dead: was TID "name" (lost in the fork)`
 * and stops with reason "deadlock" naming table_lock and holder; the
 * parent's Debug Console names the held lock at the fork. The command
 * "Forkall: Recreate Dead Threads" (forkall.recreateDeadThreads, as the
 * palette runs it: no arguments, the focused session) brings the three
 * back in the child: holder unlocks, the child gets the lock and exits 0,
 * which the parent prints ("child exited 0").
 *
 * Negative controls (negative-controls.md, rows "dead-threads" and
 * "recreate-command"): the adapter listing no dead threads in `threads`
 * fails at "the dead threads in the child's threads"; the command not
 * calling the adapter (answering undefined) fails at "the command's
 * answer", and the child stays deadlocked.
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import {
	childSessionOf,
	events,
	exitCode,
	killPid,
	output,
	program,
	readyToDebug,
	start,
	stopAll,
	stopped,
	terminated,
	threads,
	waitFor,
} from './helpers';

const DEAD = /^✝ dead: was (\d+) "(.+)" \(lost in the fork\)$/;

/** The kernel's view of a process' threads: tid -> comm. */
function tasks(pid: number): Map<number, string> {
	const m = new Map<number, string>();
	for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
		try {
			m.set(Number(t), fs.readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim());
		} catch {
			// exited meanwhile
		}
	}
	return m;
}

interface RecreateAnswer {
	threads: { parentTid: number; childTid: number; name: string }[];
	locksFixed: number;
}

suite('dead threads after a fork', () => {
	let childPid = 0;
	suiteSetup(readyToDebug);
	teardown(async () => {
		await stopAll().catch(() => undefined);
		if (childPid) await killPid(childPid);
	});

	test('the fork child lists its dead threads and stops on the deadlock; Recreate Dead Threads brings 3 back and it exits 0', async () => {
		const s = await start({ type: 'forkall', request: 'launch', name: 'deadlock', program: program('deadlock'), args: ['main'] });
		const child = await childSessionOf(s);
		childPid = Number(child.configuration.__forkallChild);
		assert.ok(childPid > 0, child.name);
		const parentPid = Number(/forked by (\d+)/.exec(child.name)?.[1]);
		assert.ok(parentPid > 0, `the forking thread in the name: ${child.name}`);

		// the deadlock stop
		const stop = await stopped(child);
		assert.equal(stop.body.reason, 'deadlock', JSON.stringify(stop.body));
		assert.equal(stop.body.threadId, childPid, "the child's only thread blocks");
		assert.match(
			stop.body.description ?? '',
			/^Deadlock: thread \d+ waits for table_lock \(pthread_mutex_t at 0x[0-9a-f]+\), held by "holder"/,
		);
		assert.match(stop.body.description ?? '', /it was in hold_table \(deadlock\.c:\d+\)/);
		assert.equal(tasks(childPid).size, 1, 'the kernel: one thread in the child');
		assert.equal(events(s, 'stopped').length, 0, 'the parent runs on (in waitpid)');
		// the parent's Debug Console named the lock at the fork
		assert.match(
			output(s, 'important'),
			/table_lock \(pthread_mutex_t at 0x[0-9a-f]+\) is held by "holder" \(tid \d+\)/,
			output(s, 'important'),
		);

		// the dead threads in the child's threads: the parent's holder, idle, idle (still alive there, by those tids)
		const before = await threads(child);
		const dead = before.flatMap((t) => {
			const m = DEAD.exec(t.name);
			return m ? [{ tid: Number(m[1]), name: m[2], id: t.id }] : [];
		});
		assert.deepEqual(
			dead.map((d) => d.name).sort(),
			['holder', 'idle', 'idle'],
			`the dead threads in the child's threads: ${before.map((t) => t.name).join(' | ')}`,
		);
		const parentTasks = tasks(parentPid);
		for (const d of dead) {
			assert.equal(d.id, d.tid, 'a dead thread answers to its parent tid');
			assert.equal(parentTasks.get(d.tid), d.name, `${d.tid} is "${d.name}" in the parent ${parentPid}`);
		}
		assert.equal(before.length, 1 + dead.length, 'the real thread plus the dead ones');
		// a dead thread's stack, unwound from the child's memory: holder was in hold_table
		const holder = dead.find((d) => d.name === 'holder')!;
		const st = (await child.customRequest('stackTrace', {
			threadId: holder.id,
			startFrame: 0,
			levels: 20,
		})) as DebugProtocol.StackTraceResponse['body'];
		assert.ok(
			st.stackFrames.some((f) => f.name === 'hold_table'),
			st.stackFrames.map((f) => f.name).join(' ← '),
		);

		// Forkall: Recreate Dead Threads, as the palette runs it (the focused session: the stopped child)
		await waitFor('the child session focused', () => vscode.debug.activeDebugSession?.id === child.id, 10000);
		const r = await vscode.commands.executeCommand<RecreateAnswer | undefined>('forkall.recreateDeadThreads');
		assert.ok(r, "the command's answer (the adapter's)");
		assert.deepEqual(r.threads.map((t) => t.name).sort(), ['holder', 'idle', 'idle']);
		assert.deepEqual(r.threads.map((t) => t.parentTid).sort(), dead.map((d) => d.tid).sort(), 'each dead thread rebuilt');
		const restop = await stopped(child, 1);
		assert.equal(restop.body.description, 'Recreated 3 dead threads');
		const after = await threads(child);
		assert.equal(
			after.filter((t) => t.name.startsWith('✝')).length,
			0,
			`no dead entries left: ${after.map((t) => t.name).join(' | ')}`,
		);
		const kernel = tasks(childPid);
		assert.equal(kernel.size, 4, `the kernel: four threads in the child (${[...kernel].join(' ')})`);
		for (const t of r.threads) {
			assert.equal(kernel.get(t.childTid), t.name, `thread ${t.childTid} "${t.name}" lives in the child`);
			assert.ok(
				after.some((x) => x.id === t.childTid),
				`${t.childTid} in the Call Stack's threads`,
			);
		}

		// continue the child: holder unlocks table_lock, the child gets it and exits 0
		await child.customRequest('continue', { threadId: childPid });
		assert.equal(await exitCode(child, 'the child exited', 20000), 0);
		assert.equal(await exitCode(s, 'the parent exited', 20000), 0);
		assert.match(output(s, 'stdout'), /^child exited 0$/m, output(s, 'stdout'));
		await terminated(child);
		await terminated(s);
		childPid = 0;
	});
});
