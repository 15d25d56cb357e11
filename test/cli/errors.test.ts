/* Every bad input: exit code and the one-line `forkall: <message>`. */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnFixture, spawnProgram, killAll, deadPid } from '../helpers/procs';
import { forkallCommand, run, runForkall, RunResult } from '../helpers/forkall';
import { fixturePath, which } from '../helpers/paths';
import { assertNotStoppedOrTraced, kernelThread, procState } from '../helpers/procfs';

after(killAll);

/* exit 1, exactly one stderr line "forkall: ..." matching re, nothing on stdout. */
function assertFailure(res: RunResult, re: RegExp, what: string): string {
	assert.equal(res.code, 1, `${what}: exit code (stdout: ${res.stdout}; stderr: ${res.stderr})`);
	const lines = res.stderr.split('\n').filter((l) => l !== '');
	assert.equal(lines.length, 1, `${what}: one stderr line, got:\n${res.stderr}`);
	assert.match(lines[0], /^forkall: \S/, `${what}: message prefix`);
	assert.match(lines[0], re, `${what}: message`);
	assert.equal(res.stdout, '', `${what}: nothing on stdout`);
	return lines[0];
}

function assertUsage(res: RunResult, what: string): void {
	assert.equal(res.code, 2, `${what}: exit code (stdout: ${res.stdout}; stderr: ${res.stderr})`);
	const all = res.stdout + res.stderr;
	assert.match(all, /usage/i, `${what}: prints usage`);
	assert.match(all, /threads/, `${what}: usage lists the threads command`);
	assert.match(all, /regs/, `${what}: usage lists the regs command`);
}

test('no such process: exit 1 and "no such process"', async () => {
	const pid = await deadPid();
	for (const args of [
		['threads', String(pid)],
		['threads', String(pid), '--json'],
		['regs', String(pid), String(pid)],
	]) {
		const line = assertFailure(await runForkall(args), /no such process/i, args.join(' '));
		assert.ok(line.includes(String(pid)), `names the pid: ${line}`);
	}
});

test('a tid that is not a thread of the pid: exit 1 and a clear message', async (t) => {
	const fx = await spawnFixture('threads', ['2']);
	t.after(() => fx.kill());
	const other = await spawnFixture('threads', ['1']);
	t.after(() => other.kill());
	for (const tid of [other.pid, await deadPid()]) {
		const line = assertFailure(
			await runForkall(['regs', String(fx.pid), String(tid)]),
			/no such (thread|process|task)|not a thread/i,
			`regs ${fx.pid} ${tid}`,
		);
		assert.ok(line.includes(String(tid)), `names the tid: ${line}`);
	}
	assertNotStoppedOrTraced(fx.pid, 'after regs with a foreign tid');
	assertNotStoppedOrTraced(other.pid, 'the other process after regs with its tid');
});

test('not permitted: an unprivileged user against a root-owned process', async (t) => {
	if (process.getuid?.() !== 0) {
		t.skip('needs root to switch to user nobody');
		return;
	}
	if (!which('setpriv') && !which('runuser')) {
		t.skip('neither setpriv nor runuser is installed');
		return;
	}
	const fx = await spawnFixture('threads', ['2']);
	t.after(() => fx.kill());
	const nobody = { uid: 65534, gid: 65534, name: 'nobody' };
	for (const args of [
		['threads', String(fx.pid)],
		['regs', String(fx.pid), String(fx.truth.threads[1].tid)],
	]) {
		const line = assertFailure(await runForkall(args, { user: nobody }), /not permitted/i, `${args.join(' ')} as nobody`);
		assert.match(line, /CAP_SYS_PTRACE|ptrace_scope/, `explains the cause: ${line}`);
		assertNotStoppedOrTraced(fx.pid, `after ${args[0]} as nobody`);
	}
});

