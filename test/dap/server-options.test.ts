/*
 * forkall dap serving options (issue 9 items 9 and 13): TCP is refused
 * unless --insecure-tcp is given (whoever connects can launch programs as
 * us) and binds to loopback unless --host says otherwise; --pipe keeps
 * working (0600 socket) and names a missing directory; attaching to the
 * adapter itself or to a kernel thread says so.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { FORKALL_BIN } from '../helpers/paths';
import { killAll, killChild, track } from '../helpers/procs';
import { kernelThread } from '../helpers/procfs';
import { run } from '../helpers/forkall';
import { RawDap } from './raw';
import { within } from './support';

after(killAll);

const INIT = { adapterID: 'forkall', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' };

test('--server without --insecure-tcp is refused (exit 2, says why and what to use); --host needs --server', async () => {
	for (const args of [
		['--server=0'],
		['--server=4711', '--host=0.0.0.0'],
		['--host=0.0.0.0'],
		['--insecure-tcp'],
		['--pipe=/tmp/x.sock', '--server=0', '--insecure-tcp'],
	]) {
		const r = await run([FORKALL_BIN, 'dap', ...args], { timeoutMs: 20000 });
		assert.equal(r.code, 2, `dap ${args.join(' ')}: exit 2 (stderr: ${r.stderr})`);
		assert.doesNotMatch(r.stdout, /listening/, `dap ${args.join(' ')} does not listen`);
		assert.match(r.stderr, /^forkall: /);
	}
	const r = await run([FORKALL_BIN, 'dap', '--server=0'], { timeoutMs: 20000 });
	assert.match(r.stderr, /--server=PORT refused: any local user who can reach the port can launch programs as you/);
	assert.match(r.stderr, /--pipe=PATH/);
	assert.match(r.stderr, /--insecure-tcp/);
	const help = await run([FORKALL_BIN, '--help']);
	assert.match(help.stdout, /--insecure-tcp/, '--help documents --insecure-tcp');
	assert.match(help.stdout, /--host=ADDR/, '--help documents --host');
});

test('--server=0 --insecure-tcp: listens on 127.0.0.1 only, with a warning on stderr', async () => {
	const p = track(spawn(FORKALL_BIN, ['dap', '--server=0', '--insecure-tcp'], { stdio: ['ignore', 'pipe', 'pipe'] }));
	try {
		let err = '';
		p.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
		const line = await within(
			new Promise<string>((resolve) => {
				let out = '';
				p.stdout!.setEncoding('utf8').on('data', (d: string) => {
					out += d;
					if (/listening on .*\n/.test(out)) resolve(out);
				});
			}),
			20000,
			'listening line',
		);
		assert.match(line, /^forkall dap: listening on 127\.0\.0\.1:\d+$/m);
		// stderr is another pipe: the warning may arrive after the stdout line
		for (let i = 0; i < 100 && !/WARNING/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
		assert.match(err, /WARNING: serving on TCP 127\.0\.0\.1:\d+ \(--insecure-tcp\)/);
	} finally {
		await killChild(p);
	}
});

test('--pipe: a missing directory is named; a 0600 socket that serves DAP', async () => {
	const missing = await run([FORKALL_BIN, 'dap', '--pipe=/nonexistent/dir/s.sock'], { timeoutMs: 20000 });
	assert.equal(missing.code, 1, missing.stderr);
	assert.equal(missing.stderr, 'forkall: --pipe=/nonexistent/dir/s.sock: the directory /nonexistent/dir does not exist\n');
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkall-pipe-'));
	const sock = path.join(dir, 's.sock');
	const p = track(spawn(FORKALL_BIN, ['dap', `--pipe=${sock}`], { stdio: ['ignore', 'pipe', 'pipe'] }));
	try {
		await within(
			new Promise<void>((resolve) => {
				p.stdout!.setEncoding('utf8').on('data', (d: string) => {
					if (/listening on pipe/.test(d)) resolve();
				});
			}),
			20000,
			'listening on pipe',
		);
		assert.equal(fs.statSync(sock).mode & 0o777, 0o600, 'socket mode 0600');
		const c = net.createConnection(sock);
		const body = JSON.stringify({ seq: 1, type: 'request', command: 'initialize', arguments: INIT });
		c.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
		const got = await within(
			new Promise<string>((resolve) => {
				let s = '';
				c.setEncoding('utf8').on('data', (d: string) => {
					s += d;
					if (/"command":"initialize"/.test(s)) resolve(s);
				});
			}),
			20000,
			'initialize response over the pipe',
		);
		assert.match(got, /"success":true/);
		c.destroy();
	} finally {
		await killChild(p);
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

test('attach to the adapter itself: "cannot trace itself"; to a kernel thread: "nothing to debug"', async () => {
	const dc = new RawDap();
	try {
		await dc.request('initialize', INIT);
		const self = await dc.request('attach', { pid: dc.pid });
		assert.equal(self.success, false);
		assert.equal(
			self.message,
			`cannot attach to pid ${dc.pid}: pid ${dc.pid} is this debugger's own process: a process cannot trace itself`,
		);
		const k = kernelThread();
		if (k) {
			const r = await dc.request('attach', { pid: k.pid });
			assert.equal(r.success, false);
			assert.match(
				r.message ?? '',
				new RegExp(`^cannot attach to pid ${k.pid}: pid ${k.pid} is a kernel thread \\(.*\\): nothing to debug$`),
			);
		}
		assert.equal((await dc.request('threads')).success, true, 'the session goes on');
	} finally {
		await dc.kill();
	}
});
