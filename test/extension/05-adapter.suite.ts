/*
 * The adapter process: killed (SIGKILL) under a live session, that session
 * ends with a clear message, and the next session starts a new adapter.
 * Runs last: it kills the window's adapter.
 *
 * Negative control (negative-controls.md): an AdapterProcess that never
 * forgets a dead adapter's socket fails it (connect ENOENT).
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import { api, procState, program, readyToDebug, start, stopAll, stopped, terminated, topFrame, waitFor } from './helpers';

suite('adapter process', () => {
	suiteSetup(readyToDebug);
	teardown(() => stopAll().catch(() => undefined));

	test('killed under a session: the session ends with a message, the next session starts a new adapter', async () => {
		const s = await start({ type: 'forkall', request: 'launch', name: 'before the kill', program: program('demo'), stopAtEntry: true });
		await stopped(s);
		const first = api().adapterPid();
		assert.ok(first, 'an adapter process');
		assert.ok(procState(first), 'it is running');
		const shown = api().messages().length;
		process.kill(first, 'SIGKILL');
		await terminated(s);
		const msg = await waitFor('the crash message', () =>
			api()
				.messages()
				.slice(shown)
				.find((m) => /adapter exited unexpectedly/.test(m.text)),
		);
		assert.equal(msg.severity, 'error');
		assert.match(msg.text, /SIGKILL/);
		const s2 = await start({ type: 'forkall', request: 'launch', name: 'after the kill', program: program('demo'), stopAtEntry: true });
		const stop = await stopped(s2);
		const second = api().adapterPid();
		assert.ok(second && second !== first, `a new adapter (${first} -> ${second})`);
		assert.match((await topFrame(s2, stop.body.threadId!)).name, /^main/);
	});
});
