/*
 * Helpers for the e2e tests: the code-server/Chromium library
 * (scripts/e2e-lib.js), building the .vsix, listing a zip, artifacts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const ARTIFACTS = path.join(ROOT, 'test', 'artifacts', 'e2e');

export interface CodeServerDirs {
	base: string;
	config: string;
	data: string;
	extensions: string;
	log: string;
}

export interface RunningCodeServer {
	url: string;
	port: number;
	pgid: number;
	stop(): Promise<void>;
}

export interface E2eLib {
	CACHE: string;
	CHROMIUM: string;
	CODE_SERVER_VERSION: string;
	isRoot(): boolean;
	installHint(missing: string[]): string;
	ensureAptPackages(log?: (s: string) => void): void;
	ensureCodeServer(log?: (s: string) => void): void;
	codeServerVersion(): { codeServer: string; code: string; commit: string; text: string };
	freshDirs(base: string, extraSettings?: Record<string, unknown>): CodeServerDirs;
	installExtension(dirs: CodeServerDirs, vsix: string): string;
	startCodeServer(
		dirs: CodeServerDirs,
		o?: { port?: number; workspace?: string; extraArgs?: string[]; env?: Record<string, string> },
	): Promise<RunningCodeServer>;
	buildC(src: string, out: string): void;
}

// a CommonJS script outside the TypeScript project (npm start uses it too), found at run time
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const lib = require(path.join(ROOT, 'scripts', 'e2e-lib.js')) as E2eLib;

/** npm run package, into a given file. Returns its path. */
export function buildVsix(out: string): string {
	fs.mkdirSync(path.dirname(out), { recursive: true });
	const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'package.js'), '--out', out], { cwd: ROOT, encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`scripts/package.js failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
	return out;
}

export interface ZipEntry {
	name: string;
	size: number;
	compressedSize: number;
	method: number;
	offset: number;
}

/** The entries of a zip file (central directory), enough for a .vsix. */
export function listZip(file: string): ZipEntry[] {
	const buf = fs.readFileSync(file);
	let eocd = -1;
	for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
		if (buf.readUInt32LE(i) === 0x06054b50) {
			eocd = i;
			break;
		}
	}
	if (eocd < 0) throw new Error(`${file}: not a zip file (no end of central directory)`);
	const count = buf.readUInt16LE(eocd + 10);
	let p = buf.readUInt32LE(eocd + 16);
	const out: ZipEntry[] = [];
	for (let i = 0; i < count; i++) {
		if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${i}`);
		const method = buf.readUInt16LE(p + 10);
		const compressedSize = buf.readUInt32LE(p + 20);
		const size = buf.readUInt32LE(p + 24);
		const nameLen = buf.readUInt16LE(p + 28);
		const extraLen = buf.readUInt16LE(p + 30);
		const commentLen = buf.readUInt16LE(p + 32);
		const offset = buf.readUInt32LE(p + 42);
		out.push({ name: buf.toString('utf8', p + 46, p + 46 + nameLen), size, compressedSize, method, offset });
		p += 46 + nameLen + extraLen + commentLen;
	}
	return out;
}

/** The contents of one zip entry. */
export function readZipEntry(file: string, e: ZipEntry): Buffer {
	const buf = fs.readFileSync(file);
	const p = e.offset;
	if (buf.readUInt32LE(p) !== 0x04034b50) throw new Error(`${file}: bad local header for ${e.name}`);
	const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
	const data = buf.subarray(start, start + e.compressedSize);
	return e.method === 0 ? Buffer.from(data) : zlib.inflateRawSync(data);
}

/** Line number (1-based) of the line carrying `marker` (e.g. "// #BP"). */
export function markerLine(file: string, marker: string): number {
	const lines = fs.readFileSync(file, 'utf8').split('\n');
	const i = lines.findIndex((l) => l.includes(marker));
	if (i < 0) throw new Error(`${marker} not found in ${file}`);
	return i + 1;
}

/**
 * What every test in a real VS Code needs first: Debian's chromium (and
 * libkrb5-dev until code-server is built), Node 24 and code-server in
 * .cache/e2e/. Returns the host's name ("code-server 4.139.1 (VS Code …)"),
 * or { skip } with one line saying what is missing when that may be
 * skipped: not root, not under CI=true or FORKALL_E2E=require.
 */
export function prepareCodeServer(log: (s: string) => void): { host: string } | { skip: string } {
	try {
		lib.ensureAptPackages(log);
	} catch (e) {
		if (process.env.CI === 'true' || process.env.FORKALL_E2E === 'require') throw e;
		return { skip: (e as Error).message };
	}
	lib.ensureCodeServer(log);
	return { host: lib.codeServerVersion().text };
}

export interface Browser {
	context: BrowserContext;
	page: Page;
	/** Close the browser and remove its profile. */
	close(): Promise<void>;
}

/** Debian's Chromium, headless, in a fresh profile (playwright-core; no browser download). */
export async function launchBrowser(viewport = { width: 1600, height: 1100 }): Promise<Browser> {
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'forkall-e2e-chromium-'));
	let context: BrowserContext;
	try {
		context = await chromium.launchPersistentContext(profile, {
			executablePath: lib.CHROMIUM,
			headless: true,
			args: [
				'--no-sandbox',
				'--disable-gpu',
				'--disable-quic',
				'--no-first-run',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync',
			],
			viewport,
		});
	} catch (e) {
		fs.rmSync(profile, { recursive: true, force: true });
		throw e;
	}
	const page = context.pages()[0] ?? (await context.newPage());
	return {
		context,
		page,
		close: async () => {
			await context.close().catch(() => undefined);
			fs.rmSync(profile, { recursive: true, force: true });
		},
	};
}

/** Processes running a given executable (our debuggees), by /proc/PID/exe. */
export function processesOf(exe: string): number[] {
	const out: number[] = [];
	for (const e of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(e)) continue;
		try {
			if (fs.readlinkSync(`/proc/${e}/exe`) === exe) out.push(Number(e));
		} catch {
			// gone or not ours
		}
	}
	return out;
}

/** SIGKILL every process running one of these executables; returns the pids killed. */
export function killProcessesOf(exes: string[]): number[] {
	const killed: number[] = [];
	for (const exe of exes) {
		for (const pid of processesOf(exe)) {
			try {
				process.kill(pid, 'SIGKILL');
				killed.push(pid);
			} catch {
				// already gone
			}
		}
	}
	return killed;
}

/**
 * Keep what explains a failure in `dest`: code-server's log and the
 * "Forkall" output channel (extension + adapter) as VS Code persisted it
 * under the user-data dir. Returns the names of the files kept.
 */
export function keepCodeServerLogs(dirs: CodeServerDirs, dest: string): string[] {
	fs.mkdirSync(dest, { recursive: true });
	const kept: string[] = [];
	try {
		fs.copyFileSync(dirs.log, path.join(dest, 'code-server.log'));
		kept.push('code-server.log');
	} catch {
		// none
	}
	const found: string[] = [];
	const walk = (d: string): void => {
		for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
			const p = path.join(d, ent.name);
			if (ent.isDirectory()) walk(p);
			else if (/Forkall\.log$/.test(ent.name)) found.push(p);
		}
	};
	try {
		walk(path.join(dirs.data, 'logs'));
	} catch {
		// no logs
	}
	found.forEach((f, i) => {
		const name = `forkall-output${i ? `-${i}` : ''}.log`;
		fs.copyFileSync(f, path.join(dest, name));
		kept.push(name);
	});
	return kept;
}
