/* Shared assertions for the forkall fork tests on test/fixtures/forkcheck. */
import * as assert from 'node:assert/strict';
import { listTasks, assertNotStoppedOrTraced } from './procfs';
import { ForkTarget, procStat, registerChild, type ChildLine, type ChildDone, type ChildReported } from './forkTarget';
import type { ForkBody } from './forkRun';

export interface TruthThread {
	idx: number;
	tid: number;
	kind: string;
	name: string;
	mxcsr: number;
	x87cw: number;
	sigmask: string;
	cpus: number;
	vec: string;
}
export interface ForkcheckTruth {
	pid: number;
	n: number;
	tidOffset: number;
	cpus: number;
	avx2: boolean;
	avx512: boolean;
	holdErrorcheck: boolean;
	exitMain: boolean;
	spinners: number;
	threads: TruthThread[];
}

/* Threads that report in the child: coordinator/main (idx -1) + workers. */
export function reportingThreads(truth: ForkcheckTruth): TruthThread[] {
	return truth.threads.filter((t) => t.idx >= -1);
}

/* Time budget for every child thread to report, by thread count. */
export function reportTimeoutMs(n: number): number {
	return 30000 + n * 300;
}

export interface ChildReport {
	reported: ChildReported;
	lines: ChildLine[];
}

/* Wait for the child's CHILD-REPORTED line and return its CHILD lines. */
export async function collectReport(t: ForkTarget<ForkcheckTruth>, child: number, timeoutMs: number): Promise<ChildReport> {
	const reported = await t.waitReported(child, timeoutMs);
	return { reported, lines: t.childLines(child) };
}

/* Ask the child's coordinator to let the workers exit and join them. */
export async function releaseChild(t: ForkTarget<ForkcheckTruth>, child: number, timeoutMs = 30000): Promise<ChildDone> {
	process.kill(child, 'SIGUSR2');
	return t.waitDone(child, timeoutMs);
}

export function failing(lines: ChildLine[]): Array<{ idx: number; kind: string; failed: string[]; detail: string }> {
	return lines
		.filter((l) => !l.ok || Object.values(l.checks).some((v) => !v))
		.map((l) => ({ idx: l.idx, kind: l.kind, failed: Object.keys(l.checks).filter((k) => !l.checks[k]), detail: l.detail }));
}

/* The tid map of the --json result against /proc, right after the fork
 * (the child's workers do not exit before releaseChild()). */
export function assertTidMap(t: ForkTarget<ForkcheckTruth>, body: ForkBody): void {
	assert.equal(body.parent, t.pid, 'parent pid in the result');
	assert.ok(body.child > 0 && body.child !== t.pid, `child pid ${body.child}`);
	const parentTids = body.threads.map((x) => x.parentTid).sort((a, b) => a - b);
	const childTids = body.threads.map((x) => x.childTid).sort((a, b) => a - b);
	assert.equal(new Set(parentTids).size, parentTids.length, 'parentTids are distinct');
	assert.equal(new Set(childTids).size, childTids.length, 'childTids are distinct');
	const liveParent = listTasks(t.pid).filter((tid) => !(t.truth.exitMain && tid === t.pid));
	assert.deepEqual(parentTids, liveParent, "parentTid set == the parent's live tasks (/proc/P/task, zombie leader excluded)");
	const expectTruth = t.truth.threads
		.filter((x) => !(t.truth.exitMain && x.kind === 'main'))
		.map((x) => x.tid)
		.sort((a, b) => a - b);
	assert.deepEqual(parentTids, expectTruth, 'parentTid set == the threads the target reported');
	const childTasks = listTasks(body.child).filter((tid) => !(body.zombieLeader && tid === body.child));
	assert.deepEqual(childTids, childTasks, 'childTid set == /proc/C/task (zombie leader excluded)');
	for (const x of body.threads) assert.ok(!parentTids.includes(x.childTid), `child tid ${x.childTid} is not a parent tid`);
}

export interface VerifyOptions {
	/* expected errorcheck unlock result in the child (default 0: with
	 * --same-tids the owner tid is the thread's own; in the default mode
	 * the owner field is rewritten to the copy's tid) */
	errorcheckUnlock?: number;
	reportTimeoutMs?: number;
}

/* Everything a faithful fork must show for a forkcheck target. A
 * --same-tids result (body.sameTids) is checked as such: the child's parent
 * is the namespace init (whose parent is the target's parent), every thread
 * sees the parent's pid and its parent thread's tid, errorcheck unlock is 0. */
