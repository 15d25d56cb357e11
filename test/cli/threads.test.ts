/* `forkall threads PID [--json]` against the threads fixture, whose own
 * truth (tids, pthread_t, names, pthread_getattr_np stack ranges) is
 * compared row by row. */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnFixture, killAll, Fixture } from '../helpers/procs';
import { forkallJson, runForkall, hex, ThreadsBody, ThreadRow } from '../helpers/forkall';
import { assertNotStoppedOrTraced, readMaps, listTasks } from '../helpers/procfs';

after(killAll);

interface TruthThread {
	tid: number;
	pthread: string;
	name: string;
	kind: 'main' | 'spin' | 'cond' | 'sleep' | 'read' | 'altsig';
	stackLow: string;
	stackHigh: string;
	guard: number;
	altLow?: string;
	altHigh?: string;
}
interface Truth {
	pid: number;
	tickMs: number;
	threads: TruthThread[];
}

/* The fixture keeps running: a full progress window after the operation in
 * which every worker's counter moved, and no system call was interrupted by
 * the debugger. */
async function assertKeepsRunning(fx: Fixture<Truth>, context: string): Promise<void> {
	const p = await fx.waitAllRunning('stalled', 20000);
	assert.equal(p.fields.eintr, 0, `${context}: a system call of the debuggee failed with EINTR`);
}

function checkRows(fx: Fixture<Truth>, body: ThreadsBody): void {
	const truth = fx.truth;
	assert.equal(body.pid, fx.pid);
	assert.equal(typeof body.pauseUs, 'number');
	assert.ok(body.pauseUs > 0 && body.pauseUs < 10_000_000, `pauseUs ${body.pauseUs}`);
	assert.ok(Array.isArray(body.threads));

	const wantTids = truth.threads.map((t) => t.tid).sort((a, b) => a - b);
	const gotTids = body.threads.map((t) => t.tid).sort((a, b) => a - b);
	assert.deepEqual(gotTids, wantTids, 'tid set');
	assert.equal(new Set(gotTids).size, gotTids.length, 'duplicate tids');

	const byTid = new Map<number, ThreadRow>(body.threads.map((r) => [r.tid, r]));
	const stackVma = readMaps(fx.pid).find((m) => m.name === '[stack]');
	assert.ok(stackVma, 'fixture has a [stack] mapping');

	const blockedStates: Record<string, number> = {};
	let blockedTotal = 0;
	for (const t of truth.threads) {
		const r = byTid.get(t.tid)!;
		const ctx = `tid ${t.tid} (${t.name}, ${t.kind})`;
		assert.equal(r.name, t.name, `${ctx}: name`);
		assert.equal(hex(r.pthread), hex(t.pthread), `${ctx}: pthread`);
		const pc = hex(r.pc);
		const sp = hex(r.sp);
		assert.ok(pc > 0n, `${ctx}: pc is zero`);
		assert.ok(sp > 0n, `${ctx}: sp is zero`);
		assert.ok(r.stack, `${ctx}: no stack`);
		const low = hex(r.stack.low);
		const high = hex(r.stack.high);
		assert.ok(low < high, `${ctx}: empty stack range`);
		if (t.kind === 'main') {
			// The [stack] VMA. (glibc's pthread_getattr_np puts the main
			// stack's top at the page above __libc_stack_end, below the
			// argv/environment strings: at or under the VMA end.)
			assert.equal(high, stackVma.end, `${ctx}: stack high vs [stack] VMA`);
			assert.ok(
				hex(t.stackHigh) <= high && hex(t.stackHigh) > low,
				`${ctx}: pthread_getattr_np top ${t.stackHigh} inside the reported stack`,
			);
			assert.equal(low, stackVma.start, `${ctx}: stack low vs [stack] VMA`);
			assert.ok(sp >= low && sp < high, `${ctx}: sp ${r.sp} outside [${r.stack.low}, ${r.stack.high})`);
		} else {
			assert.equal(low, hex(t.stackLow), `${ctx}: stack low vs pthread_getattr_np`);
			assert.equal(high, hex(t.stackHigh), `${ctx}: stack high vs pthread_getattr_np`);
			assert.equal(r.stack.guard, t.guard, `${ctx}: guard`);
			if (t.kind === 'altsig') {
				// Running a handler on the alternate stack: the stack reported
				// is still the thread's own, SP is on the altstack.
				assert.ok(sp >= hex(t.altLow) && sp < hex(t.altHigh), `${ctx}: sp ${r.sp} not on the altstack [${t.altLow}, ${t.altHigh})`);
				assert.notEqual(r.spInStack, true, `${ctx}: spInStack must not be true on the altstack`);
			} else {
				assert.ok(sp >= low && sp < high, `${ctx}: sp ${r.sp} outside [${r.stack.low}, ${r.stack.high})`);
			}
		}
		// State before the stop.
		assert.match(r.state, /^[RSDTtZXI]$/, `${ctx}: state letter`);
		if (t.kind === 'spin') {
			assert.equal(r.state, 'R', `${ctx}: a spinning thread is runnable`);
		} else {
			// Blocked kinds sleep; one may just have been woken by the ticker.
			assert.ok(r.state === 'S' || r.state === 'R', `${ctx}: state ${r.state}`);
			if (t.kind !== 'main') {
				blockedTotal++;
				blockedStates[r.state] = (blockedStates[r.state] ?? 0) + 1;
			}
		}
	}
	if (blockedTotal > 0) {
		assert.ok((blockedStates.S ?? 0) * 2 >= blockedTotal, `blocked threads mostly S: ${JSON.stringify(blockedStates)}`);
	}
}

