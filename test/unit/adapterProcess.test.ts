/*
 * The extension's adapter process (extension/src/adapterProcess.ts, no
 * VS Code needed): started on a random 127.0.0.1 port, restarted after it
 * dies (a crash in native code), stopped cleanly, and gone when the
 * extension host's end of its stdin closes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { AdapterProcess, adapterLayout } from '../../extension/src/adapterProcess';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function connects(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const s = net.connect(port, '127.0.0.1', () => {
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

test('adapter process: random port, restarted after a crash, stopped on request', async () => {
	const layout = { ...adapterLayout(ROOT), node: process.execPath };
	const exits: { code: number | null; signal: string | null; expected: boolean }[] = [];
	const a = new AdapterProcess(layout, {
		output: () => undefined,
		info: () => undefined,
		exit: (code, signal, expected) => exits.push({ code, signal, expected }),
	});
	try {
		const port1 = await a.ensure();
		assert.ok(port1 > 0);
		assert.equal(await a.ensure(), port1, 'one adapter, reused');
		assert.ok(await connects(port1), 'accepts connections on 127.0.0.1');
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
	} finally {
		await a.stop();
	}
});

test('adapter process: a missing entry is reported, not thrown from spawn', async () => {
	const a = new AdapterProcess({ node: process.execPath, entry: '/nonexistent/adapter.js', nativeLib: '/nonexistent.so' },
		{ output: () => undefined, info: () => undefined, exit: () => undefined });
	await assert.rejects(a.ensure(), /adapter is missing/);
});
