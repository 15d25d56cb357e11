/*
 * forkall fork: the child is a faithful multithreaded copy.
 *
 * Targets run under test/fixtures/reaper (the child's parent is the target's
 * parent: CLONE_PARENT). test/fixtures/forkcheck threads check their own
 * state in the child and print one CHILD line each (see its header).
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { killAll, sleep } from '../helpers/procs';
import { listTasks, assertNotStoppedOrTraced, taskStat } from '../helpers/procfs';
import { fixturePath } from '../helpers/paths';
import { Tracer } from '../../adapter/src/engine/tracer';
import { forkOk, runFork, forkTool } from '../helpers/forkRun';
import {
	cleanupFork,
	childrenOf,
	procStat,
	registerChild,
	spawnForkcheck,
	spawnReaped,
	statusField,
	taskSnapshot,
	killAndReap,
} from '../helpers/forkTarget';
import { assertParentHealthy, finishChild, reportTimeoutMs, verifyFaithfulChild } from '../helpers/forkChecks';

after(async () => {
	await cleanupFork();
	await killAll();
});

describe(`forkall fork fidelity (tool: ${forkTool()})`, () => {
	for (const n of [1, 8, 64, 256]) {
		test(`N=${n}: every child thread has its own state and keeps running; parent unharmed`, { timeout: 240000 }, async () => {
			const args = [String(n), '--hold-errorcheck'];
			const t = await spawnForkcheck(args, { readyTimeoutMs: 120000 });
			try {
				await t.fx.waitAllRunning('stalled', 60000);
				const r = await forkOk(t.pid, { timeoutMs: 180000 });
				const body = r.body;
				await verifyFaithfulChild(t, body, { reportTimeoutMs: reportTimeoutMs(n) });
				await assertParentHealthy(t, 60000);
				await finishChild(t, body.child);
				await assertParentHealthy(t, 60000);
				assert.deepEqual(t.strays(), [], 'no forkall child left');
				console.log(
					`N=${n}: ${JSON.stringify(body.timings)} robustOwnersFixed=${body.robustOwnersFixed} warnings=${JSON.stringify(body.warnings)}`,
				);
			} finally {
				await t.stop();
			}
		});
	}

	const notRoot = typeof process.getuid === 'function' && process.getuid() !== 0;
	test(
		'--same-tids N=8: same pid/tids inside a new PID namespace, errorcheck unlock 0, the namespace init exits with the child',
		{
			timeout: 120000,
			skip: notRoot
				? `--same-tids needs CAP_SYS_ADMIN (unshare(CLONE_NEWPID), clone3 set_tid): run as root (uid ${process.getuid?.()})`
				: false,
		},
		async () => {
			const n = 8;
			const t = await spawnForkcheck([String(n), '--hold-errorcheck']);
			try {
				await t.fx.waitAllRunning('stalled', 30000);
				const { body } = await forkOk(t.pid, { sameTids: true });
				registerChild(body.child);
				assert.equal(body.sameTids, true, 'the result says sameTids');
				const init = body.namespaceInit ?? 0;
				assert.ok(init > 0, `namespaceInit in the result: ${JSON.stringify(body.namespaceInit)}`);
				registerChild(init);
				assert.notEqual(body.child, t.pid, 'the child has its own pid outside its namespace');
				const pidns = (pid: number) => fs.readlinkSync(`/proc/${pid}/ns/pid`);
				assert.notEqual(pidns(body.child), pidns(t.pid), 'the child is in another PID namespace than the parent');
				assert.equal(pidns(init), pidns(body.child), "the namespace init is in the child's PID namespace");

				const rep = await verifyFaithfulChild(t, body); /* every check ok, same-tids expectations */
				// the same expectations, spelled out
				const childTidOf = new Map(body.threads.map((x) => [x.parentTid, x.childTid]));
				assert.equal(rep.lines.length, n + 1, 'main + every worker reported');
				for (const l of rep.lines) {
					assert.equal(l.ok, true, `idx ${l.idx}: every check ok (${l.detail})`);
					assert.equal(l.getpid, t.pid, `idx ${l.idx}: getpid() in the child == the parent pid ${t.pid}`);
					assert.equal(l.gettid, l.parentTid, `idx ${l.idx}: gettid() ${l.gettid} == its parentTid ${l.parentTid}`);
					assert.equal(l.pid, body.child, `idx ${l.idx}: outer pid == child ${body.child}`);
					assert.equal(
						l.tid,
						childTidOf.get(l.parentTid),
						`idx ${l.idx}: outer tid ${l.tid} == the JSON childTid of ${l.parentTid}`,
					);
				}
				assert.equal(rep.lines.find((l) => l.idx === -1)!.gettid, t.pid, "the child's main thread has gettid() == the parent pid");
				assert.equal(
					rep.lines.find((l) => l.idx === 1)!.errorcheckUnlock,
					0,
					'errorcheck mutex held across the fork unlocks with 0',
				);

				await assertParentHealthy(t);
				await finishChild(t, body.child, init); /* kills only the child: the init must exit and be reaped */
				assert.ok(!fs.existsSync(`/proc/${init}`), `namespace init ${init} is gone`);
				const st = t.reaped.get(init);
				assert.ok(
					st !== undefined && (st & 0x7f) === 0 && st >> 8 === 128 + 9,
					`the namespace init exited by itself with 128 + SIGKILL, as its child ended (wait status ${st})`,
				);
				assert.equal(t.reaped.has(body.child), false, "the child was reaped by the namespace init, not by the target's parent");
				await assertParentHealthy(t);
				assert.deepEqual(t.strays(), [], 'no forkall child or namespace init left');
				console.log(`same-tids N=${n}: ${JSON.stringify(body.timings)} init=${init} warnings=${JSON.stringify(body.warnings)}`);
			} finally {
				await t.stop();
			}
		},
	);

	test(
		'main thread has exited (zombie leader): the child has a zombie leader too and every other thread works',
		{ timeout: 120000 },
		async () => {
			const t = await spawnForkcheck(['8', '--exit-main']);
			try {
				await t.fx.waitAllRunning('stalled', 30000);
				assert.equal(taskStat(t.pid, t.pid)?.state, 'Z', 'the target leader is a zombie');
				const { body } = await forkOk(t.pid);
				assert.equal(body.zombieLeader, true);
				await verifyFaithfulChild(t, body);
				assert.equal(taskStat(body.child, body.child)?.state, 'Z', 'the child leader is a zombie as well');
				await assertParentHealthy(t);
				await finishChild(t, body.child);
			} finally {
				await t.stop();
			}
		},
	);

	test('--stopped: the child is group-stopped, detached; after SIGCONT every thread reports', { timeout: 120000 }, async () => {
		const t = await spawnForkcheck(['8']);
		try {
			await t.fx.waitAllRunning('stalled', 30000);
			const { body } = await forkOk(t.pid, { stopped: true });
			registerChild(body.child);
			const tasks = listTasks(body.child);
			assert.equal(tasks.length, 9);
			for (const tid of tasks) {
				assert.equal(taskStat(body.child, tid)?.state, 'T', `child task ${tid} is stopped (T)`);
				assert.equal(statusField(body.child, 'TracerPid', tid), '0', `child task ${tid} is not traced`);
			}
			assertNotStoppedOrTraced(t.pid, 'parent');
			await sleep(700);
			assert.deepEqual(t.childLines(body.child), [], 'no child thread runs while stopped');
			for (const tid of listTasks(body.child)) assert.equal(taskStat(body.child, tid)?.state, 'T', `still stopped: ${tid}`);
			process.kill(body.child, 'SIGCONT');
			await verifyFaithfulChild(t, body);
			await assertParentHealthy(t);
			await finishChild(t, body.child);
		} finally {
			await t.stop();
		}
	});

	test('fork while threads are created and exit (churn)', { timeout: 120000 }, async () => {
		const t = await spawnReaped<{ pid: number; longLived: Array<{ tid: number; name: string }> }>(
			fixturePath('churn'),
			['--alive', '16', '--rate', '5000'],
			{},
			'churn',
		);
		try {
			await t.fx.waitAllRunning('stalled', 30000);
			for (let round = 0; round < 5; round++) {
				const { body } = await forkOk(t.pid);
				registerChild(body.child);
				assert.equal(procStat(body.child)?.ppid, t.reaperPid, 'child parent = target parent');
				// every long-lived thread has its copy, with its name, in the child
				const map = new Map(body.threads.map((x) => [x.parentTid, x.childTid]));
				for (const ll of t.truth.longLived) {
					const ct = map.get(ll.tid);
					assert.ok(ct, `long-lived ${ll.name} (${ll.tid}) copied`);
					const comm = taskStat(t.pid, ll.tid)?.comm;
					assert.ok(comm, `parent thread ${ll.name} alive`);
					assert.equal(taskStat(body.child, ct!)?.comm, comm, `copy of ${ll.name} has its name`);
				}
				assertNotStoppedOrTraced(body.child, 'child');
				// the child's spawners keep creating threads: tids never listed before appear
				const known = new Set(body.threads.map((x) => x.childTid));
				let fresh = 0;
				const t0 = Date.now();
				while (fresh === 0 && Date.now() - t0 < 5000) {
					fresh = listTasks(body.child).filter((tid) => !known.has(tid)).length;
					await sleep(10);
				}
				assert.ok(fresh > 0, 'the child creates new threads');
				await sleep(200);
				assert.ok(procStat(body.child) !== null && procStat(body.child)!.state !== 'Z', 'child still alive after 200 ms');
				assertNotStoppedOrTraced(t.pid, 'parent');
				await t.killChild(body.child);
			}
			await t.fx.waitAllRunning('stalled', 30000);
			assert.deepEqual(t.strays(), []);
		} finally {
			await t.stop();
		}
	});

	test('1,000 forks of a 4-thread target: no stray process, no zombie, parent fine', { timeout: 600000 }, async () => {
		const t = await spawnForkcheck(['3', '--spinners', '1', '--no-wait-release']);
		const tr = Tracer.open();
		try {
			await t.fx.waitAllRunning('stalled', 30000);
			const before = listTasks(t.pid);
			assert.equal(before.length, 4);
			const t0 = Date.now();
			const log0 = t.reapedLog.length;
			for (let i = 0; i < 1000; i++) {
				const body = await tr.request('fork', { pid: t.pid });
				registerChild(body.child);
				assert.equal(body.threads.length, 4, `fork ${i}: 4 threads`);
				const gone = await killAndReap(body.child, 10000);
				assert.ok(gone, `fork ${i}: child ${body.child} reaped (state ${procStat(body.child)?.state})`);
			}
			const ms = Date.now() - t0;
			console.log(`1000 forks + kill/reap: ${ms} ms`);
			// count REAPED lines, not distinct pids: pids are reused once
			// pid_max (32768 here) wraps during a test run
			for (let i = 0; i < 500 && t.reapedLog.length - log0 < 1000; i++) await sleep(10);
			assert.equal(t.reapedLog.length - log0, 1000, 'the reaper reaped 1000 children');
			assert.deepEqual(t.strays(), [], 'no stray process or zombie under the reaper or the target');
			assert.deepEqual(listTasks(t.pid), before, 'the parent still has exactly its threads');
			await assertParentHealthy(t);
		} finally {
			await tr.close();
			await t.stop();
		}
	});

	test(
		'MADV_DONTFORK region: absent in the child, copied with --copy-dontfork; MADV_WIPEONFORK zero in the child',
		{ timeout: 120000 },
		async () => {
			const t = await spawnForkcheck(['4', '--dontfork']);
			try {
				await t.fx.waitAllRunning('stalled', 30000);
				for (const copy of [false, true]) {
					const { body } = await forkOk(t.pid, { copyDontfork: copy });
					const rep = await verifyFaithfulChild(t, body);
					assert.ok(body.dontfork.regions >= 1, `dontfork regions reported: ${JSON.stringify(body.dontfork)}`);
					assert.equal(body.dontfork.copied, copy, 'dontfork.copied');
					assert.ok(
						body.wipeonfork.some(
							(w) => BigInt(w.start) <= BigInt(t.truth.wipeonfork) && BigInt(t.truth.wipeonfork) < BigInt(w.end),
						),
						`the WIPEONFORK region is listed: ${JSON.stringify(body.wipeonfork)}`,
					);
					const main = rep.lines.find((l) => l.idx === -1)!;
					assert.equal(main.checks.wipeonfork, true, 'WIPEONFORK memory reads zero in the child');
					assert.equal(main.dontforkMapped, copy, `DONTFORK region mapped in the child iff --copy-dontfork (${copy})`);
					assert.equal(main.dontforkIntact, copy, "copied DONTFORK region has the parent's content");
					await assertParentHealthy(t);
					await finishChild(t, body.child);
				}
			} finally {
				await t.stop();
			}
		},
	);

	describe('FORKALL_FAULT: a failed step leaves no child and an unchanged, running parent', () => {
		const steps = [
			'stop',
			'capture',
			'altstack',
			'dontfork',
			'fork',
			'parent-release',
			'child-attach',
			'clone',
			'thread-setup',
			'child-regs',
			'child-release',
		];
		let t: Awaited<ReturnType<typeof spawnForkcheck>> | null = null;
		let snap: Record<number, string> = {};
		test('start the target', { timeout: 60000 }, async () => {
			t = await spawnForkcheck(['8', '--hold-errorcheck', '--dontfork']);
			await t.fx.waitAllRunning('stalled', 30000);
			snap = taskSnapshot(t.pid);
		});
		for (const step of steps) {
			test(`FORKALL_FAULT=${step}`, { timeout: 60000 }, async () => {
				assert.ok(t, 'target started');
				const before = new Set(childrenOf(t.reaperPid).map((p) => p.pid));
				const r = await runFork(t.pid, { env: { FORKALL_FAULT: step } });
				assert.equal(r.code, 1, `exit 1 (got ${r.code}); stdout ${r.stdout.slice(0, 200)}; stderr ${r.stderr}`);
				assert.equal(r.stdout, '', 'nothing on stdout');
				const lines = r.stderr.split('\n').filter(Boolean);
				assert.equal(lines.length, 1, `one stderr line: ${JSON.stringify(r.stderr)}`);
				assert.match(lines[0], /^forkall: /);
				assert.ok(lines[0].includes(step), `the message names the step "${step}": ${lines[0]}`);
				// no child left: nothing new under the reaper or the target (give the reaper a moment)
				let strays = t.strays().filter((p) => !before.has(p.pid));
				for (let i = 0; i < 100 && strays.length; i++) {
					await sleep(20);
					strays = t.strays().filter((p) => !before.has(p.pid));
				}
				assert.deepEqual(strays, [], 'no child process left');
				assert.deepEqual(taskSnapshot(t.pid), snap, 'parent threads: same tids, names, masks, affinity, untraced');
				await assertParentHealthy(t);
			});
		}
		test('after every fault, a normal fork still gives a faithful child', { timeout: 120000 }, async () => {
			assert.ok(t, 'target started');
			const { body } = await forkOk(t.pid);
			await verifyFaithfulChild(t, body);
			await finishChild(t, body.child);
			await assertParentHealthy(t);
			await t.stop();
		});
	});
});
