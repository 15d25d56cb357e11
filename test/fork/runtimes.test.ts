/*
 * forkall fork of real language runtimes: Node.js (V8 + libuv threadpool
 * busy with fs.readFile) and CPython (4 threads + main). The child must keep
 * running and print with ITS OWN pid (node: the /proc/self link, since
 * process.pid is cached; python: os.getpid() calls getpid() every time).
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { killAll, sleep } from '../helpers/procs';
import { which } from '../helpers/paths';
import { compileJavaBusy, javaSkip } from '../helpers/java';
import { listTasks, assertNotStoppedOrTraced } from '../helpers/procfs';
import { forkOk, forkTool } from '../helpers/forkRun';
import { cleanupFork, procStat, registerChild, spawnReaped, type ForkTarget } from '../helpers/forkTarget';

const NODE_SCRIPT = `
'use strict';
const fs = require('fs');
const file = process.argv[2];
const SIZE = 1 << 20;
let reads = 0, ticks = 0;
const realPid = () => Number(fs.readlinkSync('/proc/self'));
function loop() {
	fs.readFile(file, (e, b) => {
		if (!e && b.length === SIZE) reads++;
		setImmediate(loop);
	});
}
for (let i = 0; i < 4; i++) loop();
const wait = setInterval(() => {
	if (reads < 8) return;
	clearInterval(wait);
	process.stdout.write(JSON.stringify({ pid: realPid(), cachedPid: process.pid }) + '\\nREADY\\n');
	setInterval(() => {
		ticks++;
		process.stdout.write('TICK ' + realPid() + ' ' + ticks + ' reads=' + reads + '\\n');
	}, 100);
}, 20);
`;

const PY_SCRIPT = `
import json, os, sys, threading, time
counters = {}
lock = threading.Lock()
def say(name):
    counters[name] = counters.get(name, 0) + 1
    line = "PY %d %d %s %d\\n" % (os.getpid(), threading.get_native_id(), name, counters[name])
    with lock:
        sys.stdout.write(line)
        sys.stdout.flush()
def work(name):
    while True:
        say(name)
        time.sleep(0.1)
for i in range(4):
    threading.Thread(target=work, args=("w%d" % i,), daemon=True).start()
time.sleep(0.3)
with lock:
    sys.stdout.write(json.dumps({"pid": os.getpid()}) + "\\nREADY\\n")
    sys.stdout.flush()
work("main")
`;

let dir = '';
after(async () => {
	await cleanupFork();
	await killAll();
	if (dir) fs.rmSync(dir, { recursive: true, force: true });
});
before(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkall-rt-'));
	fs.writeFileSync(path.join(dir, 'busy.js'), NODE_SCRIPT);
	fs.writeFileSync(path.join(dir, 'threads.py'), PY_SCRIPT);
	fs.writeFileSync(path.join(dir, 'data.bin'), Buffer.alloc(1 << 20, 7));
});

interface Tick {
	pid: number;
	n: number;
	reads: number;
}
function ticks(t: ForkTarget, pid: number): Tick[] {
	const out: Tick[] = [];
	for (const l of t.lines) {
		const m = /^TICK (\d+) (\d+) reads=(\d+)$/.exec(l);
		if (m && Number(m[1]) === pid) out.push({ pid, n: Number(m[2]), reads: Number(m[3]) });
	}
	return out;
}

async function waitFor(pred: () => boolean, timeoutMs: number): Promise<boolean> {
	const t0 = Date.now();
	while (Date.now() - t0 < timeoutMs) {
		if (pred()) return true;
		await sleep(20);
	}
	return pred();
}

/**
 * The default mode's documented limit (README, "Seen while measuring"): a
 * thread stopped while holding a recursive/errorcheck mutex that no DWARF
 * shows (Debian's node is stripped) keeps the parent's tid as the owner, so
 * its copy blocks on the lock for ever. Is `child` stuck exactly so — a
 * thread in futex() on a word whose owner field (the mutex's __owner, 8
 * bytes on: glibc x86-64's pthread_mutex_t, only used to recognise the
 * case) names a thread of `parent`? Anything else is a real failure.
 */
function stuckOnParentOwnedLock(child: number, parentTids: number[]): string | null {
	for (const tid of listTasks(child)) {
		let sc: string[];
		try {
			sc = fs.readFileSync(`/proc/${child}/task/${tid}/syscall`, 'utf8').trim().split(' ');
		} catch {
			continue;
		}
		if (sc[0] !== '202') continue; // futex
		const addr = BigInt(sc[1]);
		const buf = Buffer.alloc(4);
		try {
			const fd = fs.openSync(`/proc/${child}/mem`, 'r');
			try {
				fs.readSync(fd, buf, 0, 4, Number(addr + 8n));
			} finally {
				fs.closeSync(fd);
			}
		} catch {
			continue;
		}
		const owner = buf.readUInt32LE(0);
		if (parentTids.includes(owner)) return `thread ${tid} waits on 0x${addr.toString(16)}, owned by parent thread ${owner}`;
	}
	return null;
}

