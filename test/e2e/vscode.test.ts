/*
 * End to end in a real VS Code: code-server (VS Code's own workbench, from
 * npm) driven with playwright-core through Debian's Chromium. Installs the
 * .vsix built by scripts/package.js into fresh dirs, opens a copy of demo/
 * (threads-demo.c + .vscode/launch.json), and as a user would:
 *
 *   breakpoint on the "#BP" line (quick open file:line, F9) -> start
 *   debugging -> the Call Stack lists every LWP -> Variables shows Registers
 *   -> the "Forkall: LWPs" view shows stack ranges and the near-overflow
 *   thread -> "Forkall: Show LWP View" draws the stacks -> "Forkall: Fork All
 *   Threads Here" (debug the child) -> the child session appears with the
 *   same number of threads -> continue both -> stop both.
 *
 * Then the fork deadlock (issue 11), the demo's "Forkall: threads-demo
 * (fork deadlock)" (`threads-demo fork`: logger holds log_lock while main
 * forks; the child locks it): the child session appears, stops with the
 * deadlock description, its Call Stack lists the three dead threads (✝)
 * with logger's stack in write_log -> "Forkall: Recreate Dead Threads" from
 * the Command Palette -> "Recreated 3 dead threads", live logger/sleeper/
 * poller rows, four tasks in /proc -> Continue: the child logs and exits 0,
 * the Debug Console shows "threads-demo: child exited 0" and both sessions
 * end. Screenshots 10-fork-child-dead-threads-deadlock, 11-recreated-dead-
 * threads (README's media/screenshots/dead-threads-*.png are copies) and
 * 12-fork-child-finished. Checked by hand that it fails without the
 * feature (2026-12-04): with the command never taking the focused session
 * for a fork child (deadThreads.ts: `__forkallFollowed === 'x'`) the palette
 * does not offer "Forkall: Recreate Dead Threads" (context key
 * forkall.isForkChild false); with the command sending 'forkInfo' instead
 * of 'recreateDeadThreads', the wait for "Recreated 3 dead threads" times
 * out.
 *
 * Then checkpoints (issue 12), the demo's "Forkall: threads-demo
 * (checkpoints)" (`threads-demo rounds`, "autoCheckpoint": 3): breakpoint
 * on #ROUND -> stops at rounds 1..4 (Variables: round_no) -> the "Forkall:
 * Checkpoints" view lists three automatic checkpoints (round_done:line,
 * age, memory) -> the toolbar's Step Back twice: "Restored checkpoint N",
 * round_no 3 then 2, 4 threads in a new process -> a third Step Back is
 * refused ("no earlier stop was saved": only 3 stops were kept) -> the
 * toolbar's Save Checkpoint with a note -> the view's fourth row, with
 * its inline Restore and Delete on hover; the
 * view's picture is README's media/screenshots/checkpoints-view.png (a
 * copy of test/artifacts/e2e/checkpoints-view.png) -> Stop leaves no
 * process. Checked by hand that it fails without the feature
 * (2026-12-04): with the Checkpoints view ignoring 'checkpointsChanged'
 * (checkpoints.ts: `'checkpointsChanged!'`) it fails at "three automatic
 * checkpoints: " (the view stays empty).
 *
 * Screenshots of every step go to test/artifacts/e2e/ (gitignored); on
 * failure also 99-failure.png, the Forkall output (adapter log), the
 * code-server log and the browser console. Needs chromium and libkrb5-dev
 * from apt (installed when root; otherwise the test says how and is
 * skipped, or fails under CI=true) and npm access for code-server + Node 24
 * (cached in .cache/e2e/).
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, Locator, Page } from 'playwright-core';
import {
	ARTIFACTS,
	ROOT,
	buildVsix,
	keepCodeServerLogs,
	launchBrowser,
	lib,
	markerLine,
	prepareCodeServer,
	processesOf,
	type Browser,
	type CodeServerDirs,
	type RunningCodeServer,
} from './support';

const SHOTS = ARTIFACTS;
const RUN = path.join(lib.CACHE, 'run');
const WS = path.join(RUN, 'ws');
const CONFIG_NAME = 'Forkall: threads-demo';
const THREAD_NAMES = ['threads-demo', 'spinner', 'sleeper', 'locked', 'waiter', 'reader', 'poller', 'deep'];
const FORK_CONFIG_NAME = 'Forkall: threads-demo (fork deadlock)';
/** the threads the fork child of `threads-demo fork` loses */
const FORK_THREADS = ['logger', 'sleeper', 'poller'];
/** `threads-demo rounds` with "autoCheckpoint": 3 */
const CKPT_CONFIG_NAME = 'Forkall: threads-demo (checkpoints)';

let skipReason: string | null = null;
let server: RunningCodeServer | null = null;
let dirs: CodeServerDirs | null = null;
let browser: Browser | null = null;
let page: Page | null = null;
let host = '';
let workbenchUp = false;
const consoleLines: string[] = [];
const debuggeePids = new Set<number>();
const t0 = Date.now();

