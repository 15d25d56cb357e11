/*
 * The .vsix (npm run package) holds what runs and nothing else: the
 * extension bundle, the adapter bundle, libforkall.so, koffi with its
 * linux-x64 binary, iced-x86; no tests, native sources, fixtures or
 * TypeScript. The extension bundle loads no native code; the adapter
 * bundle, unpacked, answers `--help` and serves DAP.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ARTIFACTS, buildVsix, listZip, readZipEntry } from './support';

const vsix = path.join(ARTIFACTS, 'forkall-test.vsix');
let names: string[] = [];

test('npm run package builds a linux-x64 .vsix', () => {
	buildVsix(vsix);
	names = listZip(vsix).map((e) => e.name);
	const manifest = readZipEntry(
		vsix,
		listZip(vsix).find((e) => e.name === 'extension.vsixmanifest')!,
	).toString('utf8');
	assert.match(manifest, /TargetPlatform="linux-x64"/, 'targets linux-x64');
	console.log(`vsix: ${names.length} files, ${(fs.statSync(vsix).size / 1024 / 1024).toFixed(2)} MiB`);
});

test('the .vsix holds the runtime pieces', () => {
	for (const f of [
		'extension/package.json',
		'extension/dist/extension.js',
		'extension/dist/adapter.js',
		'extension/native/build/libforkall.so',
		'extension/dist/node_modules/koffi/package.json',
		'extension/dist/node_modules/koffi/index.cjs',
		'extension/dist/node_modules/koffi/src/koffi/index.cjs',
		'extension/dist/node_modules/koffi/src/koffi/src/static.cjs',
		'extension/dist/node_modules/@koromix/koffi-linux-x64/index.js',
		'extension/dist/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node',
		'extension/dist/node_modules/iced-x86/iced_x86.js',
		'extension/dist/node_modules/iced-x86/iced_x86_bg.wasm',
		'extension/media/webview.css',
		'extension/media/stackView.js',
		'extension/media/stackView.css',
		'extension/media/memoryView.js',
		'extension/media/memoryView.css',
		'extension/media/icon.png',
		'extension/media/icons/light/fork.svg',
		'extension/media/icons/dark/fork.svg',
	]) {
		assert.ok(names.includes(f), `${f} is in the vsix`);
	}
});

test('the .vsix holds no tests, sources, fixtures or tooling', () => {
	const bad = names.filter(
		(n) =>
			(/\.ts$/.test(n) && !/\.d\.ts$/.test(n)) ||
			/\.map$/.test(n) ||
			/^extension\/(test|out|bench|scripts|demo|\.ci|\.cache|adapter|extension)\//.test(n) ||
			/^extension\/native\/(src|include|build\/obj|build\/test)/.test(n) ||
			/fixtures/.test(n) ||
			/^extension\/node_modules\//.test(n) ||
			/\.(c|h|cc|hh)$/.test(n),
	);
	assert.deepEqual(bad, [], 'nothing but runtime files');
});

test('the extension bundle loads no native code; the adapter bundle keeps koffi external', () => {
	const entries = listZip(vsix);
	const ext = readZipEntry(
		vsix,
		entries.find((e) => e.name === 'extension/dist/extension.js')!,
	).toString('utf8');
	assert.doesNotMatch(ext, /require\(["']koffi["']\)|koffi\.node|iced_x86_bg/);
	assert.match(ext, /DebugAdapterNamedPipeServer/);
	const adapter = readZipEntry(
		vsix,
		entries.find((e) => e.name === 'extension/dist/adapter.js')!,
	).toString('utf8');
	assert.match(adapter, /require\(["']koffi["']\)/);
	const pkg = JSON.parse(
		readZipEntry(
			vsix,
			entries.find((e) => e.name === 'extension/package.json')!,
		).toString('utf8'),
	) as { main: string; contributes: { debuggers: { type: string }[] } };
	assert.equal(pkg.main, './dist/extension.js');
	assert.deepEqual(
		pkg.contributes.debuggers.map((d) => d.type),
		['forkall'],
	);
});

test('unpacked, the adapter runs: --help, and dap --server=0 --insecure-tcp listens on 127.0.0.1', async () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkall-vsix-'));
	try {
		const entries = listZip(vsix);
		for (const e of entries) {
			if (e.name.endsWith('/')) continue;
			const dst = path.join(dir, e.name);
			fs.mkdirSync(path.dirname(dst), { recursive: true });
			fs.writeFileSync(dst, readZipEntry(vsix, e));
		}
		const ext = path.join(dir, 'extension');
		const env = { ...process.env, FORKALL_NATIVE_LIB: path.join(ext, 'native', 'build', 'libforkall.so') };
		const help = spawnSync(process.execPath, [path.join(ext, 'dist', 'adapter.js'), '--version'], { encoding: 'utf8', env });
		assert.equal(help.status, 0, help.stderr);
		assert.match(help.stdout, /libforkall \d+\.\d+/);
		assert.equal(help.stdout.trim().split('\n').length, 1, 'the CLI runs once');
		// The server: prints its port, exits when stdin closes (the extension's parent watch).
		const p = spawn(process.execPath, [path.join(ext, 'dist', 'adapter.js'), 'dap', '--server=0', '--insecure-tcp'], {
			env: { ...env, FORKALL_WATCH_STDIN: '1' },
			stdio: ['pipe', 'pipe', 'pipe'],
		});
		const exited = new Promise<number | string | null>((r) => p.on('exit', (c, s) => r(s ?? c)));
		const line = await new Promise<string>((resolve, reject) => {
			let out = '';
			const t = setTimeout(() => reject(new Error(`no port line: ${out}`)), 10000);
			p.stdout.on('data', (b: Buffer) => {
				out += b.toString();
				if (/listening on/.test(out)) {
					clearTimeout(t);
					resolve(out.trim());
				}
			});
		});
		assert.match(line, /listening on 127\.0\.0\.1:\d+/);
		p.stdin.end();
		const how = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10000))]);
		if (how === 'timeout') p.kill('SIGKILL');
		assert.notEqual(how, 'timeout', 'the adapter exits when its stdin closes');
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});