describe(`forkall fork of language runtimes (tool: ${forkTool()})`, () => {
	test(
		'node 20, libuv threadpool busy, DONTFORK copied: the child keeps ticking and reading with its own pid',
		{ timeout: 120000 },
		async () => {
			const t = await spawnReaped(process.execPath, [path.join(dir, 'busy.js'), path.join(dir, 'data.bin')], {}, 'node busy.js');
			try {
				await waitFor(() => ticks(t, t.pid).length >= 5, 10000);
				const nThreads = listTasks(t.pid).length;
				let body: Awaited<ReturnType<typeof forkOk>>['body'];
				let ok = false;
				let lastStuck: string | null = null;
				// the documented limit (stuckOnParentOwnedLock) is recognised and the fork tried
				// again, at most twice; any other stall fails the test
				for (let attempt = 1; ; attempt++) {
					body = (await forkOk(t.pid, { copyDontfork: true })).body;
					registerChild(body.child);
					ok = await waitFor(() => ticks(t, body.child).length >= 10, 15000);
					const stuck = ok ? null : stuckOnParentOwnedLock(body.child, listTasks(t.pid));
					lastStuck = stuck;
					if (!stuck || attempt === 3) break;
					console.log(`attempt ${attempt}: the default mode's documented limit (${stuck}); forking again`);
					await t.killChild(body.child);
				}
				assert.equal(body.threads.length, nThreads, 'every node thread copied');
				assert.ok(
					body.dontfork.regions > 0 && body.dontfork.copied,
					`V8's DONTFORK regions copied: ${JSON.stringify(body.dontfork)}`,
				);
				const ct = ticks(t, body.child);
				assert.ok(
					ok,
					`the child prints ticks with its own pid (${ct.length} so far; reaped: ${JSON.stringify([...t.reaped])}${lastStuck ? `; three times the documented limit: ${lastStuck}` : ''})`,
				);
				assert.ok(
					ct[ct.length - 1].reads > ct[0].reads,
					`fs.readFile completions continue in the child: ${ct[0].reads} -> ${ct[ct.length - 1].reads}`,
				);
				assert.ok(ct[0].n > 1, "the child continues the parent's tick count");
				assert.equal(listTasks(body.child).length, nThreads, 'the child has every thread');
				assertNotStoppedOrTraced(body.child, 'child');
				const p0 = ticks(t, t.pid).length;
				assert.ok(await waitFor(() => ticks(t, t.pid).length >= p0 + 5, 5000), 'the parent keeps ticking');
				assertNotStoppedOrTraced(t.pid, 'parent');
				await t.killChild(body.child);
			} finally {
				await t.stop();
			}
		},
	);

	test(
		'node 20 without copying DONTFORK memory: documented SIGSEGV (V8 heap is MADV_DONTFORK) or a working child',
		{ timeout: 120000 },
		async () => {
			const t = await spawnReaped(process.execPath, [path.join(dir, 'busy.js'), path.join(dir, 'data.bin')], {}, 'node busy.js');
			try {
				await waitFor(() => ticks(t, t.pid).length >= 5, 10000);
				const { body } = await forkOk(t.pid, { copyDontfork: false });
				registerChild(body.child);
				assert.equal(body.dontfork.copied, false);
				assert.ok(body.dontfork.regions > 0, 'node has MADV_DONTFORK regions');
				await waitFor(() => t.reaped.has(body.child) || ticks(t, body.child).length >= 10, 10000);
				const status = t.reaped.get(body.child);
				if (status !== undefined) {
					const sig = status & 0x7f;
					console.log(`node child without DONTFORK copy: died, wait status ${status} (signal ${sig})`);
					assert.equal(sig, 11, `the child died of SIGSEGV (documented), not of something else: status ${status}`);
				} else {
					console.log(`node child without DONTFORK copy: works (${ticks(t, body.child).length} ticks)`);
					assert.ok(ticks(t, body.child).length >= 10);
					await t.killChild(body.child);
				}
				const p0 = ticks(t, t.pid).length;
				assert.ok(await waitFor(() => ticks(t, t.pid).length >= p0 + 5, 5000), 'the parent keeps ticking');
				assertNotStoppedOrTraced(t.pid, 'parent');
			} finally {
				await t.stop();
			}
		},
	);

	test(
		'python3, 4 threads + main: every thread of the child keeps printing with the child pid',
		{ timeout: 120000, skip: which('python3') ? false : 'no python3' },
		async () => {
			const t = await spawnReaped(which('python3')!, ['-u', path.join(dir, 'threads.py')], {}, 'python3 threads.py');
			try {
				const parse = (pid: number) =>
					t.lines
						.map((l) => /^PY (\d+) (\d+) (\S+) (\d+)$/.exec(l))
						.filter((m): m is RegExpExecArray => m !== null && Number(m[1]) === pid)
						.map((m) => ({ tid: Number(m[2]), name: m[3], n: Number(m[4]) }));
				const names = ['main', 'w0', 'w1', 'w2', 'w3'];
				await waitFor(() => names.every((nm) => parse(t.pid).some((x) => x.name === nm && x.n >= 3)), 10000);
				const { body } = await forkOk(t.pid);
				registerChild(body.child);
				assert.equal(body.threads.length, 5);
				const atFork = new Map<string, number>();
				for (const x of parse(t.pid)) atFork.set(x.name, Math.max(atFork.get(x.name) ?? 0, x.n));
				const ok = await waitFor(() => names.every((nm) => parse(body.child).filter((x) => x.name === nm).length >= 5), 15000);
				const child = parse(body.child);
				assert.ok(
					ok,
					`every thread prints in the child with the child's pid: ${JSON.stringify(names.map((nm) => [nm, child.filter((x) => x.name === nm).length]))}; reaped ${JSON.stringify([...t.reaped])}`,
				);
				const childTids = new Set(body.threads.map((x) => x.childTid));
				for (const nm of names) {
					const rows = child.filter((x) => x.name === nm);
					assert.ok(
						rows[0].n >= (atFork.get(nm) ?? 0) - 1,
						`${nm}: the child's counter continues from the fork (${rows[0].n} vs ${atFork.get(nm)})`,
					);
					assert.ok(
						rows.every((r) => childTids.has(r.tid)),
						`${nm}: threading.get_native_id() is a child tid`,
					);
				}
				assertNotStoppedOrTraced(body.child, 'child');
				assert.ok(procStat(t.pid) !== null);
				const p = parse(t.pid).length;
				assert.ok(await waitFor(() => parse(t.pid).length >= p + 10, 5000), 'the parent keeps printing');
				await t.killChild(body.child);
			} finally {
				await t.stop();
			}
		},
	);
	test(
		'java (HotSpot), 4 allocating workers + System.gc() before every tick: every thread of the child runs with the child pid',
		{ timeout: 180000, skip: javaSkip() },
		async () => {
			const classes = compileJavaBusy(dir);
			const t = await spawnReaped(which('java')!, ['-Xmx64m', '-cp', classes, 'Busy'], { readyTimeoutMs: 60000 }, 'java Busy');
			try {
				const parse = (pid: number) =>
					t.lines
						.map((l) => /^JV (\d+) (\d+) (\S+) (\d+)$/.exec(l))
						.filter((m): m is RegExpExecArray => m !== null && Number(m[1]) === pid)
						.map((m) => ({ tid: Number(m[2]), name: m[3], n: Number(m[4]) }));
				const names = ['main', 'w0', 'w1', 'w2', 'w3'];
				await waitFor(() => names.every((nm) => parse(t.pid).some((x) => x.name === nm && x.n >= 3)), 20000);
				const before = listTasks(t.pid).length;
				// what each thread had printed before the fork was asked for: the child continues from later
				const atFork = new Map<string, number>();
				for (const x of parse(t.pid)) atFork.set(x.name, Math.max(atFork.get(x.name) ?? 0, x.n));
				const { body } = await forkOk(t.pid);
				registerChild(body.child);
				// HotSpot's own threads (GC workers, JIT compilers, VM thread, signal dispatcher…) besides ours
				assert.ok(body.threads.length >= 10, `a JVM has many threads: ${body.threads.length} copied`);
				assert.ok(
					Math.abs(body.threads.length - before) <= 2,
					`every thread copied: ${body.threads.length} vs ${before} in /proc before the fork`,
				);
				const ok = await waitFor(() => names.every((nm) => parse(body.child).filter((x) => x.name === nm).length >= 10), 20000);
				const child = parse(body.child);
				assert.ok(
					ok,
					`every thread prints in the child, main after a full GC each time: ${JSON.stringify(names.map((nm) => [nm, child.filter((x) => x.name === nm).length]))}; child threads now ${listTasks(body.child).length}; reaped ${JSON.stringify([...t.reaped])}`,
				);
				const childTids = new Set(body.threads.map((x) => x.childTid));
				for (const nm of names) {
					const rows = child.filter((x) => x.name === nm);
					assert.ok(
						rows[0].n >= (atFork.get(nm) ?? 0),
						`${nm}: its counter continues from the fork (${rows[0].n} vs ${atFork.get(nm)} before it)`,
					);
					assert.ok(
						rows.every((r) => childTids.has(r.tid)),
						`${nm}: runs on a thread forkall recreated (/proc/thread-self: ${[...new Set(rows.map((r) => r.tid))].join(',')})`,
					);
				}
				assertNotStoppedOrTraced(body.child, 'child');
				const p = parse(t.pid).length;
				assert.ok(await waitFor(() => parse(t.pid).length >= p + 10, 10000), 'the parent keeps printing');
				await t.killChild(body.child);
			} finally {
				await t.stop();
			}
		},
	);
});
