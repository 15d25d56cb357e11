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

test('signal table, gdb defaults: SIGUSR1 stops every time and is passed; SIGALRM and SIGCHLD never stop', async () => {
	const dc = new DapClient();
	await dc.start();
	try {
		await dc.init();
		let stdout = '';
		dc.on('output', (e: DebugProtocol.OutputEvent) => {
			if (e.body.category === 'stdout') stdout += e.body.output;
		});
		const stops: DebugProtocol.StoppedEvent[] = [];
		dc.on('stopped', (e: DebugProtocol.StoppedEvent) => {
			stops.push(e);
			void dc.continueRequest({ threadId: e.body.threadId ?? 0 }).catch(() => undefined);
		});
		const initialized = dc.next('initialized');
		await within(dc.launchRequest({ program: fixturePath('sigloop'), args: ['20'] } as DebugProtocol.LaunchRequestArguments), 20000, 'launch');
		await initialized;
		const exited = dc.next('exited', 60000);
		await dc.configurationDoneRequest();
		const ex = (await exited) as DebugProtocol.ExitedEvent;
		assert.equal(ex.body.exitCode, 0, `exit code; output:\n${stdout}`);
		assert.match(stdout, /^usr1 20 alrm 5 chld 3$/m, 'every handler ran: the signals were passed');
		assert.equal(stops.length, 20, `20 stops (SIGUSR1), none for SIGALRM/SIGCHLD: ${stops.map((s) => s.body.description ?? s.body.text ?? s.body.reason).join(', ')}`);
		for (const s of stops) assert.match(`${s.body.description ?? ''} ${s.body.text ?? ''}`, /SIGUSR1/, 'each stop names SIGUSR1');
	} finally {
		await dc.stop();
	}
});
