/*
 * forkall fork keeps every signal disposition (handler, flags, handler
 * mask) and every thread's signal mask, in the child and in the parent
 * (issue 16 item 1).
 *
 * The kernel forces the SIGTRAP of an int3: when the executing thread blocks
 * SIGTRAP or the process ignores it, the program's SIGTRAP disposition is
 * reset to SIG_DFL and SIGTRAP unblocked in that thread. The fork used to
 * run an int3 in the child's leader (every signal blocked there: the child
 * lost its SIGTRAP handler and died of its next SIGTRAP) and in every
 * parent thread (a thread blocking SIGTRAP cost the PARENT its handler).
 *
 * test/fixtures/sigfidelity prints its sigactions and masks at start, again
 * on SIGUSR2 (parent), and once in the child, where it then raises SIGTRAP.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { killAll } from '../helpers/procs';
import { fixturePath } from '../helpers/paths';
import { forkOk } from '../helpers/forkRun';
import { cleanupFork, registerChild, spawnReaped, type ForkTarget } from '../helpers/forkTarget';

interface SigState {
	pid: number;
	sigs: string;
	masks: string[];
}

after(async () => {
	await cleanupFork();
	await killAll();
});

function parse(line: string): SigState {
	return JSON.parse(line.slice(line.indexOf(' ') + 1)) as SigState;
}

/* "5:0x55…/14000004/200;" rows that differ, for the message */
function diff(want: string, got: string): string {
	const a = want.split(';');
	const b = new Set(got.split(';'));
	return a
		.filter((r) => r && !b.has(r))
		.map((r) => `${r} -> ${got.split(';').find((x) => x.startsWith(r.split(':')[0] + ':')) ?? 'missing'}`)
		.join(', ');
}

async function check(args: string[], sameTids = false): Promise<void> {
	const t: ForkTarget<SigState> = await spawnReaped<SigState>(fixturePath('sigfidelity'), args);
	try {
		const before = t.truth;
		const { body } = await forkOk(t.pid, sameTids ? { sameTids: true } : {});
		registerChild(body.child);
		if (body.namespaceInit) registerChild(body.namespaceInit);
		const childLine = await t.waitLine((l) => l.startsWith('CHILD {'), 20000, "the child's CHILD line");
		const child = parse(childLine);
		assert.equal(child.sigs, before.sigs, `child dispositions differ: ${diff(before.sigs, child.sigs)}`);
		assert.deepEqual(child.masks, before.masks, 'child thread masks (main, w0..w3)');
		const trap = await t.waitLine((l) => l.startsWith('CHILD-TRAP '), 20000, 'CHILD-TRAP');
		assert.equal(trap, `CHILD-TRAP ${args[0] === 'ignore' ? 'ignored' : 'handled'}`);

		process.kill(t.pid, 'SIGUSR2');
		const parent = parse(await t.waitLine((l) => l.startsWith('PARENT {'), 20000, "the parent's PARENT line"));
		assert.equal(parent.sigs, before.sigs, `parent dispositions changed by the fork: ${diff(before.sigs, parent.sigs)}`);
		assert.deepEqual(parent.masks, before.masks, 'parent thread masks changed by the fork');
	} finally {
		await t.stop();
	}
}

describe('forkall fork: signal dispositions and masks', () => {
	test('SIGTRAP handler, threads blocking SIGTRAP: child and parent keep every sigaction and mask', async () => {
		await check(['handler']);
	});
	test('SIGTRAP ignored: stays ignored in child and parent', async () => {
		await check(['ignore']);
	});
	test('SIGTRAP handler, no thread blocks it (the one-stop injection page): everything kept', async () => {
		await check(['handler', '--trap-unblocked']);
	});
	const notRoot = typeof process.getuid === 'function' && process.getuid() !== 0;
	const skip = notRoot ? '--same-tids needs CAP_SYS_ADMIN' : false;
	test('--same-tids: everything kept', { skip }, async () => {
		await check(['handler'], true);
	});

	/* issue 16 item 3: the namespace init used to exit 0 whatever the child did */
	for (const [how, want] of [
		['SIGUSR2 (the child exits 7)', { code: 7 }],
		['SIGSEGV', { signal: 11 }],
		['SIGABRT', { code: 128 + 6 }],
		['SIGKILL', { code: 128 + 9 }],
	] as const) {
		test(`--same-tids: the namespace init ends as the child did: ${how}`, { skip }, async () => {
			const t = await spawnReaped<SigState>(fixturePath('sigfidelity'), ['handler']);
			try {
				const { body } = await forkOk(t.pid, { sameTids: true });
				registerChild(body.child);
				const init = body.namespaceInit ?? 0;
				assert.ok(init > 0, 'namespaceInit in the result');
				registerChild(init);
				await t.waitLine((l) => l.startsWith('CHILD-TRAP '), 20000, 'CHILD-TRAP');
				process.kill(body.child, how.split(' ')[0] as NodeJS.Signals);
				for (let i = 0; i < 500 && !t.reaped.has(init); i++) await new Promise((r) => setTimeout(r, 10));
				const st = t.reaped.get(init);
				assert.ok(st !== undefined, `the namespace init ${init} was reaped by the target's parent`);
				if ('signal' in want)
					assert.equal(st & 0x7f, want.signal, `init killed by signal ${want.signal} (wait status 0x${st.toString(16)})`);
				else
					assert.deepEqual(
						{ signal: st & 0x7f, code: (st >> 8) & 0xff },
						{ signal: 0, code: want.code },
						`wait status 0x${st.toString(16)}`,
					);
				assert.equal(t.reaped.has(body.child), false, 'the child was reaped by the init');
			} finally {
				await t.stop();
			}
		});
	}
});
