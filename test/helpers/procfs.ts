/* /proc readers and the "nothing left stopped or traced" check. */
import * as fs from 'node:fs';
import * as assert from 'node:assert/strict';

export function listTasks(pid: number): number[] {
	try {
		return fs
			.readdirSync(`/proc/${pid}/task`)
			.map(Number)
			.filter((n) => n > 0)
			.sort((a, b) => a - b);
	} catch {
		return [];
	}
}

export interface TaskStat {
	tid: number;
	comm: string;
	state: string;
	utime: number;
	stime: number;
}

/* null when the task is gone. */
export function taskStat(pid: number, tid: number): TaskStat | null {
	let s: string;
	try {
		s = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
	} catch {
		return null;
	}
	const open = s.indexOf('(');
	const close = s.lastIndexOf(')');
	const rest = s.slice(close + 2).split(' ');
	// rest[0] = field 3 (state); utime = field 14, stime = field 15
	return { tid, comm: s.slice(open + 1, close), state: rest[0], utime: Number(rest[11]), stime: Number(rest[12]) };
}

/* TracerPid of one task, null when gone. */
export function tracerPid(pid: number, tid: number): number | null {
	try {
		const m = /^TracerPid:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
		return m ? Number(m[1]) : null;
	} catch {
		return null;
	}
}

export interface TaskState {
	tid: number;
	state: string;
	tracerPid: number;
}

/* State letter and TracerPid of every task of pid (tasks that vanish while
 * being read are left out). */
export function procState(pid: number): TaskState[] {
	const out: TaskState[] = [];
	for (const tid of listTasks(pid)) {
		const st = taskStat(pid, tid);
		const tp = tracerPid(pid, tid);
		if (st && tp !== null) out.push({ tid, state: st.state, tracerPid: tp });
	}
	return out;
}

/* No task in t/T (stopped) and no tracer attached. */
export function assertNotStoppedOrTraced(pid: number, context = ''): void {
	const states = procState(pid);
	assert.ok(states.length > 0, `${context}: process ${pid} has no tasks (dead?)`);
	const bad = states.filter((s) => s.state === 't' || s.state === 'T' || s.tracerPid !== 0);
	assert.deepEqual(bad, [], `${context}: tasks of ${pid} left stopped or traced`);
}

export interface Mapping {
	start: bigint;
	end: bigint;
	perms: string;
	name: string;
}

export function readMaps(pid: number): Mapping[] {
	return fs
		.readFileSync(`/proc/${pid}/maps`, 'utf8')
		.split('\n')
		.filter(Boolean)
		.map((line) => {
			const parts = line.split(/\s+/);
			const [a, b] = parts[0].split('-');
			return { start: BigInt('0x' + a), end: BigInt('0x' + b), perms: parts[1], name: parts.slice(5).join(' ') };
		});
}

/* CPU time (utime+stime, clock ticks) of one task. */
export function cpuTicks(pid: number, tid: number): number {
	const st = taskStat(pid, tid);
	if (!st) throw new Error(`task ${tid} of ${pid} is gone`);
	return st.utime + st.stime;
}

/* A kernel thread visible here (PF_KTHREAD in /proc/PID/stat), or null (e.g. in a PID namespace). */
export function kernelThread(): { pid: number; comm: string } | null {
	for (const e of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(e)) continue;
		try {
			const s = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
			const close = s.lastIndexOf(')');
			const flags = Number(s.slice(close + 2).split(' ')[6]);
			if (flags & 0x00200000) return { pid: Number(e), comm: s.slice(s.indexOf('(') + 1, close) };
		} catch {
			/* gone */
		}
	}
	return null;
}
