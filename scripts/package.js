#!/usr/bin/env node
/*
 * npm run package: forkall-<version>.vsix (target linux-x64).
 *
 *   1. make -C native lib                 native/build/libforkall.so
 *   2. esbuild extension/src/main.ts      dist/extension.js (vscode external; no native code)
 *      esbuild extension/src/adapterEntry.ts -> dist/adapter.js (the forkall CLI/DAP server;
 *                                          koffi and iced-x86 external)
 *   3. dist/node_modules/                 the adapter's runtime modules, trimmed: koffi (loader),
 *                                          @koromix/koffi-linux-x64 (koffi.node), iced-x86 (wasm)
 *   4. vsce package --no-dependencies     files listed by .vscodeignore (a whitelist)
 *
 * The runtime modules live in dist/node_modules so that `vsce --no-dependencies`
 * (which never packs the top-level node_modules) still ships them, and so that
 * `require('koffi')` from dist/adapter.js finds them first.
 *
 *   node scripts/package.js [--out FILE] [--no-make]
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));

function run(cmd, args, opts = {}) {
	const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
	if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
	if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/** Copy listed files (relative to from) into to, creating folders. */
function copyFiles(from, to, files) {
	for (const f of files) {
		const src = path.join(from, f);
		if (!fs.existsSync(src)) throw new Error(`missing runtime file: ${path.relative(root, src)} (run npm install)`);
		const dst = path.join(to, f);
		fs.mkdirSync(path.dirname(dst), { recursive: true });
		fs.cpSync(src, dst, { recursive: true });
	}
}

/** The adapter's runtime modules (what its bundle requires), trimmed to what runs. */
const RUNTIME_MODULES = {
	koffi: [
		'package.json',
		'LICENSE.txt',
		'index.cjs',
		'index.js',
		'indirect.cjs',
		'indirect.js',
		'src/koffi/index.cjs',
		'src/koffi/index.js',
		'src/koffi/indirect.cjs',
		'src/koffi/indirect.js',
		'src/koffi/src/static.cjs',
	],
	'@koromix/koffi-linux-x64': ['package.json', 'index.js', 'linux_x64/koffi.node', 'musl_x64/koffi.node'],
	'iced-x86': ['package.json', 'LICENSE.txt', 'iced_x86.js', 'iced_x86_bg.wasm'],
};

async function bundle() {
	const esbuild = require('esbuild');
	const dist = path.join(root, 'dist');
	fs.rmSync(dist, { recursive: true, force: true });
	const common = {
		bundle: true,
		platform: 'node',
		format: 'cjs',
		target: 'node18',
		sourcemap: false,
		logLevel: 'warning',
		absWorkingDir: root,
	};
	await esbuild.build({
		...common,
		entryPoints: ['extension/src/main.ts'],
		outfile: 'dist/extension.js',
		external: ['vscode'],
		banner: { js: '// Forkall VS Code extension (bundled). The debug adapter runs as a separate process: dist/adapter.js.' },
	});
	await esbuild.build({
		...common,
		entryPoints: ['extension/src/adapterEntry.ts'],
		outfile: 'dist/adapter.js',
		external: ['koffi', 'iced-x86'],
		// cli/main.ts runs itself when it is the main module; bundled, every module shares the
		// bundle's `module`, so that check would start a second CLI next to adapterEntry's.
		define: { 'require.main': 'undefined' },
		banner: { js: '// Forkall debug adapter (bundled): forkall dap --pipe=PATH. Native code: koffi + native/build/libforkall.so.' },
	});
	// The extension host must never load native code.
	const ext = fs.readFileSync(path.join(dist, 'extension.js'), 'utf8');
	for (const bad of ['require("koffi")', "require('koffi')", 'iced_x86_bg', 'koffi.node']) {
		if (ext.includes(bad)) throw new Error(`dist/extension.js must not load native code, found ${bad}`);
	}
	for (const [mod, files] of Object.entries(RUNTIME_MODULES)) {
		copyFiles(path.join(root, 'node_modules', mod), path.join(dist, 'node_modules', mod), files);
	}
}

async function main() {
	const argv = process.argv.slice(2);
	const outIdx = argv.indexOf('--out');
	const out = path.resolve(root, outIdx >= 0 ? argv[outIdx + 1] : `forkall-${pkg.version}.vsix`);
	if (!argv.includes('--no-make')) run('make', ['-C', 'native', 'lib']);
	if (!fs.existsSync(path.join(root, 'native', 'build', 'libforkall.so'))) throw new Error('native/build/libforkall.so is missing');
	const t0 = Date.now();
	await bundle();
	console.log(`package: bundled dist/extension.js, dist/adapter.js (+ runtime modules) in ${Date.now() - t0} ms`);
	fs.rmSync(out, { force: true });
	run(process.execPath, [
		path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
		'package',
		'--no-dependencies',
		'--target',
		'linux-x64',
		'--allow-missing-repository',
		'--skip-license',
		'--no-rewrite-relative-links',
		'--out',
		out,
	]);
	console.log(`package: ${path.relative(process.cwd(), out) || out} (${(fs.statSync(out).size / 1024 / 1024).toFixed(2)} MiB)`);
}

main().catch((e) => {
	console.error(`package: ${e.message}`);
	process.exit(1);
});
