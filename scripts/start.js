#!/usr/bin/env node
/*
 * npm start: try the extension in a real VS Code in your browser.
 *
 * Builds (native + TypeScript), packages forkall-<version>.vsix, installs it
 * into code-server (from npm, under .cache/e2e/, with Node 24 from npm) with
 * fresh user-data/extensions dirs under .cache/start/, builds demo/ and
 * opens it. Listens on 127.0.0.1 only, without a password (--auth none):
 * forward the port over SSH to use it from another machine.
 *
 *   npm start [-- --port=8080] [-- --no-build]
 *
 * Ctrl-C stops code-server (and with it the adapter and its debuggees).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const lib = require('./e2e-lib.js');

const root = lib.ROOT;
const argv = process.argv.slice(2);
const portArg = argv.find((a) => a.startsWith('--port='));
const port = portArg ? Number(portArg.slice(7)) : Number(process.env.PORT || 8080);

function run(cmd, args) {
	const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
	if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
}

async function main() {
	const version = require(path.join(root, 'package.json')).version;
	const vsix = path.join(root, `forkall-${version}.vsix`);
	if (!argv.includes('--no-build')) {
		run('npm', ['run', 'build']);
		run(process.execPath, [path.join(__dirname, 'package.js'), '--out', vsix]);
	}
	lib.ensureAptPackages(console.log, ['libkrb5-dev']);
	lib.ensureCodeServer();
	const demo = path.join(root, 'demo');
	lib.buildC(path.join(demo, 'threads-demo.c'), path.join(demo, 'build', 'threads-demo'));
	const dirs = lib.freshDirs(path.join(root, '.cache', 'start'));
	console.log(lib.installExtension(dirs, vsix).split('\n').pop());
	const server = await lib.startCodeServer(dirs, { port, workspace: demo });
	const url = `${server.url}/?folder=${encodeURIComponent(demo)}`;
	const bp =
		fs
			.readFileSync(path.join(demo, 'threads-demo.c'), 'utf8')
			.split('\n')
			.findIndex((l) => l.includes('// #BP')) + 1;
	console.log(`
Forkall in ${lib.codeServerVersion().text}:

    ${url}

Open it in a browser (ssh -L ${server.port}:127.0.0.1:${server.port} <host> to reach it from elsewhere).
In demo/threads-demo.c set a breakpoint on line ${bp} (#BP), then Run and Debug > "Forkall: threads-demo".
Then: the "Forkall: LWPs" view, "Forkall: Show LWP View", "Forkall: Fork All Threads Here".
The fork deadlock: Run and Debug > "Forkall: threads-demo (fork deadlock)"; in the child's session, "Forkall: Recreate Dead Threads".
code-server log: ${path.relative(process.cwd(), dirs.log)}.
Stop: Ctrl-C here, or from elsewhere kill -INT ${process.pid} (this script; its pid is also in .cache/start/start.pid).
A signal to npm's own pid alone is not passed on by npm: signal this pid, or the whole process group.
`);
	const pidFile = path.join(root, '.cache', 'start', 'start.pid');
	fs.mkdirSync(path.dirname(pidFile), { recursive: true });
	fs.writeFileSync(pidFile, `${process.pid}\n`);
	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		await server.stop();
		fs.rmSync(pidFile, { force: true });
		process.exit(0);
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	process.on('SIGHUP', stop); /* the terminal went away */
	server.proc.on('exit', (code, signal) => {
		if (stopping) return;
		console.error(`code-server exited (${signal || code})`);
		process.exit(1);
	});
}

main().catch((e) => {
	console.error(`start: ${e.message}`);
	process.exit(1);
});
