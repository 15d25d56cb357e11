/*
 * The native protocol's conformance test: native/protocol/schema.json is
 * the one description of every request, body, event and message, and
 * this checks both sides against it.
 *
 *  - the schema itself: every operation has an example request and
 *    response, every event an example, and each validates (strictly: no
 *    member the schema does not name);
 *  - the generated files are up to date (scripts/gen-protocol.js --check);
 *  - the library's handshake lists exactly the schema's operations and
 *    events, in its protocol version;
 *  - the real library: every operation is called, and EVERY message it
 *    sends in the meantime (results, errors, events, logs) is validated
 *    strictly — by the raw binding, not through Tracer, so nothing is
 *    normalized on the way; at the end every operation must have answered
 *    ok at least once and every event kind must have been seen.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadNative, type NativeLib, type TracerHandle } from '../../adapter/src/engine/native';
import {
	bodyValidators,
	defValidators,
	EVENT_NAMES,
	eventValidators,
	OP_NAMES,
	PROTOCOL_VERSION,
	requestValidators,
	type BodyByOp,
	type EventName,
	type NativeError,
	type OpName,
	type RequestByOp,
} from '../../adapter/src/engine/protocol';
import { parseMessage } from '../../adapter/src/engine/protocol';
import { Tracer } from '../../adapter/src/engine/tracer';
import { ROOT, fixturePath, FIXTURES_SRC } from '../helpers/paths';
import { deadPid, killAll, spawnProgram, type Fixture } from '../helpers/procs';

after(killAll);

const STRICT = { strict: true } as const;

interface SchemaFile {
	'x-version': number;
	ops: Record<string, { example: { request: unknown; response: unknown } }>;
	/* x-conformance: why the live test cannot make the library send it (yet) */
	events: Record<string, { example: unknown; 'x-conformance'?: string }>;
}
const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'native/protocol/schema.json'), 'utf8')) as SchemaFile;

test('schema: every operation and event has an example, and it validates', () => {
	assert.equal(schema['x-version'], PROTOCOL_VERSION);
	assert.deepEqual(Object.keys(schema.ops), [...OP_NAMES]);
	assert.deepEqual(Object.keys(schema.events), [...EVENT_NAMES]);
	for (const op of OP_NAMES) {
		const ex = schema.ops[op].example;
		assert.ok(ex && ex.request && ex.response, `${op}: example request and response`);
		requestValidators[op](structuredClone(ex.request), STRICT);
		bodyValidators[op](structuredClone(ex.response), STRICT);
	}
	for (const ev of EVENT_NAMES) {
		eventValidators[ev](structuredClone(schema.events[ev].example), STRICT);
	}
	// one instruction of an LWP holding a breakpoint hit never reported: that
	// hit is the answer, nothing ran (test/dap/pendinghit.test.ts makes it live)
	bodyValidators.step({ pid: 1234, tid: 1236, reason: 'breakpoint', stopTid: 1236, addr: '0x401136', pc: '0x401136' }, STRICT);
	// the validators reject what the schema does not describe
	assert.throws(() => requestValidators.threads({ op: 'threads', pid: 1, extra: 1 }, STRICT), /request\.extra/);
	assert.throws(() => requestValidators.bpInsert({ op: 'bpInsert', pid: 1, addr: 4096 }, STRICT), /request\.addr/);
	assert.throws(
		() => eventValidators.stopped({ type: 'event', event: 'stopped', pid: 1, tid: 1, reason: 'step', signal: 5 }, STRICT),
		/stopped\.reason should be one of signal\|breakpoint/,
	);
	assert.throws(() => eventValidators.exited({ type: 'event', event: 'exited', pid: 1 }), /exitCode or signal/);
	// outside strict mode an unknown error kind (a newer library) reads as "failed"
	const e = defValidators.NativeError({ code: '', errno: 0, kind: 'brand-new', step: 's', message: 'm' }) as NativeError;
	assert.equal(e.kind, 'failed');
	const r = parseMessage(
		'{"type":"result","id":1,"ok":false,"error":{"code":"","errno":0,"kind":"brand-new","step":"s","message":"m","more":1}}',
	);
	assert.ok(r.type === 'result' && !r.ok && r.error.kind === 'failed');
	// an event of a newer library is passed on as it is; a known one is checked
	assert.deepEqual(parseMessage('{"type":"event","event":"brandNew","x":1}'), { type: 'event', event: 'brandNew', x: 1 });
	assert.throws(() => parseMessage('{"type":"event","event":"stopped","pid":1}'), /stopped\.tid should be present/);
	assert.throws(() => parseMessage('{"type":"nope"}'), /message\.type should be one of result\|event\|log/);
});

