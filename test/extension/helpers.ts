/*
 * Helpers for the extension-host suites (they run inside VS Code's
 * extension host: `vscode` is the real API). Every DAP message between VS
 * Code and the Forkall adapter is recorded by a DebugAdapterTracker, so the
 * tests see what VS Code really sent and got.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ForkallApi } from '../../extension/src/main';
import { PROGRAMS } from './workspace';

export const EXTENSION_ID = 'forkall.forkall';

export function extension(): vscode.Extension<ForkallApi> {
	const ext = vscode.extensions.getExtension<ForkallApi>(EXTENSION_ID);
	assert.ok(ext, `extension ${EXTENSION_ID} is loaded (extensionDevelopmentPath)`);
	return ext;
}

/** Activate the extension (for suites run alone: FORKALL_EXT_GREP); the activation suite checks it happens by itself. */
export async function activated(): Promise<void> {
	await extension().activate();
}

/** The extension's API (activate()'s result); it must be active already. */
export function api(): ForkallApi {
	const ext = extension();
	assert.ok(ext.isActive, 'the Forkall extension is active');
	return ext.exports;
}

export function folder(): vscode.WorkspaceFolder {
	const f = vscode.workspace.workspaceFolders?.[0];
	assert.ok(f, 'a workspace folder is open (the prepared test workspace)');
	return f;
}

export function program(name: keyof typeof PROGRAMS): string {
	return path.join(folder().uri.fsPath, 'build', PROGRAMS[name]);
}

/** 1-based line of the line holding `marker` in a workspace file. */
export function markerLine(file: string, marker: string): number {
	const lines = fs.readFileSync(path.join(folder().uri.fsPath, file), 'utf8').split('\n');
	const i = lines.findIndex((l) => l.includes(marker));
	assert.ok(i >= 0, `${marker} in ${file}`);
	return i + 1;
}

export function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}

/** Poll until `f` gives a truthy value. */
export async function waitFor<T>(
	what: string,
	f: () => T | undefined | null | false | Promise<T | undefined | null | false>,
	ms = 30000,
): Promise<T> {
	const t0 = Date.now();
	let last: unknown;
	for (;;) {
		try {
			const v = await f();
			if (v) return v;
		} catch (e) {
			last = e;
		}
		if (Date.now() - t0 > ms) {
			throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
		}
		await sleep(100);
	}
}

export interface Recorded {
	session: vscode.DebugSession;
	/** adapter -> VS Code (responses and events), in order */
	fromAdapter: DebugProtocol.ProtocolMessage[];
	/** VS Code -> adapter (requests), in order */
	toAdapter: DebugProtocol.ProtocolMessage[];
	exited: boolean;
}

const recorded = new Map<string, Recorded>();
const started: vscode.DebugSession[] = [];
const ended = new Set<string>();
let installed = false;

/** Record every Forkall session's DAP traffic and start (idempotent; call from suiteSetup). */
export function installRecorder(): void {
	if (installed) return;
	installed = true;
	vscode.debug.registerDebugAdapterTrackerFactory('forkall', {
		createDebugAdapterTracker(session) {
			const r: Recorded = { session, fromAdapter: [], toAdapter: [], exited: false };
			recorded.set(session.id, r);
			return {
				onDidSendMessage: (m: DebugProtocol.ProtocolMessage) => void r.fromAdapter.push(m),
				onWillReceiveMessage: (m: DebugProtocol.ProtocolMessage) => void r.toAdapter.push(m),
				onExit: () => {
					r.exited = true;
				},
			};
		},
	});
	vscode.debug.onDidStartDebugSession((s) => started.push(s));
	vscode.debug.onDidTerminateDebugSession((s) => ended.add(s.id));
}

/** Wait for onDidTerminateDebugSession of a session. */
export function terminated(s: vscode.DebugSession, ms = 20000): Promise<true> {
	return waitFor(`session "${s.name}" ended`, () => ended.has(s.id), ms);
}

export function traffic(s: vscode.DebugSession): Recorded {
	const r = recorded.get(s.id);
	assert.ok(r, `DAP traffic of session "${s.name}" recorded`);
	return r;
}

/** Sessions started so far (onDidStartDebugSession), oldest first. */
export function startedSessions(): readonly vscode.DebugSession[] {
	return started;
}

export function events<T extends DebugProtocol.Event>(s: vscode.DebugSession, name: string): T[] {
	return traffic(s).fromAdapter.filter((m): m is T => m.type === 'event' && (m as DebugProtocol.Event).event === name);
}

export function requests<T extends DebugProtocol.Request>(s: vscode.DebugSession, command: string): T[] {
	return traffic(s).toAdapter.filter((m): m is T => m.type === 'request' && (m as DebugProtocol.Request).command === command);
}

/** What a session printed in one output category (none given: "console", as DAP says). */
export function output(s: vscode.DebugSession, category: string): string {
	return events<DebugProtocol.OutputEvent>(s, 'output')
		.filter((e) => (e.body.category ?? 'console') === category)
		.map((e) => e.body.output)
		.join('');
}