export async function verifyFaithfulChild(t: ForkTarget<ForkcheckTruth>, body: ForkBody, opts: VerifyOptions = {}): Promise<ChildReport> {
	registerChild(body.child);
	const sameTids = body.sameTids === true;
	const init = body.namespaceInit ?? 0;
	if (sameTids) registerChild(init);
	const truth = t.truth;
	assertTidMap(t, body);
	const st = procStat(body.child);
	if (sameTids) {
		assert.ok(init > 0 && init !== body.child && init !== t.pid, `namespaceInit ${init}`);
		assert.equal(st?.ppid, init, `the child's parent is the namespace init ${init}: PPid ${st?.ppid}`);
		const ist = procStat(init);
		assert.equal(
			ist?.ppid,
			t.reaperPid,
			`the namespace init's parent is the target's parent (CLONE_PARENT): PPid ${ist?.ppid}, reaper ${t.reaperPid}`,
		);
		assert.notEqual(ist?.state, 'Z', 'the namespace init is alive');
	} else {
		assert.equal(
			st?.ppid,
			t.reaperPid,
			`the child's parent is the target's parent (CLONE_PARENT): PPid ${st?.ppid}, target ${t.pid}, reaper ${t.reaperPid}`,
		);
	}
	assert.equal(body.zombieLeader, truth.exitMain, 'zombieLeader');

	const rep = await collectReport(t, body.child, opts.reportTimeoutMs ?? reportTimeoutMs(truth.n));
	const expected = reportingThreads(truth);
	assert.deepEqual(rep.reported.missing, [], `every worker of the child reported; missing: ${rep.reported.missing.join(',')}`);
	assert.equal(rep.reported.reported, truth.n);
	const byIdx = new Map<number, ChildLine>();
	for (const l of rep.lines) {
		assert.ok(!byIdx.has(l.idx), `thread idx ${l.idx} reported once`);
		byIdx.set(l.idx, l);
	}
	assert.deepEqual(
		[...byIdx.keys()].sort((a, b) => a - b),
		expected.map((x) => x.idx).sort((a, b) => a - b),
		'one CHILD line per thread',
	);

	const map = new Map(body.threads.map((x) => [x.parentTid, x.childTid]));
	for (const l of rep.lines) {
		const tt = expected.find((x) => x.idx === l.idx)!;
		assert.equal(l.parentTid, tt.tid, `idx ${l.idx}: the recorded parent tid`);
		assert.equal(l.pid, body.child, `idx ${l.idx}: outer pid (/proc/thread-self) is the child`);
		assert.equal(
			map.get(tt.tid),
			l.tid,
			`idx ${l.idx}: the outer child tid it runs on (${l.tid}, /proc/thread-self) is the one --json maps parent tid ${tt.tid} to`,
		);
		if (sameTids) {
			assert.equal(l.getpid, t.pid, `idx ${l.idx}: getpid() in the child == the parent's pid`);
			assert.equal(l.gettid, tt.tid, `idx ${l.idx}: gettid() in the child == its parent thread's tid`);
			assert.equal(l.pidnsChanged, true, `idx ${l.idx}: the child runs in a new PID namespace`);
		} else {
			assert.equal(l.getpid, l.pid, `idx ${l.idx}: getpid() == the outer pid (same namespace)`);
			assert.equal(l.gettid, l.tid, `idx ${l.idx}: gettid() == the outer tid (same namespace)`);
			assert.equal(l.pidnsChanged, false, `idx ${l.idx}: same PID namespace as the parent`);
		}
	}
	assert.deepEqual(failing(rep.lines), [], 'every check of every child thread passes');
	for (const l of rep.lines) {
		assert.equal(l.ok, true, `idx ${l.idx} ok`);
		for (const name of [
			'mxcsr',
			'x87cw',
			'tls',
			'stack',
			'self',
			'task',
			'ns_ids',
			'kill_self',
			'kill_other',
			'getattr',
			'sigmask',
			'altstack',
			'name',
			'affinity',
			'robust',
			'continued',
			'syscalls',
		]) {
			assert.equal(l.checks[name], true, `idx ${l.idx}: check ${name} present and true`);
		}
		if (truth.tidOffset >= 0) assert.equal(l.checks.tid_glibc, true, `idx ${l.idx}: tid_glibc`);
		if (l.kind === 'spin') {
			assert.equal(l.checks.vector, true, `idx ${l.idx}: vector`);
			assert.equal(l.checks.vector_child, true, `idx ${l.idx}: vector_child`);
		}
	}
	if (truth.n >= 3) assert.equal(byIdx.get(2)!.robustUnlock, 0, 'robust mutex held across the fork unlocks with 0 in the child');
	if (truth.holdErrorcheck && truth.n >= 2) {
		if (sameTids) {
			assert.equal(
				byIdx.get(1)!.errorcheckUnlock,
				opts.errorcheckUnlock ?? 0,
				"errorcheck mutex held across the fork: unlock in the --same-tids child gives 0 (the owner tid is the thread's own)",
			);
		} else {
			assert.equal(
				byIdx.get(1)!.errorcheckUnlock,
				opts.errorcheckUnlock ?? 0,
				"errorcheck mutex held across the fork: unlock in the child gives 0 (its owner field was rewritten to the copy's tid: locksFixed)",
			);
			assert.ok(body.locksFixed >= 1, `locksFixed ${body.locksFixed}: ec_mu's owner rewritten`);
		}
	}
	assertNotStoppedOrTraced(body.child, 'child');
	assertNotStoppedOrTraced(t.pid, 'parent');
	return rep;
}

/* The parent keeps running every thread with no vector/syscall error. */
export async function assertParentHealthy(t: ForkTarget<ForkcheckTruth>, timeoutMs = 30000): Promise<void> {
	assertNotStoppedOrTraced(t.pid, 'parent');
	const p = await t.fx.waitAllRunning('stalled', timeoutMs);
	assert.equal(p.fields.vecfail, 0, 'parent: no vector invariant broke');
	assert.equal(p.fields.errs, 0, 'parent: no unexpected syscall error');
	assert.ok(!t.fx.exited, 'parent alive');
}

/* Release the child, check every worker was joined, kill and reap it
 * (namespaceInit: a --same-tids child, reaped by that init, which must then
 * exit and be reaped itself). */
export async function finishChild(t: ForkTarget<ForkcheckTruth>, child: number, namespaceInit?: number): Promise<ChildDone> {
	const done = await releaseChild(t, child);
	assert.deepEqual(done.joinFailed, [], 'pthread_join of every worker that exits in the child returns (clear_child_tid)');
	assert.equal(done.joined, t.truth.n, 'every worker joined in the child');
	assert.equal(done.condPair, true, 'condvar signalling between two new threads in the child');
	await t.killChild(child, namespaceInit);
	return done;
}
