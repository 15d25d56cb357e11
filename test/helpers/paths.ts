/* Repository paths, computed from this file's location (works from the
 * sources and from out/test/helpers/ alike): walk up to package.json. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

function findRoot(): string {
	const fromEnv = process.env.FORKALL_ROOT;
	if (fromEnv) return path.resolve(fromEnv);
	let dir = __dirname;
	for (;;) {
		const pkg = path.join(dir, 'package.json');
		if (fs.existsSync(pkg)) {
			try {
				if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'forkall') return dir;
			} catch {
				/* not ours: keep walking */
			}
		}
		const up = path.dirname(dir);
		if (up === dir) throw new Error(`forkall repo root not found above ${__dirname}`);
		dir = up;
	}
}

export const ROOT = findRoot();
export const FIXTURES_SRC = path.join(ROOT, 'test', 'fixtures');
export const FIXTURES_BUILD = path.join(FIXTURES_SRC, 'build');
export const FORKALL_BIN = path.join(ROOT, 'bin', 'forkall');

let fixturesChecked = false;

/* Path of a built fixture; (re)builds the fixtures with the native Makefile
 * when one is missing or older than its sources. */
export function fixturePath(name: string): string {
	const bin = path.join(FIXTURES_BUILD, name);
	if (!fixturesChecked) {
		fixturesChecked = true;
		if (fixturesStale()) {
			execFileSync('make', ['-s', '-C', path.join(ROOT, 'native'), 'fixtures'], {
				stdio: ['ignore', 'inherit', 'inherit'],
			});
		}
	}
	if (!fs.existsSync(bin)) throw new Error(`fixture ${name} not built: ${bin}`);
	return bin;
}

function fixturesStale(): boolean {
	const srcs = fs.readdirSync(FIXTURES_SRC);
	const headers = srcs.filter((f) => f.endsWith('.h')).map((f) => fs.statSync(path.join(FIXTURES_SRC, f)).mtimeMs);
	const newestHeader = Math.max(0, ...headers);
	for (const f of srcs) {
		if (!f.endsWith('.c')) continue;
		const out = path.join(FIXTURES_BUILD, f.slice(0, -2));
		if (!fs.existsSync(out)) return true;
		const outTime = fs.statSync(out).mtimeMs;
		if (outTime < fs.statSync(path.join(FIXTURES_SRC, f)).mtimeMs || outTime < newestHeader) return true;
	}
	return false;
}

/* Is a program on PATH? */
export function which(prog: string): string | null {
	for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
		const p = path.join(dir || '.', prog);
		try {
			fs.accessSync(p, fs.constants.X_OK);
			return p;
		} catch {
			/* next */
		}
	}
	return null;
}
