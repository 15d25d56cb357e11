/*
 * forkall fork --same-tids for a target without CAP_SYS_ADMIN (issue 16
 * item 4): the namespace init is made with clone(CLONE_NEWUSER |
 * CLONE_NEWPID), in a user namespace of the target's own that maps its
 * uids and gids to themselves, where it may give the child the parent's
 * pid and tids. Both a root tracer and a tracer of the target's own
 * unprivileged user. Where the kernel refuses unprivileged user
 * namespaces, the error must say so.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { killAll } from '../helpers/procs';
import { fixturePath } from '../helpers/paths';
import { forkOk, runFork } from '../helpers/forkRun';
import { cleanupFork, registerChild, spawnReaped, waitGone } from '../helpers/forkTarget';

after(async () => {
	await cleanupFork();
	await killAll();
});

const NOBODY = { uid: 65534, gid: 65534, name: 'nobody' };
const notRoot = typeof process.getuid === 'function' && process.getuid() !== 0;
const skip = notRoot ? 'runs the target as another user: needs root' : false;

function readNum(p: string): number | null {
	try {
		return Number(fs.readFileSync(p, 'utf8').trim());
	} catch {
		return null;
	}
}
/* Debian's switch, and the generic limit */
const usernsAllowed = readNum('/proc/sys/kernel/unprivileged_userns_clone') !== 0 && readNum('/proc/sys/user/max_user_namespaces') !== 0;

describe("--same-tids without CAP_SYS_ADMIN: a user namespace of the target's own", () => {
	for (const tracer of ['root', "the target's own user"] as const) {
		test(`target runs as nobody, tracer is ${tracer}`, { skip }, async () => {
			const t = await spawnReaped<{ pid: number; tids: number[] }>(fixturePath('sigfidelity'), ['handler'], {
				uid: NOBODY.uid,
				gid: NOBODY.gid,
			});
			try {
				const opts = { sameTids: true, ...(tracer === 'root' ? {} : { user: NOBODY }) };
				if (!usernsAllowed) {
					const r = await runFork(t.pid, opts);
					assert.notEqual(r.code, 0);
					assert.match(r.stderr, /unprivileged user namespaces are off|max_user_namespaces/);
					return;
				}
				const { body } = await forkOk(t.pid, opts);
				registerChild(body.child);
				if (body.namespaceInit) registerChild(body.namespaceInit);
				assert.equal(body.userNamespace, true, 'made in a user namespace');
				const childOf = new Map(body.threads.map((x) => [x.parentTid, x.childTid]));
				for (const tid of t.truth.tids) assert.ok(childOf.has(tid), `thread ${tid} copied`);
				const line = await t.waitLine((l) => l.startsWith('CHILD {'), 20000, "the child's CHILD line");
				assert.equal(JSON.parse(line.slice(6)).pid, t.pid, "getpid() in the child is the parent's pid");
				assert.equal(await t.waitLine((l) => l.startsWith('CHILD-TRAP '), 20000, 'CHILD-TRAP'), 'CHILD-TRAP handled');
				assert.equal(
					fs.readFileSync(`/proc/${body.child}/uid_map`, 'utf8').trim().split(/\s+/).join(' '),
					'65534 65534 1',
					'its uid maps to itself',
				);
				assert.match(
					fs.readFileSync(`/proc/${body.child}/status`, 'utf8'),
					/^Uid:\t65534\t65534\t65534\t65534$/m,
					'the same uid outside',
				);
				assert.notEqual(fs.readlinkSync(`/proc/${body.child}/ns/user`), fs.readlinkSync(`/proc/${t.pid}/ns/user`));
				// the init ends as the child did (issue 16 item 3), here too
				process.kill(body.child, 'SIGSEGV');
				assert.ok(await waitGone(body.namespaceInit!, 10000), 'the init exits with its child');
				for (let i = 0; i < 300 && !t.reaped.has(body.namespaceInit!); i++) await new Promise((r) => setTimeout(r, 10));
				assert.equal((t.reaped.get(body.namespaceInit!) ?? -1) & 0x7f, 11, 'killed by SIGSEGV, as its child');
			} finally {
				await t.stop();
			}
		});
	}
});
