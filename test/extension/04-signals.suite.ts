/*
 * The signal exception filters: the adapter offers "fatal" and "other" in
 * the Breakpoints view, VS Code sends their defaults (both on), a SIGUSR1
 * stops the program as an exception; without "other" it passes silently.
 * test/fixtures/sigloop.c raises SIGUSR1 N times (counting handler), then
 * prints "usr1 N …" and exits 0.
 *
 * Negative control (negative-controls.md): no exceptionBreakpointFilters
 * in the capabilities fails it.
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { events, exitCode, output, program, readyToDebug, requests, start, stopAll, stopped, traffic, waitFor } from './helpers';

suite('signal filters', () => {
	suiteSetup(readyToDebug);
	teardown(() => stopAll().catch(() => undefined));

	test('both filters offered and on by default: SIGUSR1 stops the program; with "other" unchecked it passes silently', async () => {
		const s = await start({
			type: 'forkall',
			request: 'launch',
			name: 'sigloop',
			program: program('sigloop'),
			args: ['3'],
			followForks: 'parent',
		});
		const init = traffic(s).fromAdapter.find(
			(m): m is DebugProtocol.InitializeResponse => m.type === 'response' && (m as DebugProtocol.Response).command === 'initialize',
		);
		const filters = init?.body?.exceptionBreakpointFilters ?? [];
		assert.deepEqual(
			filters.map((f) => [f.filter, f.default]),
			[
				['fatal', true],
				['other', true],
			],
		);
		assert.match(filters[0].label, /SIGSEGV/);
		const sent = await waitFor(
			'setExceptionBreakpoints from VS Code',
			() => requests<DebugProtocol.SetExceptionBreakpointsRequest>(s, 'setExceptionBreakpoints')[0],
		);
		assert.deepEqual([...sent.arguments.filters].sort(), ['fatal', 'other'], 'VS Code sent both defaults');
		const stop = await stopped(s);
		assert.equal(stop.body.reason, 'signal');
		assert.match(`${stop.body.description} ${stop.body.text}`, /SIGUSR1/);
		// What unchecking "Other signals that stop" in the Breakpoints view sends.
		await s.customRequest('setExceptionBreakpoints', { filters: ['fatal'] });
		await s.customRequest('continue', { threadId: stop.body.threadId });
		assert.equal(await exitCode(s, 'the program exited'), 0);
		const out = output(s, 'stdout');
		assert.match(out, /^usr1 3 /m, 'every SIGUSR1 reached the handler');
		assert.equal(events(s, 'stopped').length, 1, 'only the first SIGUSR1 stopped');
	});
});
