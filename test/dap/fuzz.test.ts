/*
 * DAP fuzz (property-based, fast-check): random sequences of valid and
 * invalid requests, arguments of wrong types and sizes, and malformed
 * frames, sent to a live `forkall dap` (stdio) attached to a real process
 * (test/fixtures/threads). After each sequence the client disconnects.
 *
 * Invariants, per sequence:
 *   - every well-framed request with a seq gets a response;
 *   - the adapter never crashes (it answers, and exits 0 after disconnect);
 *   - the target is never killed, and is left neither stopped nor traced
 *     (/proc/PID/task/TID/stat state and TracerPid, every thread).
 *
 * Requests that may legitimately hurt the target (terminate, disconnect,
 * writeMemory, forkAllThreads) are only sent with arguments that must be
 * refused: if validation ever lets one through, an invariant fails.
 *
 * Bounded to FORKALL_FUZZ_MS (default 25 s) of generation. The seed is
 * fixed (FORKALL_FUZZ_SEED overrides it) and printed with any failure,
 * with fast-check's counterexample path, so a failure can be replayed:
 *   FORKALL_FUZZ_SEED=<seed> FORKALL_FUZZ_PATH=<path> node scripts/run-tests.js test/dap/fuzz
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import fc from 'fast-check';
import { fixturePath, FIXTURES_SRC } from '../helpers/paths';
import { killAll, spawnFixture, type Fixture } from '../helpers/procs';
import { listTasks, procState } from '../helpers/procfs';
import { RawDap, running } from './raw';

after(killAll);

const SEED = Number(process.env.FORKALL_FUZZ_SEED ?? 20240917);
const BUDGET_MS = Number(process.env.FORKALL_FUZZ_MS ?? 25000);
/** fast-check's counterexample path: with the seed, replays exactly the failing sequence. */
const REPLAY_PATH = process.env.FORKALL_FUZZ_PATH;
const INIT = { adapterID: 'forkall', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path', supportsMemoryReferences: true };

/** One step of a sequence. `thread` values are resolved against the target's live tids when sent. */
type Step =
	| { kind: 'request'; command: string; args: unknown; omitArgs: boolean }
	| { kind: 'body'; text: string }
	| { kind: 'raw'; bytes: string };

const THREAD = '$thread';

/** A value that is a thread id of the target when sent (or a random number). */
const threadId = fc.oneof(fc.constant(THREAD), fc.integer({ min: -5, max: 1 << 22 }));

/** Wrong-typed or extreme values. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
	fc.anything({ maxDepth: 2, maxKeys: 5 }),
	fc.string({ maxLength: 3000 }),
	fc.constantFrom(-1, 0, 1e9, -1e9, 2 ** 63, -(2 ** 63), 1e308, 0.5, '', '8', '0x0', null, true, [], {}),
	fc.array(fc.integer(), { maxLength: 2000 }),
);

/** Requests with plausible (mostly valid) arguments that cannot hurt the target. */
const validRequest: fc.Arbitrary<Step> = fc
	.oneof(
		fc.constant({ command: 'threads', args: {} }),
		fc.constant({ command: 'lwps', args: {} }),
		threadId.map((t) => ({ command: 'pause', args: { threadId: t } })),
		threadId.map((t) => ({ command: 'continue', args: { threadId: t } })),
		fc.record({ threadId, g: fc.constantFrom('instruction', undefined) }).map(({ threadId: t, g }) => ({
			command: 'next',
			args: g ? { threadId: t, granularity: g } : { threadId: t, granularity: 'instruction' },
		})),
		threadId.map((t) => ({ command: 'stepIn', args: { threadId: t, granularity: 'instruction' } })),
		fc
			.record({ threadId, startFrame: fc.integer({ min: 0, max: 1e9 }), levels: fc.integer({ min: 0, max: 1e9 }) })
			.map((a) => ({ command: 'stackTrace', args: a })),
		fc.integer({ min: 0, max: 2000 }).map((f) => ({ command: 'scopes', args: { frameId: f } })),
		fc
			.record({
				variablesReference: fc.integer({ min: 0, max: 2000 }),
				start: fc.integer({ min: 0, max: 1e9 }),
				count: fc.integer({ min: 0, max: 1e9 }),
			})
			.map((a) => ({ command: 'variables', args: a })),
		fc
			.record({
				memoryReference: fc.constantFrom('0x0', '0x400000', '0x7fffffffe000', '18446744073709551615'),
				offset: fc.integer({ min: -1e12, max: 1e12 }),
				count: fc.integer({ min: 0, max: 70000 }),
			})
			.map((a) => ({ command: 'readMemory', args: a })),
		fc
			.record({
				memoryReference: fc.constantFrom('0x0', '0x401000', '0x7fffffffe000', '0xffffffffffffffff'),
				instructionOffset: fc.integer({ min: -2e9, max: 2e9 }),
				instructionCount: fc.integer({ min: 0, max: 200 }),
			})
			.map((a) => ({ command: 'disassemble', args: a })),
		fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 5 }).map((lines) => ({
			command: 'setBreakpoints',
			args: { source: { path: path.join(FIXTURES_SRC, 'threads.c') }, breakpoints: lines.map((line) => ({ line })) },
		})),
		fc
			.subarray(['main', 'worker_main', 'nanosleep', 'no_such_function', 'sleep_tick'])
			.map((names) => ({ command: 'setFunctionBreakpoints', args: { breakpoints: names.map((name) => ({ name })) } })),
		fc.constant({ command: 'setExceptionBreakpoints', args: { filters: [] } }),
		fc.constant({ command: 'configurationDone', args: {} }),
		fc.constant({ command: 'attach', args: { pid: 1 } }),
		fc.constant({ command: 'launch', args: { program: fixturePath('threads'), args: ['1'] } }),
	)
	.map((r) => ({ kind: 'request', command: r.command, args: r.args, omitArgs: false }));

