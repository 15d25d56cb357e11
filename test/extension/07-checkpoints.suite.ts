/*
 * Checkpoints in VS Code (issue 12): test/fixtures/ckptwork.c (eight
 * workers "w0".."w7" plus main, which calls step_marker(step) for steps
 * 1..5), a function breakpoint on step_marker.
 *
 * 1. "Forkall: Save Checkpoint" (forkall.saveCheckpoint, with the note the
 *    input box would ask for) at step 1 -> the "Forkall: Checkpoints" view's
 *    model lists it (note, step_marker:line, memory) -> continue twice
 *    (step 3) -> "Forkall: Restore Checkpoint…" (forkall.restoreCheckpoint,
 *    with the id the quick pick would give) -> the session stops with
 *    "Restored checkpoint 1 …", `step` is 1 again with 11 threads (DAP and
 *    the kernel's /proc/PID/task), the old process is gone -> continue:
 *    step 2 -> the row's Delete action empties the view.
 * 2. "autoCheckpoint": 3, stops at steps 1..4 -> the view lists the three
 *    automatic checkpoints -> VS Code's own Step Back
 *    (workbench.action.debug.stepBack, the toolbar button) twice: step 3,
 *    then step 2; a third step back is refused (only 3 stops were kept).
 *
 * Negative controls (negative-controls.md, rows "checkpoint-view",
 * "checkpoint-restore" and "auto-checkpoint"): the store ignoring
 * 'checkpointsChanged' fails at "the view lists checkpoint"; the restore
 * command sending another id fails at "the restore's answer"; launch.json's
 * autoCheckpoint not reaching the adapter (session.ts reading it as 0)
 * fails at "the view lists the 3 automatic checkpoints".
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { CheckpointResponseBody, LwpsResponseBody, RestoreCheckpointResponseBody } from '../../adapter/src/dap/custom';
import {
	activated,
	api,
	events,
	installRecorder,
	markerLine,
	procState,
	program,
	removeAllBreakpoints,
	requests,
	sleep,
	start,
	startedSessions,
	stopAll,
	stopped,
	threads,
	topFrame,
	waitFor,
} from './helpers';

/** `step` of step_marker in the stopped thread's top frame. */
async function stepOf(s: vscode.DebugSession, threadId: number): Promise<number> {
	const top = await topFrame(s, threadId);
	assert.equal(top.name, 'step_marker', `stopped in step_marker, not ${top.name}`);
	const ev = (await s.customRequest('evaluate', {
		expression: 'step',
		frameId: top.id,
		context: 'watch',
	})) as DebugProtocol.EvaluateResponse['body'];
	return Number(ev.result);
}

/** The pid the session debugs: its threads' ids are tids; the process is the one whose tid is its tgid. */
function taskCount(pid: number): number {
	return fs.readdirSync(`/proc/${pid}/task`).length;
}

async function launch(extra: Record<string, unknown> = {}): Promise<vscode.DebugSession> {
	removeAllBreakpoints();
	vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('step_marker')]);
	// hw's SIGUSR1 (it enters its handler) is the program's business: not a stop
	const signals = { SIGUSR1: 'nostop noprint pass' };
	const s = await start({ type: 'forkall', request: 'launch', name: 'ckptwork', program: program('ckptwork'), signals, ...extra });
	await waitFor('the ckptwork session focused', () => vscode.debug.activeDebugSession?.id === s.id, 15000);
	return s;
}

async function cont(s: vscode.DebugSession, n: number, threadId: number): Promise<DebugProtocol.StoppedEvent> {
	await s.customRequest('continue', { threadId });
	return stopped(s, n);
}