/** A session's exit code, once its exited event came (`what`: for the timeout's message). */
export async function exitCode(s: vscode.DebugSession, what: string, ms = 30000): Promise<number> {
	return (await waitFor(what, () => events<DebugProtocol.ExitedEvent>(s, 'exited')[0], ms)).body.exitCode;
}

/** The session VS Code started for the first child (fork) of s's process, once it came. */
export function childSessionOf(s: vscode.DebugSession, what = 'the child session'): Promise<vscode.DebugSession> {
	return waitFor(what, () => startedSessions().find((x) => x.parentSession?.id === s.id));
}

/** The n-th (0-based) stopped event of a session, once it came. */
export function stopped(s: vscode.DebugSession, n = 0, ms = 30000): Promise<DebugProtocol.StoppedEvent> {
	return waitFor(`stop #${n + 1} of "${s.name}"`, () => events<DebugProtocol.StoppedEvent>(s, 'stopped')[n], ms);
}

/** Start a configuration and wait for its session. */
export async function start(
	config: vscode.DebugConfiguration | string,
	options?: vscode.DebugSessionOptions,
): Promise<vscode.DebugSession> {
	const before = started.length;
	const ok = await vscode.debug.startDebugging(folder(), config, options);
	assert.equal(ok, true, `startDebugging(${JSON.stringify(config)}) succeeded`);
	return waitFor('the new session', () => started.slice(before).find((s) => s.type === 'forkall' && !s.parentSession));
}

/** Stop every session and wait until none is left. */
export async function stopAll(): Promise<void> {
	await vscode.debug.stopDebugging();
	// Seen once in ~30 CI runs: after a session ended (its adapter connection closed), the extension host
	// still named it the active session ("Error: cannot find session" in the workbench) and every later
	// test saw it. Stop whatever is still named, by id, and then everything, before giving up.
	for (let round = 0; round < 3; round++) {
		try {
			await waitFor('no debug session', () => vscode.debug.activeDebugSession === undefined, round === 0 ? 10000 : 5000);
			return;
		} catch (e) {
			const left = vscode.debug.activeDebugSession;
			if (round === 2 || !left) throw e;
			console.log(`stopAll: session "${left.name}" still active after a stop (round ${round + 1}): stopping it again`);
			await vscode.debug.stopDebugging(left).then(undefined, () => undefined);
			await vscode.commands.executeCommand('workbench.action.debug.stop').then(undefined, () => undefined);
		}
	}
}

/** Threads of a stopped session, through VS Code (customRequest). */
export async function threads(s: vscode.DebugSession): Promise<DebugProtocol.Thread[]> {
	return ((await s.customRequest('threads')) as DebugProtocol.ThreadsResponse['body']).threads;
}

export async function topFrame(s: vscode.DebugSession, threadId: number): Promise<DebugProtocol.StackFrame> {
	const body = (await s.customRequest('stackTrace', { threadId, startFrame: 0, levels: 1 })) as DebugProtocol.StackTraceResponse['body'];
	assert.ok(body.stackFrames[0], `a frame for thread ${threadId}`);
	return body.stackFrames[0];
}

/** A line breakpoint in a workspace file. */
export function lineBreakpoint(file: string, line: number): vscode.SourceBreakpoint {
	const uri = vscode.Uri.file(path.join(folder().uri.fsPath, file));
	return new vscode.SourceBreakpoint(new vscode.Location(uri, new vscode.Position(line - 1, 0)));
}

export function removeAllBreakpoints(): void {
	vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
}

/** A debugging suite's suiteSetup: the recorder installed, the extension active, no breakpoint left from before. */
export async function readyToDebug(): Promise<void> {
	installRecorder();
	await activated();
	removeAllBreakpoints();
}

/** /proc/PID/stat's state letter and /proc/PID/status' TracerPid; null when gone. */
export function procState(pid: number): { state: string; tracerPid: number; threads: number } | null {
	try {
		const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
		const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
		const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
		return {
			state,
			tracerPid: Number(/^TracerPid:\s*(\d+)/m.exec(status)?.[1] ?? -1),
			threads: Number(/^Threads:\s*(\d+)/m.exec(status)?.[1] ?? -1),
		};
	} catch {
		return null;
	}
}

/** The process (thread group) a thread belongs to: TracerPid names the tracer thread. */
export function tgidOf(tid: number): number | null {
	try {
		return Number(/^Tgid:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${tid}/status`, 'utf8'))?.[1] ?? NaN);
	} catch {
		return null;
	}
}

/** Kill a process we made (a forked child left running or stopped); wait until it is gone or a zombie. */
export async function killPid(pid: number): Promise<void> {
	try {
		process.kill(pid, 'SIGKILL');
	} catch {
		return;
	}
	await waitFor(
		`pid ${pid} gone`,
		() => {
			const st = procState(pid);
			return st === null || st.state === 'Z';
		},
		10000,
	).catch(() => undefined);
}

/** The setting, written to the workspace and put back (undefined removes it). */
export async function setSetting(key: string, value: unknown): Promise<void> {
	const [section, ...rest] = key.split('.');
	await vscode.workspace.getConfiguration(section).update(rest.join('.'), value, vscode.ConfigurationTarget.Workspace);
}
