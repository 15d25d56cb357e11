/*
 * Negative controls: FORKALL_SKIP=<step> leaves one restore step out of
 * the engine; the matching forkcheck checks must then FAIL in the child
 * (and only those). This proves the fidelity checks are not blind
 * (prototype-findings pitfall 2).
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { killAll } from '../helpers/procs';
import { forkOk, forkTool } from '../helpers/forkRun';
import { cleanupFork, registerChild, spawnForkcheck } from '../helpers/forkTarget';
import { assertParentHealthy, collectReport, releaseChild, type ForkcheckTruth } from '../helpers/forkChecks';
import type { ChildLine } from '../helpers/forkTarget';

after(async () => {
	await cleanupFork();
	await killAll();
});

interface Case {
	skip: string;
	/* checks that must fail in every worker (idx >= 0) that `applies` to */
	mustFail: (l: ChildLine, truth: ForkcheckTruth) => string[];
	/* checks allowed to fail anywhere */
	allowed: string[];
	/* extra assertions on the whole report */
	extra?: (lines: ChildLine[], joinFailed: number[] | null, truth: ForkcheckTruth) => void;
}

const cases: Case[] = [
	{
		skip: 'xstate',
		mustFail: (l) => (l.kind === 'spin' ? ['mxcsr', 'x87cw', 'vector'] : ['mxcsr', 'x87cw']),
		allowed: ['mxcsr', 'x87cw', 'vector', 'vector_child'],
		extra: (lines, _j, truth) => {
			const spinners = lines.filter((l) => l.kind === 'spin');
			assert.equal(spinners.length, truth.spinners, 'every spinner reported');
			const flavours = new Set(spinners.map((l) => l.vec));
			if (truth.avx512)
				assert.ok(
					flavours.has('avx512') && flavours.has('avx2') && flavours.has('sse'),
					`all vector flavours covered: ${[...flavours]}`,
				);
			for (const s of spinners) assert.ok((s.vecFail ?? 0) > 0, `spinner ${s.idx} (${s.vec}) saw its invariant break`);
		},
	},
	{ skip: 'sigmask', mustFail: () => ['sigmask'], allowed: ['sigmask'] },
	{
		skip: 'tidfix',
		mustFail: () => ['tid_glibc', 'kill_other'],
		/* robust unlock compares the (rewritten) owner with the stale pd->tid */
		allowed: ['tid_glibc', 'kill_other', 'robust_unlock'],
		extra: (_lines, joinFailed, truth) => {
			assert.ok(joinFailed, 'CHILD-DONE printed');
			assert.equal(joinFailed!.length, truth.n, `pthread_join of every worker fails (pd->tid never cleared): ${joinFailed}`);
		},
	},
	{ skip: 'altstack', mustFail: () => ['altstack'], allowed: ['altstack'] },
	{ skip: 'name', mustFail: () => ['name'], allowed: ['name'] },
	{
		/* the DWARF owner rewrite (locks) would fix worker 2's robust mutex too: rb_mu is a global */
		skip: 'robust,locks',
		mustFail: (l) => (l.idx === 2 ? ['robust', 'robust_unlock'] : ['robust']),
		allowed: ['robust', 'robust_unlock'],
	},
	{
		skip: 'locks',
		mustFail: () => [],
		allowed: [],
		extra: (lines) => {
			const w1 = lines.find((l) => l.idx === 1);
			assert.equal(
				w1?.errorcheckUnlock,
				1,
				"the errorcheck mutex worker 1 held: EPERM in the child (its owner field still names the parent's thread)",
			);
		},
	},
	{ skip: 'rseq', mustFail: () => ['rseq'], allowed: ['rseq'] },
	{
		skip: 'sched',
		mustFail: (_l, truth) => (truth.cpus >= 2 ? ['affinity'] : []),
		allowed: ['affinity'],
	},
];

describe(`forkall fork negative controls: FORKALL_SKIP makes the matching checks fail (tool: ${forkTool()})`, () => {
	for (const c of cases) {
		test(`FORKALL_SKIP=${c.skip}`, { timeout: 120000 }, async () => {
			const t = await spawnForkcheck(['16', '--hold-errorcheck', '--child-timeout-ms', '15000']);
			try {
				await t.fx.waitAllRunning('stalled', 30000);
				const { body } = await forkOk(t.pid, { env: { FORKALL_SKIP: c.skip } });
				registerChild(body.child);
				const rep = await collectReport(t, body.child, 60000);
				const truth = t.truth as ForkcheckTruth;
				const workers = rep.lines.filter((l) => l.idx >= 0);
				assert.equal(workers.length, truth.n, `every worker reported (missing ${rep.reported.missing})`);
				const problems: string[] = [];
				for (const l of rep.lines) {
					const failed = Object.keys(l.checks).filter((k) => !l.checks[k]);
					if (l.idx >= 0) {
						for (const name of c.mustFail(l, truth)) {
							if (l.checks[name] !== false) problems.push(`idx ${l.idx} (${l.kind}): ${name} did not fail`);
						}
						if (c.mustFail(l, truth).length) assert.equal(l.ok, false);
					}
					for (const f of failed) {
						if (!c.allowed.includes(f)) problems.push(`idx ${l.idx} (${l.kind}): unrelated check ${f} failed: ${l.detail}`);
					}
				}
				assert.deepEqual(problems, [], `FORKALL_SKIP=${c.skip}`);
				let joinFailed: number[] | null = null;
				if (c.extra) {
					if (c.skip === 'tidfix') joinFailed = (await releaseChild(t, body.child, 60000)).joinFailed;
					c.extra(rep.lines, joinFailed, truth);
				}
				await assertParentHealthy(t);
				await t.killChild(body.child);
			} finally {
				await t.stop();
			}
		});
	}
});
