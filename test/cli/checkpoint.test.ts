/*
 * `forkall checkpoint PID` / `forkall restore CHECKPOINT` (issue 12 item 3):
 * the checkpoint outlives the command — the saved state of every thread is
 * in its own memory, it is stopped and untraced — and another command
 * restores it, any number of times, into running processes with every
 * thread. forkbench 4 16 (6 threads) under the fork tests' reaper.
 *
 * Then once more with --same-tids: the copy's threads have the saved tids
 * inside its own PID namespace.
 *
 * Negative control (run by hand, 2026-12-04): with the record not written
 * into the checkpoint (persist skipped), restore answers "process N is not
 * a checkpoint" and the test fails at the first restore.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { forkallJson, runForkall } from '../helpers/forkall';
import { assertNotStoppedOrTraced } from '../helpers/procfs';
import { cleanupFork, registerChild, killAndReap, spawnReaped } from '../helpers/forkTarget';

after(async () => {
	await cleanupFork();
	await killAll();
});

function status(pid: number, key: string): string {
	const m = new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	return m ? m[1].trim() : '';
}

interface CheckpointBody {
	pid: number;
	checkpoint: number;
	threads: number;
	kept: boolean;
}
interface RestoreBody {
	pid: number;
	checkpoint: number;
	threads: { savedTid: number; tid: number }[];
}

test('forkall checkpoint, then forkall restore (twice): stopped untraced checkpoint, running copies with every thread', async () => {
	const t = await spawnReaped<{ pid: number; threads: number }>(
		fixturePath('forkbench'),
		['4', '16'],
		{ readyTimeoutMs: 60000 },
		'forkbench 4 16',
	);
	const made: number[] = [];
	try {
		const { body: ck } = await forkallJson<CheckpointBody>(['checkpoint', String(t.pid)]);
		made.push(ck.checkpoint);
		registerChild(ck.checkpoint);
		assert.equal(ck.pid, t.pid);
		assert.equal(ck.threads, t.truth.threads);
		assert.equal(ck.kept, true);
		assert.match(status(ck.checkpoint, 'State'), /^T/, 'the checkpoint is stopped');
		assert.equal(status(ck.checkpoint, 'TracerPid'), '0', 'and nobody traces it');
		assert.equal(status(ck.checkpoint, 'Threads'), '1', 'one thread: the others are saved state');
		assertNotStoppedOrTraced(t.pid, 'the process after its checkpoint');
		for (let i = 0; i < 2; i++) {
			const { body: r } = await forkallJson<RestoreBody>(['restore', String(ck.checkpoint)]);
			made.push(r.pid);
			registerChild(r.pid);
			assert.equal(r.checkpoint, ck.checkpoint);
			assert.equal(r.threads.length, t.truth.threads);
			assert.equal(fs.readdirSync(`/proc/${r.pid}/task`).length, t.truth.threads, 'every thread, in the kernel');
			assertNotStoppedOrTraced(r.pid, `restore ${i + 1}`);
			assert.match(status(ck.checkpoint, 'State'), /^T/, 'the checkpoint stays stopped');
			assert.equal(status(ck.checkpoint, 'TracerPid'), '0');
		}
		// --same-tids: the copy runs in a PID namespace of its own, with the saved pid and tids inside it
		const { body: st } = await forkallJson<RestoreBody & { sameTids: boolean; namespaceInit?: number }>([
			'restore',
			String(ck.checkpoint),
			'--same-tids',
		]);
		made.push(st.pid);
		registerChild(st.pid);
		assert.equal(st.sameTids, true);
		assert.ok(st.namespaceInit, 'the namespace has an init (its reaper)');
		assertNotStoppedOrTraced(st.pid, 'the same-tids restore');
		for (const th of st.threads) {
			const ns = status(st.pid, 'NSpid') && fs.readFileSync(`/proc/${st.pid}/task/${th.tid}/status`, 'utf8');
			assert.equal(
				Number(
					/^NSpid:\s*(.*)$/m
						.exec(ns || '')?.[1]
						.trim()
						.split(/\s+/)
						.pop(),
				),
				th.savedTid,
				`thread ${th.tid} is ${th.savedTid} inside its namespace`,
			);
		}
		assert.deepEqual(
			st.threads.map((x) => x.savedTid).sort((a, b) => a - b),
			fs
				.readdirSync(`/proc/${t.pid}/task`)
				.map(Number)
				.sort((a, b) => a - b),
			'the tids of the process the checkpoint was taken of',
		);
		const bad = await runForkall(['restore', String(t.pid)]);
		assert.equal(bad.code, 1);
		assert.match(bad.stderr, /^forkall: process \d+ is not a checkpoint/);
		assertNotStoppedOrTraced(t.pid, 'after a restore of a process that is no checkpoint');
	} finally {
		for (const p of made) await killAndReap(p, 2000);
		await t.stop();
	}
});