const SAFE_COMMANDS = [
	'initialize',
	'launch',
	'attach',
	'configurationDone',
	'threads',
	'stackTrace',
	'scopes',
	'variables',
	'readMemory',
	'disassemble',
	'pause',
	'continue',
	'next',
	'stepIn',
	'stepOut',
	'setBreakpoints',
	'setFunctionBreakpoints',
	'setInstructionBreakpoints',
	'setExceptionBreakpoints',
	'lwps',
	'frobnicate',
	'evaluate',
	'',
	'constructor',
	'__proto__',
];

/** Any safe command with arguments of any type and size. */
const randomRequest: fc.Arbitrary<Step> = fc
	.record({
		command: fc.constantFrom(...SAFE_COMMANDS),
		args: fc.oneof(
			junk,
			fc.dictionary(
				fc.constantFrom(
					'threadId',
					'frameId',
					'line',
					'breakpoints',
					'source',
					'count',
					'memoryReference',
					'instructionCount',
					'instructionOffset',
					'variablesReference',
					'pid',
					'program',
					'env',
					'lines',
					'filters',
				),
				junk,
				{ maxKeys: 4 },
			),
		),
		omitArgs: fc.boolean(),
	})
	.map((r) => ({ kind: 'request', ...r }));

/** Requests that could kill or change the target, with arguments that must be refused. */
const dangerousRefused: fc.Arbitrary<Step> = fc
	.oneof(
		fc.constant({ command: 'terminate', args: { restart: 'yes' } }),
		junk
			.filter((v) => typeof v !== 'boolean' && v !== undefined)
			.map((v) => ({ command: 'disconnect', args: { terminateDebuggee: v } })),
		fc.constant({ command: 'disconnect', args: { restart: 1, terminateDebuggee: true } }),
		fc
			.string({ maxLength: 20 })
			.filter((m) => !['debug', 'run', 'stopped'].includes(m))
			.map((mode) => ({ command: 'forkAllThreads', args: { mode } })),
		fc.constant({ command: 'forkAllThreads', args: { mode: 'run', copyDontfork: 'no' } }),
		fc.constant({ command: 'writeMemory', args: { memoryReference: 0x401000, data: 'kJCQ' } }),
		fc.constant({ command: 'writeMemory', args: { memoryReference: '0x401000', data: '***' } }),
	)
	.map((r) => ({ kind: 'request', command: r.command, args: r.args, omitArgs: false }));

/** Well-framed bodies that are not requests (no response required). */
const badBody: fc.Arbitrary<Step> = fc
	.oneof(
		fc.constantFrom(
			'null',
			'true',
			'false',
			'42',
			'"x"',
			'[]',
			'{}',
			'{"type":"event","event":"x"}',
			'{"type":"response","request_seq":1}',
			'',
		),
		fc.string({ maxLength: 200 }),
		fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1))),
		fc.nat({ max: 1000 }).map((n) => `{"seq": ${n}, "type": "request", "command": "threads", "argu`),
	)
	.map((text) => ({ kind: 'body', text }));

/** Framing garbage: headers without a valid Content-Length, junk between messages (never a lying Content-Length: that would swallow the next message). */
const badFrame: fc.Arbitrary<Step> = fc
	.oneof(
		fc.constantFrom(
			'X-Foo: 1\r\n\r\n',
			'Content-Length: abc\r\n\r\n',
			'Content-Length: -1\r\n\r\n',
			'garbage\r\n\r\n',
			'\r\n\r\n',
			'Content-Length 12\r\n\r\n',
		),
		fc.string({ unit: fc.constantFrom(...'abc xyz{}"[]0123456789\n\t'.split('')), maxLength: 300 }),
	)
	.map((bytes) => ({ kind: 'raw', bytes }));

