/*
 * forkall fork: every child thread has its parent thread's credentials
 * (issue 16 item 2). Credentials are per thread in the kernel; the child's
 * threads are clones of the forking thread and started with its uid, gids
 * and capabilities. test/fixtures/creds changes them in single threads
 * with the raw system calls; the test compares /proc/<pid>/task/<tid>/status
 * of every parent thread with its copy in the child.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { killAll } from '../helpers/procs';
import { fixturePath } from '../helpers/paths';
import { forkOk } from '../helpers/forkRun';
import { cleanupFork, registerChild, spawnReaped } from '../helpers/forkTarget';

after(async () => {
	await cleanupFork();
	await killAll();
});

const FIELDS = ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs'];

function creds(pid: number, tid: number): Record<string, string> {
	const out: Record<string, string> = {};
	for (const line of fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8').split('\n')) {
		const [k, v] = line.split(':\t');
		if (FIELDS.includes(k)) out[k] = (v ?? '').trim();
	}
	return out;
}

const notRoot = typeof process.getuid === 'function' && process.getuid() !== 0;
const skip = notRoot ? "changing one thread's credentials needs root" : false;

describe('forkall fork: per-thread credentials', () => {
	test('threads with their own uid, gids, groups, capabilities keep them in the child', { skip }, async () => {
		const t = await spawnReaped<{ pid: number; tids: number[] }>(fixturePath('creds'), ['workers-differ']);
		try {
			const before = t.truth.tids.map((tid) => creds(t.pid, tid));
			assert.notDeepEqual(before[1], before[0], 'the fixture set worker 0 apart');
			const { body } = await forkOk(t.pid);
			registerChild(body.child);
			const childOf = new Map(body.threads.map((x) => [x.parentTid, x.childTid]));
			t.truth.tids.forEach((tid, i) => {
				const ctid = childOf.get(tid);
				assert.ok(ctid, `thread ${tid} has a copy`);
				assert.deepEqual(creds(body.child, ctid), before[i], `thread ${tid} (${i === 0 ? 'main' : `worker ${i - 1}`}) → ${ctid}`);
				assert.deepEqual(creds(t.pid, tid), before[i], `parent thread ${tid} unchanged`);
			});
			assert.deepEqual(
				body.warnings.filter((w) => /credentials/.test(w)),
				[],
				'no credential warnings',
			);
		} finally {
			await t.stop();
		}
	});

	test('what the forking thread may not set is a warning naming the thread and what differs', { skip }, async () => {
		const t = await spawnReaped<{ pid: number; tids: number[] }>(fixturePath('creds'), ['main-drops']);
		try {
			const { body } = await forkOk(t.pid);
			registerChild(body.child);
			const w = body.warnings.filter((x) => /credentials not all copied/.test(x));
			assert.equal(w.length, 4, `one warning per root worker: ${JSON.stringify(body.warnings)}`);
			for (const tid of t.truth.tids.slice(1)) {
				assert.ok(
					w.some((x) => x.startsWith(`thread ${tid}:`) && /uid 0\/0\/0\/0 \(is 1000\/1000\/1000\/1000\)/.test(x)),
					`warning for ${tid}: ${JSON.stringify(w)}`,
				);
			}
			assert.equal(creds(t.pid, t.truth.tids[1]).Uid.split('\t')[0], '0', "the parent's workers are still root");
		} finally {
			await t.stop();
		}
	});
});
