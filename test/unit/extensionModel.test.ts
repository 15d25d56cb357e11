/*
 * The extension's view model without VS Code: stack usage and overflow
 * flags from LWP rows, the fork tid map, the stack picture, and the
 * process list behind "Attach to Process…".
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatBytes, nearOverflow, stackPicture, stackUsage, stateText, tidMap, type LwpRow } from '../../extension/src/lwpModel';
import { listProcesses, parseStatus, sortForPicking, treeForPicking } from '../../extension/src/procList';
import { adapterEnv } from '../../extension/src/adapterProcess';

function row(o: Partial<LwpRow> & { tid: number }): LwpRow {
	return {
		name: `t${o.tid}`,
		state: 't',
		stateName: 'tracing stop',
		pthread: '0x7f0000001000',
		syscall: null,
		pc: '0x401000',
		sp: '0x7f000000f000',
		fsBase: '0x7f0000001000',
		stack: { low: '0x7f0000000000', high: '0x7f0000010000', guard: 4096, source: 'pthread' },
		spInStack: true,
		isMain: false,
		...o,
	};
}

test('stackUsage: used = high - sp, usable = size - guard', () => {
	const u = stackUsage(row({ tid: 1 }))!;
	assert.equal(u.size, 0x10000);
	assert.equal(u.guard, 4096);
	assert.equal(u.usable, 0x10000 - 4096);
	assert.equal(u.used, 0x1000);
	assert.equal(u.free, 0x10000 - 4096 - 0x1000);
	assert.equal(u.percent, 6.7);
	assert.equal(stackUsage(row({ tid: 2, stack: null })), null);
	const off = stackUsage(row({ tid: 3, sp: '0x7e0000000000', spInStack: false }))!;
	assert.equal(off.used, 0);
	assert.equal(off.spInStack, false);
});

test('nearOverflow: threshold on fixed-size stacks, never the growing main stack', () => {
	const deep = row({ tid: 5, sp: '0x7f0000002000' }); // 56 KiB used of 60
	assert.equal(nearOverflow(deep, 80), true);
	assert.equal(nearOverflow(deep, 95), false);
	assert.equal(nearOverflow({ ...deep, isMain: true }, 80), false);
	assert.equal(nearOverflow(row({ tid: 6 }), 80), false);
});

test('formatBytes', () => {
	assert.equal(formatBytes(512), '512 B');
	assert.equal(formatBytes(4096), '4 KiB');
	assert.equal(formatBytes(8 * 1024 * 1024), '8 MiB');
	assert.equal(formatBytes(1536), '1.5 KiB');
});

test('tidMap and stackPicture: bars high to low, fractions add up, peer tids after a fork', () => {
	const table = {
		pid: 10,
		pauseUs: 5,
		lwps: [
			row({
				tid: 10,
				isMain: true,
				stack: { low: '0x7ffd00000000', high: '0x7ffd00021000', guard: 0, source: '[stack]' },
				sp: '0x7ffd00020000',
			}),
			row({ tid: 11, sp: '0x7f0000002000' }),
			row({ tid: 12, stack: null }),
		],
	};
	const fork = {
		mode: 'debug' as const,
		parent: 10,
		child: 20,
		threads: [
			{ parentTid: 10, childTid: 20 },
			{ parentTid: 11, childTid: 21 },
			{ parentTid: 12, childTid: 22 },
		],
		timings: { pauseUs: 1, forkUs: 1, threadsUs: 1, totalUs: 3 },
		warnings: [],
	};
	const m = tidMap(fork);
	assert.equal(m.toChild.get(11), 21);
	assert.equal(m.toParent.get(22), 12);
	const p = stackPicture('s', table, { threshold: 80, fork: { map: m, side: 'parent' }, functions: new Map([[11, 'recurse']]) });
	assert.deepEqual(
		p.bars.map((b) => b.tid),
		[10, 11, 12],
	);
	const b = p.bars[1];
	assert.equal(b.nearOverflow, true);
	assert.equal(b.fn, 'recurse');
	assert.equal(b.peerTid, 21);
	assert.ok(Math.abs(b.guardFrac + b.freeFrac + b.usedFrac - 1) < 1e-9);
	assert.equal(p.bars[2].noStack, true);
	assert.equal(p.fork?.pairs.length, 3);
	assert.ok(p.bars.every((x) => x.widthFrac >= 0.35 && x.widthFrac <= 1));
});

test('stackPicture: a 64 KiB stack beside 8 MiB stacks is still a readable bar (log scale), its fill its own percentage', () => {
	const KiB = 1024;
	const mk = (tid: number, size: number, used: number) => {
		const high = 0x7f0000000000 + tid * 0x10000000;
		return row({
			tid,
			stack: { low: `0x${(high - size).toString(16)}`, high: `0x${high.toString(16)}`, guard: 4 * KiB, source: 'maps:pthread' },
			sp: `0x${(high - used).toString(16)}`,
		});
	};
	const table = {
		pid: 1,
		pauseUs: 1,
		lwps: [mk(1, 8192 * KiB, 64 * KiB), mk(2, 8192 * KiB, 100 * KiB), mk(3, 64 * KiB, 56 * KiB), mk(4, 1024 * KiB, 10 * KiB)],
	};
	const p = stackPicture('s', table, { threshold: 80 });
	const by = new Map(p.bars.map((b) => [b.tid, b]));
	assert.equal(by.get(1)!.widthFrac, 1, 'the biggest: full width');
	assert.equal(by.get(3)!.widthFrac, 0.35, 'the smallest: the minimum, not 64/8192 of the width');
	assert.ok(by.get(4)!.widthFrac > 0.35 && by.get(4)!.widthFrac < 1, 'sizes in between: in between');
	assert.ok(by.get(3)!.usedFrac > 0.8, `the small stack's fill is its own ${by.get(3)!.percent}%`);
	assert.equal(by.get(3)!.nearOverflow, true);
	assert.equal(by.get(3)!.size, '64 KiB');
});

test('procList: /proc/PID/status parsing, own processes first, this process listed', () => {
	const st = parseStatus('Name:\tthreads-demo\nUid:\t1000\t1000\t1000\t1000\nThreads:\t8\nTracerPid:\t0\n');
	assert.deepEqual(st, { name: 'threads-demo', uid: 1000, threads: 8, tracerPid: 0, ppid: 0 });
	const list = listProcesses();
	const me = list.find((p) => p.pid === process.pid);
	assert.ok(me, 'this test process is listed');
	assert.ok(me.threads >= 1);
	assert.match(me.cmdline, /node/);
	const sorted = sortForPicking(
		[
			{ ...me, pid: 1, uid: 4242 },
			{ ...me, pid: 2 },
			{ ...me, pid: 3 },
		],
		me.uid,
	);
	assert.deepEqual(
		sorted.map((p) => p.pid),
		[3, 2, 1],
	);
});

test('adapterEnv: node mode for Electron, the native library, no inherited NODE_OPTIONS', () => {
	const env = adapterEnv({ node: '/x/code', entry: '/ext/dist/adapter.js', nativeLib: '/ext/native/build/libforkall.so' }, 'debug', {
		PATH: '/bin',
		NODE_OPTIONS: '--inspect',
	});
	assert.equal(env.ELECTRON_RUN_AS_NODE, '1');
	assert.equal(env.FORKALL_NATIVE_LIB, '/ext/native/build/libforkall.so');
	assert.equal(env.FORKALL_LOG_LEVEL, 'debug');
	assert.equal(env.NODE_OPTIONS, undefined);
	assert.equal(
		adapterEnv({ node: 'n', entry: 'e', nativeLib: 'l' }, 'info', { FORKALL_NATIVE_LIB: '/mine.so' }).FORKALL_NATIVE_LIB,
		'/mine.so',
	);
});

test('a dead thread (lost in a fork) reads as dead in the LWP view and the stack picture, never "user code"', () => {
	const live = row({ tid: 100, isMain: true });
	const dead = row({ tid: 7, dead: true, state: 'X', stateName: 'dead (lost in the fork)', syscall: null });
	assert.equal(stateText(dead), 'dead: lost in the fork');
	assert.notEqual(stateText(live), 'dead: lost in the fork');
	const p = stackPicture('s', { pid: 100, pauseUs: 0, lwps: [live, dead] }, { threshold: 80 });
	assert.deepEqual(
		p.bars.map((b) => [b.tid, b.dead]).sort((a, b) => Number(a[0]) - Number(b[0])),
		[
			[7, true],
			[100, false],
		],
	);
});

test('treeForPicking: children right after their parent, deeper; orphans of unlisted parents are roots', () => {
	const p = (pid: number, ppid: number) => ({ pid, ppid, uid: 1, user: 'u', name: `p${pid}`, cmdline: '', threads: 1, tracerPid: 0 });
	const t = treeForPicking([p(10, 1), p(20, 10), p(21, 10), p(30, 20), p(40, 99)], 1);
	assert.deepEqual(
		t.map((x) => [x.proc.pid, x.depth]),
		[
			[40, 0],
			[10, 0],
			[21, 1],
			[20, 1],
			[30, 2],
		],
	);
});
