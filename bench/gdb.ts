/* gdb as a baseline: `gdb -nx -batch` with one command timed by gdb's own
 * Python clock (no startup, no symbol loading in the number). */
import { run } from '../test/helpers/forkall';

/**
 * Run `gdb -nx -batch`: `before` commands, then `timed` between two
 * perf_counter readings, then `after`, on `program args`. Returns the timed
 * command's milliseconds and gdb's stdout.
 */
export async function gdbTimed(
	gdb: string,
	opts: { before?: string[]; timed: string; after?: string[]; program: string; args: string[] },
): Promise<{ ms: number; stdout: string }> {
	const ex = (cmds: string[]) => cmds.flatMap((c) => ['-ex', c]);
	const res = await run(
		[
			gdb,
			'-nx',
			'-batch',
			...ex(['set pagination off', ...(opts.before ?? [])]),
			...ex(['python import time; t0 = time.perf_counter()', opts.timed]),
			...ex(['python print("TIMED_MS %.3f" % ((time.perf_counter() - t0) * 1000))', ...(opts.after ?? [])]),
			'--args',
			opts.program,
			...opts.args,
		],
		{ timeoutMs: 600000 },
	);
	const m = /TIMED_MS ([\d.]+)/.exec(res.stdout);
	if (!m) throw new Error(`gdb printed no timing (exit ${res.code}): ${res.stdout.slice(-500)} ${res.stderr.slice(-500)}`);
	return { ms: Number(m[1]), stdout: res.stdout };
}
