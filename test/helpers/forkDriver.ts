/*
 * Stand-in for `forkall fork <pid> [--stopped] [--copy-dontfork] [--json]`
 * while the CLI does not have the command yet (test/helpers/forkRun.ts uses
 * the real CLI as soon as `forkall --help` lists `fork`). Same contract:
 * --json prints the FK_OP_FORK body on stdout; exit 0 ok, 1 failure with ONE
 * stderr line "forkall: <cause>", 2 usage. Drives the engine in-process
 * through the TypeScript Tracer (native op FK_OP_FORK).
 *
 *   node out/test/helpers/forkDriver.js <pid> [--stopped] [--copy-dontfork] [--json]
 */
import { Tracer, Flags } from '../../adapter/src/engine/tracer';

async function main(): Promise<number> {
	const args = process.argv.slice(2);
	let pid = 0;
	let flags = Flags.forkCopyDontfork; /* the CLI's default */
	let json = false;
	for (const a of args) {
		if (a === '--stopped') flags |= Flags.forkStopped;
		else if (a === '--copy-dontfork') flags |= Flags.forkCopyDontfork;
		else if (a === '--no-copy-dontfork') flags &= ~Flags.forkCopyDontfork;
		else if (a === '--json') json = true;
		else if (/^\d+$/.test(a) && pid === 0) pid = Number(a);
		else {
			process.stderr.write(`forkall: unknown argument ${a}\n`);
			return 2;
		}
	}
	if (pid <= 0) {
		process.stderr.write('forkall: usage: fork <pid> [--stopped] [--copy-dontfork] [--json]\n');
		return 2;
	}
	const tr = Tracer.open();
	try {
		const body = (await tr.request('fork', { pid, flags })) as unknown as Record<string, unknown>;
		process.stdout.write(json ? JSON.stringify(body) + '\n' : `forked ${pid} -> ${String(body.child)}\n`);
		return 0;
	} catch (e) {
		process.stderr.write(`forkall: ${(e as Error).message.replace(/\s*\n\s*/g, '; ')}\n`);
		return 1;
	} finally {
		await tr.close();
	}
}

main().then(
	(code) => process.exit(code),
	(e) => {
		process.stderr.write(`forkall: ${(e as Error).message}\n`);
		process.exit(1);
	},
);
