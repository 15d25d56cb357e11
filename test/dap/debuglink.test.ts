/*
 * Debug info in a separate file found through .gnu_debuglink (not in the
 * build-id tree): a copy of test/fixtures/stepper with its DWARF moved to
 * stepper.debug beside it (`objcopy --only-keep-debug`, `--strip-debug
 * --add-gnu-debuglink`). libdw's standard lookup would also load the
 * debuginfod client (libcurl and ~20 libraries) into the adapter at the
 * first module without local debug info; Forkall's own lookup (build-id
 * tree, then the debuglink beside the file, in .debug/, under
 * /usr/lib/debug) does not, and checks the link's CRC: a .debug file of
 * another program under the right name is not used.
 *
 * Negative controls (run by hand, 2026-12-04): with the debuglink search
 * removed (build-id only) the first test's breakpoint is not verified;
 * with the CRC not compared the second one's is (at -O0 addresses).
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, findMarker, within } from './support';

after(killAll);

const STEPPER = fixturePath('stepper');
const SRC = path.join(path.dirname(path.dirname(STEPPER)), 'stepper.c');

/** A stripped copy of stepper in a new directory whose debug file is `debugFrom`'s DWARF (stepper's own by default). */
function splitCopy(debugFrom = STEPPER): { dir: string; program: string } {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkall-debuglink-'));
	const program = path.join(dir, 'stepper');
	fs.copyFileSync(STEPPER, program);
	execFileSync('objcopy', ['--only-keep-debug', STEPPER, path.join(dir, 'stepper.debug')]);
	execFileSync('objcopy', ['--strip-debug', `--add-gnu-debuglink=${path.join(dir, 'stepper.debug')}`, program]);
	if (debugFrom !== STEPPER) execFileSync('objcopy', ['--only-keep-debug', debugFrom, path.join(dir, 'stepper.debug')]);
	const sections = execFileSync('objdump', ['-h', program], { encoding: 'utf8' });
	assert.doesNotMatch(sections, /\.debug_info/, 'the program itself has no DWARF');
	assert.match(sections, /\.gnu_debuglink/);
	return { dir, program };
}

async function breakpointIn(program: string): Promise<{ verified: boolean; frame?: DebugProtocol.StackFrame; message?: string }> {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		const initialized = dc.next('initialized');
		await within(dc.launchRequest({ program, args: ['hot', '3'] } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		const line = findMarker('HOT', SRC);
		const r = await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line }] });
		const bp = r.body.breakpoints[0];
		if (!bp.verified) return { verified: false, message: bp.message };
		const stopped = dc.next('stopped', 20000) as Promise<DebugProtocol.StoppedEvent>;
		await dc.configurationDoneRequest();
		const ev = await stopped;
		const st = await dc.stackTraceRequest({ threadId: ev.body.threadId!, levels: 1 });
		return { verified: true, frame: st.body.stackFrames[0] };
	} finally {
		await dc.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
		await dc.stop();
	}
}

test('DWARF in stepper.debug beside the stripped program (.gnu_debuglink): source breakpoints and lines work', async () => {
	const { dir, program } = splitCopy();
	try {
		const r = await breakpointIn(program);
		assert.equal(r.verified, true, `the breakpoint at stepper.c:#HOT is verified (${r.message ?? ''})`);
		assert.equal(r.frame?.name, 'hot');
		assert.equal(r.frame?.line, findMarker('HOT', SRC));
		assert.equal(r.frame?.source?.path, SRC);
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

test('the .debug file of another build of stepper.c under the linked name (its CRC differs) is not used', async () => {
	// same source, other code (-O0): its line table would put the breakpoint at wrong addresses
	const other = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'forkall-debuglink-other-')), 'stepper-O0');
	execFileSync('cc', ['-std=gnu11', '-O0', '-g', '-pthread', '-o', other, SRC, '-lm']);
	const { dir, program } = splitCopy(other);
	try {
		const r = await breakpointIn(program);
		assert.equal(r.verified, false, 'no line table: the breakpoint stays unverified');
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
		fs.rmSync(path.dirname(other), { recursive: true, force: true });
	}
});
