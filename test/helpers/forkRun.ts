/* Run `forkall fork <pid> ...` (bin/forkall) and parse its result. */
import { forkallCommand, run, type RunResult } from './forkall';

export interface ForkThread {
	parentTid: number;
	childTid: number;
}
export interface ForkBody {
	parent: number;
	/* the child's pid in OUR namespace (with sameTids: not its getpid()) */
	child: number;
	/* --same-tids: the child lives in a new PID namespace where getpid() ==
	 * parent and each gettid() == its parentTid (childTid: the outer tid) */
	sameTids?: boolean;
	/* --same-tids: pid 1 of that namespace (the child's parent, a reaper that
	 * exits when the child does; its own parent is the target's parent) */
	namespaceInit?: number;
	userNamespace?: boolean;
	threads: ForkThread[];
	timings: { pauseUs: number; forkUs: number; threadsUs: number; totalUs: number };
	dontfork: { regions: number; bytes: number; copied: boolean };
	wipeonfork: Array<{ start: string; end: string; path: string }>;
	zombieLeader: boolean;
	robustOwnersFixed: number;
	warnings: string[];
}

export interface ForkOptions {
	stopped?: boolean;
	/* true: --copy-dontfork, false: --no-copy-dontfork, unset: the CLI default (copy) */
	copyDontfork?: boolean;
	sameTids?: boolean;
	/* extra environment (FORKALL_SKIP, FORKALL_FAULT) */
	env?: Record<string, string>;
	/* run the CLI as this user (the test runs as root) */
	user?: { uid: number; gid: number; name: string };
	timeoutMs?: number;
}

export interface ForkResult extends RunResult {
	body: ForkBody | null;
	tool: 'cli';
}

/* What runs the fork (named in test titles). */
export function forkTool(): 'cli' {
	return 'cli';
}

export function forkArgv(pid: number, opts: ForkOptions = {}): string[] {
	const flags = [
		...(opts.stopped ? ['--stopped'] : []),
		...(opts.copyDontfork === true ? ['--copy-dontfork'] : opts.copyDontfork === false ? ['--no-copy-dontfork'] : []),
		...(opts.sameTids ? ['--same-tids'] : []),
		'--json',
	];
	return [...forkallCommand(), 'fork', String(pid), ...flags];
}

/* Run one fork; never throws for a non-zero exit (the caller asserts). */
export async function runFork(pid: number, opts: ForkOptions = {}): Promise<ForkResult> {
	const argv = forkArgv(pid, opts);
	const env = { ...process.env, ...(opts.env ?? {}) };
	if (!opts.env?.FORKALL_SKIP) delete env.FORKALL_SKIP;
	if (!opts.env?.FORKALL_FAULT) delete env.FORKALL_FAULT;
	/* FORKALL_TEST_FORCE_SKIP=<steps>: break every fork of a test run on
	 * purpose, to see that the test notices */
	if (!opts.env?.FORKALL_SKIP && process.env.FORKALL_TEST_FORCE_SKIP) env.FORKALL_SKIP = process.env.FORKALL_TEST_FORCE_SKIP;
	const res = await run(argv, { env, timeoutMs: opts.timeoutMs ?? 120000, user: opts.user });
	let body: ForkBody | null = null;
	if (res.code === 0) {
		try {
			body = JSON.parse(res.stdout) as ForkBody;
		} catch {
			body = null;
		}
	}
	return { ...res, body, tool: forkTool() };
}

/* A successful fork: exit 0 and a JSON body, else throw with the details. */
export async function forkOk(pid: number, opts: ForkOptions = {}): Promise<ForkResult & { body: ForkBody }> {
	const r = await runFork(pid, opts);
	if (r.code !== 0 || !r.body) {
		throw new Error(`forkall fork ${pid} (${r.tool}): exit ${r.code} signal ${r.signal}; stderr: ${r.stderr.trim()}; stdout: ${r.stdout.slice(0, 300)}`);
	}
	return r as ForkResult & { body: ForkBody };
}
