/*
 * Ctrl-C during `forkall fork` (issue 9 item 14): the first one lets the
 * fork finish and report; a second one cancels it — the engine rolls back
 * at its next step (child killed, parent restored) — and either way no
 * child is left running unreported, and the target runs on untraced.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { forkallCommand } from '../helpers/forkall';
import { assertNotStoppedOrTraced, tracerPid } from '../helpers/procfs';
import { killAll, sleep, spawnFixture } from '../helpers/procs';

after(killAll);

/** Living children of this process (the fork's child is one: CLONE_PARENT). */
function livingChildren(): Set<number> {
	const out = new Set<number>();
	for (const t of fs.readdirSync('/proc/self/task')) {
		let text = '';
		try {
			text = fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8');
		} catch {
			continue;
		}
		for (const s of text.split(' ').filter(Boolean)) {
			const pid = Number(s);
			try {
				const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
				const state = st.slice(st.lastIndexOf(')') + 2)[0];
				if (state !== 'Z' && state !== 'X') out.add(pid);
			} catch {
				/* gone */
			}
		}
	}
	return out;
}

test('fork, then SIGINT twice: cancelled and rolled back, or finished and reported; nothing leaks', { timeout: 180000 }, async () => {
	const fx = await spawnFixture('forkbench', ['1024', '16']);
	try {
		let cancelled = 0;
		let finished = 0;
		for (let round = 0; round < 6 && cancelled === 0; round++) {
			const before = livingChildren();
			const argv = [...forkallCommand(), 'fork', String(fx.pid), '--json'];
			const cp = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
			let stdout = '';
			let stderr = '';
			cp.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
			cp.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
			const exited = new Promise<number | null>((r) => cp.once('close', (code) => r(code)));
			// Wait until the fork has begun (the target is traced), then
			// a later point of it each round.
			const t0 = Date.now();
			while (tracerPid(fx.pid, fx.pid) === 0 && Date.now() - t0 < 20000) await sleep(1);
			await sleep(round * 15);
			cp.kill('SIGINT');
			await sleep(5);
			cp.kill('SIGINT');
			const code = await exited;
			assert.equal(code, 130, `exit status; stderr: ${stderr}`);
			if (stdout.trim()) {
				const body = JSON.parse(stdout) as { child: number };
				assert.ok(body.child > 0, stdout);
				process.kill(body.child, 'SIGKILL');
				finished++;
			} else {
				assert.match(stderr, /cancelled at step "[a-z-]+": everything was put back/, stderr);
				cancelled++;
			}
			await sleep(50);
			const leaked = [...livingChildren()].filter((p) => !before.has(p) && p !== cp.pid);
			assert.deepEqual(leaked, [], `children left running after round ${round}: ${leaked.join(' ')}; stderr: ${stderr}`);
			assertNotStoppedOrTraced(fx.pid, `round ${round}`);
			assert.equal(fx.exited, null, 'the target lives');
		}
		assert.ok(cancelled > 0, `no round was cancelled (${finished} finished first)`);
	} finally {
		await fx.kill();
	}
});
