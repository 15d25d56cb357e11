#!/usr/bin/env node
/*
 * npm run test:desktop: the extension-host suite (test/extension/) in a
 * desktop VS Code, through @vscode/test-electron's runTests: the same
 * suite `npm test` runs in code-server's extension host
 * (test/e2e/exthost.test.ts).
 *
 * Which VS Code: $VSCODE_EXECUTABLE (or --vscode=PATH), a local `code`
 * binary; otherwise @vscode/test-electron downloads one (stable, or
 * $VSCODE_VERSION) into .cache/vscode-test/ — which needs
 * update.code.visualstudio.com. When there is neither, it says so in one
 * line and exits 0, or 1 under CI=true. On a machine without a display,
 * run it under `xvfb-run -a`.
 *
 * Run after `tsc -p .` (npm run test:desktop does both): it uses
 * out/test/extension/ and builds dist/ with scripts/package.js.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const RUN = path.join(ROOT, '.cache', 'desktop');
const OUT = path.join(ROOT, 'out', 'test', 'extension');
const CI = process.env.CI === 'true';

function say(msg) {
	console.log(`test:desktop: ${msg}`);
}

/** No VS Code to run: one line; a failure only under CI=true. */
function unavailable(why) {
	say(`no desktop VS Code available (${why}): set VSCODE_EXECUTABLE=/path/to/code${CI ? '' : '; skipped'}`);
	process.exit(CI ? 1 : 0);
}

async function findVsCode(testElectron) {
	const arg = process.argv.find((a) => a.startsWith('--vscode='));
	const local = arg ? arg.slice('--vscode='.length) : process.env.VSCODE_EXECUTABLE;
	if (local) {
		if (!fs.existsSync(local)) unavailable(`VSCODE_EXECUTABLE=${local} does not exist`);
		return local;
	}
	try {
		return await testElectron.downloadAndUnzipVSCode({
			version: process.env.VSCODE_VERSION || 'stable',
			cachePath: path.join(ROOT, '.cache', 'vscode-test'),
			timeout: 30000,
			reporter: new testElectron.SilentReporter(),
		});
	} catch (e) {
		unavailable(`the download failed: ${String(e && e.message ? e.message : e).split('\n')[0]}`);
	}
	return undefined;
}

async function main() {
	if (!fs.existsSync(path.join(OUT, 'index.js'))) {
		console.error('test:desktop: out/test/extension/index.js is missing: run `tsc -p .` first (npm run test:desktop does)');
		process.exit(1);
	}
	const testElectron = require('@vscode/test-electron');
	const vscodeExecutablePath = await findVsCode(testElectron);
	say(`VS Code: ${vscodeExecutablePath}`);
	const lib = require('./e2e-lib.js');
	const { prepareWorkspace, programPaths, RESULTS_ENV } = require(path.join(OUT, 'workspace.js'));
	fs.mkdirSync(RUN, { recursive: true });
	// dist/: the extension and adapter bundles the extension runs (as in the .vsix).
	const pk = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'package.js'), '--out', path.join(RUN, 'forkall.vsix')], {
		cwd: ROOT,
		stdio: 'inherit',
	});
	if (pk.status !== 0) throw new Error('scripts/package.js failed');
	const ws = path.join(RUN, 'ws');
	prepareWorkspace(ws);
	const dirs = lib.freshDirs(path.join(RUN, 'vscode'), { 'forkall.adapter.logLevel': 'debug' });
	const results = path.join(RUN, 'results.json');
	fs.rmSync(results, { force: true });
	let code = 1;
	try {
		code = await testElectron.runTests({
			vscodeExecutablePath,
			extensionDevelopmentPath: ROOT,
			extensionTestsPath: path.join(OUT, 'index.js'),
			extensionTestsEnv: {
				[RESULTS_ENV]: results,
				...(process.env.FORKALL_EXT_GREP ? { FORKALL_EXT_GREP: process.env.FORKALL_EXT_GREP } : {}),
			},
			launchArgs: [
				ws,
				'--user-data-dir',
				dirs.data,
				'--extensions-dir',
				dirs.extensions,
				'--disable-extensions',
				'--disable-workspace-trust',
				'--skip-welcome',
				'--skip-release-notes',
				'--disable-gpu',
			],
		});
	} catch (e) {
		console.error(`test:desktop: ${e && e.message ? e.message : e}`);
		code = 1;
	} finally {
		for (const exe of programPaths(ws)) {
			for (const e of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
				try {
					if (fs.readlinkSync(`/proc/${e}/exe`) === exe) process.kill(Number(e), 'SIGKILL');
				} catch {
					// gone, or not ours
				}
			}
		}
	}
	if (fs.existsSync(results)) {
		const r = JSON.parse(fs.readFileSync(results, 'utf8'));
		say(`${r.passed} passed, ${r.failed} failed, ${r.pending} skipped in ${(r.durationMs / 1000).toFixed(1)} s on ${r.host}`);
	}
	say(code === 0 ? 'passed' : `failed (exit code ${code})`);
	process.exit(code === 0 ? 0 : 1);
}

main().catch((e) => {
	console.error(`test:desktop: ${e && e.stack ? e.stack : e}`);
	process.exit(1);
});