function log(msg: string): void {
	console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

async function shot(name: string): Promise<void> {
	if (!page) return;
	await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
	log(`screenshot ${path.relative(ROOT, path.join(SHOTS, name))}.png`);
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Type `text` into the Command Palette and click the row labelled exactly `label` (Enter would take the top-ranked row). */
async function pickInPalette(p: Page, text: string, label: string): Promise<void> {
	await p.keyboard.press('Control+Shift+P');
	const input = p.locator('.quick-input-widget .quick-input-box input');
	await input.waitFor({ state: 'visible' });
	await input.fill(text);
	const row = p
		.locator('.quick-input-widget .monaco-list-row')
		.filter({ has: p.locator('.label-name', { hasText: new RegExp(`^${escapeRe(label)}$`) }) })
		.first();
	await row.click({ timeout: 15000 });
}

/** A breakpoint on the line of `marker` in threads-demo.c: quick open "file:line", then F9. Returns the line. */
async function breakAtMarker(p: Page, marker: string): Promise<number> {
	const line = markerLine(path.join(WS, 'threads-demo.c'), marker);
	await p.keyboard.press('Control+P');
	const qi = p.locator('.quick-input-widget .quick-input-box input');
	await qi.waitFor({ state: 'visible' });
	await qi.fill(`threads-demo.c:${line}`);
	await p.locator('.quick-input-widget .monaco-list-row', { hasText: 'threads-demo.c' }).first().waitFor();
	await p.keyboard.press('Enter');
	await waitHidden(qi);
	await p.locator('.monaco-editor .view-lines').first().waitFor();
	await p.waitForTimeout(500);
	await p.keyboard.press('F9');
	await p.locator('.monaco-editor .codicon-debug-breakpoint').first().waitFor({ timeout: 15000 });
	return line;
}

/** Run a command by its exact palette title. */
async function runCommand(p: Page, title: string): Promise<void> {
	await pickInPalette(p, '>' + title, title);
}

/** Start a launch configuration of the workspace by its name ("debug <name>" in the palette). */
async function startConfig(p: Page, name: string): Promise<void> {
	await pickInPalette(p, `debug ${name}`, name);
	log(`started "${name}"`);
}

async function waitHidden(l: Locator, timeout = 15000): Promise<void> {
	await l.waitFor({ state: 'hidden', timeout });
}

/** Open a view pane in the sidebar (expand it when collapsed). */
async function expandPane(p: Page, title: string): Promise<Locator> {
	const header = p.locator('.pane-header', { hasText: title }).first();
	await header.waitFor({ timeout: 30000 });
	if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
	return header;
}

async function collapsePane(p: Page, title: string): Promise<void> {
	const header = p.locator('.pane-header', { hasText: title }).first();
	if ((await header.count()) && (await header.getAttribute('aria-expanded')) === 'true') await header.click();
}

function keepFailureLogs(): void {
	fs.writeFileSync(path.join(SHOTS, 'browser-console.log'), consoleLines.join('\n'));
	const kept = dirs ? keepCodeServerLogs(dirs, SHOTS) : [];
	log(`kept logs in ${path.relative(ROOT, SHOTS)}: browser-console.log ${kept.join(' ')}`);
}

/**
 * A test of this file, skipped when code-server could not be prepared: body on the page; when it fails, a screenshot
 * (99-failure.png) and the logs are kept. Logs verdict(passed) last.
 */
function e2eTest(title: string, timeout: number, verdict: (ok: boolean) => string, body: (p: Page) => Promise<void>): void {
	test(title, { timeout }, async (t) => {
		if (skipReason) {
			t.skip(skipReason);
			return;
		}
		const p = page!;
		let ok = false;
		try {
			await body(p);
			ok = true;
		} finally {
			if (!ok) {
				await p.screenshot({ path: path.join(SHOTS, '99-failure.png') }).catch(() => undefined);
				keepFailureLogs();
			}
			log(verdict(ok));
		}
	});
}

/**
 * The start of a test after the first: the workspace and the Run and Debug view open (when the first test did not get
 * that far), no session the tests before left, only the source editor (the stack picture, the memory view closed).
 * Returns the Call Stack.
 */
async function afterEarlierTests(p: Page): Promise<Locator> {
	if (!workbenchUp) {
		await p.goto(`${server!.url}/?folder=${encodeURIComponent(WS)}`);
		await p.locator('.explorer-folders-view .monaco-list-row', { hasText: 'threads-demo.c' }).waitFor({ timeout: 60000 });
		await widenSidebar(p, 640);
		await p.keyboard.press('Control+Shift+D');
		await p.locator('.start-debug-action-item-label', { hasText: CONFIG_NAME }).waitFor({ timeout: 60000 });
	}
	const callStack = p.locator('.debug-call-stack');
	// sessions a failed test left
	for (let i = 0; i < 3 && (await callStack.locator('.monaco-list-row').count()); i++) {
		await runCommand(p, 'Debug: Stop');
		await p.waitForTimeout(1000);
	}
	await runCommand(p, 'View: Close All Editor Groups');
	return callStack;
}

before(async () => {
	fs.rmSync(SHOTS, { recursive: true, force: true });
	fs.mkdirSync(SHOTS, { recursive: true });
	const prep = prepareCodeServer(log);
	if ('skip' in prep) {
		skipReason = prep.skip;
		console.log(skipReason);
		return;
	}
	host = prep.host;
	log(`HOST: ${host}, browser ${lib.CHROMIUM} (headless, playwright-core)`);
	const vsix = buildVsix(path.join(RUN, 'forkall.vsix'));
	log(`built ${path.relative(ROOT, vsix)}`);
	fs.rmSync(WS, { recursive: true, force: true });
	fs.cpSync(path.join(ROOT, 'demo'), WS, { recursive: true });
	fs.rmSync(path.join(WS, 'build'), { recursive: true, force: true });
	lib.buildC(path.join(WS, 'threads-demo.c'), path.join(WS, 'build', 'threads-demo'));
	dirs = lib.freshDirs(path.join(RUN, 'code-server'), { 'forkall.adapter.logLevel': 'debug' });
	log(lib.installExtension(dirs, vsix).split('\n').pop() ?? '');
	server = await lib.startCodeServer(dirs, { workspace: WS });
	log(`code-server up at ${server.url} (pgid ${server.pgid})`);
	browser = await launchBrowser();
	page = browser.page;
	page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
	page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
});

after(async () => {
	await browser?.close();
	await server?.stop();
	// Debuggees the sessions left behind (a detached forked child, say): ours by exe path.
	const exe = path.join(WS, 'build', 'threads-demo');
	for (const pid of new Set([...debuggeePids, ...(fs.existsSync(exe) ? processesOf(exe) : [])])) {
		try {
			process.kill(pid, 'SIGKILL');
			log(`killed leftover debuggee ${pid}`);
		} catch {
			// already gone
		}
	}
});

e2eTest(
	'VS Code e2e: launch, LWPs, registers, stack picture, Fork All Threads Here, child session',
	10 * 60 * 1000,
	(ok) => (ok ? `E2E PASSED on ${host}` : `E2E FAILED on ${host}`),
	async (p) => {
		const exe = path.join(WS, 'build', 'threads-demo');
		log(`running on ${host}`);
		await p.goto(`${server!.url}/?folder=${encodeURIComponent(WS)}`);
		await p.locator('.monaco-workbench').waitFor({ timeout: 60000 });
		await p.locator('.explorer-folders-view .monaco-list-row', { hasText: 'threads-demo.c' }).waitFor({ timeout: 60000 });
		log('workbench loaded, workspace open');
		await widenSidebar(p, 640);
		workbenchUp = true;
		await shot('01-workbench');

		// Breakpoint on the #BP line: quick open "file:line", then F9.
		const bpLine = await breakAtMarker(p, '// #BP');
		log(`breakpoint set at threads-demo.c:${bpLine}`);

		// Run and Debug: wait until our launch configuration is offered (debugger contributions loaded).
		await p.keyboard.press('Control+Shift+D');
		await p.locator('.start-debug-action-item-label', { hasText: CONFIG_NAME }).waitFor({ timeout: 60000 });
		// Room for Variables and the Call Stack (its list renders only the rows in view).
		await collapsePane(p, 'Watch');
		await collapsePane(p, 'Breakpoints');
		await shot('02-breakpoint-and-run-view');

		await runCommand(p, 'Debug: Start Debugging');
		log('start debugging requested');
		const callStack = p.locator('.debug-call-stack');
		await callStack.locator('text=/Paused on breakpoint/i').first().waitFor({ timeout: 60000 });
		// The Call Stack renders only the rows in view: give it the sidebar while counting threads.
		await collapsePane(p, 'Variables');
		for (const name of THREAD_NAMES) {
			await callStack
				.locator('.monaco-list-row .thread', { hasText: new RegExp(`^\\s*${escapeRe(name)} \\(\\d+\\)`) })
				.first()
				.waitFor({ timeout: 30000 });
		}
		const threadRows = await callStack.locator('.monaco-list-row .thread').allInnerTexts();
		const parentTids = threadRows.map((s) => Number(/^\s*\S.*? \((\d+)\)/.exec(s)?.[1])).filter((n) => n > 0);
		assert.equal(parentTids.length, THREAD_NAMES.length, `Call Stack lists every LWP: ${threadRows.join(' | ')}`);
		const parentPid = Math.min(...parentTids);
		debuggeePids.add(parentPid);
		log(`call stack lists ${parentTids.length} LWPs: ${threadRows.map((s) => s.replace(/\s+/g, ' ')).join(' | ')}`);
		await callStack.locator('.monaco-list-row .stack-frame', { hasText: 'all_ready' }).first().waitFor({ timeout: 30000 });

		// Variables: the Registers scope (General group: rip, rsp).
		await expandPane(p, 'Variables');
		const vars = p.locator('.debug-variables');
		// Locals (the first scope) is expanded by VS Code; open Registers.
		const regScope = vars.locator('.monaco-list-row', { has: p.locator('.scope', { hasText: 'Registers' }) }).first();
		await regScope.waitFor({ timeout: 30000 });
		if ((await regScope.getAttribute('aria-expanded')) !== 'true') await regScope.click();
		const general = vars.locator('.monaco-list-row', { hasText: /^\s*General/ }).first();
		await general.waitFor({ timeout: 30000 });
		if ((await general.getAttribute('aria-expanded')) !== 'true') await general.click();
		await vars
			.locator('.monaco-list-row', { hasText: /^\s*rip/ })
			.first()
			.waitFor({ timeout: 30000 });
		await vars
			.locator('.monaco-list-row', { hasText: /^\s*rsp/ })
			.first()
			.waitFor({ timeout: 30000 });
		log(
			'variables: ' +
				(await vars.locator('.monaco-list-row').allInnerTexts())
					.slice(0, 6)
					.map((s) => s.replace(/\s+/g, ' '))
					.join(' | '),
		);
		await shot('03-stopped-call-stack-registers');

		// Expressions (issue 13), in all_ready(n = 7) at #BP: the Debug Console, a Watch expression, a hover in the editor.
		await collapsePane(p, 'Variables');
		await p.keyboard.press('Control+Shift+Y'); // the Debug Console
		const replEditor = p.locator('.repl-input-wrapper .monaco-editor').first();
		await replEditor.waitFor({ timeout: 15000 });
		const repl = p.locator('.repl .monaco-list-row');
		const replTexts = async (): Promise<string[]> => (await repl.allInnerTexts()).map((x) => x.replace(/\s+/g, ' ').trim());
		for (const [expr, want] of [
			['n * 3', '21'],
			['sizeof(pipe_fds) / sizeof pipe_fds[0]', '2'],
		] as const) {
			await replEditor.click();
			await p.keyboard.type(expr);
			await p.keyboard.press('Enter');
			const tr = Date.now();
			while (!(await replTexts()).includes(want) && Date.now() - tr < 15000) await p.waitForTimeout(200);
			assert.ok((await replTexts()).includes(want), `Debug Console: ${expr} = ${want}: ${(await replTexts()).join(' | ')}`);
		}
		log(`debug console: ${(await replTexts()).slice(-4).join(' | ')}`);
		// Watch: "Add Expression" on the view's title bar
		const watchHeader = await expandPane(p, 'Watch');
		await watchHeader.hover();
		await p
			.locator('.pane-header [aria-label^="Add Expression"], .pane-header [title^="Add Expression"]')
			.first()
			.click({ timeout: 15000 })
			.catch(async (e: Error) => {
				throw new Error(`${e.message}\nthe Watch header: ${await watchHeader.innerHTML()}`);
			});
		const watchInput = p.locator('.debug-watch .monaco-inputbox input').first();
		await watchInput.waitFor({ timeout: 15000 });
		await watchInput.fill('deepest * 2');
		await watchInput.press('Enter');
		const watchRow = p.locator('.debug-watch .monaco-list-row', { hasText: 'deepest * 2' }).first();
		await watchRow.locator('text=/\\d+/').first().waitFor({ timeout: 15000 });
		const watched = Number(/deepest \* 2\s*[:=]\s*(\d+)/.exec((await watchRow.innerText()).replace(/\s+/g, ' '))?.[1]);
		assert.ok(watched > 0 && watched % 2 === 0, `Watch: deepest * 2 = ${await watchRow.innerText()}`);
		// Hover `deepest` on the #BP line: VS Code asks evaluate (context hover) and shows the value
		// (the line is wider than the editor: go to the word, then VS Code's "Debug: Show Hover" at the cursor,
		// the keyboard's way to the same hover a mouse gets)
		const bpText = fs.readFileSync(path.join(WS, 'threads-demo.c'), 'utf8').split('\n')[bpLine - 1]!;
		const col = bpText.replace(/\t/g, '    ').indexOf('deepest') + 3; // (Go to Line counts a tab as 4 columns)
		assert.ok(col > 3, 'deepest on the #BP line');
		await p.locator('.monaco-editor .view-lines').first().click();
		await p.keyboard.press('Control+G');
		const gotoLine = p.locator('.quick-input-widget .quick-input-box input');
		await gotoLine.waitFor({ state: 'visible' });
		await gotoLine.fill(`:${bpLine}:${col}`);
		await gotoLine.press('Enter');
		await waitHidden(gotoLine);
		const hover = p.locator('.debug-hover-widget').first();
		await runCommand(p, 'Debug: Show Hover');
		await hover.waitFor({ state: 'visible', timeout: 15000 });
		const hoverText = (await hover.innerText()).replace(/\s+/g, ' ').trim();
		assert.equal(
			Number(/(\d+)/.exec(hoverText)?.[1]),
			watched / 2,
			`hover of deepest: "${hoverText}", Watch: deepest * 2 = ${watched}`,
		);
		log(`hover: deepest = ${hoverText}; watch: deepest * 2 = ${watched}`);
		await shot('03b-hover-watch-debug-console');
		fs.copyFileSync(path.join(SHOTS, '03b-hover-watch-debug-console.png'), path.join(SHOTS, 'expressions.png'));
		await p.mouse.move(5, 5);
		await collapsePane(p, 'Watch');

		// The Disassembly view (issue 15 item 1), scrolled up above all_ready: earlier code decodes as instructions.
		const allReady = functionAddress(exe, 'all_ready', parentPid);
		await runCommand(p, 'Open Disassembly View');
		const dis = p.locator('.disassembly-view').first();
		const disRows = dis.locator('.monaco-list-row');
		await disRows.first().waitFor({ timeout: 30000 });
		const disTexts = async (): Promise<string[]> => (await disRows.allInnerTexts()).map((x) => x.replace(/\s+/g, ' ').trim());
		const addrOf = (row: string): bigint | null => {
			const m = /0x([0-9a-f]{6,16})/i.exec(row);
			return m ? BigInt(`0x${m[1]}`) : null;
		};
		const firstShown = async (): Promise<bigint> =>
			(await disTexts()).map(addrOf).reduce<bigint>((a, b) => (b !== null && b < a ? b : a), 1n << 64n);
		log(`disassembly opened: ${(await disTexts()).slice(0, 3).join(' | ')}`);
		const box = await dis.boundingBox();
		assert.ok(box, 'the disassembly view is on screen');
		await p.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
		const ts = Date.now();
		while ((await firstShown()) > allReady - 0x60n && Date.now() - ts < 30000) {
			await p.mouse.wheel(0, -600);
			await p.waitForTimeout(300);
		}
		const above = (await disTexts()).filter((r) => {
			const a = addrOf(r);
			return a !== null && a < allReady;
		});
		assert.ok(above.length >= 8, `rows above all_ready (0x${allReady.toString(16)}): ${(await disTexts()).join(' | ')}`);
		const bad = above.filter((r) => /\?\?|\(bad\)/.test(r));
		assert.deepEqual(bad, [], `instructions, not ?? rows, above all_ready: ${above.join(' | ')}`);
		log(`disassembly scrolled up: ${above.length} rows before all_ready, e.g. ${above.slice(-3).join(' | ')}`);
		await shot('03c-disassembly-scrolled');
		await dis.screenshot({ path: path.join(SHOTS, 'disassembly-scrolled.png') });
		await runCommand(p, 'View: Close All Editor Groups');
		await runCommand(p, 'View: Hide Panel');

		// The deep thread's whole stack, page by page (issue 15 item 3: no duplicated "Show N More Stack
		// Frames" rows): park's libc frames on top and start_thread/clone3 at the bottom are two groups;
		// recurse once per level, depth 0..deepest.
		const deepest = watched / 2;
		const stackRows = await wholeThreadStack(p, callStack, 'deep');
		const groups = stackRows.filter((r) => /Show \d+ More Stack Frames/.test(r));
		const recurse = stackRows.filter((r) => /^recurse\b/.test(r));
		log(`deep's stack: ${stackRows.length} rows, ${recurse.length} recurse frames, groups: ${groups.join(' | ')}`);
		assert.equal(recurse.length, deepest + 1, `recurse frames for depth 0..${deepest}: ${stackRows.join(' | ')}`);
		// exactly: [libc's nanosleep frames] park recurse×(deepest+1) deep [start_thread, clone3]
		const shape = stackRows.map((r) => (/More Stack Frames/.test(r) ? 'group' : (/^(\w+)/.exec(r)?.[1] ?? r)));
		const want = ['group', 'park', ...Array<string>(deepest + 1).fill('recurse'), 'deep', 'group'];
		assert.deepEqual(shape, want, `deep's stack, no duplicated rows: ${stackRows.join(' | ')}`);

		// The Forkall: LWPs view: every LWP with its stack range; "deep" near overflow.
		await collapsePane(p, 'Variables');
		await collapsePane(p, 'Call Stack');
		await expandPane(p, 'Forkall: LWPs');
		const lwpTree = p.locator('.pane', { has: p.locator('.pane-header', { hasText: 'Forkall: LWPs' }) }).locator('.monaco-list');
		for (const name of THREAD_NAMES) {
			await lwpTree
				.locator('.monaco-list-row .label-name', { hasText: new RegExp(`^\\s*\\d+ ${escapeRe(name)}\\s*$`) })
				.first()
				.waitFor({ timeout: 30000 });
		}
		const deepRow = lwpTree.locator('.monaco-list-row', { has: p.locator('.label-name', { hasText: /^\s*\d+ deep\s*$/ }) }).first();
		await deepRow.locator('text=/NEAR OVERFLOW/').waitFor({ timeout: 30000 });
		const lwpTexts = (await lwpTree.locator('.monaco-list-row').allInnerTexts()).map((s) => s.replace(/\s+/g, ' '));
		assert.ok(
			lwpTexts.filter((s) => /0x[0-9a-f]+–0x[0-9a-f]+/.test(s)).length >= THREAD_NAMES.length,
			`stack ranges shown: ${lwpTexts.join(' | ')}`,
		);
		await deepRow.click();
		await lwpTree
			.locator('.monaco-list-row', { hasText: /SP depth/ })
			.first()
			.waitFor({ timeout: 15000 });
		log('LWP view: ' + lwpTexts.join(' | '));
		await shot('04-lwp-view');

		// Forkall: Show LWP View -> the stack picture webview.
		await runCommand(p, 'Forkall: Show LWP View');
		const frame = await webviewFrame(p, '#bars .row', 30000);
		await frame
			.locator('#bars .row')
			.nth(THREAD_NAMES.length - 1)
			.waitFor({ timeout: 30000 });
		assert.equal(await frame.locator('#bars .row').count(), THREAD_NAMES.length, 'one bar per LWP');
		await frame.locator('#bars .row.near-overflow', { hasText: 'deep' }).waitFor({ timeout: 30000 });
		log('stack picture: ' + (await frame.locator('#summary').innerText()));
		await shot('05-stack-picture');

		// Fork All Threads Here, debug the child. The Call Stack gets the room now.
		await collapsePane(p, 'Forkall: LWPs');
		await expandPane(p, 'Call Stack');
		await runCommand(p, 'Forkall: Fork All Threads Here');
		const pick = p.locator('.quick-input-widget .monaco-list-row', { hasText: 'Debug the child' }).first();
		await pick.waitFor({ timeout: 15000 });
		await p.waitForTimeout(400); // the quick pick fades in
		await shot('06-fork-mode-question');
		await pick.click();
		log('fork requested (mode debug)');
		const childSession = callStack.locator('.monaco-list-row .session', { hasText: /forked child \d+/ }).first();
		await childSession.waitFor({ timeout: 60000 });
		const childPid = Number(/forked child (\d+)/.exec(await childSession.innerText())![1]);
		debuggeePids.add(childPid);
		log(`child session appeared: forked child ${childPid}`);
		// It takes the focus (issue 15 item 3): its row expands by itself and the selected row is one of its own.
		const childRow = callStack
			.locator('.monaco-list-row', { has: p.locator('.session', { hasText: `forked child ${childPid}` }) })
			.first();
		const focusState = async (): Promise<string> => {
			const sel = callStack.locator('.monaco-list-row.selected').first();
			const selIndex = (await sel.count()) ? Number(await sel.getAttribute('data-index')) : -1;
			const selText = (await sel.count()) ? (await sel.innerText()).replace(/\s+/g, ' ') : '';
			return `expanded=${await childRow.getAttribute('aria-expanded')} child row #${await childRow.getAttribute('data-index')} selected #${selIndex} "${selText}"`;
		};
		const tf = Date.now();
		let focused = false;
		while (!focused && Date.now() - tf < 15000) {
			const sel = callStack.locator('.monaco-list-row.selected').first();
			focused =
				(await childRow.getAttribute('aria-expanded')) === 'true' &&
				(await sel.count()) > 0 &&
				Number(await sel.getAttribute('data-index')) > Number(await childRow.getAttribute('data-index'));
			if (!focused) await p.waitForTimeout(250);
		}
		assert.ok(focused, `the child session is focused and expanded: ${await focusState()}`);
		log(`child session focused: ${await focusState()}`);
		// The child's threads: rows whose tid is not the parent's.
		const childTids = async (): Promise<number[]> =>
			(await callStack.locator('.monaco-list-row .thread').allInnerTexts())
				.map((s) => Number(/^\s*\S.*? \((\d+)\)/.exec(s)?.[1]))
				.filter((n) => n > 0 && !parentTids.includes(n));
		const tw = Date.now();
		while ((await childTids()).length < THREAD_NAMES.length && Date.now() - tw < 30000) {
			const row = callStack
				.locator('.monaco-list-row', { has: p.locator('.session', { hasText: `forked child ${childPid}` }) })
				.first();
			if ((await row.getAttribute('aria-expanded')) === 'false') await row.click();
			await p.waitForTimeout(300);
		}
		const ct = await childTids();
		assert.equal(ct.length, THREAD_NAMES.length, `the child session has the same number of threads (${ct.join(',')})`);
		assert.ok(ct.includes(childPid), "the child's main thread tid is its pid");
		log(`child session threads: ${ct.length} (${ct.join(', ')})`);
		await frame.locator('#fork h2').waitFor({ timeout: 30000 });
		log('stack picture after fork: ' + (await frame.locator('#fork h2').innerText()));
		await shot('07-forked-child-session');
		assert.equal(fs.readlinkSync(`/proc/${childPid}/exe`), exe, 'the child runs the same program');

		// Continue both: the focused (child) session, then the parent (focus its main thread first).
		await runCommand(p, 'Debug: Continue');
		await callStack
			.locator('.monaco-list-row', { has: p.locator('.session', { hasText: `forked child ${childPid}` }) })
			.locator('text=/Running/i')
			.first()
			.waitFor({ timeout: 30000 });
		await callStack
			.locator('.monaco-list-row .thread', { hasText: `threads-demo (${parentPid})` })
			.first()
			.click();
		await runCommand(p, 'Debug: Continue');
		const rowsText = async (): Promise<string[]> =>
			(await callStack.locator('.monaco-list-row').allInnerTexts()).map((s) => s.replace(/\s+/g, ' '));
		const tc = Date.now();
		while ((await rowsText()).some((s) => /Paused/i.test(s)) && Date.now() - tc < 30000) await p.waitForTimeout(250);
		const running = await rowsText();
		assert.ok(!running.some((s) => /Paused/i.test(s)), `both sessions running: ${running.join(' | ')}`);
		assert.equal(
			running.filter((s) => /Running/i.test(s) && /^\S.*? \(\d+\)/.test(s.trim())).length,
			2 * THREAD_NAMES.length,
			`every thread of both sessions runs: ${running.join(' | ')}`,
		);
		log(`both continued: ${running.filter((s) => !/^\S.*? \(\d+\)/.test(s.trim())).join(' | ')}`);
		await shot('08-both-running');

		// Forkall: Show Memory… (our hex view; code-server has no Hex Editor): the program's ELF header.
		const exeMap = fs
			.readFileSync(`/proc/${parentPid}/maps`, 'utf8')
			.split('\n')
			.find((l) => l.endsWith(exe));
		assert.ok(exeMap, `the program is mapped in ${parentPid}`);
		const elfAt = `0x${exeMap.split('-')[0]}`;
		await runCommand(p, 'Forkall: Show Memory…');
		const addrBox = p.locator('.quick-input-widget .quick-input-box input');
		await addrBox.waitFor({ state: 'visible', timeout: 15000 });
		await addrBox.fill(elfAt);
		await addrBox.press('Enter');
		const mem = await webviewFrame(p, '#dump tr', 30000);
		await mem.locator('#dump tr .ascii', { hasText: 'ELF' }).first().waitFor({ timeout: 30000 });
		assert.match(await mem.locator('#dump tr .hex').first().innerText(), /^7f\s*45\s*4c\s*46/, 'the first bytes are the ELF magic');
		log(`memory view at ${elfAt}: ${(await mem.locator('#dump tr').first().innerText()).replace(/\s+/g, ' ')}`);
		await shot('08b-memory-view');

		// Stop both.
		for (let i = 0; i < 2 && (await callStack.locator('.monaco-list-row').count()); i++) {
			await runCommand(p, 'Debug: Stop');
			await p.waitForTimeout(1000);
		}
		await callStack.locator('.monaco-list-row').first().waitFor({ state: 'detached', timeout: 30000 });
		log('both sessions stopped');
		await shot('09-stopped-all');
		const left = processesOf(exe);
		log(`debuggee processes after Stop: ${left.length ? left.join(', ') : 'none'}`);
	},
);

e2eTest(
	'VS Code e2e: fork deadlock — dead threads in the child session, the deadlock stop, Recreate Dead Threads',
	5 * 60 * 1000,
	(ok) => (ok ? 'E2E fork deadlock PASSED' : 'E2E fork deadlock FAILED'),
	async (p) => {
		const exe = path.join(WS, 'build', 'threads-demo');
		const callStack = await afterEarlierTests(p);
		// The Call Stack gets the sidebar, wide enough for the deadlock's description.
		await widenSidebar(p, 900);
		for (const pane of ['Variables', 'Watch', 'Breakpoints', 'Forkall: LWPs']) await collapsePane(p, pane);
		await expandPane(p, 'Call Stack');

		// Start "Forkall: threads-demo (fork deadlock)": logger holds log_lock while main forks.
		await startConfig(p, FORK_CONFIG_NAME);

		// The child's session appears and stops on the deadlock; its Call Stack lists the threads it lost.
		const childSession = callStack.locator('.monaco-list-row .session', { hasText: /\[child \d+\]/ }).first();
		await childSession.waitFor({ timeout: 60000 });
		const childPid = Number(/\[child (\d+)\]/.exec(await childSession.innerText())![1]);
		debuggeePids.add(childPid);
		const childMain = callStack.locator('.monaco-list-row', {
			has: p.locator('.thread', { hasText: new RegExp(`^\\s*threads-demo \\(${childPid}\\)`) }),
		});
		await childMain.locator('text=/Deadlock: thread \\d+ waits for log_lock/').first().waitFor({ timeout: 30000 });
		const deadLabel = (name: string): Locator =>
			p.locator('.thread', { hasText: new RegExp(`✝ dead: was \\d+ "${name}" \\(lost in the fork\\)`) });
		const deadRow = (name: string): Locator => callStack.locator('.monaco-list-row', { has: deadLabel(name) }).first();
		for (const name of FORK_THREADS) await deadRow(name).waitFor({ timeout: 30000 });
		const stopText = (await childMain.first().innerText()).replace(/\s+/g, ' ');
		assert.match(stopText, /held by "logger" \(was \d+\), a thread that did not survive the fork — it was in write_log/i, stopText);
		assert.equal(fs.readdirSync(`/proc/${childPid}/task`).length, 1, 'the kernel: the child has one thread');
		// logger's stack, unwound from the child's memory: it was in write_log (expand its row).
		const loggerRow = deadRow('logger');
		if ((await loggerRow.getAttribute('aria-expanded')) !== 'true') await loggerRow.locator('.monaco-tl-twistie').click();
		await callStack.locator('.monaco-list-row .stack-frame', { hasText: 'write_log' }).first().waitFor({ timeout: 30000 });
		// The child's own stack down to log_line (#CHILD_LOCK): open it in the editor.
		const more = childMain.locator('xpath=following-sibling::div[1]').filter({ hasText: 'Load More Stack Frames' });
		if (await more.count()) await more.click();
		await callStack.locator('.monaco-list-row .stack-frame', { hasText: 'log_line' }).first().click({ timeout: 30000 });
		await p.locator('.monaco-editor .view-line', { hasText: '#CHILD_LOCK' }).first().waitFor({ timeout: 30000 });
		const rows = async (): Promise<string[]> =>
			(await callStack.locator('.monaco-list-row').allInnerTexts()).map((x) => x.replace(/\s+/g, ' ').trim());
		log(`child ${childPid} deadlocked; call stack: ${(await rows()).join(' | ')}`);
		await shot('10-fork-child-dead-threads-deadlock');

		// Forkall: Recreate Dead Threads from the Command Palette (the focused session is the child's).
		await runCommand(p, 'Forkall: Recreate Dead Threads');
		await childMain.locator('text=/Recreated 3 dead threads/').first().waitFor({ timeout: 30000 });
		await waitHidden(deadRow('logger'), 30000);
		for (const name of FORK_THREADS) {
			await callStack
				.locator('.monaco-list-row .thread', { hasText: new RegExp(`^\\s*${escapeRe(name)} \\(\\d+\\)`) })
				.first()
				.waitFor({ timeout: 30000 });
		}
		await p
			.locator('.notifications-toasts .notification-toast', {
				hasText: new RegExp(`Forkall: recreated 3 dead threads in process ${childPid}`),
			})
			.first()
			.waitFor({ timeout: 30000 });
		assert.equal(fs.readdirSync(`/proc/${childPid}/task`).length, 4, 'the kernel: the child has four threads again');
		log(`recreated: ${(await rows()).join(' | ')}`);
		await shot('11-recreated-dead-threads');

		// Continue the child: logger unlocks log_lock, the child logs and exits 0; the parent prints it and exits.
		await p.keyboard.press('Control+Shift+Y'); // the Debug Console
		await p.locator('.debug-toolbar .codicon-debug-continue').first().click({ timeout: 15000 });
		await childSession.waitFor({ state: 'detached', timeout: 30000 });
		await p.locator('.repl', { hasText: 'threads-demo: child exited 0' }).first().waitFor({ timeout: 30000 });
		assert.match(await p.locator('.repl').first().innerText(), new RegExp(`threads-demo child ${childPid}: hello from the child`));
		await callStack.locator('.monaco-list-row').first().waitFor({ state: 'detached', timeout: 30000 });
		log('the child finished: "threads-demo: child exited 0"; the parent exited');
		await shot('12-fork-child-finished');
		const left = processesOf(exe);
		assert.deepEqual(left, [], `no threads-demo process left: ${left.join(' ')}`);
	},
);

e2eTest(
	'VS Code e2e: checkpoints — "autoCheckpoint": 3, the Checkpoints view, Step Back ×3 from the toolbar, Save Checkpoint',
	5 * 60 * 1000,
	(ok) => (ok ? 'E2E checkpoints PASSED' : 'E2E checkpoints FAILED'),
	async (p) => {
		const exe = path.join(WS, 'build', 'threads-demo');
		const callStack = await afterEarlierTests(p);
		await widenSidebar(p, 760);

		// Breakpoint on the #ROUND line (round_done), as in the first test: quick open file:line, F9.
		const line = await breakAtMarker(p, '// #ROUND');
		await p.keyboard.press('Control+Shift+D');
		for (const pane of ['Watch', 'Breakpoints', 'Forkall: LWPs']) await collapsePane(p, pane);

		// Start "Forkall: threads-demo (checkpoints)" ("autoCheckpoint": 3, `threads-demo rounds`).
		await startConfig(p, CKPT_CONFIG_NAME);
		await expandPane(p, 'Call Stack');
		await expandPane(p, 'Variables');
		const vars = p.locator('.debug-variables');
		/** The Variables view shows round_no = n (round_done's parameter, in Locals). */
		const roundShown = (n: number): Promise<void> =>
			vars
				.locator('.monaco-list-row', { hasText: new RegExp(`^\\s*round_no\\W+${n}\\s*$`) })
				.first()
				.waitFor({ timeout: 30000 });
		await callStack.locator('text=/Paused on breakpoint/i').first().waitFor({ timeout: 60000 });
		await roundShown(1);
		const mainRow = callStack.locator('.monaco-list-row .thread', { hasText: /^\s*threads-demo \((\d+)\)/ }).first();
		const pidNow = async (): Promise<number> => Number(/\((\d+)\)/.exec(await mainRow.innerText())?.[1]);
		debuggeePids.add(await pidNow());
		log('stopped at round 1');

		// Continue to rounds 2, 3, 4 (the toolbar's Continue): a checkpoint at each stop, the last 3 kept.
		for (let n = 2; n <= 4; n++) {
			await p.locator('.debug-toolbar .codicon-debug-continue').first().click({ timeout: 15000 });
			await roundShown(n);
		}
		const pid4 = await pidNow();
		debuggeePids.add(pid4);
		log(`stopped at round 4 (pid ${pid4})`);

		// The Forkall: Checkpoints view: three automatic checkpoints, each at round_done:line with its memory.
		await collapsePane(p, 'Call Stack');
		await expandPane(p, 'Forkall: Checkpoints');
		const ckTree = p.locator('.pane', { has: p.locator('.pane-header', { hasText: 'Forkall: Checkpoints' }) }).locator('.monaco-list');
		const ckRows = ckTree.locator('.monaco-list-row');
		const ckTexts = async (): Promise<string[]> => (await ckRows.allInnerTexts()).map((x) => x.replace(/\s+/g, ' ').trim());
		const tw = Date.now();
		while ((await ckTexts()).filter((x) => /\(auto\)/.test(x)).length < 3 && Date.now() - tw < 30000) await p.waitForTimeout(250);
		const autoRows = (await ckTexts()).filter((x) => /\(auto\)/.test(x));
		assert.equal(autoRows.length, 3, `three automatic checkpoints: ${(await ckTexts()).join(' | ')}`);
		for (const r of autoRows) assert.match(r, new RegExp(`round_done:${line} · \\d+ s ago · [\\d.]+ (B|KiB|MiB)`), r);
		log(`checkpoints view: ${autoRows.join(' | ')}`);
		await expandPane(p, 'Call Stack');

		// Step Back (the toolbar button VS Code shows for supportsStepBack): round 3, then round 2.
		const stepBack = p.locator('.debug-toolbar .codicon-debug-step-back').first();
		for (const n of [3, 2]) {
			await stepBack.click({ timeout: 15000 });
			await callStack.locator('text=/Restored checkpoint \\d+/').first().waitFor({ timeout: 30000 });
			await roundShown(n);
			const pid = await pidNow();
			debuggeePids.add(pid);
			assert.equal(fs.readdirSync(`/proc/${pid}/task`).length, 4, `round ${n}: main + spinner, sleeper, poller in process ${pid}`);
			log(`Step Back: round ${n} again (process ${pid}, 4 threads)`);
			await shot(`13-step-back-round-${n}`);
		}
		// A third Step Back: round 1 was not kept (autoCheckpoint 3 keeps rounds 2..4); VS Code shows the adapter's answer.
		await stepBack.click({ timeout: 15000 });
		await p
			.locator('.notifications-toasts .notification-toast', { hasText: /no earlier stop was saved/ })
			.first()
			.waitFor({ timeout: 30000 });
		await roundShown(2);
		log('third Step Back: "no earlier stop was saved", still at round 2');
		await shot('14-step-back-refused');
		await runCommand(p, 'Notifications: Clear All Notifications');

		// Forkall: Save Checkpoint from the debug toolbar, with a note.
		await p.locator('.debug-toolbar .codicon-save').first().click({ timeout: 15000 });
		const note = p.locator('.quick-input-widget .quick-input-box input');
		await note.waitFor({ state: 'visible', timeout: 15000 });
		await note.fill('round 2, again');
		await note.press('Enter');
		await collapsePane(p, 'Call Stack');
		await ckTree.locator('.monaco-list-row', { hasText: '"round 2, again"' }).first().waitFor({ timeout: 30000 });
		const all = await ckTexts();
		assert.equal(all.length, 4, `3 automatic + 1 saved: ${all.join(' | ')}`);
		log(`checkpoints view: ${all.join(' | ')}`);
		// the row's inline actions (shown on hover): Restore and Delete
		const saved = ckTree.locator('.monaco-list-row', { hasText: '"round 2, again"' }).first();
		await saved.hover();
		await saved.locator('.actions .codicon-history').waitFor({ state: 'visible', timeout: 15000 });
		await saved.locator('.actions .codicon-trash').waitFor({ state: 'visible', timeout: 15000 });
		await p.waitForTimeout(300);
		await shot('15-checkpoints-view');
		const ckPane = p.locator('.pane', { has: p.locator('.pane-header', { hasText: 'Forkall: Checkpoints' }) }).first();
		await ckPane.screenshot({ path: path.join(SHOTS, 'checkpoints-view.png') });

		// Stop: the session ends, its checkpoints (frozen copies) with it.
		await runCommand(p, 'Debug: Stop');
		await expandPane(p, 'Call Stack');
		await callStack.locator('.monaco-list-row').first().waitFor({ state: 'detached', timeout: 30000 });
		const tl = Date.now();
		while (processesOf(exe).length && Date.now() - tl < 15000) await p.waitForTimeout(250);
		const left = processesOf(exe);
		assert.deepEqual(left, [], `no threads-demo process (nor checkpoint) left: ${left.join(' ')}`);
		log('stopped: no threads-demo process or checkpoint left');
	},
);

/**
 * Every row of one thread in the Call Stack (it renders only the rows in view: scroll through it, by the
 * rows' data-index), after "Load More Stack Frames" until the thread's stack is all there.
 */
async function wholeThreadStack(p: Page, callStack: Locator, thread: string): Promise<string[]> {
	const threadRow = callStack
		.locator('.monaco-list-row', { has: p.locator('.thread', { hasText: new RegExp(`^\\s*${escapeRe(thread)} \\(\\d+\\)`) }) })
		.first();
	await threadRow.waitFor({ timeout: 30000 });
	if ((await threadRow.getAttribute('aria-expanded')) !== 'true') await threadRow.locator('.monaco-tl-twistie').click();
	const list = callStack.locator('.monaco-list').first();
	const box = await list.boundingBox();
	assert.ok(box, 'the Call Stack is on screen');
	await p.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
	const collect = async (): Promise<Map<number, string>> => {
		const seen = new Map<number, string>();
		await p.mouse.wheel(0, -100000);
		await p.waitForTimeout(200);
		for (let i = 0; i < 200; i++) {
			const before = seen.size;
			for (const r of await callStack.locator('.monaco-list-row').all()) {
				const idx = Number(await r.getAttribute('data-index'));
				const thr = (await r.locator('.thread').count()) > 0;
				seen.set(idx, `${thr ? 'THREAD ' : ''}${(await r.innerText()).replace(/\s+/g, ' ').trim()}`);
			}
			if (seen.size === before && i > 0) break;
			await p.mouse.wheel(0, box.height / 2);
			await p.waitForTimeout(150);
		}
		return seen;
	};
	const section = (all: Map<number, string>): string[] => {
		const rows = [...all.entries()].sort((a, b) => a[0] - b[0]).map((x) => x[1]);
		const at = rows.findIndex((r) => new RegExp(`^THREAD ${escapeRe(thread)} \\(\\d+\\)`).test(r));
		assert.ok(at >= 0, `the thread ${thread} row: ${rows.join(' | ')}`);
		const end = rows.findIndex((r, i) => i > at && (r.startsWith('THREAD ') || /^\S+ \[child|forked child/.test(r)));
		return rows.slice(at + 1, end < 0 ? undefined : end);
	};
	for (let page = 0; page < 20; page++) {
		const rows = section(await collect());
		if (!rows.some((r) => /Load More Stack Frames/.test(r))) return rows;
		const more = callStack.locator('.monaco-list-row', { hasText: 'Load More Stack Frames' }).first();
		await more.scrollIntoViewIfNeeded();
		await more.click();
		await p.waitForTimeout(500);
	}
	throw new Error(`${thread}: still "Load More Stack Frames" after 20 pages`);
}

/** A function's address in the running process: its ELF symbol (nm) + where the program is mapped. */
function functionAddress(exe: string, name: string, pid: number): bigint {
	const nm = execFileSync('nm', ['--defined-only', exe], { encoding: 'utf8' });
	const sym = new RegExp(`^([0-9a-f]+) [tT] ${escapeRe(name)}$`, 'm').exec(nm);
	assert.ok(sym, `nm: ${name} in ${exe}`);
	const base = fs
		.readFileSync(`/proc/${pid}/maps`, 'utf8')
		.split('\n')
		.find((l) => l.endsWith(exe) && / 00000000 /.test(l));
	assert.ok(base, `${exe} mapped in ${pid}`);
	return BigInt(`0x${base.split('-')[0]}`) + BigInt(`0x${sym[1]}`);
}

/** Drag the sash between the sidebar and the editor: the debug views get wide enough to read. */
async function widenSidebar(p: Page, width: number): Promise<void> {
	const box = await p.locator('[id="workbench.parts.sidebar"]').boundingBox();
	if (!box) return;
	const x = box.x + box.width;
	const y = box.y + box.height / 2;
	await p.mouse.move(x + 1, y);
	await p.mouse.down();
	await p.mouse.move(box.x + width, y, { steps: 8 });
	await p.mouse.up();
}

/** The frame of our webview (VS Code nests it: iframe.webview > iframe#active-frame). */
async function webviewFrame(p: Page, selector: string, timeout: number): Promise<Frame> {
	const t = Date.now();
	while (Date.now() - t < timeout) {
		for (const f of p.frames()) {
			if (
				await f
					.locator(selector)
					.count()
					.catch(() => 0)
			)
				return f;
		}
		await p.waitForTimeout(250);
	}
	throw new Error(`no webview frame with ${selector}`);
}