const sequence = fc.array(
	fc.oneof(
		{ weight: 5, arbitrary: validRequest },
		{ weight: 4, arbitrary: randomRequest },
		{ weight: 1, arbitrary: dangerousRefused },
		{ weight: 2, arbitrary: badBody },
		{ weight: 1, arbitrary: badFrame },
	),
	{ minLength: 1, maxLength: 25 },
);

function resolveThreads(v: unknown, tids: number[], pick: () => number): unknown {
	if (v === THREAD) return tids.length ? tids[pick() % tids.length] : 1;
	if (Array.isArray(v)) return v.map((x) => resolveThreads(x, tids, pick));
	if (v && typeof v === 'object') {
		return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveThreads(x, tids, pick)]));
	}
	return v;
}

/** Run one sequence against a fresh adapter attached to the target; throws on a broken invariant. */
async function runSequence(fx: Fixture, steps: Step[], stopOnAttach: boolean): Promise<void> {
	const dc = new RawDap();
	try {
		const init = await dc.request('initialize', INIT);
		assert.equal(init.success, true, init.message);
		const a = await dc.request('attach', { pid: fx.pid, stopOnAttach });
		assert.equal(a.success, true, `attach: ${a.message}`);
		await dc.request('configurationDone');
		const tids = listTasks(fx.pid);
		let n = 0;
		const pick = () => n++;
		const expected: number[] = [];
		for (const s of steps) {
			if (s.kind === 'request') {
				const seq = dc.nextSeq();
				const msg: Record<string, unknown> = { seq, type: 'request', command: s.command };
				// a non-object "arguments" makes a malformed message: still answered (an error), it has a seq
				if (!s.omitArgs) msg.arguments = resolveThreads(s.args, tids, pick);
				dc.sendBody(JSON.stringify(msg));
				expected.push(seq);
			} else if (s.kind === 'body') {
				dc.sendBody(s.text);
			} else {
				dc.write(s.bytes);
			}
		}
		// every well-framed request with a seq is answered
		for (const seq of expected) {
			await dc.response(seq, 30000);
		}
		assert.ok(dc.alive, 'the adapter is alive');
		assert.ok(running(fx.pid), `the target ${fx.pid} is alive`);
		const d = await dc.request('disconnect', {}, 30000);
		assert.equal(d.success, true, `disconnect: ${d.message}`);
		const x = await dc.waitExit(15000);
		assert.equal(x.code, 0, `adapter exit: ${JSON.stringify(x)}; stderr: ${dc.stderr.slice(-2000)}`);
		assert.ok(running(fx.pid), `the target ${fx.pid} is alive after disconnect`);
		const bad = procState(fx.pid).filter((t) => t.state === 't' || t.state === 'T' || t.tracerPid !== 0);
		assert.deepEqual(bad, [], 'no thread of the target is left stopped or traced');
	} finally {
		await dc.kill();
	}
}

test(`DAP fuzz: random requests, wrong arguments, malformed frames against an attached target (seed ${SEED})`, async () => {
	const fx = await spawnFixture('threads', ['3']);
	try {
		const prop = fc.asyncProperty(sequence, fc.boolean(), (steps, stopOnAttach) => runSequence(fx, steps, stopOnAttach));
		const out = await fc.check(prop, {
			seed: SEED,
			...(REPLAY_PATH ? { path: REPLAY_PATH } : {}),
			numRuns: 10000,
			interruptAfterTimeLimit: BUDGET_MS,
			markInterruptAsFailure: false,
			endOnFailure: true,
		});
		if (out.failed) {
			assert.fail(
				`DAP fuzz failed (seed ${out.seed}, path "${out.counterexamplePath}"; replay: FORKALL_FUZZ_SEED=${out.seed} FORKALL_FUZZ_PATH=${out.counterexamplePath}):\n` +
					`${fc.stringify(out.counterexample)}\n${out.errorInstance instanceof Error ? out.errorInstance.stack : String(out.errorInstance)}`,
			);
		}
		assert.ok(out.numRuns >= 3, `at least 3 sequences ran within ${BUDGET_MS} ms (ran ${out.numRuns})`);
		process.stdout.write(`# fuzz: ${out.numRuns} sequences (seed ${SEED}) in ${BUDGET_MS} ms budget\n`);
		assert.ok(running(fx.pid), 'the target survived every sequence');
	} finally {
		await fx.kill();
	}
});
