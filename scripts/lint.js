#!/usr/bin/env node
/*
 * npm run lint: ESLint (TypeScript/JavaScript), prettier --check (formatting
 * of TS/JS/JSON), clang-format --dry-run --Werror (C of native/ and
 * test/native/). npm run format: prettier --write and clang-format -i.
 *
 * clang-format is the WebAssembly build from npm (@wasm-fmt/clang-format):
 * the same version on every machine, so a Debian 12 and a Debian 13 CI
 * format C alike. Generated files (*.generated.*) are the generator's.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const write = process.argv.includes('--write');
const bin = (n) => path.join(ROOT, 'node_modules', '.bin', n);

function cFiles() {
	const out = [];
	const walk = (dir) => {
		for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
			const rel = path.join(dir, e.name);
			if (e.isDirectory()) walk(rel);
			else if (/\.[ch]$/.test(e.name) && !e.name.includes('.generated.')) out.push(rel);
		}
	};
	for (const d of ['native/src', 'native/include', 'test/native']) walk(d);
	return out.sort();
}

function run(what, cmd, args) {
	const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
	if (r.status !== 0) {
		console.error(`lint: ${what} failed${write ? '' : ' (npm run format fixes formatting)'}`);
		process.exit(1);
	}
}

if (write) {
	// twice: prettier's output for a few files settles only on the second pass
	run('prettier', bin('prettier'), ['--write', '--log-level', 'warn', '.']);
	run('prettier', bin('prettier'), ['--write', '--log-level', 'warn', '.']);
	run('clang-format', bin('clang-format'), ['-i', ...cFiles()]);
} else {
	run('eslint', bin('eslint'), ['--max-warnings', '0', '.']);
	run('prettier', bin('prettier'), ['--check', '--log-level', 'warn', '.']);
	run('clang-format', bin('clang-format'), ['--dry-run', '--Werror', ...cFiles()]);
	console.log('lint: eslint, prettier and clang-format are clean');
}
