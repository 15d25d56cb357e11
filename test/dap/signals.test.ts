/*
 * Signals and launched programs: a program launched by forkall dap starts
 * with the signal state a shell gives it (nothing blocked; Node's ignored
 * SIGPIPE/SIGXFSZ back to default), so its handlers run.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { DapClient, within } from './support';

after(killAll);

/** Bit of signal `sig` in a /proc status signal-set mask. */
function has(mask: bigint, sig: number): boolean {
	return ((mask >> BigInt(sig - 1)) & 1n) === 1n;
}

test('launch: clean signal state — empty mask, SIGPIPE/SIGXFSZ not ignored, handlers run', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		let stdout = '';
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'stdout') stdout += e.body.output;
		});
		// Every signal stops the program today: continue through the stops.
		let stops = 0;
		dc.on('stopped', (e: DebugProtocol.StoppedEvent) => {
			stops++;
			void dc.continueRequest({ threadId: e.body.threadId ?? 0 }).catch(() => undefined);
		});
		const initialized = dc.next('initialized');
		await within(dc.launchRequest({ program: fixturePath('sigstate') } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		const exited = dc.next('exited');
		await dc.configurationDoneRequest();
		const ex = (await exited) as DebugProtocol.ExitedEvent;
		assert.equal(ex.body.exitCode, 0, `exit code; output:\n${stdout}`);
		const blk = /SigBlk:\s*([0-9a-f]+)/.exec(stdout);
		const ign = /SigIgn:\s*([0-9a-f]+)/.exec(stdout);
		assert.ok(blk && ign, `status lines in the output:\n${stdout}`);
		assert.equal(BigInt(`0x${blk[1]}`), 0n, `SigBlk ${blk[1]}: the program starts with signals blocked`);
		const ignored = BigInt(`0x${ign[1]}`);
		assert.ok(!has(ignored, 13), `SigIgn ${ign[1]}: SIGPIPE is ignored`);
		assert.ok(!has(ignored, 25), `SigIgn ${ign[1]}: SIGXFSZ is ignored`);
		assert.match(stdout, /^usr1 3$/m, 'the SIGUSR1 handler ran 3 times');
		assert.ok(stops <= 3, `${stops} stops for 3 signals`);
	} finally {
		await dc.stop();
	}
});

/* Launch sigloop 20 with the given launch attributes and exception filters;
 * optional Debug Console commands at the entry stop. */
async function sigloop(
	extra: Record<string, unknown>,
	filters: string[] | null,
	repl: string[] = [],
): Promise<{ stops: number; events: DebugProtocol.StoppedEvent[]; stdout: string; replies: string[] }> {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		let stdout = '';
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'stdout') stdout += e.body.output;
		});
		const events: DebugProtocol.StoppedEvent[] = [];
		const replies: string[] = [];
		let entry: DebugProtocol.StoppedEvent | null = null;
		const entered = new Promise<void>((resolve) => {
			dc.on('stopped', (e: DebugProtocol.StoppedEvent) => {
				if (repl.length && !entry) {
					entry = e;
					resolve();
					return;
				}
				events.push(e);
				void dc.continueRequest({ threadId: e.body.threadId ?? 0 }).catch(() => undefined);
			});
		});
		const initialized = dc.next('initialized');
		await within(
			dc.launchRequest({
				program: fixturePath('sigloop'),
				args: ['20'],
				followForks: 'parent',
				...(repl.length ? { stopAtEntry: true } : {}),
				...extra,
			} as DebugProtocol.LaunchRequestArguments),
			20000,
			'launch',
		);
		await initialized;
		if (filters) await dc.setExceptionBreakpointsRequest({ filters });
		const exited = dc.next('exited', 60000);
		await dc.configurationDoneRequest();
		if (repl.length) {
			await within(entered, 20000, 'entry stop');
			const st = await dc.stackTraceRequest({ threadId: entry!.body.threadId!, levels: 1 });
			for (const cmd of repl) {
				replies.push(
					(await dc.evaluateRequest({ expression: cmd, context: 'repl', frameId: st.body.stackFrames[0].id })).body.result,
				);
			}
			await dc.continueRequest({ threadId: entry!.body.threadId! });
		}
		const ex = (await exited) as DebugProtocol.ExitedEvent;
		assert.equal(ex.body.exitCode, 0, `exit code; output:\n${stdout}`);
		assert.match(stdout, /^usr1 20 alrm 5 chld 3$/m, 'every handler ran: the signals were passed');
		return { stops: events.length, events, stdout, replies };
	} finally {
		await dc.stop();
	}
}

test('"signals": {"SIGUSR1": "nostop noprint pass"} in launch.json: no stop, the handler still runs 20 times', async () => {
	const r = await sigloop({ signals: { SIGUSR1: 'nostop noprint pass' } }, null);
	assert.equal(r.stops, 0);
});

test('exception filters: "Other signals that stop" unchecked -> SIGUSR1 passes silently; the capability lists both filters', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		const init = await dc.init();
		assert.deepEqual(
			init.body?.exceptionBreakpointFilters?.map((f) => [f.filter, f.default]),
			[
				['fatal', true],
				['other', true],
			],
		);
	} finally {
		await dc.stop();
	}
	const r = await sigloop({}, ['fatal']);
	assert.equal(r.stops, 0);
});

test("Debug Console: handle SIGUSR1 nostop noprint, then info signals — gdb's rows; the program then runs through", async () => {
	const r = await sigloop({}, null, ['handle SIGUSR1 nostop noprint', 'info signals SIGUSR1 SIGCHLD SIGINT']);
	assert.equal(r.stops, 0, 'handle took effect');
	assert.match(r.replies[0], /^SIGUSR1\s+No\s+No\s+Yes\s+User defined signal 1$/m);
	assert.match(r.replies[1], /^SIGCHLD\s+No\s+No\s+Yes\s+/m);
	assert.match(r.replies[1], /^SIGINT\s+Yes\s+Yes\s+No\s+/m);
	assert.equal(r.replies[1].split('\n').length, 4, 'a header and the three rows');
});

test('"signals" mistakes are launch errors that name the key; nothing is started', async () => {
	for (const [signals, want] of [
		[{ SIGFOO: 'nostop' }, /"signals"\."SIGFOO": unknown signal name/],
		[{ SIGUSR1: 'nostp' }, /"signals"\."SIGUSR1": unknown word "nostp"/],
		[{ SIGKILL: 'nostop' }, /SIGKILL cannot be/],
	] as const) {
		const dc = new DapClient();
		await dc.start();
		try {
			await dc.init();
			const msg = await dc.expectError('launch', { program: fixturePath('sigloop'), signals });
			assert.match(msg, want);
		} finally {
			await dc.stop();
		}
	}
});

test('signal table, gdb defaults: SIGUSR1 stops every time and is passed; SIGALRM and SIGCHLD never stop', async () => {
	const r = await sigloop({}, null);
	const what = r.events.map((s) => s.body.description ?? s.body.text ?? s.body.reason).join(', ');
	assert.equal(r.stops, 20, `20 stops (SIGUSR1), none for SIGALRM/SIGCHLD: ${what}`);
	for (const s of r.events) assert.match(`${s.body.description ?? ''} ${s.body.text ?? ''}`, /SIGUSR1/, 'each stop names SIGUSR1');
});
