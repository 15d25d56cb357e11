/*
 * The folder the extension-host suite opens (no `vscode` import: the
 * code-server wrapper and `npm run test:desktop` both prepare it): a copy
 * of demo/ (threads-demo.c, .vscode/launch.json) plus four fixtures, all
 * built with -g -O0 into build/ from their copies here, so that the
 * breakpoint paths are the folder's own files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

export const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Programs of the workspace: source file (in the folder) -> build/<name>. */
export const PROGRAMS = {
	/** seven named threads in different states; `deep` near stack overflow; #BP in all_ready() */
	demo: 'threads-demo',
	/** a worker forks N children (followForks); #CHILD_WORK runs in each child */
	forker: 'forker',
	/** raises SIGUSR1 N times (signal filters) */
	sigloop: 'sigloop',
	/** "holder" holds table_lock while main forks; the child locks it: the fork deadlock (dead threads) */
	deadlock: 'deadlock',
	/** eight workers keep counters consistent; main calls step_marker(step) for steps 1..5 (checkpoints) */
	ckptwork: 'ckptwork',
} as const;

const SOURCES: Record<string, string> = {
	'threads-demo': path.join(ROOT, 'demo', 'threads-demo.c'),
	forker: path.join(ROOT, 'test', 'fixtures', 'forker.c'),
	sigloop: path.join(ROOT, 'test', 'fixtures', 'sigloop.c'),
	deadlock: path.join(ROOT, 'test', 'fixtures', 'deadlock.c'),
	ckptwork: path.join(ROOT, 'test', 'fixtures', 'ckptwork.c'),
};

/** Environment variable naming the JSON file the in-host runner writes its results to. */
export const RESULTS_ENV = 'FORKALL_EXT_RESULTS';

export interface SuiteResult {
	title: string;
	state: 'passed' | 'failed' | 'pending';
	durationMs: number;
	error?: string;
}

export interface SuiteResults {
	host: string;
	passed: number;
	failed: number;
	pending: number;
	durationMs: number;
	tests: SuiteResult[];
}

/** (Re)create the workspace folder `ws` and build its programs. */
export function prepareWorkspace(ws: string): void {
	fs.rmSync(ws, { recursive: true, force: true });
	fs.cpSync(path.join(ROOT, 'demo'), ws, { recursive: true });
	fs.rmSync(path.join(ws, 'build'), { recursive: true, force: true });
	fs.mkdirSync(path.join(ws, 'build'), { recursive: true });
	for (const [name, src] of Object.entries(SOURCES)) {
		const copy = path.join(ws, path.basename(src));
		fs.copyFileSync(src, copy);
		const out = path.join(ws, 'build', name);
		const r = spawnSync('gcc', ['-std=gnu11', '-g', '-O0', '-Wall', '-Wextra', '-pthread', '-o', out, copy], { encoding: 'utf8' });
		if (r.status !== 0) throw new Error(`gcc ${copy} failed: ${r.stderr}`);
	}
}

/** The executables of a prepared workspace (to kill what a failed run left). */
export function programPaths(ws: string): string[] {
	return Object.values(PROGRAMS).map((p) => path.join(ws, 'build', p));
}
