/* `forkall regs PID TID [--json]` against the regs fixture: a thread holds
 * known values in rbx, r12-r15 and the vector registers while it spins. */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnFixture, killAll, sleep, Fixture } from '../helpers/procs';
import { forkallJson, runForkall, hex, RegsBody } from '../helpers/forkall';
import { assertNotStoppedOrTraced, cpuTicks, taskStat } from '../helpers/procfs';

after(killAll);

interface Truth {
	pid: number;
	tid: number;
	isa: 'sse' | 'avx' | 'avx512';
	rbx: string;
	r12: string;
	r13: string;
	r14: string;
	r15: string;
	xmm: string[];
	ymm: string[] | null;
	zmm: string[] | null;
	k: string[] | null;
}

/* The best ISA of this CPU, as the fixture detects it. */
async function bestIsa(): Promise<Truth['isa']> {
	const fx = await spawnFixture<Truth>('regs');
	await fx.kill();
	return fx.truth.isa;
}

/* The spinning thread is still running: its CPU time advances. */
async function assertStillSpinning(fx: Fixture<Truth>, context: string): Promise<void> {
	assertNotStoppedOrTraced(fx.pid, context);
	const t0 = cpuTicks(fx.pid, fx.truth.tid);
	const deadline = Date.now() + 5000;
	while (cpuTicks(fx.pid, fx.truth.tid) <= t0) {
		assert.ok(
			Date.now() < deadline,
			`${context}: spinning thread ${fx.truth.tid} got no CPU time in 5 s (state ${taskStat(fx.pid, fx.truth.tid)?.state})`,
		);
		await sleep(50);
	}
	assert.equal(fx.exited, null, `${context}: fixture exited`);
}

function eqHex(got: string | undefined, want: string, what: string): void {
	assert.equal(hex(got), hex(want), `${what}: got ${got}, want ${want}`);
}

async function checkRegs(isa: Truth['isa']): Promise<void> {
	const fx = await spawnFixture<Truth>('regs', [isa]);
	try {
		const tr = fx.truth;
		assert.equal(tr.isa, isa);
		const { body } = await forkallJson<RegsBody>(['regs', String(fx.pid), String(tr.tid)]);
		assert.equal(body.pid, fx.pid);
		assert.equal(body.tid, tr.tid);
		for (const r of ['rbx', 'r12', 'r13', 'r14', 'r15'] as const) eqHex(body.gpr[r], tr[r], r);
		for (const r of ['rip', 'rsp', 'fs_base']) assert.ok(hex(body.gpr[r]) > 0n, `${r} is zero`);

		assert.equal(body.vector.xmm.length, 16, 'xmm count');
		tr.xmm.forEach((v, i) => eqHex(body.vector.xmm[i], v, `xmm${i}`));
		if (tr.ymm) {
			assert.ok(body.vector.ymm, 'ymm present on an AVX CPU');
			assert.equal(body.vector.ymm.length, 16, 'ymm count');
			tr.ymm.forEach((v, i) => eqHex(body.vector.ymm![i], v, `ymm${i}`));
		}
		if (tr.zmm) {
			assert.ok(body.vector.zmm, 'zmm present on an AVX-512 CPU');
			assert.equal(body.vector.zmm.length, 32, 'zmm count');
			tr.zmm.forEach((v, i) => eqHex(body.vector.zmm![i], v, `zmm${i}`));
			assert.ok(body.vector.k, 'k present on an AVX-512 CPU');
			assert.equal(body.vector.k.length, 8, 'k count');
			tr.k!.forEach((v, i) => eqHex(body.vector.k![i], v, `k${i}`));
		} else if (isa === 'avx' && body.vector.zmm) {
			// VEX loads zero bits 511..256: zmm0-15 = ymm0-15.
			tr.ymm!.forEach((v, i) => eqHex(body.vector.zmm![i], v, `zmm${i} (after VEX load)`));
		}
		// Nobody touched the FPU/SSE control words: the ABI defaults.
		eqHex(body.fpu.mxcsr as string, '0x1f80', 'mxcsr');
		eqHex(body.fpu.fcw as string, '0x37f', 'fcw');

		await assertStillSpinning(fx, `after forkall regs (${isa})`);

		// Reading the registers must not have changed them: a second read
		// sees the same values.
		const again = await forkallJson<RegsBody>(['regs', String(fx.pid), String(tr.tid)]);
		for (const r of ['rbx', 'r12', 'r13', 'r14', 'r15'] as const) eqHex(again.body.gpr[r], tr[r], `${r} (second read)`);
		tr.xmm.forEach((v, i) => eqHex(again.body.vector.xmm[i], v, `xmm${i} (second read)`));
		await assertStillSpinning(fx, `after the second forkall regs (${isa})`);
	} finally {
		await fx.kill();
	}
}

test('regs: rbx, r12-r15 and every vector register of the best ISA', { timeout: 60000 }, async () => {
	await checkRegs(await bestIsa());
});

test('regs: AVX (ymm) values on an AVX-512 CPU, SSE-only values', { timeout: 60000 }, async (t) => {
	const best = await bestIsa();
	if (best === 'sse') {
		t.skip('no AVX on this CPU');
		return;
	}
	if (best === 'avx512') await checkRegs('avx');
	await checkRegs('sse');
});

test('regs human output shows the register values', { timeout: 60000 }, async (t) => {
	const fx = await spawnFixture<Truth>('regs');
	t.after(() => fx.kill());
	const res = await runForkall(['regs', String(fx.pid), String(fx.truth.tid)]);
	assert.equal(res.code, 0, `exit code; stderr: ${res.stderr}`);
	const out = res.stdout.toLowerCase();
	for (const r of ['rbx', 'r12', 'r13', 'r14', 'r15'] as const) {
		assert.ok(out.includes(r), `names ${r}`);
		assert.ok(out.includes(fx.truth[r].slice(2)), `shows ${r} = ${fx.truth[r]}`);
	}
	assert.ok(out.includes('xmm0') && out.includes('xmm15'), 'names xmm0..xmm15');
	if (fx.truth.ymm) assert.ok(out.includes('ymm15'), 'names ymm15');
	// xmm0 = two 64-bit lanes; accept either one run of hex or lanes split by separators.
	const xmm0 = fx.truth.xmm[0].slice(2);
	const compact = out.replace(/[\s_:,'`]|0x/g, '');
	assert.ok(
		compact.includes(xmm0) || (out.includes(xmm0.slice(0, 16)) && out.includes(xmm0.slice(16))),
		`shows xmm0 = ${fx.truth.xmm[0]}`,
	);
	await assertStillSpinning(fx, 'after forkall regs (human)');
});