test('generated files are up to date', () => {
	const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/gen-protocol.js'), '--check'], { encoding: 'utf8' });
	assert.equal(r.status, 0, r.stderr);
});

test('handshake: the library implements exactly the schema', () => {
	const h = Tracer.handshake();
	assert.equal(h.protocol, PROTOCOL_VERSION);
	assert.equal(h.version, Tracer.nativeVersion());
	assert.deepEqual(h.ops, [...OP_NAMES]);
	assert.deepEqual(h.events, [...EVENT_NAMES]);
	defValidators.Handshake(JSON.parse(loadNative().protocol()), STRICT);
});

type Reply<K extends OpName> = { ok: true; body: BodyByOp[K] } | { ok: false; error: NativeError };
type EventMsg = { event: EventName } & Record<string, unknown>;

/** The raw binding, every message validated strictly as it arrives. */
class Checked {
	readonly lib: NativeLib = loadNative();
	readonly fk: TracerHandle = this.lib.open();
	readonly okOps = new Set<OpName>();
	readonly events: EventMsg[] = [];
	readonly kinds = new Set<string>();
	readonly logs: string[] = [];
	private readonly pending = new Map<number, OpName>();
	private readonly replies = new Map<number, Reply<OpName>>();

	/** A request the schema allows (checked first), and its validated reply. */
	async call<K extends OpName>(op: K, args: RequestByOp[K]): Promise<Reply<K>> {
		const req = { op, ...args };
		requestValidators[op](structuredClone(req), STRICT);
		return this.send(op, JSON.stringify(req));
	}

	/** Any text (malformed requests); replies are validated all the same. */
	async send<K extends OpName>(op: K, text: string): Promise<Reply<K>> {
		const id = this.lib.request(this.fk, text);
		assert.ok(id > 0, `fk_request: ${id}`);
		this.pending.set(id, op);
		const deadline = Date.now() + 30000;
		while (!this.replies.has(id)) {
			assert.ok(Date.now() < deadline, `no reply to ${text} within 30 s`);
			await this.pump(200);
		}
		const r = this.replies.get(id)!;
		this.replies.delete(id);
		return r as Reply<K>;
	}

	async ok<K extends OpName>(op: K, args: RequestByOp[K]): Promise<BodyByOp[K]> {
		const r = await this.call(op, args);
		assert.ok(r.ok, `${op} ${JSON.stringify(args)}: ${r.ok ? '' : r.error.message}`);
		return r.body;
	}

	async waitEvent(pred: (e: EventMsg) => boolean, what: string, timeoutMs = 20000): Promise<EventMsg> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const e = this.events.find(pred);
			if (e) return e;
			assert.ok(Date.now() < deadline, `no ${what} event within ${timeoutMs} ms`);
			await this.pump(100);
		}
	}

	private async pump(ms: number): Promise<void> {
		if ((await this.lib.waitAsync(this.fk, ms)) !== 1) return;
		for (let raw = this.lib.nextMessage(this.fk); raw !== null; raw = this.lib.nextMessage(this.fk)) {
			this.check(raw);
		}
	}

	private check(raw: string): void {
		const m = JSON.parse(raw) as Record<string, unknown>;
		try {
			if (m.type === 'result') {
				const id = m.id as number;
				const op = this.pending.get(id);
				assert.ok(op, `a result for request ${id} that was not sent`);
				this.pending.delete(id);
				if (m.ok === true) {
					defValidators.ResultOk(m, STRICT, 'result');
					this.replies.set(id, { ok: true, body: bodyValidators[op](m.body, STRICT) });
					this.okOps.add(op);
				} else {
					const r = defValidators.ResultErr(m, STRICT, 'result');
					this.kinds.add(r.error.kind);
					this.replies.set(id, { ok: false, error: r.error });
				}
			} else if (m.type === 'event') {
				const name = m.event as string;
				assert.ok((EVENT_NAMES as readonly string[]).includes(name), `event "${name}" is not in the schema`);
				eventValidators[name as EventName](m, STRICT);
				this.events.push(m as EventMsg);
			} else {
				const l = defValidators.LogMessage(m, STRICT, 'log');
				this.logs.push(l.message);
			}
		} catch (e) {
			throw new Error(`${(e as Error).message}\n  in ${raw.slice(0, 600)}`);
		}
	}

	async close(): Promise<void> {
		await this.lib.close(this.fk);
	}
}

