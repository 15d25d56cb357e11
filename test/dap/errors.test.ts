/*
 * forkall dap: every bad input gives an error response with a clear message
 * (and a numeric id), within a time limit, and leaves nothing traced.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { deadPid, killAll, spawnFixture, spawnProgram } from '../helpers/procs';
import { fixturePath } from '../helpers/paths';
import { assertNotStoppedOrTraced, procState } from '../helpers/procfs';
import { DapClient, Golden } from './support';

after(killAll);

async function session(fn: (dc: DapClient) => Promise<void>, opts: ConstructorParameters<typeof DapClient>[0] = {}): Promise<void> {
	const dc = new DapClient(opts);
	await dc.start();
	try {
		await dc.init();
		await fn(dc);
	} finally {
		await dc.stop();
	}
}

test('attach errors: missing pid, bad pid argument, already traced; launch errors: missing, not executable, a directory', async () => {
	const g = new Golden('errors');
	const dead = await deadPid();
	g.alias(dead, 'dead-pid');
	const fx = await spawnFixture('threads', ['2']);
	const holder = await spawnProgram<{ holder: number }>(fixturePath('holder'), [String(fx.pid)], {}, 'holder');
	g.alias(fx.pid, 'pid').alias(holder.pid, 'holder');
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forkall-dap-'));
	const notExec = path.join(tmp, 'not-executable');
	fs.writeFileSync(notExec, '#!/bin/sh\necho hi\n', { mode: 0o644 });
	g.alias(tmp, 'tmp');
	try {
		await session(async (dc) => {
			g.log('attach to a missing pid', await dc.expectError('attach', { pid: dead }));
		});
		await session(async (dc) => {
			g.log('attach with pid "abc"', await dc.expectError('attach', { pid: 'abc' }));
		});
		await session(async (dc) => {
			g.log('attach without pid', await dc.expectError('attach', {}));
		});
		await session(async (dc) => {
			const msg = await dc.expectError('attach', { pid: fx.pid });
			assert.match(msg, new RegExp(`already traced by PID ${holder.pid}\\b`, 'i'));
			g.log('attach to a process traced by holder', msg);
		});
		for (const s of procState(fx.pid)) assert.equal(s.tracerPid, holder.pid, `tid ${s.tid} still traced by the holder only`);
		await session(async (dc) => {
			g.log('launch a missing program', await dc.expectError('launch', { program: path.join(tmp, 'no-such-program') }));
		});
		await session(async (dc) => {
			g.log('launch a file without x permission', await dc.expectError('launch', { program: notExec }));
		});
		await session(async (dc) => {
			g.log('launch a directory', await dc.expectError('launch', { program: tmp }));
		});
		await session(async (dc) => {
			g.log('launch without program', await dc.expectError('launch', {}));
		});
		await session(async (dc) => {
			g.log('threads before launch/attach', (await dc.threadsRequest()).body);
			g.log('stackTrace before launch/attach', await dc.expectError('stackTrace', { threadId: 1 }));
			g.log('unknown request', await dc.expectError('frobnicate', {}));
		});
	} finally {
		await holder.kill();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
	assertNotStoppedOrTraced(fx.pid, 'after the holder is gone');
	await fx.kill();
	g.assertMatches();
});

test('error responses carry a numeric id and showUser', async () => {
	const dead = await deadPid();
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const raw = await new Promise<DebugProtocol.Response>((resolve) => {
			const pc = dc as unknown as { doSend(c: string, a: unknown, cb: (r: DebugProtocol.Response) => void): void };
			pc.doSend('attach', { pid: dead }, resolve);
		});
		assert.equal(raw.success, false);
		const err = (raw.body as { error: DebugProtocol.Message }).error;
		assert.equal(typeof err.id, 'number');
		assert.equal(err.showUser, true);
		assert.match(err.format, /no such process/i);
	} finally {
		await dc.stop();
	}
});

test('not permitted: the adapter as user nobody against a root-owned process', async (t) => {
	if (process.getuid?.() !== 0) {
		t.skip('needs root to run the adapter as nobody');
		return;
	}
	const fx = await spawnFixture('threads', ['2']);
	try {
		await session(
			async (dc) => {
				const msg = await dc.expectError('attach', { pid: fx.pid });
				assert.match(msg, /not permitted/i);
				assert.match(msg, /CAP_SYS_PTRACE|ptrace_scope|owner|uid/i, `explains the cause: ${msg}`);
				assert.ok(msg.includes(String(fx.pid)), `names the pid: ${msg}`);
			},
			{ uid: 65534, gid: 65534, env: { ...process.env, HOME: '/tmp' } },
		);
		assertNotStoppedOrTraced(fx.pid, 'after the refused attach');
	} finally {
		await fx.kill();
	}
});

test('forkAllThreads mode "debug" over stdio: a clear error before anything is forked', async () => {
	const fx = await spawnFixture('threads', ['2']);
	try {
		await session(async (dc) => {
			await dc.attachStopped(fx.pid);
			const msg = await dc.expectError('forkAllThreads', { mode: 'debug' });
			assert.match(msg, /server mode/);
			const bad = await dc.expectError('forkAllThreads', { mode: 'sideways' });
			assert.match(bad, /mode must be/);
			await dc.disconnectRequest({});
		});
		assertNotStoppedOrTraced(fx.pid, 'after disconnect');
	} finally {
		await fx.kill();
	}
});
