/*
 * Entry of the adapter process the extension spawns (bundled into
 * dist/adapter.js): the `forkall` CLI, plus a parent watch. The extension
 * keeps our stdin open; when it closes (the extension host went away, even
 * by a crash), send ourselves SIGTERM so the adapter's own shutdown runs
 * (detach attached processes, kill launched ones) instead of lingering.
 */
import { cli } from '../../adapter/src/cli/main';

const watch = process.env.FORKALL_WATCH_STDIN === '1';
// Launched debuggees inherit our environment: keep it free of the extension's knobs.
delete process.env.FORKALL_WATCH_STDIN;
delete process.env.ELECTRON_RUN_AS_NODE;
if (watch) {
	process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
	process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
	process.stdin.resume();
}
cli();