/* A fixture that is not a child of this process but of a shell that waits
 * for it: Node's child_process reaps its own children with waitpid() from
 * the main thread, which would also take the ptrace stops of a tracee that
 * is our child (the adapter and the CLI never trace their own children;
 * launched programs are children of the tracer thread). Its pid is in the
 * JSON line it prints. */
function grandchild(name: string, args: string[]): Promise<Fixture<{ pid: number }>> {
	return spawnProgram<{ pid: number }>('/bin/sh', ['-c', '"$0" "$@" & wait', fixturePath(name), ...args], {}, name);
}

function markerLine(file: string, marker: string): number {
	const lines = fs.readFileSync(path.join(FIXTURES_SRC, file), 'utf8').split('\n');
	const i = lines.findIndex((l) => l.includes(`// #${marker}`));
	assert.ok(i >= 0, `marker ${marker} in ${file}`);
	return i + 1;
}

test('the library: every operation and event, every message strictly valid', async (t) => {
	const c = new Checked();
	try {
		await c.ok('ping', {});

		// errors: each kind comes with the fields the schema names
		const unknown = await c.send('ping', '{"op":"noSuchOp"}');
		assert.ok(!unknown.ok && unknown.error.kind === 'unknown-op' && unknown.error.code === 'EOPNOTSUPP', JSON.stringify(unknown));
		const badPid = await c.send('threads', '{"op":"threads","pid":"1"}');
		assert.ok(
			!badPid.ok && badPid.error.kind === 'bad-request' && /"pid" must be an integer/.test(badPid.error.message),
			JSON.stringify(badPid),
		);
		const junk = await c.send('threads', '{"op":"threads",');
		assert.ok(!junk.ok && junk.error.kind === 'bad-request', JSON.stringify(junk));
		const gone = await c.call('threads', { pid: await deadPid() });
		assert.ok(!gone.ok && gone.error.kind === 'no-such-process', JSON.stringify(gone));

		// a running process, not attached: snapshot, registers, fork
		const fx = await grandchild('threads', ['2']);
		const target = fx.truth.pid;
		const snap = await c.ok('threads', { pid: target });
		assert.equal(snap.pid, target);
		const regs = await c.ok('regs', { pid: target, tid: target });
		assert.equal(regs.tid, target);
		const fork = await c.ok('fork', { pid: target, copyDontfork: true });
		assert.ok(fork.child > 0 && fork.threads.length === snap.threads.length, JSON.stringify(fork));
		process.kill(fork.child, 'SIGKILL');

		// a session: attach stopped, capture in place, stop/resume, detach
		const att = await c.ok('attach', { pid: target, stop: true });
		assert.ok(att.stopped && att.tids.includes(target));
		const inPlace = await c.ok('threads', { pid: target });
		assert.equal(inPlace.attachedBefore, true);
		await c.ok('resume', { pid: target });
		const st = await c.ok('stop', { pid: target });
		assert.ok(st.tids.length >= 1);
		// fork children of a session: held for sessions of their own, or detached (test/dap/follow.test.ts forks)
		assert.deepEqual(await c.ok('followForks', { pid: target, hold: true }), { pid: target });
		await c.ok('followForks', { pid: target, hold: false });
		// the signal table: SIGWINCH (ignored by default) made nostop + print -> a `signal` event
		const table = await c.ok('signals', { pid: target });
		const winch = 1n << 27n;
		assert.ok(
			(BigInt(table.nostop) & winch) !== 0n && (BigInt(table.noprint) & winch) !== 0n,
			`gdb's defaults: ${JSON.stringify(table)}`,
		);
		const setSig = await c.ok('signals', {
			pid: target,
			noprint: `0x${(BigInt(table.noprint) & ~winch).toString(16)}` as `0x${string}`,
		});
		assert.equal(setSig.nostop, table.nostop, 'an omitted mask is unchanged');
		await c.ok('resume', { pid: target });
		process.kill(target, 'SIGWINCH');
		const sig = await c.waitEvent((e) => e.event === 'signal' && e.pid === target, 'signal (SIGWINCH)');
		assert.equal((sig as { signal?: number }).signal, 28);
		await c.ok('stop', { pid: target });
		await c.ok('detach', { pid: target });
		process.kill(target, 'SIGKILL');

		// threadCreated/threadExited: a process that makes threads all the time
		const churn = await grandchild('churn', ['--alive', '4', '--rate', '500']);
		const cpid = churn.truth.pid;
		await c.ok('attach', { pid: cpid });
		await c.waitEvent((e) => e.event === 'threadCreated' && e.pid === cpid, 'threadCreated');
		await c.waitEvent((e) => e.event === 'threadExited' && e.pid === cpid, 'threadExited');
		await c.ok('detach', { pid: cpid });
		process.kill(cpid, 'SIGKILL');
		await churn.kill();

		// a launched program: symbols, a breakpoint, the stopped event,
		// stacks, locals, registers written, a step, kill and exited
		const prog = fixturePath('locals');
		const l = await c.ok('launch', { path: prog, cwd: '/', argv: [prog, 'run'], env: ['FORKALL_CONFORMANCE=1'] });
		const pid = l.pid; // its stdout/stderr pipes stay open until it is gone (no SIGPIPE)
		const line = markerLine('locals.c', 'LOCALS');
		const at = await c.ok('symbols', { pid, file: 'locals.c', line });
		assert.ok(at.addresses && at.addresses.length > 0, JSON.stringify(at));
		const fn = await c.ok('symbols', { pid, function: 'inspect' });
		assert.ok(fn.addresses && fn.addresses.length === 1, JSON.stringify(fn));
		const where = await c.ok('symbols', { pid, addr: fn.addresses[0] });
		assert.equal(where.function, 'inspect');
		const addr = at.addresses[0];
		await c.ok('bpInsert', { pid, addr });
		await c.ok('resume', { pid });
		const hit = await c.waitEvent((e) => e.event === 'stopped' && e.pid === pid, 'stopped');
		assert.equal(hit.reason, 'breakpoint', JSON.stringify(hit));
		assert.equal(BigInt(hit.addr as string), BigInt(addr));
		const tid = hit.tid as number;
		await c.ok('stop', { pid });
		const stack = await c.ok('stack', { pid, tid });
		assert.equal(stack.frames[0].function, 'inspect');
		const all = await c.ok('stack', { pid, tid: 0, maxFrames: 2 });
		assert.ok(all.threads && all.threads.length >= 1);
		const locals = await c.ok('locals', { pid, tid, frame: 0 });
		assert.equal(locals.function, 'inspect');
		const g = await c.ok('global', { pid, name: 'origin_pt' });
		assert.equal(g.variables.length, 1);
		assert.equal(g.variables[0].kind, 'global');
		const gpc = await c.ok('global', { pid, name: 'origin_pt', pc: addr });
		assert.equal(gpc.variables[0].address, g.variables[0].address);
		const fv = await c.ok('frameVars', { pid, tid, frame: 0 });
		assert.equal(fv.function, 'inspect');
		const ptv = fv.variables.find((v) => v.name === 'pt');
		assert.ok(ptv && ptv.type && ptv.address, JSON.stringify(fv.variables));
		const cond = await c.ok('bpCondition', { pid, addr, program: 'i32:1 i32:2 <' });
		assert.deepEqual([cond.compiled, cond.note], [true, null]);
		const notScalar = await c.ok('bpCondition', { pid, addr, program: 'v:pt i32:0 ==' });
		assert.equal(notScalar.compiled, false);
		assert.match(notScalar.note ?? '', /pt: not a scalar/);
		assert.equal((await c.ok('bpCondition', { pid, addr, query: true })).compiled, false);
		const ti = await c.ok('typeInfo', { pid, id: ptv.type! });
		assert.equal(ti.type?.kind, 'struct');
		assert.deepEqual(
			ti.type?.fields?.map((f) => f.name),
			['x', 'y'],
		);
		const byName = await c.ok('typeInfo', { pid, name: 'point', tag: 'struct' });
		assert.equal(byName.type?.name, 'struct point');
		assert.equal((await c.ok('typeInfo', { pid, name: 'nosuch', tag: 'struct' })).type, null);
		const tv = await c.ok('typedValue', { pid, type: g.variables[0].typeId!, address: g.variables[0].address!, name: 'o', expr: 'o' });
		assert.equal(tv.variable.value, g.variables[0].value);
		assert.equal(tv.variable.children?.[0].expr, 'o.x');
		const gn = await c.ok('globalNames', { pid, prefix: 'origin', max: 10 });
		assert.ok(gn.names.includes('origin_pt') && !gn.more, JSON.stringify(gn));
		const fsc = await c.ok('fileScope', { pid, name: 'inspect', pc: addr });
		assert.equal(fsc.functions[0]?.name, 'inspect', JSON.stringify(fsc));
		assert.ok(BigInt(fsc.functions[0].address) <= BigInt(fn.addresses[0]), 'the entry, at or before the breakpoint address');
		const badId = await c.call('typeInfo', { pid, id: '1:2' });
		assert.ok(!badId.ok && badId.error.kind === 'bad-request', JSON.stringify(badId));
		const r = await c.ok('regs', { pid, tid });
		const set = await c.ok('setRegs', { pid, tid, regs: { r12: r.gpr.r12 } });
		assert.equal(set.gpr.r12, r.gpr.r12);
		const wa = `0x${(BigInt(r.gpr.rsp) & ~7n).toString(16)}` as const;
		const w = await c.ok('watch', { pid, addr: wa, len: 8 });
		assert.equal(w.slot, 0);
		const twice = await c.call('watch', { pid, addr: wa, len: 8 });
		assert.ok(!twice.ok && twice.error.kind === 'bad-request', JSON.stringify(twice));
		await c.ok('unwatch', { pid, addr: wa });
		const fz = await c.ok('freeze', { pid, tid });
		assert.deepEqual(fz.frozen, [tid]);
		assert.deepEqual((await c.ok('freeze', { pid, tid, frozen: false })).frozen, []);
		const step = await c.ok('step', { pid, tid });
		assert.ok(step.pc && BigInt(step.pc) !== BigInt(addr));
		const next = await c.ok('step', { pid, tid, line: true });
		assert.ok(next.reason !== undefined && next.singleSteps !== undefined, JSON.stringify(next));
		const bad = await c.call('step', { pid, tid, out: true, line: true });
		assert.ok(!bad.ok && bad.error.kind === 'bad-request', JSON.stringify(bad));
		await c.ok('bpRemove', { pid, addr });
		await c.ok('kill', { pid });
		await c.waitEvent((e) => e.event === 'exited' && e.pid === pid, 'exited');
		fs.closeSync(l.stdoutFd);
		fs.closeSync(l.stderrFd);

		// childProcess: a launched program that forks (its child is detached)
		const forker = fixturePath('forker');
		const f = await c.ok('launch', { path: forker, cwd: '/', argv: [forker, 'fork', '1'] });
		await c.ok('resume', { pid: f.pid });
		const child = await c.waitEvent((e) => e.event === 'childProcess' && e.pid === f.pid, 'childProcess');
		assert.equal(child.kind, 'fork');
		await c.waitEvent((e) => e.event === 'exited' && e.pid === f.pid, 'exited (forker)');
		fs.closeSync(f.stdoutFd);
		fs.closeSync(f.stderrFd);

		// forkInfo: a held fork child of deadlock lost holder and the idle threads
		const dl = fixturePath('deadlock');
		const d = await c.ok('launch', { path: dl, cwd: '/', argv: [dl] });
		await c.ok('followForks', { pid: d.pid, hold: true });
		await c.ok('resume', { pid: d.pid });
		const held = await c.waitEvent((e) => e.event === 'childProcess' && e.pid === d.pid, 'childProcess (held)');
		assert.equal(held.detached, false);
		const heldPid = Number(held.child);
		const fi = await c.ok('forkInfo', { pid: heldPid });
		assert.equal(fi.parent, d.pid);
		assert.deepEqual(fi.deadThreads.map((t) => t.name).sort(), ['holder', 'idle', 'idle']);
		assert.equal(fi.inFork, true, 'held at its fork event: inside glibc fork()');
		const inFork = await c.call('recreate', { pid: heldPid });
		assert.ok(
			!inFork.ok && inFork.error.kind === 'bad-request' && /inside glibc's fork/.test(inFork.error.message),
			JSON.stringify(inFork),
		);
		// recreate: run out of fork() (step out until forkInfo says so), then the threads come back
		for (let i = 0; i < 8 && (await c.ok('forkInfo', { pid: heldPid })).inFork; i++) {
			assert.equal((await c.ok('step', { pid: heldPid, tid: heldPid, out: true })).reason, 'step');
		}
		const rc = await c.ok('recreate', { pid: heldPid });
		assert.deepEqual(rc.threads.map((t) => t.name).sort(), ['holder', 'idle', 'idle']);
		const fi2 = await c.ok('forkInfo', { pid: heldPid });
		assert.deepEqual(fi2.deadThreads, []);
		assert.deepEqual(fi2.recreated.map((t) => t.childTid).sort(), rc.threads.map((t) => t.childTid).sort());
		// checkpoints of the parent (stopped; before its child is killed, which would end it): save, list, restore, delete
		await c.ok('stop', { pid: d.pid });
		const ck = await c.ok('checkpoint', { pid: d.pid });
		assert.equal(ck.threads, 4, 'main, holder, 2 idle');
		const cks = await c.ok('checkpoints', { pid: d.pid });
		assert.deepEqual(
			cks.checkpoints.map((x) => x.checkpoint),
			[ck.checkpoint],
		);
		const rs = await c.ok('restore', { checkpoint: ck.checkpoint });
		assert.equal(rs.threads.length, 4);
		assert.equal(fs.readdirSync(`/proc/${rs.pid}/task`).length, 4);
		await c.ok('kill', { pid: rs.pid });
		await c.ok('checkpointDelete', { checkpoint: ck.checkpoint });
		const noCk = await c.call('restore', { checkpoint: ck.checkpoint });
		assert.ok(!noCk.ok && noCk.error.kind === 'bad-request', JSON.stringify(noCk));
		await c.ok('kill', { pid: heldPid });
		await c.ok('kill', { pid: d.pid });
		await c.waitEvent((e) => e.event === 'exited' && e.pid === d.pid, 'exited (deadlock)');
		fs.closeSync(d.stdoutFd);
		fs.closeSync(d.stderrFd);

		// exec: a worker of forker execs execd; held until resumed
		const execd = fixturePath('execd');
		const x = await c.ok('launch', { path: forker, cwd: '/', argv: [forker, 'exec', '1', execd] });
		await c.ok('resume', { pid: x.pid });
		const ex = await c.waitEvent((e) => e.event === 'exec' && e.pid === x.pid, 'exec');
		assert.equal(ex.path, execd);
		assert.notEqual(ex.tid, x.pid, 'a worker thread called execve');
		await c.ok('resume', { pid: x.pid });
		await c.waitEvent((e) => e.event === 'exited' && e.pid === x.pid, 'exited (execd)');
		fs.closeSync(x.stdoutFd);
		fs.closeSync(x.stderrFd);

		for (const op of OP_NAMES) {
			assert.ok(c.okOps.has(op), `operation ${op} was never answered ok: add a call of it to this test`);
		}
		for (const ev of EVENT_NAMES) {
			const why = schema.events[ev]['x-conformance'];
			if (why) {
				t.diagnostic(`event ${ev} not exercised: ${why}`);
				continue;
			}
			assert.ok(
				c.events.some((e) => e.event === ev),
				`event ${ev} never seen`,
			);
		}
		for (const k of ['unknown-op', 'bad-request', 'no-such-process']) {
			assert.ok(c.kinds.has(k), `error kind ${k}`);
		}
		await fx.kill();
	} finally {
		await c.close();
	}
});