suite('checkpoints', () => {
	suiteSetup(async () => {
		installRecorder();
		await activated();
	});
	teardown(async () => {
		await stopAll().catch(() => undefined);
		removeAllBreakpoints();
	});

	test('Save Checkpoint at step 1, continue twice, Restore Checkpoint: back at step 1 with 11 threads; the view lists it', async () => {
		const s = await launch();
		const first = await stopped(s, 0);
		const tid = first.body.threadId!;
		assert.equal(await stepOf(s, tid), 1);
		const pid0 = Number((await threads(s))[0]?.id);
		assert.equal(procState(pid0)?.threads, 11, 'main, 8 workers, hw and rd');

		// Forkall: Save Checkpoint (the note the input box asks for)
		const saved = await vscode.commands.executeCommand<CheckpointResponseBody | undefined>('forkall.saveCheckpoint', {
			note: 'step one',
		});
		assert.ok(saved, "the command's answer (the adapter's)");
		assert.equal(saved.threads, 11);
		assert.equal(saved.location.function, 'step_marker');
		const line = markerLine('ckptwork.c', '#STEP');
		const view = api().checkpoints();
		const rows = await waitFor('the view lists checkpoint ' + saved.id, () => {
			const r = view.rows();
			return r.length === 1 && r[0]!.id === saved.id ? r : undefined;
		});
		assert.equal(rows[0]!.label, `#${saved.id} "step one"`);
		assert.match(rows[0]!.description, new RegExp(`^step_marker:${line} · \\d+ s ago · [\\d.]+ (B|KiB|MiB)$`));
		assert.ok(rows[0]!.checkpoint.memoryBytes > 0, 'memory reported');
		// the tree shows the same rows, with Restore/Delete (contextValue)
		const nodes = view.getChildren();
		assert.equal(nodes.length, 1);
		const item = view.getTreeItem(nodes[0]!);
		assert.equal(item.label, rows[0]!.label);
		assert.equal(item.contextValue, 'checkpoint');

		// continue twice: step 3
		const s2 = await cont(s, 1, tid);
		const s3 = await cont(s, 2, s2.body.threadId!);
		assert.equal(await stepOf(s, s3.body.threadId!), 3);

		// Forkall: Restore Checkpoint… (the id the quick pick gives)
		const r = await vscode.commands.executeCommand<RestoreCheckpointResponseBody | undefined>('forkall.restoreCheckpoint', saved.id);
		assert.ok(r, "the restore's answer");
		const back = await stopped(s, 3);
		assert.match(back.body.description ?? '', new RegExp(`^Restored checkpoint ${saved.id} "step one" \\(step_marker:${line}\\)`));
		assert.equal(await stepOf(s, back.body.threadId!), 1, "the restore's stop: step 1 again");
		assert.notEqual(r.pid, pid0, 'a new process');
		const ts = await threads(s);
		assert.equal(ts.length, 11, `11 threads in the Call Stack: ${ts.map((t) => t.name).join(' | ')}`);
		assert.equal(r.threads, 11);
		assert.equal(taskCount(r.pid), 11, 'the kernel: 11 tasks in the restored process');
		await waitFor(`the old process ${pid0} gone`, () => {
			const st = procState(pid0);
			return st === null || st.state === 'Z';
		});
		// the list is sent again after the restore; the checkpoint is still there
		await waitFor('checkpointsChanged after the restore', () => events(s, 'checkpointsChanged').length >= 2);
		assert.deepEqual(
			view.rows().map((x) => x.id),
			[saved.id],
		);

		// the program goes on from step 1: step 2 next
		const again = await cont(s, 4, back.body.threadId!);
		assert.equal(await stepOf(s, again.body.threadId!), 2);

		// the row's Delete action
		const deleted = await vscode.commands.executeCommand<boolean>('forkall.checkpoints.delete', view.getChildren()[0]);
		assert.equal(deleted, true);
		await waitFor('the view empty', () => view.rows().length === 0);
	});

	test("VS Code's Reverse Continue goes back to the checkpoint; a restore with keepCurrent keeps the process as a child session", async () => {
		const s = await launch();
		let ev = await stopped(s, 0);
		const saved = await vscode.commands.executeCommand<CheckpointResponseBody | undefined>('forkall.saveCheckpoint', { note: 'one' });
		assert.ok(saved, 'saved at step 1');
		ev = await cont(s, 1, ev.body.threadId!);
		ev = await cont(s, 2, ev.body.threadId!);
		assert.equal(await stepOf(s, ev.body.threadId!), 3);

		// the toolbar's Reverse Continue (VS Code shows it: supportsStepBack)
		const before = requests(s, 'reverseContinue').length;
		await vscode.commands.executeCommand('workbench.action.debug.reverseContinue');
		await waitFor('VS Code sent reverseContinue', () => requests(s, 'reverseContinue').length > before);
		ev = await stopped(s, 3);
		assert.match(ev.body.description ?? '', new RegExp(`^Restored checkpoint ${saved.id} "one"`));
		assert.equal(await stepOf(s, ev.body.threadId!), 1, 'Reverse Continue: step 1 again');
		assert.equal((await threads(s)).length, 11);

		// on to step 2, then Restore Checkpoint keeping the current process
		ev = await cont(s, 4, ev.body.threadId!);
		assert.equal(await stepOf(s, ev.body.threadId!), 2);
		const kept = ((await s.customRequest('lwps')) as LwpsResponseBody).pid;
		const keptTid = ev.body.threadId!;
		const n = startedSessions().length;
		const r = await vscode.commands.executeCommand<RestoreCheckpointResponseBody | undefined>('forkall.restoreCheckpoint', {
			id: saved.id,
			keepCurrent: true,
		});
		assert.ok(r, "the restore's answer");
		assert.equal(requests<DebugProtocol.Request>(s, 'restoreCheckpoint').at(-1)?.arguments?.keepCurrent, true, 'keepCurrent sent');
		ev = await stopped(s, 5);
		assert.equal(await stepOf(s, ev.body.threadId!), 1, 'the session: step 1 again, in a new process');
		assert.notEqual(r.pid, kept);
		// the process debugged until now: alive, stopped at step 2, in a child session of its own
		const child = await waitFor("the kept process's session", () =>
			startedSessions()
				.slice(n)
				.find((x) => x.parentSession?.id === s.id && x.configuration.__forkallChild === kept),
		);
		assert.match(child.name, new RegExp(`process ${kept} \\(kept at the restore of checkpoint ${saved.id}\\)`));
		const cs = await stopped(child, 0);
		assert.equal(cs.body.description, 'Paused: kept at a restore');
		assert.equal(procState(kept)?.threads, 11, 'the kept process has its 11 threads');
		assert.ok(
			(await threads(child)).some((t) => t.id === keptTid),
			'the thread that stopped at step 2 is there',
		);
		assert.equal(await stepOf(child, keptTid), 2, 'the kept process is still at step 2');
		// the session stays on the restored copy (the kept one does not take the focus)
		await sleep(500);
		assert.equal(vscode.debug.activeDebugSession?.id, s.id, 'the restored session keeps the focus');
	});

	test('"autoCheckpoint": 3 — the view lists the automatic checkpoints; VS Code\'s Step Back goes back a stop each time', async () => {
		const s = await launch({ autoCheckpoint: 3 });
		let ev = await stopped(s, 0);
		for (let step = 2; step <= 4; step++) {
			ev = await cont(s, step - 1, ev.body.threadId!);
			assert.equal(await stepOf(s, ev.body.threadId!), step);
		}
		const view = api().checkpoints();
		const rows = await waitFor('the view lists the 3 automatic checkpoints', () => {
			const r = view.rows();
			return r.length === 3 && r.every((x) => x.checkpoint.auto) ? r : undefined;
		});
		assert.ok(
			rows.every((x) => /^#\d+ \(auto\)$/.test(x.label)),
			rows.map((x) => x.label).join(', '),
		);

		// the toolbar's Step Back (VS Code shows it: supportsStepBack)
		let n = 4;
		for (const want of [3, 2]) {
			const before = requests(s, 'stepBack').length;
			await vscode.commands.executeCommand('workbench.action.debug.stepBack');
			await waitFor('VS Code sent stepBack', () => requests(s, 'stepBack').length > before);
			ev = await stopped(s, n++);
			assert.match(ev.body.description ?? '', /^Restored checkpoint \d+/);
			assert.equal(await stepOf(s, ev.body.threadId!), want, 'Step Back');
			assert.equal((await threads(s)).length, 11);
		}
		// only three stops were kept: the stop before step 2 was not
		await assert.rejects(Promise.resolve(s.customRequest('stepBack', { threadId: ev.body.threadId! })), /no earlier stop was saved/);
	});
});
