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
import type { DebugProtocol } from '@vscode/debugprotocol';
import {
	activated,
	events,
	installRecorder,
	lineBreakpoint,
	markerLine,
	program,
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

function stdout(s: vscode.DebugSession): string {
	return events<DebugProtocol.OutputEvent>(s, 'output')
		.filter((e) => e.body.category === 'stdout')
		.map((e) => e.body.output)
		.join('');
}

function consoleText(s: vscode.DebugSession): string {
	return events<DebugProtocol.OutputEvent>(s, 'output')
		.filter((e) => e.body.category === 'console')
		.map((e) => e.body.output)
		.join('');
}

suite('follow-fork child sessions', () => {
	suiteSetup(async () => {
		installRecorder();
		await activated();
		removeAllBreakpoints();
	});
	teardown(async () => {
		await stopAll().catch(() => undefined);
		removeAllBreakpoints();
	});

	test('fork() in the program opens a child session (parentSession set) that stops at a breakpoint in the child', async () => {
		vscode.debug.addBreakpoints([lineBreakpoint('forker.c', markerLine('forker.c', '#CHILD_WORK'))]);
		const s = await start({ type: 'forkall', request: 'launch', name: 'forker', program: program('forker'), args: ['fork', '1'] });
		const child = await waitFor('the child session', () => startedSessions().find((x) => x.parentSession?.id === s.id));
		assert.match(child.name, /^forker \[child (\d+)\] forked by \d+ "forker"$/, child.name);
		const pid = Number(/\[child (\d+)\]/.exec(child.name)![1]);
		assert.equal(child.configuration.__forkallChild, pid);
		const stop = await stopped(child);
		assert.equal(stop.body.reason, 'breakpoint');
		assert.match((await topFrame(child, stop.body.threadId!)).name, /child_work/);
		assert.equal(events(s, 'stopped').length, 0, 'the parent never stopped (child_work runs in the child only)');
		await child.customRequest('continue', { threadId: stop.body.threadId });
		const exited = await waitFor('the parent exited', () => events<DebugProtocol.ExitedEvent>(s, 'exited')[0]);
		assert.equal(exited.body.exitCode, 0);
		assert.match(stdout(s), /^child 0 exited 7$/m, stdout(s));
		await terminated(s);
		await terminated(child);
	});

	test('followForks "parent": no child session, the child is detached and runs through the breakpoint', async () => {
		vscode.debug.addBreakpoints([lineBreakpoint('forker.c', markerLine('forker.c', '#CHILD_WORK'))]);
		const s = await start({
			type: 'forkall',
			request: 'launch',
			name: 'forker (parent only)',
			program: program('forker'),
			args: ['fork', '1'],
			followForks: 'parent',
		});
		const exited = await waitFor('the program exited', () => events<DebugProtocol.ExitedEvent>(s, 'exited')[0]);
		assert.equal(exited.body.exitCode, 0);
		assert.match(stdout(s), /^child 0 exited 7$/m);
		assert.match(consoleText(s), /\[detached child \d+ \(fork by thread \d+\)\]/);
		await sleep(300);
		assert.ok(!startedSessions().some((x) => x.parentSession?.id === s.id), 'no child session');
	});

	test("nested fork: the grandchild gets a session of its own, child of the child's session, and stops at its breakpoint", async () => {
		vscode.debug.addBreakpoints([lineBreakpoint('forker.c', markerLine('forker.c', '#CHILD_WORK'))]);
		const s = await start({
			type: 'forkall',
			request: 'launch',
			name: 'forker nested',
			program: program('forker'),
			args: ['nested', '1'],
		});
		const child = await waitFor('the child session', () => startedSessions().find((x) => x.parentSession?.id === s.id));
		const grandchild = await waitFor('the grandchild session', () => startedSessions().find((x) => x.parentSession?.id === child.id));
		const pid = Number(/\[child (\d+)\]/.exec(grandchild.name)?.[1]);
		assert.equal(grandchild.configuration.__forkallChild, pid, grandchild.name);
		const stop = await stopped(grandchild);
		assert.equal(stop.body.reason, 'breakpoint');
		assert.equal(stop.body.threadId, pid, "the grandchild's only thread");
		assert.match((await topFrame(grandchild, pid)).name, /child_work/);
		assert.equal(events(child, 'stopped').length, 0, 'the child itself never ran child_work');
		await grandchild.customRequest('continue', { threadId: pid });
		const exited = await waitFor('the parent exited', () => events<DebugProtocol.ExitedEvent>(s, 'exited')[0]);
		assert.equal(exited.body.exitCode, 0);
		assert.match(stdout(s), /^child 0 exited 8$/m, 'the child saw its grandchild exit 7');
		await terminated(s);
	});

	test('followForks "child": the one session follows the child to its breakpoint, the parent is detached', async () => {
		vscode.debug.addBreakpoints([lineBreakpoint('forker.c', markerLine('forker.c', '#CHILD_WORK'))]);
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
			/\[following child (\d+) \(fork by thread \d+\); process (\d+) detached\]/.exec(consoleText(s)),
		);
		const childPid = Number(m[1]);
		assert.equal(stop.body.threadId, childPid, 'stopped in the child');
		assert.match((await topFrame(s, childPid)).name, /child_work/);
		assert.ok(!startedSessions().some((x) => x.parentSession?.id === s.id), 'no child session');
		await s.customRequest('continue', { threadId: childPid });
		const exited = await waitFor('the session ends with the child', () => events<DebugProtocol.ExitedEvent>(s, 'exited')[0]);
		assert.equal(exited.body.exitCode, 7);
	});
});
