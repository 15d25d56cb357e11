/*
 * Programs that fork: with followForks "both" (the default) the adapter
 * asks VS Code for a child session (startDebugging reverse request) for
 * each fork() of the program; with "parent" the child is detached.
 * test/fixtures/forker.c: a worker thread forks; the child runs
 * child_work() (#CHILD_WORK) and exits 7; the parent prints each child's
 * status and exits 0.
 *
 * Negative controls (negative-controls.md): no startDebugging for a
 * followed fork fails the first test; a child session that does not follow
 * its own forks, the nested one; "child" handled as "both", the last.
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import {
	childSessionOf,
	events,
	exitCode,
	lineBreakpoint,
	markerLine,
	output,
	program,
	readyToDebug,
	removeAllBreakpoints,
	sleep,
	start,
	startedSessions,
	stopAll,
	stopped,
	terminated,
	topFrame,
	waitFor,
} from './helpers';

/** A breakpoint on child_work() (#CHILD_WORK), which runs in the fork children only. */
function breakInChildWork(): void {
	vscode.debug.addBreakpoints([lineBreakpoint('forker.c', markerLine('forker.c', '#CHILD_WORK'))]);
}

suite('follow-fork child sessions', () => {
	suiteSetup(readyToDebug);
	teardown(async () => {
		await stopAll().catch(() => undefined);
		removeAllBreakpoints();
	});

	test('fork() in the program opens a child session (parentSession set) that stops at a breakpoint in the child', async () => {
		breakInChildWork();
		const s = await start({ type: 'forkall', request: 'launch', name: 'forker', program: program('forker'), args: ['fork', '1'] });
		const child = await childSessionOf(s);
		assert.match(child.name, /^forker \[child (\d+)\] forked by \d+ "forker"$/, child.name);
		const pid = Number(/\[child (\d+)\]/.exec(child.name)![1]);
		assert.equal(child.configuration.__forkallChild, pid);
		const stop = await stopped(child);
		assert.equal(stop.body.reason, 'breakpoint');
		assert.match((await topFrame(child, stop.body.threadId!)).name, /child_work/);
		assert.equal(events(s, 'stopped').length, 0, 'the parent never stopped (child_work runs in the child only)');
		await child.customRequest('continue', { threadId: stop.body.threadId });
		assert.equal(await exitCode(s, 'the parent exited'), 0);
		assert.match(output(s, 'stdout'), /^child 0 exited 7$/m, output(s, 'stdout'));
		await terminated(s);
		await terminated(child);
	});

	test('followForks "parent": no child session, the child is detached and runs through the breakpoint', async () => {
		breakInChildWork();
		const s = await start({
			type: 'forkall',
			request: 'launch',
			name: 'forker (parent only)',
			program: program('forker'),
			args: ['fork', '1'],
			followForks: 'parent',
		});
		assert.equal(await exitCode(s, 'the program exited'), 0);
		assert.match(output(s, 'stdout'), /^child 0 exited 7$/m);
		assert.match(output(s, 'console'), /\[detached child \d+ \(fork by thread \d+\)\]/);
		await sleep(300);
		assert.ok(!startedSessions().some((x) => x.parentSession?.id === s.id), 'no child session');
	});

	test("nested fork: the grandchild gets a session of its own, child of the child's session, and stops at its breakpoint", async () => {
		breakInChildWork();
		const s = await start({
			type: 'forkall',
			request: 'launch',
			name: 'forker nested',
			program: program('forker'),
			args: ['nested', '1'],
		});
		const child = await childSessionOf(s);
		const grandchild = await childSessionOf(child, 'the grandchild session');
		const pid = Number(/\[child (\d+)\]/.exec(grandchild.name)?.[1]);
		assert.equal(grandchild.configuration.__forkallChild, pid, grandchild.name);
		const stop = await stopped(grandchild);
		assert.equal(stop.body.reason, 'breakpoint');
		assert.equal(stop.body.threadId, pid, "the grandchild's only thread");
		assert.match((await topFrame(grandchild, pid)).name, /child_work/);
		assert.equal(events(child, 'stopped').length, 0, 'the child itself never ran child_work');
		await grandchild.customRequest('continue', { threadId: pid });
		assert.equal(await exitCode(s, 'the parent exited'), 0);
		assert.match(output(s, 'stdout'), /^child 0 exited 8$/m, 'the child saw its grandchild exit 7');
		await terminated(s);
	});

	test('followForks "child": the one session follows the child to its breakpoint, the parent is detached', async () => {
		breakInChildWork();
		const s = await start({
			type: 'forkall',
			request: 'launch',
			name: 'forker (child)',
			program: program('forker'),
			args: ['fork', '1'],
			followForks: 'child',
		});
		const stop = await stopped(s);
		const m = await waitFor('the console line', () =>
			/\[following child (\d+) \(fork by thread \d+\); process (\d+) detached\]/.exec(output(s, 'console')),
		);
		const childPid = Number(m[1]);
		assert.equal(stop.body.threadId, childPid, 'stopped in the child');
		assert.match((await topFrame(s, childPid)).name, /child_work/);
		assert.ok(!startedSessions().some((x) => x.parentSession?.id === s.id), 'no child session');
		await s.customRequest('continue', { threadId: childPid });
		assert.equal(await exitCode(s, 'the session ends with the child'), 7);
	});
});
