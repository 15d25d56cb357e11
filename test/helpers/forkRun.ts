/* Run `forkall fork <pid> ...` (bin/forkall) and parse its result. */
import { bodyValidators, type ForkBody } from '../../adapter/src/engine/protocol';
import { forkallCommand, run, type RunResult } from './forkall';

/* The body of `forkall fork --json` is the native "fork" result
 * (native/PROTOCOL.md), typed and checked by the generated protocol code:
 * `childTid` is the tid in OUR namespace; with sameTids the child lives in a
 * new PID namespace where getpid() == parent and each gettid() == its
 * parentTid, and namespaceInit is pid 1 there (a reaper that exits with the
 * child; userNamespace: in a user namespace of its own, without CAP_SYS_ADMIN). */
export type { ForkBody, ForkThread } from '../../adapter/src/engine/protocol';

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
			body = bodyValidators.fork(JSON.parse(res.stdout));
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
		throw new Error(
			`forkall fork ${pid} (${r.tool}): exit ${r.code} signal ${r.signal}; stderr: ${r.stderr.trim()}; stdout: ${r.stdout.slice(0, 300)}`,
		);
	}
	return r as ForkResult & { body: ForkBody };
}
