/*
 * One launch of the demo (threads-demo: seven named threads in different
 * states, `deep` using ~85% of its 64 KiB stack) to its #BP breakpoint,
 * then what the extension builds on it: customRequest('lwps'), the LWP
 * tree's items, a settings change, and Fork All Threads Here in each mode.
 *
 * Negative controls (negative-controls.md): 'lwps' answering an empty
 * table, no NEAR OVERFLOW in the tree's items, overflowWarnPercent not
 * read, the child session never matched, run/stopped swapped,
 * fork.copyDontfork not read: each fails its test.
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { LwpsResponseBody } from '../../adapter/src/dap/custom';
import type { ForkCommandResult } from '../../extension/src/forkAllHere';
import {
	api,
	events,
	killPid,
	lineBreakpoint,
	markerLine,
	procState,
	readyToDebug,
	removeAllBreakpoints,
	requests,
	setSetting,
	sleep,
	start,
	startedSessions,
	stopAll,
	stopped,
	terminated,
	tgidOf,
	threads,
	topFrame,
	waitFor,
} from './helpers';

const THREAD_NAMES = ['threads-demo', 'spinner', 'sleeper', 'locked', 'waiter', 'reader', 'poller', 'deep'];

/** What the tree provider returns, seen through its public interface. */
type TreeNode = object;

