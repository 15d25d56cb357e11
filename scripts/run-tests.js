#!/usr/bin/env node
/*
 * Run the compiled tests (out/test/**\/*.test.js) with Node's test runner,
 * one file at a time: tests trace real processes and must not overlap.
 * Node 20's `node --test <dir>` has no globbing, so list the files here.
 *
 *   node scripts/run-tests.js [filter...]   only files whose path contains a filter
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..', 'out', 'test');

function walk(dir, out) {
	for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
		const p = path.join(dir, ent.name);
		if (ent.isDirectory()) {
			walk(p, out);
		} else if (ent.isFile() && ent.name.endsWith('.test.js')) {
			out.push(p);
		}
	}
	return out;
}

if (!fs.existsSync(root)) {
	console.error(`run-tests: ${root} does not exist: build first (npm run build)`);
	process.exit(1);
}
const filters = process.argv.slice(2);
const files = walk(root, [])
	.sort()
	.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
	console.error(`run-tests: no *.test.js under ${root}${filters.length ? ` matching ${filters.join(' ')}` : ''}`);
	process.exit(1);
}
console.log(`run-tests: ${files.length} file(s), serially`);
const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
if (r.error) {
	console.error(`run-tests: ${r.error.message}`);
	process.exit(1);
}
process.exit(r.status ?? 1);