for (const n of [1, 8, 64, 1024]) {
	test(`threads ${n}: every row matches the fixture's truth, fixture keeps running`, { timeout: 180000 }, async (t) => {
		const fx = await spawnFixture<Truth>('threads', [String(n)], { readyTimeoutMs: 60000 });
		t.after(() => fx.kill());
		assert.equal(fx.truth.threads.length, n + 1);
		assert.equal(listTasks(fx.pid).length, n + 1, 'fixture has N+1 tasks');

		const { body } = await forkallJson<ThreadsBody>(['threads', String(fx.pid)], { timeoutMs: 120000 });
		assertNotStoppedOrTraced(fx.pid, 'after forkall threads');
		checkRows(fx, body);
		await assertKeepsRunning(fx, 'after forkall threads');

		// A second capture of the same process works the same way.
		const again = await forkallJson<ThreadsBody>(['threads', String(fx.pid)], { timeoutMs: 120000 });
		assertNotStoppedOrTraced(fx.pid, 'after the second forkall threads');
		checkRows(fx, again.body);
		await assertKeepsRunning(fx, 'after the second forkall threads');
	});
}

test('threads human output: a header line and one row per thread', { timeout: 60000 }, async (t) => {
	const fx = await spawnFixture<Truth>('threads', ['8']);
	t.after(() => fx.kill());
	const res = await runForkall(['threads', String(fx.pid)]);
	assert.equal(res.code, 0, `exit code; stderr: ${res.stderr}`);
	const all = res.stdout.split('\n').filter((l) => l.trim() !== '');
	// An optional summary may precede the table; the table is a header line
	// naming the TID column and exactly one row per thread.
	const h = all.findIndex((l) => /\btid\b/i.test(l));
	assert.ok(h >= 0, `a header line naming the tid column:\n${res.stdout}`);
	const rows = all.slice(h + 1);
	assert.equal(rows.length, fx.truth.threads.length, `one row per thread:\n${res.stdout}`);
	for (const th of fx.truth.threads) {
		const mine = rows.filter((l) => new RegExp(`(^|\\s)${th.tid}(\\s|$)`).test(l));
		assert.equal(mine.length, 1, `exactly one row for tid ${th.tid}:\n${res.stdout}`);
		assert.ok(mine[0].includes(th.name), `row of ${th.tid} names ${th.name}: ${mine[0]}`);
		assert.ok(mine[0].toLowerCase().includes(th.pthread.toLowerCase()), `row of ${th.tid} shows pthread ${th.pthread}: ${mine[0]}`);
	}
	assertNotStoppedOrTraced(fx.pid, 'after forkall threads (human)');
	await assertKeepsRunning(fx, 'after forkall threads (human)');
});
