/*
 * forkall dap, attach flows: threads of a 64-thread process, registers and
 * LWP scopes, memory, disassembly, pause/continue, the LWP table, and
 * disconnect leaving the process running and untraced.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { killAll, spawnFixture } from '../helpers/procs';
import { assertNotStoppedOrTraced, listTasks } from '../helpers/procfs';
import type { LwpsResponseBody } from '../../adapter/src/dap/custom';
import { DapClient, Golden, type DapdemoTruth } from './support';

after(killAll);

async function withClient(fn: (dc: DapClient) => Promise<void>): Promise<void> {
	const dc = new DapClient();
	await dc.start();
	try {
		await fn(dc);
	} finally {
		await dc.stop();
	}
}

function varsByName(v: DebugProtocol.Variable[]): Map<string, DebugProtocol.Variable> {
	return new Map(v.map((x) => [x.name, x]));
}

test('attach to a 64-thread process: 65 threads, ids are the tids, names lead with comm and tid', async () => {
	const fx = await spawnFixture('threads', ['64', '--spinners', '2']);
	await withClient(async (dc) => {
		await dc.init();
		const stop = await dc.attachStopped(fx.pid);
		assert.equal(stop.body.reason, 'pause');
		assert.equal(stop.body.allThreadsStopped, true);
		const th = await dc.threadsRequest();
		assert.equal(th.body.threads.length, 65);
		assert.deepEqual(
			th.body.threads.map((t) => t.id).sort((a, b) => a - b),
			listTasks(fx.pid),
		);
		for (const t of th.body.threads) {
			assert.match(t.name, new RegExp(`^\\S.* \\(${t.id}\\)( in \\w+| uninterruptible| zombie)?$`), `thread name ${t.name}`);
			assert.ok(t.name.length <= 40, `short enough for the Call Stack: ${t.name}`);
		}
		assert.ok(
			th.body.threads.some((t) => /^w1-cond \(\d+\) in futex$/.test(t.name)),
			'a cond worker shows its futex wait',
		);
		await dc.disconnectRequest({});
	});
	assertNotStoppedOrTraced(fx.pid, 'after disconnect');
	await fx.kill();
});

test('pause/continue transcript; disconnect leaves the process running and untraced', async () => {
	const fx = await spawnFixture<DapdemoTruth>('dapdemo', ['wait']);
	const g = new Golden('attach-pause-continue').alias(fx.pid, 'pid');
	fx.truth.tids.forEach((t, i) => g.alias(t, `worker${i}`));
	await withClient(async (dc) => {
		const init = await dc.init();
		// Capabilities that depend on which native ops the library has are checked in launch.test.ts.
		const {
			supportsFunctionBreakpoints: _f,
			supportsInstructionBreakpoints: _i,
			supportsSteppingGranularity: _s,
			...stable
		} = init.body ?? {};
		g.log('capabilities', stable);
		const initialized = dc.next('initialized');
		await dc.attachRequest({ pid: fx.pid } as DebugProtocol.AttachRequestArguments);
		await initialized;
		g.log('attached (running)');
		await dc.configurationDoneRequest();
		const th = await dc.threadsRequest();
		g.log(
			'threads while running',
			th.body.threads.map((t) => t.id),
		);
		const stopped = dc.next('stopped');
		const lwpsChanged = dc.next('lwpsChanged');
		await dc.pauseRequest({ threadId: fx.pid });
		g.log('stopped', (await stopped).body);
		const lc = (await lwpsChanged).body as { pid: number; reason: string; lwps: { tid: number; name: string }[] };
		g.log('lwpsChanged', { pid: lc.pid, reason: lc.reason, lwps: lc.lwps.map((l) => `${l.tid} ${l.name}`) });
		for (const tid of listTasks(fx.pid)) {
			assert.match(fs.readFileSync(`/proc/${fx.pid}/task/${tid}/stat`, 'utf8'), /\) t /, `tid ${tid} is in a tracing stop`);
		}
		const cont = await dc.continueRequest({ threadId: fx.pid });
		g.log('continue', cont.body);
		await fx.waitAdvance(null, 1, 5000).catch(() => undefined);
		const stopped2 = dc.next('stopped');
		await dc.pauseRequest({ threadId: fx.truth.tids[1] });
		g.log('stopped again', (await stopped2).body);
		const disc = await dc.disconnectRequest({});
		g.log('disconnect', disc.body ?? {});
	});
	g.assertMatches();
	assertNotStoppedOrTraced(fx.pid, 'after disconnect');
	assert.equal(listTasks(fx.pid).length, 3, 'all three threads still there');
	await fx.kill();
});

test('registers scope: rbx/r12 of the regs fixture worker, groups, memoryReference on GPRs', async () => {
	const fx = await spawnFixture<{ tid: number; rbx: string; r12: string; isa: string }>('regs', []);
	const g = new Golden('registers')
		.alias(fx.pid, 'pid')
		.alias(fx.truth.tid, 'worker')
		.keepHex('0x1111111111111111')
		.keepHex('0x2222222222222222');
	await withClient(async (dc) => {
		await dc.init();
		await dc.attachStopped(fx.pid);
		const st = await dc.stackTraceRequest({ threadId: fx.truth.tid, startFrame: 0, levels: 1 });
		assert.ok(st.body.stackFrames.length >= 1);
		for (const f of st.body.stackFrames) assert.match(f.instructionPointerReference ?? '', /^0x[0-9a-f]+$/);
		const sc = await dc.scopesRequest({ frameId: st.body.stackFrames[0].id });
		g.log(
			'scopes',
			sc.body.scopes.map((s) => ({ name: s.name, presentationHint: s.presentationHint, expensive: s.expensive })),
		);
		const regScope = sc.body.scopes.find((s) => s.presentationHint === 'registers')!;
		const groups = (await dc.variablesRequest({ variablesReference: regScope.variablesReference })).body.variables;
		g.log(
			'groups',
			groups.map((x) => x.name).filter((n) => !n.startsWith('AVX')),
		);
		assert.equal(
			groups.some((x) => x.name === 'AVX'),
			fx.truth.isa !== 'sse',
			'AVX group when the CPU has AVX',
		);
		assert.equal(
			groups.some((x) => x.name === 'AVX-512'),
			fx.truth.isa === 'avx512',
			'AVX-512 group when the CPU has it',
		);
		const general = varsByName((await dc.variablesRequest({ variablesReference: groups[0].variablesReference })).body.variables);
		assert.equal(BigInt(general.get('rbx')!.value), BigInt(fx.truth.rbx));
		assert.equal(BigInt(general.get('r12')!.value), BigInt(fx.truth.r12));
		g.log('rbx', general.get('rbx'));
		g.log('r12', general.get('r12'));
		assert.equal(general.get('rip')!.memoryReference, `0x${BigInt(general.get('rip')!.value).toString(16)}`);
		const flags = groups.find((x) => x.name === 'rflags')!;
		const bits = (await dc.variablesRequest({ variablesReference: flags.variablesReference })).body.variables;
		g.log(
			'rflags bits',
			bits.map((b) => b.name),
		);
		const sse = groups.find((x) => x.name === 'SSE')!;
		const xmm = varsByName((await dc.variablesRequest({ variablesReference: sse.variablesReference })).body.variables);
		assert.ok(xmm.has('mxcsr') && xmm.has('xmm15'));
		const lwpScope = sc.body.scopes.find((s) => s.name === 'LWP')!;
		const lwp = varsByName((await dc.variablesRequest({ variablesReference: lwpScope.variablesReference })).body.variables);
		g.log('LWP names', [...lwp.keys()]);
		assert.equal(lwp.get('tid')!.value, String(fx.truth.tid));
		assert.equal(lwp.get('name')!.value, '"regs-spin"');
		assert.match(lwp.get('SP depth')!.value, /^\d+ bytes$/);
		await dc.disconnectRequest({});
	});
	g.assertMatches();
	assertNotStoppedOrTraced(fx.pid, 'after disconnect');
	await fx.kill();
});

test('readMemory of a known global, writeMemory round trip, unreadable bytes, disassemble returns exactly N', async () => {
	const fx = await spawnFixture<DapdemoTruth>('dapdemo', ['wait']);
	await withClient(async (dc) => {
		await dc.init();
		await dc.attachStopped(fx.pid);
		const m = (await dc.send('readMemory', { memoryReference: fx.truth.magic, count: 8 })) as DebugProtocol.ReadMemoryResponse;
		assert.equal(Buffer.from(m.body!.data!, 'base64').readBigUInt64LE(), 0x1122334455667788n);
		assert.equal(m.body!.address, fx.truth.magic);
		const t = (await dc.send('readMemory', { memoryReference: fx.truth.text, count: 15 })) as DebugProtocol.ReadMemoryResponse;
		assert.equal(Buffer.from(t.body!.data!, 'base64').toString(), 'forkall-dapdemo');

		const memEvent = dc.next('memory');
		const w = (await dc.send('writeMemory', {
			memoryReference: fx.truth.text,
			offset: 8,
			data: Buffer.from('DAPDEMO').toString('base64'),
		})) as DebugProtocol.WriteMemoryResponse;
		assert.equal(w.body!.bytesWritten, 7);
		const me = (await memEvent) as DebugProtocol.MemoryEvent;
		assert.equal(me.body.offset, 8);
		const t2 = (await dc.send('readMemory', { memoryReference: fx.truth.text, count: 15 })) as DebugProtocol.ReadMemoryResponse;
		assert.equal(Buffer.from(t2.body!.data!, 'base64').toString(), 'forkall-DAPDEMO');

		const z = (await dc.send('readMemory', { memoryReference: '0x0', count: 64 })) as DebugProtocol.ReadMemoryResponse;
		assert.equal(Buffer.from(z.body!.data ?? '', 'base64').length, 0);
		assert.equal(z.body!.unreadableBytes, 64);

		const st = await dc.stackTraceRequest({ threadId: fx.pid });
		const pc = st.body.stackFrames[0].instructionPointerReference!;
		for (const [off, n] of [
			[0, 1],
			[0, 17],
			[-5, 12],
			[-40, 10],
			[3, 50],
		] as const) {
			const d = (await dc.send('disassemble', {
				memoryReference: pc,
				instructionOffset: off,
				instructionCount: n,
			})) as DebugProtocol.DisassembleResponse;
			assert.equal(d.body!.instructions.length, n, `offset ${off} count ${n}`);
		}
		const d = (await dc.send('disassemble', {
			memoryReference: pc,
			instructionOffset: -3,
			instructionCount: 6,
		})) as DebugProtocol.DisassembleResponse;
		assert.equal(BigInt(d.body!.instructions[3].address), BigInt(pc), 'instruction 3 of offset -3 is the pc');
		assert.ok(
			d.body!.instructions.every((i) => i.presentationHint !== 'invalid'),
			'libc code decodes',
		);
		const bad = (await dc.send('disassemble', { memoryReference: '0x10', instructionCount: 7 })) as DebugProtocol.DisassembleResponse;
		assert.equal(bad.body!.instructions.length, 7);
		assert.ok(
			bad.body!.instructions.every((i) => i.presentationHint === 'invalid'),
			'unreadable memory gives invalid entries',
		);

		// A worker's stack runs through libc (usleep/clock_nanosleep) into worker() (when the library has the stack op).
		const ws = await dc.stackTraceRequest({ threadId: fx.truth.tids[0] });
		if (ws.body.stackFrames.length > 1) {
			const names = ws.body.stackFrames.map((f) => f.name);
			// worker() may be inlined into worker_start() at -O1
			assert.ok(
				names.some((n) => /^worker/.test(n)),
				`worker on the stack: ${names.join(' <- ')}`,
			);
			assert.ok(
				ws.body.stackFrames.some((f) => f.presentationHint === 'subtle'),
				'libc frames (no source) are subtle',
			);
			assert.ok(
				ws.body.stackFrames.every((f) => /^0x[0-9a-f]+$/.test(f.instructionPointerReference ?? '')),
				'every frame has an instructionPointerReference',
			);
			const w = ws.body.stackFrames.find((f) => /^worker/.test(f.name))!;
			assert.equal(w.source?.name, 'dapdemo.c');
		}
		const lw = (await dc.customRequest('lwps')).body as LwpsResponseBody;
		assert.equal(lw.pid, fx.pid);
		assert.deepEqual(
			lw.lwps.map((l) => l.tid).sort((a, b) => a - b),
			[fx.pid, ...fx.truth.tids].sort((a, b) => a - b),
		);
		assert.ok(lw.lwps.every((l) => l.pthread !== null && l.stack !== null));
		await dc.disconnectRequest({});
	});
	assertNotStoppedOrTraced(fx.pid, 'after disconnect');
	await fx.kill();
});