test('already traced: names the tracer', async (t) => {
	const fx = await spawnFixture('threads', ['2']);
	t.after(() => fx.kill());
	const holder = await spawnProgram<{ holder: number; tids: number[] }>(fixturePath('holder'), [String(fx.pid)], {}, 'holder');
	t.after(() => holder.kill());
	assert.equal(holder.truth.holder, holder.pid);
	assert.deepEqual(
		procState(fx.pid).map((s) => s.tracerPid),
		fx.truth.threads.map(() => holder.pid),
		'holder traces every thread',
	);
	for (const args of [
		['threads', String(fx.pid)],
		['regs', String(fx.pid), String(fx.truth.threads[1].tid)],
	]) {
		assertFailure(await runForkall(args), new RegExp(`already traced by PID ${holder.pid}\\b`, 'i'), args.join(' '));
		for (const s of procState(fx.pid)) {
			assert.equal(s.tracerPid, holder.pid, `thread ${s.tid} still traced by the holder only`);
			assert.ok(s.state !== 't' && s.state !== 'T', `thread ${s.tid} left stopped (${s.state})`);
		}
	}
	await fx.waitAllRunning();
	await holder.kill();
	assertNotStoppedOrTraced(fx.pid, 'after the holder is gone');
	// And now it works.
	const ok = await runForkall(['threads', String(fx.pid), '--json']);
	assert.equal(ok.code, 0, ok.stderr);
});

test('usage errors: exit 2 and the usage text', async () => {
	const fx = await spawnFixture('threads', ['1']);
	try {
		const pid = String(fx.pid);
		const cases: string[][] = [
			[],
			['frobnicate'],
			['frobnicate', pid],
			['threads'],
			['threads', 'abc'],
			['threads', '-5'],
			['threads', '12x'],
			['threads', pid, 'extra'],
			['threads', pid, '--bogus'],
			['regs'],
			['regs', pid],
			['regs', pid, 'abc'],
			['regs', 'abc', pid],
		];
		for (const args of cases) assertUsage(await runForkall(args), `forkall ${args.join(' ')}`);
		assertNotStoppedOrTraced(fx.pid, 'after usage errors');
	} finally {
		await fx.kill();
	}
});

test('the pid of a thread that is not a process leader is not confused', { skip: !fs.existsSync('/proc/self/task') }, async (t) => {
	// `forkall threads <tid of a non-leader thread>`: /proc/<tid> exists for
	// it (hidden), so the CLI must either describe the whole process or
	// refuse clearly; it must never leave the process stopped.
	const fx = await spawnFixture('threads', ['2']);
	t.after(() => fx.kill());
	const tid = fx.truth.threads[1].tid;
	const res = await runForkall(['threads', String(tid), '--json']);
	if (res.code === 0) {
		const body = JSON.parse(res.stdout);
		assert.ok(body.pid === fx.pid || body.pid === tid, `pid ${body.pid}`);
	} else {
		assertFailure(res, /./, `threads ${tid}`);
	}
	assertNotStoppedOrTraced(fx.pid, 'after threads <non-leader tid>');
	await fx.waitAllRunning();
});

test('a kernel thread: "nothing to debug" (not an error about /proc/PID/maps)', async (t) => {
	const k = kernelThread();
	if (!k) {
		t.skip('no kernel thread is visible in this PID namespace');
		return;
	}
	for (const args of [
		['threads', String(k.pid)],
		['regs', String(k.pid), String(k.pid)],
		['fork', String(k.pid)],
	]) {
		const res = await runForkall(args);
		assertFailure(
			res,
			new RegExp(
				`^forkall: pid ${k.pid} is a kernel thread \\(${k.comm.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): nothing to debug$`,
			),
			args.join(' '),
		);
	}
});

test('forkall on its own pid: "cannot trace itself" (not "setuid or non-dumpable")', async () => {
	// exec keeps the shell's pid: $$ is forkall's own pid
	for (const cmd of ['threads $$', 'regs $$ $$', 'fork $$']) {
		const res = await run([
			'sh',
			'-c',
			`exec ${forkallCommand()
				.map((a) => `'${a}'`)
				.join(' ')} ${cmd}`,
		]);
		assertFailure(res, /^forkall: pid \d+ is this debugger's own process: a process cannot trace itself$/, cmd);
	}
});
