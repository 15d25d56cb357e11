/*
 * Activation and the debug configuration provider, through VS Code.
 *
 * Negative controls (negative-controls.md): without "onDebugResolve:forkall"
 * in package.json the first test fails; without the provider's default
 * request, "defaults"; without its pid check, "bad configurations"; an
 * attach without pid that does not ask, the picker test; the picker
 * offering the extension host itself, "process picker".
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
	activated,
	api,
	extension,
	folder,
	installRecorder,
	procState,
	program,
	requests,
	start,
	sleep,
	startedSessions,
	stopAll,
	stopped,
	tgidOf,
	topFrame,
	waitFor,
} from './helpers';

suite('activation', () => {
	suiteSetup(installRecorder);

	test('inactive until a Forkall configuration is resolved (onDebugResolve:forkall), then active with its API', async () => {
		const ext = extension();
		assert.equal(ext.isActive, false, 'nothing activated the extension before the first Forkall debug configuration');
		// Resolving any forkall configuration activates it; this one is refused (no program).
		const ok = await vscode.debug.startDebugging(folder(), { type: 'forkall', request: 'launch', name: 'no program' });
		assert.equal(ok, false, 'a launch without "program" does not start');
		assert.equal(ext.isActive, true, 'resolving a forkall configuration activated the extension');
		const a = ext.exports;
		assert.equal(typeof a.adapterPid, 'function');
		assert.equal(a.adapterPid(), undefined, 'no adapter process before the first session');
		const commands = await vscode.commands.getCommands(true);
		for (const c of [
			'forkall.forkAllThreads',
			'forkall.pickProcess',
			'forkall.attach',
			'forkall.showLwpView',
			'forkall.lwps.refresh',
		]) {
			assert.ok(commands.includes(c), `command ${c} is registered`);
		}
	});
});

suite('debug configuration provider', () => {
	suiteSetup(async () => {
		installRecorder();
		await activated();
	});
	teardown(stopAll);

	test('defaults: {type, program} becomes a launch named "Forkall: Launch"', async () => {
		const s = await start({ type: 'forkall', program: program('demo'), stopAtEntry: true } as unknown as vscode.DebugConfiguration);
		assert.equal(s.configuration.request, 'launch');
		assert.equal(s.name, 'Forkall: Launch');
		const launch = requests<import('@vscode/debugprotocol').DebugProtocol.LaunchRequest>(s, 'launch')[0];
		assert.equal((launch?.arguments as { program?: string } | undefined)?.program, program('demo'), 'the launch request VS Code sent');
		const stop = await stopped(s);
		assert.equal(stop.body.reason, 'entry');
		const frame = await topFrame(s, stop.body.threadId!);
		assert.equal(frame.name.replace(/\(.*$/, ''), 'main', `stopped at main: ${JSON.stringify(frame)}`);
	});

	const bad: [string, vscode.DebugConfiguration, RegExp][] = [
		['a launch without program', { type: 'forkall', request: 'launch', name: 'bad 1', program: '  ' }, /needs "program"/],
		[
			'an attach with a pid that is not a number',
			{ type: 'forkall', request: 'attach', name: 'bad 2', pid: 'abc' },
			/"pid" must be a process id, got "abc"/,
		],
		[
			'an attach with a negative pid',
			{ type: 'forkall', request: 'attach', name: 'bad 3', pid: -5 },
			/"pid" must be a process id, got -5/,
		],
		['an unknown request', { type: 'forkall', request: 'bogus', name: 'bad 4' }, /"request" must be "launch" or "attach", got "bogus"/],
	];
	test('bad configurations start nothing and are answered with a clear error', async () => {
		for (const [what, config, message] of bad) {
			const before = startedSessions().length;
			const shown = api().messages().length;
			const ok = await vscode.debug.startDebugging(folder(), config);
			assert.equal(ok, false, `${what}: not started`);
			assert.equal(startedSessions().length, before, `${what}: no session`);
			const msgs = api().messages().slice(shown);
			assert.ok(
				msgs.some((m) => m.severity === 'error' && message.test(m.text)),
				`${what}: error matching ${message} among ${JSON.stringify(msgs)}`,
			);
		}
	});

	test('an attach without a pid asks with the process picker; cancelling it starts nothing', async () => {
		const before = startedSessions().length;
		const pending = vscode.debug.startDebugging(folder(), { type: 'forkall', request: 'attach', name: 'attach, no pid' });
		await waitFor('the process picker', () => api().processPicker());
		await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
		assert.equal(await pending, false, 'cancelled: not started');
		assert.equal(api().processPicker(), undefined, 'the picker is gone');
		assert.equal(startedSessions().length, before, 'no session');
	});
});

suite('process picker', () => {
	suiteSetup(async () => {
		installRecorder();
		await activated();
	});
	let target: ChildProcess | undefined;
	teardown(async () => {
		await stopAll();
		target?.kill('SIGKILL');
	});

	test('"${command:pickProcess}" lists processes (name, pid, user, threads, command line) and attaches to the one picked', async () => {
		target = spawn(program('demo'), ['--picker-test'], { stdio: 'ignore' });
		const pid = target.pid!;
		await waitFor('the target has its 8 threads', () => procState(pid)?.threads === 8);
		const pending = vscode.debug.startDebugging(folder(), {
			type: 'forkall',
			request: 'attach',
			name: 'attach picked',
			pid: '${command:pickProcess}',
		});
		const picker = await waitFor('the process picker', () => api().processPicker());
		const items = picker.items();
		const mine = items.find((i) => i.pid === pid);
		assert.ok(mine, `pid ${pid} is listed (${items.length} items)`);
		assert.equal(mine.label, '$(list-tree) threads-demo');
		assert.equal(mine.description, `pid ${pid} · ${os.userInfo().username} · 8 threads`);
		assert.equal(mine.detail, `${program('demo')} --picker-test`);
		assert.ok(!items.some((i) => i.pid === process.pid), 'the extension host itself is not offered');
		assert.ok(!items.some((i) => i.detail === ''), 'no kernel threads');
		// A tree: each process right after its parent ("child of PPID"); the roots newest first.
		const index = new Map(items.map((it, k) => [it.pid, k]));
		for (const [k, it] of items.entries()) {
			const parent = / · child of (\d+)/.exec(it.description);
			if (parent) assert.ok((index.get(Number(parent[1])) ?? Infinity) < k, `${it.description}: listed after its parent`);
		}
		const roots = items.filter((it) => !it.description.includes(' · child of ')).map((it) => it.pid);
		assert.deepEqual(roots.slice(0, 20), [...roots].sort((a, b) => b - a).slice(0, 20), 'the roots newest first (same user)');
		assert.ok(picker.activate(pid));
		await sleep(500); // the active item reaches the workbench's quick input
		const before = startedSessions().length;
		await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
		assert.equal(await pending, true, 'the attach started');
		const s = await waitFor('the attach session', () =>
			startedSessions()
				.slice(before)
				.find((x) => x.name === 'attach picked'),
		);
		assert.equal(s.configuration.pid, pid, 'the picked pid, as a number');
		const attach = requests<import('@vscode/debugprotocol').DebugProtocol.AttachRequest>(s, 'attach')[0];
		assert.equal((attach?.arguments as { pid?: number }).pid, pid);
		await waitFor('the adapter traces the target', () => tgidOf(procState(pid)?.tracerPid ?? 0) === api().adapterPid());
	});
});
