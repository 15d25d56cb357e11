/*
 * The extension-host suite (test/extension/, mocha, `run()` in index.ts)
 * inside a real VS Code extension host: code-server's. code-server honours
 * extensionDevelopmentPath/extensionTestsPath only from a client's
 * `payload` URL parameter, and only when started with
 * `--vscode-option enable-smoke-test-driver`; it starts an extension host
 * only when a workbench connects, and reports the suite's outcome to that
 * client (window.codeAutomationExit). So a headless Chromium opens the
 * workbench and does nothing else: the tests themselves run in Node in the
 * extension host, with the real `vscode` API, the real adapter process and
 * real debuggees.
 *
 * The extension under test is the repository itself (package.json, with
 * dist/ built by scripts/package.js, as in the .vsix). Each in-host test
 * becomes a subtest here (from $FORKALL_EXT_RESULTS), and this test fails
 * when the host's exit code is not 0. On failure the host's log, the
 * Forkall output and the browser console go to test/artifacts/exthost/.
 * FORKALL_EXT_GREP=<text> runs only the in-host tests whose title has it.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
	ARTIFACTS,
	ROOT,
	buildVsix,
	keepCodeServerLogs,
	killProcessesOf,
	launchBrowser,
	lib,
	prepareCodeServer,
	type Browser,
	type CodeServerDirs,
	type RunningCodeServer,
} from './support';
import { RESULTS_ENV, prepareWorkspace, programPaths, type SuiteResults } from '../extension/workspace';

const OUT = path.join(path.dirname(ARTIFACTS), 'exthost');
const RUN = path.join(lib.CACHE, 'exthost');
const WS = path.join(RUN, 'ws');
const RESULTS = path.join(RUN, 'results.json');
const TESTS = path.join(ROOT, 'out', 'test', 'extension', 'index.js');
const TIMEOUT_MS = Number(process.env.FORKALL_EXT_TIMEOUT_MS || 8 * 60 * 1000);

let skipReason: string | null = null;
let server: RunningCodeServer | null = null;
let dirs: CodeServerDirs | null = null;
let browser: Browser | null = null;
let host = '';
const consoleLines: string[] = [];
const t0 = Date.now();

function log(msg: string): void {
	console.log(`[exthost ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

before(async () => {
	const prep = prepareCodeServer(log);
	if ('skip' in prep) {
		skipReason = prep.skip;
		console.log(skipReason);
		return;
	}
	host = prep.host;
	fs.rmSync(OUT, { recursive: true, force: true });
	fs.mkdirSync(RUN, { recursive: true });
	// dist/ (extension and adapter bundles, the adapter's runtime modules): what the .vsix ships.
	buildVsix(path.join(RUN, 'forkall.vsix'));
	prepareWorkspace(WS);
	fs.rmSync(RESULTS, { force: true });
	dirs = lib.freshDirs(path.join(RUN, 'code-server'), { 'forkall.adapter.logLevel': 'debug' });
	server = await lib.startCodeServer(dirs, {
		workspace: WS,
		extraArgs: ['--vscode-option', 'enable-smoke-test-driver'],
		env: { [RESULTS_ENV]: RESULTS, ...(process.env.FORKALL_EXT_GREP ? { FORKALL_EXT_GREP: process.env.FORKALL_EXT_GREP } : {}) },
	});
	log(`HOST: ${host}; code-server at ${server.url} (pgid ${server.pgid})`);
});

after(async () => {
	await browser?.close();
	await server?.stop();
	const killed = killProcessesOf(programPaths(WS));
	if (killed.length) log(`killed leftover debuggees ${killed.join(' ')}`);
});

test('extension-host suite (test/extension) in code-server', { timeout: TIMEOUT_MS + 60000 }, async (t) => {
	if (skipReason) {
		t.skip(skipReason);
		return;
	}
	const srv = server!;
	const b = await launchBrowser({ width: 1280, height: 900 });
	browser = b;
	let resolveExit: (code: number) => void = () => undefined;
	const exited = new Promise<number>((r) => (resolveExit = r));
	await b.page.exposeFunction('codeAutomationExit', (code: number) => resolveExit(code));
	b.page.on('console', (m) => {
		const text = m.text();
		consoleLines.push(`[${m.type()}] ${text}`);
		if (/^(ok|not ok|skip) - |^forkall extension tests: /.test(text)) log(text.split('\n')[0]);
	});
	b.page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
	const authority = new URL(srv.url).host;
	const payload = JSON.stringify([
		['extensionDevelopmentPath', `vscode-remote://${authority}${ROOT}`],
		['extensionTestsPath', `vscode-remote://${authority}${TESTS}`],
	]);
	await b.page.goto(`${srv.url}/?folder=${encodeURIComponent(WS)}&payload=${encodeURIComponent(payload)}`);
	const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), TIMEOUT_MS).unref())]);
	log(`extension host exit code: ${code}`);
	const results = fs.existsSync(RESULTS) ? (JSON.parse(fs.readFileSync(RESULTS, 'utf8')) as SuiteResults) : null;
	try {
		assert.ok(results, `the in-host runner wrote ${RESULTS} (exit code ${code})`);
		for (const r of results.tests) {
			await t.test(r.title, (st) => {
				if (r.state === 'pending') st.skip('pending');
				else if (r.state === 'failed') assert.fail(r.error ?? 'failed');
			});
		}
		log(
			`${results.passed} passed, ${results.failed} failed, ${results.pending} skipped in ${(results.durationMs / 1000).toFixed(1)} s on ${results.host}`,
		);
		assert.ok(results.passed > 0, 'some in-host tests ran');
		assert.equal(code, 0, 'the extension host exit code');
	} catch (e) {
		fs.mkdirSync(OUT, { recursive: true });
		fs.writeFileSync(path.join(OUT, 'browser-console.log'), consoleLines.join('\n'));
		const kept = dirs ? keepCodeServerLogs(dirs, OUT) : [];
		await b.page.screenshot({ path: path.join(OUT, '99-failure.png') }).catch(() => undefined);
		log(`kept in ${path.relative(ROOT, OUT)}: browser-console.log 99-failure.png ${kept.join(' ')}`);
		throw e;
	}
});
