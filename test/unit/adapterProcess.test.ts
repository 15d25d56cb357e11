/*
 * The extension's adapter process (extension/src/adapterProcess.ts, no
 * VS Code needed): started on a Unix socket only this user can open, restarted after it
 * dies (a crash in native code), stopped cleanly, and gone when the
 * extension host's end of its stdin closes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { AdapterProcess, adapterLayout } from '../../extension/src/adapterProcess';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function connects(pipe: string): Promise<boolean> {
	return new Promise((resolve) => {
		const s = net.connect(pipe, () => {
			s.destroy();
			resolve(true);
		});
		s.on('error', () => resolve(false));
	});
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

test('adapter process: private socket, restarted after a crash, stopped on request', async () => {
	const layout = { ...adapterLayout(ROOT), node: process.execPath };
	const exits: { code: number | null; signal: string | null; expected: boolean }[] = [];
	const a = new AdapterProcess(layout, {
		output: () => undefined,
		info: () => undefined,
		exit: (code, signal, expected) => exits.push({ code, signal, expected }),
	});
	try {
		const port1 = await a.ensure();
		assert.equal(fs.statSync(port1).mode & 0o777, 0o600, "the socket is the user's only");
		assert.equal(fs.statSync(path.dirname(port1)).mode & 0o777, 0o700, 'in a private directory');
		assert.equal(await a.ensure(), port1, 'one adapter, reused');
		assert.ok(await connects(port1), 'accepts connections');
		const pid1 = a.pid!;
		// A crash (what a fault in native code would do).
		process.kill(pid1, 'SIGSEGV');
		const t = Date.now();
		while (a.running && Date.now() - t < 5000) await new Promise((r) => setTimeout(r, 50));
		assert.deepEqual(exits, [{ code: null, signal: 'SIGSEGV', expected: false }]);
		const port2 = await a.ensure();
		assert.notEqual(a.pid, pid1, 'a new process');
		assert.ok(await connects(port2));
		const pid2 = a.pid!;
		await a.stop();
		assert.equal(exits.length, 2);
		assert.equal(exits[1].expected, true);
		assert.equal(alive(pid2), false);
		assert.equal(fs.existsSync(path.dirname(port1)), false, 'the socket directory is removed');
	} finally {
		await a.stop();
	}
});

test('adapter process: a missing entry is reported, not thrown from spawn', async () => {
	const a = new AdapterProcess(
		{ node: process.execPath, entry: '/nonexistent/adapter.js', nativeLib: '/nonexistent.so' },
		{ output: () => undefined, info: () => undefined, exit: () => undefined },
	);
	await assert.rejects(a.ensure(), /adapter is missing/);
});
