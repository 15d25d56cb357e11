/*
 * The process list behind "Attach to Process…": pid, user, command line and
 * thread count, read from /proc. No `vscode` import.
 */
import * as fs from 'node:fs';

export interface ProcInfo {
	pid: number;
	uid: number;
	user: string;
	/** comm (the kernel's 15-character name). */
	name: string;
	/** The command line, arguments joined by spaces ('' for kernel threads). */
	cmdline: string;
	threads: number;
	/** TracerPid from /proc/PID/status (0: not traced). */
	tracerPid: number;
	/** PPid from /proc/PID/status. */
	ppid: number;
}

/** uid -> user name from /etc/passwd (numeric when unknown). */
export function userNames(passwd = '/etc/passwd'): Map<number, string> {
	const m = new Map<number, string>();
	try {
		for (const line of fs.readFileSync(passwd, 'utf8').split('\n')) {
			const f = line.split(':');
			if (f.length >= 3 && /^\d+$/.test(f[2])) m.set(Number(f[2]), f[0]);
		}
	} catch {
		// no passwd: numeric ids
	}
	return m;
}

/** Parse /proc/PID/status text: Name, Uid (real), Threads, TracerPid, PPid. */
export function parseStatus(text: string): { name: string; uid: number; threads: number; tracerPid: number; ppid: number } {
	const get = (k: string): string => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text)?.[1] ?? '';
	return {
		name: get('Name'),
		uid: Number(get('Uid').split(/\s+/)[0] || -1),
		threads: Number(get('Threads') || 0),
		tracerPid: Number(get('TracerPid') || 0),
		ppid: Number(get('PPid') || 0),
	};
}

/** Every user-space process (kernel threads have no command line). */
export function listProcesses(proc = '/proc'): ProcInfo[] {
	const users = userNames();
	const out: ProcInfo[] = [];
	for (const ent of fs.readdirSync(proc)) {
		if (!/^\d+$/.test(ent)) continue;
		const pid = Number(ent);
		try {
			const cmd = fs.readFileSync(`${proc}/${ent}/cmdline`);
			if (cmd.length === 0) continue;
			const cmdline = cmd.toString('utf8').replace(/\0+$/, '').split('\0').join(' ');
			const st = parseStatus(fs.readFileSync(`${proc}/${ent}/status`, 'utf8'));
			out.push({
				pid,
				uid: st.uid,
				user: users.get(st.uid) ?? String(st.uid),
				name: st.name,
				cmdline,
				threads: st.threads,
				tracerPid: st.tracerPid,
				ppid: st.ppid,
			});
		} catch {
			// exited while listing, or not readable
		}
	}
	return out;
}

/** Own processes first, then newest first. */
export function sortForPicking(list: ProcInfo[], myUid: number): ProcInfo[] {
	return [...list].sort((a, b) => Number(b.uid === myUid) - Number(a.uid === myUid) || b.pid - a.pid);
}

/**
 * The process tree for picking: every process right after its parent (when
 * the parent is listed), each level in sortForPicking's order; depth is how
 * far below a listed ancestor it is (0: a root).
 */
export function treeForPicking(list: ProcInfo[], myUid: number): { proc: ProcInfo; depth: number }[] {
	const sorted = sortForPicking(list, myUid);
	const listed = new Set(sorted.map((p) => p.pid));
	const kids = new Map<number, ProcInfo[]>();
	for (const p of sorted) {
		if (p.ppid && listed.has(p.ppid) && p.ppid !== p.pid) {
			const k = kids.get(p.ppid) ?? [];
			k.push(p);
			kids.set(p.ppid, k);
		}
	}
	const out: { proc: ProcInfo; depth: number }[] = [];
	const seen = new Set<number>();
	const walk = (p: ProcInfo, depth: number): void => {
		if (seen.has(p.pid)) return;
		seen.add(p.pid);
		out.push({ proc: p, depth });
		for (const c of kids.get(p.pid) ?? []) walk(c, depth + 1);
	};
	for (const p of sorted) if (!(p.ppid && listed.has(p.ppid))) walk(p, 0);
	for (const p of sorted) walk(p, 0); // a cycle (pid reuse while listing): still listed
	return out;
}
