/* `forkall threads` while threads are created and exit at a high rate: every
 * capture succeeds, lists only threads that existed and every long-lived
 * one, and leaves nothing stopped or traced. */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnFixture, killAll, sleep } from '../helpers/procs';
import { forkallJson, ThreadsBody } from '../helpers/forkall';
import { assertNotStoppedOrTraced } from '../helpers/procfs';

after(killAll);

interface Truth {
	pid: number;
	longLived: { tid: number; name: string }[];
}

function readLog(file: string): number[] {
	return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
}

test('threads while threads churn: 20 captures, none missed, none left stopped', { timeout: 300000 }, async (t) => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkall-churn-'));
	t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
	const log = path.join(dir, 'tids');
	const fx = await spawnFixture<Truth>('churn', ['--alive', '16', '--rate', '5000', '--tid-log', log]);
	t.after(() => fx.kill());
	const longTids = fx.truth.longLived.map((l) => l.tid);
	const longNames = new Map(fx.truth.longLived.map((l) => [l.tid, l.name]));

	const start = await fx.waitAdvance(null, 1);
	let shortSeen = 0;
	for (let i = 0; i < 20; i++) {
		// Tids wrap quickly at this rate: only tids logged shortly before the
		// capture (threads alive then) or after it count.
		const logStart = Math.max(0, readLog(log).length - 512);
		const { body } = await forkallJson<ThreadsBody>(['threads', String(fx.pid)]);
		const ctx = `capture ${i + 1}`;
		assertNotStoppedOrTraced(fx.pid, ctx);
		assert.equal(body.pid, fx.pid);
		const tids = body.threads.map((r) => r.tid);
		assert.equal(new Set(tids).size, tids.length, `${ctx}: duplicate tids`);
		for (const lt of longTids) {
			const row = body.threads.find((r) => r.tid === lt);
			assert.ok(row, `${ctx}: long-lived thread ${lt} (${longNames.get(lt)}) missing`);
			if (lt !== fx.pid) assert.equal(row.name, longNames.get(lt), `${ctx}: name of ${lt}`);
			assert.ok(row.pthread !== null, `${ctx}: long-lived ${lt} has a pthread`);
		}
		// Every other listed tid is a short-lived thread the fixture created;
		// it logs its tid first thing, which may land just after the capture.
		let unknown: number[] = [];
		for (let attempt = 0; attempt < 40; attempt++) {
			const logged = new Set(readLog(log).slice(logStart));
			unknown = tids.filter((tid) => !longNames.has(tid) && !logged.has(tid));
			if (unknown.length === 0) break;
			await sleep(50);
		}
		assert.deepEqual(unknown, [], `${ctx}: listed tids that never were threads of the fixture`);
		for (const r of body.threads) {
			assert.notEqual(r.state, 't', `${ctx}: ${r.tid} was already ptrace-stopped`);
			if (!longNames.has(r.tid)) shortSeen++;
		}
		// Every long-lived thread runs again (a full progress window after the
		// capture in which each sleeper and each spawner advanced).
		await fx.waitAllRunning('stalled', 15000);
	}
	assert.ok(shortSeen > 0, 'no capture saw any short-lived thread: the churn did not happen');
	// Keeps creating threads and the sleepers keep ticking.
	const end = await fx.waitAllRunning('stalled', 15000);
	assert.ok(end.total > start.total + 1000, `threads created: ${start.total} -> ${end.total}`);
	assert.equal(end.fields.eintr, 0, 'a system call of the debuggee failed with EINTR');
	assertNotStoppedOrTraced(fx.pid, 'at the end');
});

test('threads while threads churn: short-lived threads are described as they were at the capture', { timeout: 300000 }, async (t) => {
	// A thread that was stopped and captured is reported with the name and
	// pthread_t it had then, even if it exits right after the capture.
	const fx = await spawnFixture<Truth>('churn', ['--alive', '16', '--rate', '5000']);
	t.after(() => fx.kill());
	const longNames = new Set(fx.truth.longLived.map((l) => l.tid));
	const bad: string[] = [];
	let shortSeen = 0;
	for (let i = 0; i < 10; i++) {
		const { body } = await forkallJson<ThreadsBody>(['threads', String(fx.pid)]);
		for (const r of body.threads) {
			if (longNames.has(r.tid)) continue;
			shortSeen++;
			// A new thread carries its creator's name until it renames itself.
			if (!['short', 'spawner0', 'spawner1'].includes(r.name) || r.pthread === null) {
				bad.push(`capture ${i + 1}: tid ${r.tid} name ${JSON.stringify(r.name)} pthread ${r.pthread} stack ${r.stack?.source}`);
			}
		}
	}
	assertNotStoppedOrTraced(fx.pid, 'at the end');
	assert.ok(shortSeen > 0, 'no capture saw any short-lived thread');
	assert.deepEqual(bad, [], `${bad.length} of ${shortSeen} short-lived rows lost their name or pthread_t`);
});
