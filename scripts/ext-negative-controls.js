#!/usr/bin/env node
/*
 * The negative controls of the extension-host suite (test/extension/
 * negative-controls.md), one run each: break one feature in the sources,
 * run only its tests in code-server's extension host
 * (FORKALL_EXT_GREP=… node scripts/run-tests.js test/e2e/exthost), put the
 * sources back (git checkout), and check that the run FAILED. Exit 0 when
 * every control failed as it should.
 *
 *   node scripts/ext-negative-controls.js [name...]    (after npm run build)
 *   node scripts/ext-negative-controls.js --check      only: does every control still apply?
 *
 * It edits adapter/, extension/ and package.json while it runs, so it
 * refuses to start when they have uncommitted changes. A control whose
 * text is no longer in the source says so ("stale") and counts as a
 * failure of this script: update the table below.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const PATHS = ['adapter', 'extension', 'package.json'];

/** [name, what is broken, [[file, text, replacement], ...], FORKALL_EXT_GREP] */
const CONTROLS = [
	[
		'activation',
		'"onDebugResolve:forkall" removed from activationEvents',
		[['package.json', '\t\t"onDebugResolve:forkall",\n', '']],
		'^activation',
	],
	['config-defaults', 'no default request', [['extension/src/configProvider.ts', "\t\tconfig.request ??= 'launch';\n", '']], 'defaults'],
	[
		'config-bad',
		'the pid not checked',
		[
			[
				'extension/src/configProvider.ts',
				"if (typeof config.pid !== 'number' || !Number.isInteger(config.pid) || config.pid <= 0) {",
				'if (false as boolean) {',
			],
		],
		'bad configurations',
	],
	[
		'config-picker',
		'an attach without pid does not ask',
		[['extension/src/configProvider.ts', "if (config.pid === undefined || config.pid === '') {", 'if (config.pid === null) {']],
		'attach without a pid',
	],
	[
		'picker',
		'the extension host not filtered out',
		[
			[
				'extension/src/pickProcess.ts',
				'listProcesses().filter((p) => p.pid !== self)',
				'listProcesses().filter((p) => p.pid !== -self)',
			],
		],
		'process picker',
	],
	[
		'lwps',
		"'lwps' answers an empty table",
		[
			[
				'adapter/src/dap/session.ts',
				"this.handle('lwps', () => this.lwps());",
				"this.handle('lwps', async () => ({ ...(await this.lwps()), lwps: [] }));",
			],
		],
		'stops at|customRequest',
	],
	[
		'tree-flag',
		'no NEAR OVERFLOW in the tree items',
		[['extension/src/lwpView.ts', "${warn ? ' · NEAR OVERFLOW' : ''}`;", '`;']],
		'stops at|LWP tree',
	],
	[
		'setting-threshold',
		'overflowWarnPercent not read',
		[
			[
				'extension/src/lwpView.ts',
				"\treturn vscode.workspace.getConfiguration('forkall').get<number>('lwps.overflowWarnPercent', 80);",
				'\treturn 80;',
			],
		],
		'stops at|settings change takes effect',
	],
	[
		'fork-debug',
		'the child session never matched',
		[
			[
				'extension/src/forkAllHere.ts',
				'if (want && s.configuration.__forkallChild === want.pid) want.resolve(s);',
				'if (want && s.configuration.__forkallChild === -want.pid) want.resolve(s);',
			],
			[
				'extension/src/forkAllHere.ts',
				'const already = seen.find((s) => s.configuration.__forkallChild === pid);',
				'const already = seen.find((s) => s.configuration.__forkallChild === -pid);',
			],
		],
		'stops at|\\(debug\\)',
	],
	[
		'fork-modes',
		'run and stopped swapped',
		[
			[
				'extension/src/forkAllHere.ts',
				"session.customRequest('forkAllThreads', { mode, threadId, copyDontfork })",
				"session.customRequest('forkAllThreads', { mode: mode === 'run' ? 'stopped' : mode === 'stopped' ? 'run' : mode, threadId, copyDontfork })",
			],
		],
		'stops at|\\(run\\)|\\(stopped\\)',
	],
	[
		'fork-settings',
		'fork.copyDontfork not read',
		[
			[
				'extension/src/forkAllHere.ts',
				"vscode.workspace.getConfiguration('forkall').get<boolean>('fork.copyDontfork', true)",
				'true as boolean',
			],
		],
		'stops at|settings take effect on the fork',
	],
	[
		'follow',
		'no startDebugging for a followed fork',
		[
			[
				'adapter/src/dap/session.ts',
				'followed = false, kept = false): void {\n',
				'followed = false, kept = false): void {\n\t\tif (followed) return;\n',
			],
		],
		'opens a child session',
	],
	[
		'follow-nested',
		"a followed child's session does not follow its own forks",
		[['adapter/src/dap/session.ts', '\t\t\tif (a.__forkallFollowed) await this.initFollow(d, a.followForks);\n', '']],
		'nested fork',
	],
	[
		'follow-child',
		'followForks "child" handled as "both"',
		[['adapter/src/dap/session.ts', "\t\t\tif (want === 'child') {", "\t\t\tif (want === ('x' as string)) {"]],
		'followForks "child"',
	],
	[
		'signals',
		'no exceptionBreakpointFilters',
		[
			[
				'adapter/src/dap/session.ts',
				'exceptionBreakpointFilters: EXCEPTION_FILTERS.map(',
				'exceptionBreakpointFilters: EXCEPTION_FILTERS.filter(() => false).map(',
			],
		],
		'signal filters',
	],
	[
		'adapter-restart',
		"a dead adapter's socket never forgotten",
		[
			[
				'extension/src/adapterProcess.ts',
				'\t\t\t\tif (this.proc === proc) {\n\t\t\t\t\tthis.proc = null;\n\t\t\t\t\tthis.pipe = null;\n\t\t\t\t}',
				'\t\t\t\t// broken',
			],
		],
		'adapter process',
	],
	[
		'dead-threads',
		"a fork child's threads list no dead threads",
		[
			[
				'adapter/src/dap/session.ts',
				'for (const t of lost?.deadThreads ?? []) threads.push(new Thread(t.tid, deadThreadLabel(t.tid, t.name)));',
				'for (const t of lost?.deadThreads ?? []) void t;',
			],
		],
		'dead threads after a fork',
	],
	[
		'recreate-command',
		'Recreate Dead Threads never takes the session for a fork child',
		[['extension/src/deadThreads.ts', 's.configuration.__forkallFollowed === true;', "s.configuration.__forkallFollowed === 'x';"]],
		'dead threads after a fork',
	],
	[
		'checkpoint-view',
		"the Checkpoints view ignores 'checkpointsChanged'",
		[['extension/src/checkpoints.ts', ".event !== 'checkpointsChanged') return;", ".event !== 'checkpointsChanged!') return;"]],
		'^checkpoints Save Checkpoint',
	],
	[
		'checkpoint-restore',
		'Restore Checkpoint sends another id than the one given',
		[
			[
				'extension/src/checkpoints.ts',
				'keepCurrent ? { id, keepCurrent: true } : { id },',
				'keepCurrent ? { id: id + 1, keepCurrent: true } : { id: id + 1 },',
			],
		],
		'^checkpoints Save Checkpoint',
	],
	[
		'auto-checkpoint',
		"launch.json's autoCheckpoint not read",
		[['adapter/src/dap/session.ts', 'this.autoCheckpoint = a.autoCheckpoint ?? 0;', 'this.autoCheckpoint = 0;']],
		'autoCheckpoint',
	],
	[
		'reverse-continue',
		'reverseContinue handled as stepBack',
		[
			[
				'adapter/src/dap/session.ts',
				"this.handle('reverseContinue', (a) => this.goBack('reverseContinue', a.threadId));",
				"this.handle('reverseContinue', (a) => this.goBack('stepBack', a.threadId));",
			],
		],
		'Reverse Continue',
	],
	[
		'keep-current',
		'Restore Checkpoint never sends keepCurrent',
		[['extension/src/checkpoints.ts', 'keepCurrent ? { id, keepCurrent: true } : { id },', '{ id },']],
		'Reverse Continue',
	],
	[
		'keep-current-adapter',
		'the adapter kills the current process despite keepCurrent',
		[['adapter/src/dap/session.ts', '\t\t\tif (a.keepCurrent) {', '\t\t\tif (a.keepCurrent && Date.now() < 0) {']],
		'Reverse Continue',
	],
	[
		'child-focus',
		'forked child sessions not focused',
		[
			[
				'extension/src/childFocus.ts',
				"return vscode.workspace.getConfiguration('forkall').get<boolean>('focusChildSessions', true);",
				'return false;',
			],
		],
		'stops at the #BP|\\(debug\\)',
	],
	[
		'lwp-multi-freeze',
		"the LWP view's Freeze Threads takes only the clicked row",
		[['extension/src/lwpView.ts', '(selected && selected.length ? selected :', '(selected && selected.length < 0 ? selected :']],
		'stops at the #BP|LWP view freezes',
	],
];

