/*
 * forkall dap (stdio): when the client's stream closes, the session ends as
 * `disconnect {}` would and the adapter exits — a launched program is
 * killed (also when the stream closes while the launch is still in
 * flight), an attached one is left running and untraced.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fixturePath } from '../helpers/paths';
import { killAll, sleep, spawnFixture } from '../helpers/procs';
import { assertNotStoppedOrTraced } from '../helpers/procfs';
import { killLaunched, RawDap, running } from './raw';

after(killAll);

const INIT = { adapterID: 'forkall', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' };

async function waitGone(pid: number, ms: number): Promise<boolean> {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		if (!running(pid)) return true;
		await sleep(50);
	}
	return !running(pid);
}

test('stdin closed right after the launch response: the program is killed and the adapter exits', async () => {
	const dc = new RawDap();
	const kids: number[] = [];
	try {
		await dc.request('initialize', INIT);
		const r = await dc.request('launch', { program: fixturePath('threads'), args: ['2'] });
		assert.equal(r.success, true, r.message);
		kids.push(...dc.children());
		const [prog] = kids;
		assert.ok(prog > 0, 'the launched program is a child of the adapter');
		dc.closeInput();
		const x = await dc.waitExit(15000);
		assert.equal(x.code, 0, `exit status: ${JSON.stringify(x)}; stderr: ${dc.stderr}`);
		assert.equal(await waitGone(prog, 5000), true, `launched program ${prog} was killed`);
	} finally {
		await dc.kill();
		killLaunched(kids);
	}
});

test('stdin closed while the launch is in flight: the program is killed and the adapter exits', async () => {
	const dc = new RawDap();
	const kids = new Set<number>();
	try {
		await dc.request('initialize', INIT);
		dc.send('launch', { program: fixturePath('threads'), args: ['2'] });
		dc.closeInput();
		const t0 = Date.now();
		while (dc.alive && Date.now() - t0 < 15000) {
			for (const k of dc.children()) kids.add(k);
			await sleep(5);
		}
		const x = await dc.waitExit(15000);
		assert.equal(x.code, 0, `exit status: ${JSON.stringify(x)}; stderr: ${dc.stderr}`);
		for (const k of kids) assert.equal(await waitGone(k, 5000), true, `launched program ${k} was killed`);
	} finally {
		await dc.kill();
		killLaunched(kids);
	}
});

test('stdin closed while attached (stopped): the target is detached, running and untraced; the adapter exits', async () => {
	const fx = await spawnFixture('threads', ['4']);
	const dc = new RawDap();
	try {
		await dc.request('initialize', INIT);
		const a = await dc.request('attach', { pid: fx.pid, stopOnAttach: true });
		assert.equal(a.success, true, a.message);
		await dc.request('configurationDone');
		await dc.event('stopped');
		dc.closeInput();
		const x = await dc.waitExit(15000);
		assert.equal(x.code, 0, `exit status: ${JSON.stringify(x)}; stderr: ${dc.stderr}`);
		assertNotStoppedOrTraced(fx.pid, 'after the client closed the stream');
		await fx.waitAdvance(null, 1, 5000);
	} finally {
		await dc.kill();
		await fx.kill();
	}
});