suite('launch of the demo, LWPs, Fork All Threads Here', () => {
	let s: vscode.DebugSession;
	let stop: DebugProtocol.StoppedEvent;
	const children: number[] = [];

	suiteSetup(readyToDebug);
	suiteTeardown(async () => {
		await stopAll().catch(() => undefined);
		removeAllBreakpoints();
		for (const pid of children) await killPid(pid);
		await setSetting('forkall.lwps.overflowWarnPercent', undefined);
		await setSetting('forkall.fork.defaultMode', undefined);
		await setSetting('forkall.fork.copyDontfork', undefined);
	});

	test('launch.json "Forkall: threads-demo" stops at the #BP breakpoint with all eight threads', async () => {
		const line = markerLine('threads-demo.c', '// #BP');
		vscode.debug.addBreakpoints([lineBreakpoint('threads-demo.c', line)]);
		s = await start('Forkall: threads-demo');
		stop = await stopped(s);
		assert.equal(stop.body.reason, 'breakpoint', JSON.stringify(stop.body));
		const sent = requests<DebugProtocol.SetBreakpointsRequest>(s, 'setBreakpoints').find((r) =>
			r.arguments.source.path?.endsWith('threads-demo.c'),
		);
		assert.deepEqual(
			sent?.arguments.breakpoints?.map((b) => b.line),
			[line],
			'VS Code sent the breakpoint',
		);
		const frame = await topFrame(s, stop.body.threadId!);
		assert.equal(frame.line, line, `top frame on the #BP line: ${JSON.stringify(frame)}`);
		assert.match(frame.name, /all_ready/);
		const names = (await threads(s)).map((t) => t.name);
		assert.equal(names.length, 8, names.join(', '));
		for (const n of THREAD_NAMES)
			assert.ok(
				names.some((x) => x.startsWith(`${n} (`)),
				`thread ${n} in ${names.join(', ')}`,
			);
	});

	test("customRequest('lwps'): every LWP with its stack range; deep's stack is over 80% used", async () => {
		const t = (await s.customRequest('lwps')) as LwpsResponseBody;
		assert.equal(t.lwps.length, 8);
		assert.equal(procState(t.pid)?.threads, 8, `pid ${t.pid} has 8 tasks`);
		for (const r of t.lwps) {
			assert.ok(r.stack, `${r.name}: a stack`);
			assert.ok(BigInt(r.stack.low) < BigInt(r.stack.high), `${r.name}: low < high`);
		}
		const deep = t.lwps.find((r) => r.name === 'deep')!;
		const used = Number(BigInt(deep.stack!.high) - BigInt(deep.sp));
		const usable = Number(BigInt(deep.stack!.high) - BigInt(deep.stack!.low)) - deep.stack!.guard;
		assert.ok(used / usable > 0.8, `deep uses ${used} of ${usable} bytes`);
		assert.ok(events(s, 'lwpsChanged').length >= 1, 'the adapter sent lwpsChanged after the stop');
	});

	async function treeItems(): Promise<{ node: TreeNode; item: vscode.TreeItem }[]> {
		const tree = api().lwpTree() as unknown as vscode.TreeDataProvider<TreeNode>;
		const roots = await waitFor('8 LWPs in the tree', async () => {
			const r = (await tree.getChildren()) ?? [];
			return r.length === 8 ? r : null;
		});
		return Promise.all(roots.map(async (node) => ({ node, item: await tree.getTreeItem(node) })));
	}

	test('the LWP tree: an item per LWP ("tid name", stack range), deep flagged near overflow, facts and registers on expand', async () => {
		const t = (await s.customRequest('lwps')) as LwpsResponseBody;
		const items = await treeItems();
		const tree = api().lwpTree() as unknown as vscode.TreeDataProvider<TreeNode>;
		for (const r of t.lwps) {
			const it = items.find((x) => x.item.label === `${r.tid} ${r.name}`);
			assert.ok(it, `an item "${r.tid} ${r.name}"`);
			assert.ok(String(it.item.description).includes(`${r.stack!.low}–${r.stack!.high}`), `${r.name}: ${it.item.description}`);
			const flagged = String(it.item.description).includes('NEAR OVERFLOW');
			assert.equal(flagged, r.name === 'deep', `${r.name} flagged: ${it.item.description}`);
			assert.equal(it.item.contextValue, r.name === 'deep' ? 'lwp.nearOverflow' : 'lwp');
		}
		assert.match(String(items[0].item.label), /threads-demo$/, 'the main thread first');
		const deep = items.find((x) => String(x.item.label).endsWith(' deep'))!;
		const facts = await Promise.all(((await tree.getChildren(deep.node)) ?? []).map((n) => tree.getTreeItem(n)));
		const fact = (label: string): string => String(facts.find((f) => f.label === label)?.description);
		assert.match(fact('SP depth'), /used, .* free \(\d+%, NEAR OVERFLOW\)/);
		assert.match(fact('guard'), /KiB|B/);
		const regsNode = ((await tree.getChildren(deep.node)) ?? []).find((n, i) => facts[i].label === 'Registers');
		assert.ok(regsNode, 'a Registers node');
		const groups = (await tree.getChildren(regsNode)) ?? [];
		const groupItems = await Promise.all(groups.map((n) => tree.getTreeItem(n)));
		const general = groups[groupItems.findIndex((g) => g.label === 'General')];
		assert.ok(general, `a General group among ${groupItems.map((g) => g.label).join(' ')}`);
		const regs = await Promise.all(((await tree.getChildren(general)) ?? []).map((n) => tree.getTreeItem(n)));
		const rsp = regs.find((r) => r.label === 'rsp');
		assert.ok(rsp, `rsp among ${regs.map((r) => r.label).join(' ')}`);
		const row = t.lwps.find((r) => r.name === 'deep')!;
		assert.equal(BigInt(String(rsp.description)), BigInt(row.sp), "deep's rsp is its SP");
	});

	test('a settings change takes effect: lwps.overflowWarnPercent 99 clears the flag, the default puts it back', async () => {
		await setSetting('forkall.lwps.overflowWarnPercent', 99);
		let items = await treeItems();
		assert.ok(!items.some((x) => String(x.item.description).includes('NEAR OVERFLOW')), 'no thread flagged at 99%');
		await setSetting('forkall.lwps.overflowWarnPercent', undefined);
		items = await treeItems();
		assert.equal(items.filter((x) => String(x.item.description).includes('NEAR OVERFLOW')).length, 1, 'deep flagged again at 80%');
	});

	test('the LWP view freezes and thaws MANY threads at once (its selection): ❄ rows, "frozen", the Call Stack too', async () => {
		const items = await treeItems();
		const pick = ['spinner', 'sleeper'].map((n) => items.find((x) => String(x.item.label).endsWith(` ${n}`))!);
		const tids = pick.map((x) => Number(String(x.item.label).split(' ')[0]));
		// a multi-selection: VS Code passes the clicked row and every selected row
		const frozen = await vscode.commands.executeCommand<number[] | undefined>(
			'forkall.lwps.freeze',
			pick[0]!.node,
			pick.map((x) => x.node),
		);
		assert.deepEqual([...(frozen ?? [])].sort(), [...tids].sort(), 'the adapter: both frozen');
		const rowsOf = async (): Promise<string[]> =>
			(await treeItems()).map((x) => `${String(x.item.label)} | ${String(x.item.description)} | ${x.item.contextValue}`);
		await waitFor('both rows frozen in the view', async () => {
			const rows = await rowsOf();
			return tids.every((t) => rows.some((r) => r.startsWith(`❄ ${t} `) && r.includes('| frozen · ') && r.endsWith('.frozen')));
		});
		const others = (await rowsOf()).filter((r) => r.startsWith('❄'));
		assert.equal(others.length, 2, `only those two: ${others.join(' / ')}`);
		const names = (await threads(s)).map((t) => t.name);
		for (const t of tids)
			assert.ok(
				names.some((n) => n.startsWith('❄ ') && n.includes(`(${t})`)),
				`Call Stack: ${names.join(', ')}`,
			);
		// Thaw Threads on the same selection
		const left = await vscode.commands.executeCommand<number[] | undefined>(
			'forkall.lwps.thaw',
			pick[1]!.node,
			pick.map((x) => x.node),
		);
		assert.deepEqual(left, [], 'the adapter: none frozen');
		await waitFor('no frozen row', async () => !(await rowsOf()).some((r) => r.startsWith('❄')));
	});

	test('Fork All Threads Here (debug): the child session starts (parentSession set), stopped where the parent is, with the same threads', async () => {
		const seenItems: string[] = [];
		const sub = vscode.debug.onDidChangeActiveStackItem((it) => seenItems.push(it ? `${it.session.name}/${it.threadId}` : 'none'));
		const before = startedSessions().length;
		const r = (await vscode.commands.executeCommand('forkall.forkAllThreads', { mode: 'debug' })) as ForkCommandResult | undefined;
		assert.ok(r, 'the command returned the fork result');
		children.push(r.child);
		assert.equal(r.threads.length, 8);
		assert.ok(r.childSessionId, 'the child session id');
		const child = startedSessions()
			.slice(before)
			.find((x) => x.id === r.childSessionId);
		assert.ok(child, 'onDidStartDebugSession saw the child session');
		assert.equal(child.parentSession?.id, s.id, 'its parentSession is the parent');
		assert.equal(child.configuration.__forkallChild, r.child);
		await stopped(child);
		// it takes the focus from the parent (whose frame was focused): the Call Stack selects and expands it
		await waitFor('the child session focused', () => vscode.debug.activeDebugSession?.id === child.id, 15000);
		await waitFor(
			'a thread of the child is the active stack item',
			() => vscode.debug.activeStackItem?.session.id === child.id,
			15000,
		).catch((e: Error) => {
			const it = vscode.debug.activeStackItem;
			throw new Error(
				`${e.message}; active stack item: ${it ? `${it.session.name} thread ${it.threadId}` : 'none'}; items seen: ${seenItems.join(', ')}`,
			);
		});
		sub.dispose();
		const tids = (await threads(child)).map((t) => t.id).sort();
		assert.deepEqual(tids, r.threads.map((x) => x.childTid).sort(), 'the child session lists the child tids');
		const p = procState(r.child);
		assert.equal(p?.threads, 8);
		assert.equal(tgidOf(p?.tracerPid ?? 0), api().adapterPid(), 'the child is traced by (a thread of) the adapter');
		assert.ok(
			api()
				.messages()
				.some((m) => m.text.includes(`child ${r.child}`) && m.text.includes('debugging the child')),
		);
		await vscode.debug.stopDebugging(child);
		await terminated(child);
	});

	async function forkUntraced(mode: 'run' | 'stopped'): Promise<ForkCommandResult> {
		const before = startedSessions().length;
		const r = (await vscode.commands.executeCommand('forkall.forkAllThreads', { mode })) as ForkCommandResult | undefined;
		assert.ok(r, 'the command returned the fork result');
		children.push(r.child);
		assert.equal(r.mode, mode);
		assert.equal(r.childSessionId, undefined);
		await sleep(500);
		assert.equal(startedSessions().length, before, 'no session for the child');
		return r;
	}

	test('Fork All Threads Here (run): the child runs untraced with all its threads', async () => {
		const r = await forkUntraced('run');
		const p = await waitFor('the child with 8 threads', () => {
			const st = procState(r.child);
			return st?.threads === 8 ? st : null;
		});
		assert.equal(p.tracerPid, 0);
		assert.notEqual(p.state, 'T');
		assert.notEqual(p.state, 't');
	});

	test('Fork All Threads Here (stopped): the child is group-stopped and untraced', async () => {
		const r = await forkUntraced('stopped');
		const p = procState(r.child);
		assert.equal(p?.state, 'T');
		assert.equal(p?.tracerPid, 0);
		assert.equal(p?.threads, 8);
	});

	test('settings take effect on the fork: fork.defaultMode preselects the answer, fork.copyDontfork is sent', async () => {
		await setSetting('forkall.fork.defaultMode', 'stopped');
		await setSetting('forkall.fork.copyDontfork', false);
		const sent = requests(s, 'forkAllThreads').length;
		const pending = vscode.commands.executeCommand('forkall.forkAllThreads') as Thenable<ForkCommandResult | undefined>;
		// Accept the question's preselected answer (Enter), once it is shown.
		await waitFor('the forkAllThreads request', async () => {
			await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
			await sleep(200);
			return requests(s, 'forkAllThreads').length > sent;
		});
		const r = await pending;
		assert.ok(r);
		children.push(r.child);
		const req = requests<DebugProtocol.Request>(s, 'forkAllThreads')[sent];
		assert.deepEqual({ mode: req.arguments.mode, copyDontfork: req.arguments.copyDontfork }, { mode: 'stopped', copyDontfork: false });
		assert.equal(procState(r.child)?.state, 'T');
	});
});