function git(args) {
	return spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
}

function restore() {
	git(['checkout', '--', ...PATHS]);
}

/** The first edit whose text is no longer in its file, or null. */
function staleEdit(edits) {
	return edits.find(([file, text]) => !fs.readFileSync(path.join(ROOT, file), 'utf8').includes(text)) ?? null;
}

function main() {
	if (process.argv.includes('--check')) {
		const stale = CONTROLS.filter(([, , edits]) => staleEdit(edits));
		for (const [name, , edits] of stale)
			console.log(`STALE ${name}: "${staleEdit(edits)[1].trim().slice(0, 60)}" is no longer in ${staleEdit(edits)[0]}`);
		console.log(`ext-negative-controls --check: ${CONTROLS.length - stale.length} of ${CONTROLS.length} controls apply`);
		process.exit(stale.length ? 1 : 0);
	}
	const only = process.argv.slice(2);
	const dirty = git(['status', '--porcelain', '--', ...PATHS]).stdout.trim();
	if (dirty) {
		console.error(`ext-negative-controls: uncommitted changes in ${PATHS.join(' ')}; commit or stash them first:\n${dirty}`);
		process.exit(2);
	}
	for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
		process.on(sig, () => {
			restore();
			process.exit(130);
		});
	}
	const rows = [];
	for (const [name, what, edits, grep] of CONTROLS) {
		if (only.length && !only.includes(name)) continue;
		const t0 = Date.now();
		let verdict;
		try {
			const stale = staleEdit(edits);
			if (stale) {
				verdict = `STALE: "${stale[1].trim().slice(0, 60)}" is no longer in ${stale[0]}`;
			} else {
				for (const [file, text, repl] of edits) {
					const p = path.join(ROOT, file);
					fs.writeFileSync(p, fs.readFileSync(p, 'utf8').replace(text, repl));
				}
				spawnSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, stdio: 'ignore' });
				const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'run-tests.js'), 'test/e2e/exthost'], {
					cwd: ROOT,
					env: { ...process.env, FORKALL_EXT_GREP: grep },
					encoding: 'utf8',
					maxBuffer: 64 * 1024 * 1024,
				});
				const out = r.stdout + r.stderr;
				const failed = [...out.matchAll(/^ {4}not ok \d+ - (.*)$/gm)].map((m) => m[1]);
				const firstError = /^ {6}error: \|-?\n\s+(.*)$/m.exec(out)?.[1] ?? '';
				verdict =
					r.status !== 0 && failed.length
						? `failed as it should: ${failed.length} test(s): ${failed.join('; ').slice(0, 120)} — ${firstError.slice(0, 160)}`
						: `PASSED WITH THE FEATURE BROKEN (exit ${r.status})`;
			}
		} finally {
			restore();
		}
		const ok = verdict.startsWith('failed as it should');
		rows.push(ok);
		console.log(`${ok ? 'ok' : 'NOT OK'} ${name} (${what}; ${((Date.now() - t0) / 1000).toFixed(0)} s): ${verdict}`);
	}
	spawnSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, stdio: 'ignore' });
	const bad = rows.filter((x) => !x).length;
	console.log(`ext-negative-controls: ${rows.length - bad} of ${rows.length} controls failed as they should`);
	process.exit(bad ? 1 : 0);
}

main();
