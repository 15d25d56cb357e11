/*
 * The extension-host test runner: what `extensionTestsPath` points at
 * (out/test/extension/index.js), as @vscode/test-electron and VS Code's
 * docs expect: a module exporting run(). VS Code loads it inside its
 * extension host, with the extension under test from
 * `extensionDevelopmentPath`, and ends the run with its outcome.
 *
 * It runs every out/test/extension/*.suite.js with mocha (tdd: suite/test),
 * in file-name order (the suites share one window and run one after the
 * other), prints one line per test ("ok - …" / "not ok - …", which reach
 * the browser console in code-server and stdout on the desktop), and writes
 * the results as JSON where $FORKALL_EXT_RESULTS says. run() rejects when a
 * test failed: the host then exits with code 1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import { RESULTS_ENV, type SuiteResult, type SuiteResults } from './workspace';

export async function run(): Promise<void> {
	const t0 = Date.now();
	const mocha = new Mocha({ ui: 'tdd', timeout: 90000, color: false, reporter: Mocha.reporters.Base });
	const grep = process.env.FORKALL_EXT_GREP;
	if (grep) mocha.grep(new RegExp(grep));
	const files = fs
		.readdirSync(__dirname)
		.filter((f) => f.endsWith('.suite.js'))
		.sort();
	for (const f of files) mocha.addFile(path.join(__dirname, f));
	const host = `${vscode.env.appName} ${vscode.version} (${vscode.env.appHost}, node ${process.version})`;
	console.log(`forkall extension tests: ${files.length} suite file(s) in ${host}`);
	const tests: SuiteResult[] = [];
	const failures = await new Promise<number>((resolve, reject) => {
		try {
			const runner = mocha.run((n) => resolve(n));
			runner.on('pass', (t) => {
				tests.push({ title: t.fullTitle(), state: 'passed', durationMs: t.duration ?? 0 });
				console.log(`ok - ${t.fullTitle()} (${t.duration ?? 0} ms)`);
			});
			runner.on('fail', (t, err: Error) => {
				const error = err?.stack ?? String(err);
				tests.push({ title: t.fullTitle(), state: 'failed', durationMs: t.duration ?? 0, error });
				console.log(`not ok - ${t.fullTitle()}: ${error}`);
			});
			runner.on('pending', (t) => {
				tests.push({ title: t.fullTitle(), state: 'pending', durationMs: 0 });
				console.log(`skip - ${t.fullTitle()}`);
			});
		} catch (e) {
			reject(e);
		}
	});
	const count = (s: SuiteResult['state']): number => tests.filter((t) => t.state === s).length;
	const results: SuiteResults = {
		host,
		passed: count('passed'),
		failed: count('failed'),
		pending: count('pending'),
		durationMs: Date.now() - t0,
		tests,
	};
	console.log(
		`forkall extension tests: ${results.passed} passed, ${results.failed} failed, ${results.pending} skipped in ${results.durationMs} ms`,
	);
	const out = process.env[RESULTS_ENV];
	if (out) fs.writeFileSync(out, JSON.stringify(results, null, 2));
	if (failures > 0 || results.failed > 0) throw new Error(`${Math.max(failures, results.failed)} extension test(s) failed`);
}
