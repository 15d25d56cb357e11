/*
 * Deadlock bench (issue 11 item 8, first part): test/fixtures/deadlock —
 * "holder" holds table_lock, main forks, the child locks it at once — under
 * `forkall dap --server` with followForks "both": from the child session's
 * configurationDone (the child runs; it blocks within microseconds) to its
 * `stopped` event with reason "deadlock". The watch reads the child's
 * threads' /proc/PID/task/TID/syscall every 200 ms, so the expectation is
 * 0–200 ms plus the stop. Also the fork event's cost as the parent sees it:
 * launch → the child's startDebugging request (the capture of the lost
 * threads is in it). Medians of RUNS.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapServer } from '../test/dap/support';
import { fixturePath } from '../test/helpers/paths';
import { Table, median } from './table';

const RUNS = Number(process.env.FORKALL_BENCH_DEADLOCK_RUNS ?? 5);

async function once(): Promise<{ stopMs: number; forkMs: number }> {
	const server = await DapServer.start();
	const parent = await server.client();
	const children = [];
	try {
		await parent.init();
		const initialized = parent.next('initialized');
		await parent.launchRequest({ program: fixturePath('deadlock') } as DebugProtocol.LaunchRequestArguments);
		await initialized;
		const t0 = performance.now();
		await parent.configurationDoneRequest();
		const req = await parent.waitReverse('startDebugging', 20000);
		const forkMs = performance.now() - t0;
		const child = await server.client();
		children.push(child);
		await child.init();
		const cinit = child.next('initialized');
		await child.attachRequest(
			(req.arguments as DebugProtocol.StartDebuggingRequestArguments).configuration as DebugProtocol.AttachRequestArguments,
		);
		await cinit;
		const stopped = child.next('stopped', 20000) as Promise<DebugProtocol.StoppedEvent>;
		const t1 = performance.now();
		await child.configurationDoneRequest();
		parent.respond(req, true);
		const ev = await stopped;
		const stopMs = performance.now() - t1;
		if (ev.body.reason !== 'deadlock') throw new Error(`the child stopped with reason ${ev.body.reason}, not deadlock`);
		await parent.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined);
		return { stopMs, forkMs };
	} finally {
		for (const c of children) await c.stop().catch(() => undefined);
		await parent.stop().catch(() => undefined);
		await server.stop();
	}
}

export async function deadlockBench(): Promise<string> {
	const stop: number[] = [];
	const fork: number[] = [];
	for (let i = 0; i < RUNS; i++) {
		const r = await once();
		stop.push(r.stopMs);
		fork.push(r.forkMs);
	}
	const table = new Table('the fork deadlock: from the child starting to its "deadlock" stop', ['what', 'median ms', 'min ms', 'max ms']);
	table.addRow([
		'child runs → stopped (reason deadlock)',
		Number(median(stop).toFixed(1)),
		Number(Math.min(...stop).toFixed(1)),
		Number(Math.max(...stop).toFixed(1)),
	]);
	table.addRow([
		"configurationDone → the child's startDebugging",
		Number(median(fork).toFixed(1)),
		Number(Math.min(...fork).toFixed(1)),
		Number(Math.max(...fork).toFixed(1)),
	]);
	table.note(`${RUNS} runs; the watch polls every 200 ms only while a lock is held by a thread the child lost (goal: within 1 s).`);
	table.note(
		'the second row includes the program reaching its fork (it waits for holder to hold the lock) and the capture of the lost threads.',
	);
	return table.render();
}
