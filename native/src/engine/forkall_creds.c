/* forkall_creds.c — each child thread gets its parent thread's credentials.
 *
 * Credentials are per thread in the kernel (glibc's setuid() and friends
 * broadcast a change to every thread; the raw system calls do not). A
 * child's threads are clones of its leader, the copy of the forking
 * thread, so they all start with its credentials. A thread whose
 * credentials differed (uids, gids, supplementary groups, capability sets,
 * no_new_privs) gets them back by system calls run inside it, in the order
 * the kernel's rules allow (groups and gids while it may still set them,
 * then uids, then capabilities). What the forking thread's privileges do
 * not permit is reported as a warning naming the thread and what differs;
 * the result is read back from /proc, so the warning says what is true. */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/procfs.h"
#include "engine/forkall_int.h"
#include "ptrace/rsys.h"

/* scratch bytes for setgroups' array: [scratch_at, +SCRATCH_LEN) */
#define GROUPS_MAX (448 / 4)

static bool same_groups(const struct proc_creds *a, const struct proc_creds *b)
{
	return a->ngroups == b->ngroups &&
	       (a->ngroups <= 0 || memcmp(a->groups, b->groups, (size_t)a->ngroups * sizeof a->groups[0]) == 0);
}

bool fa_creds_differ(const struct proc_creds *a, const struct proc_creds *b)
{
	return memcmp(a->uid, b->uid, sizeof a->uid) != 0 || memcmp(a->gid, b->gid, sizeof a->gid) != 0 ||
	       !same_groups(a, b) || a->cap_inh != b->cap_inh || a->cap_prm != b->cap_prm || a->cap_eff != b->cap_eff ||
	       a->cap_bnd != b->cap_bnd || a->cap_amb != b->cap_amb || a->no_new_privs != b->no_new_privs;
}

/* What differs, for a warning: "uid 1000/1000/1000/1000 (is 0/0/0/0), ..." */
static void describe(const struct proc_creds *want, const struct proc_creds *got, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = 0;
#define PUT(...) (n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__))
	if (memcmp(want->uid, got->uid, sizeof want->uid))
		PUT("%suid %u/%u/%u/%u (is %u/%u/%u/%u)", n ? ", " : "", want->uid[0], want->uid[1], want->uid[2],
		    want->uid[3], got->uid[0], got->uid[1], got->uid[2], got->uid[3]);
	if (memcmp(want->gid, got->gid, sizeof want->gid))
		PUT("%sgid %u/%u/%u/%u (is %u/%u/%u/%u)", n ? ", " : "", want->gid[0], want->gid[1], want->gid[2],
		    want->gid[3], got->gid[0], got->gid[1], got->gid[2], got->gid[3]);
	if (!same_groups(want, got))
		PUT("%ssupplementary groups (%d, is %d)", n ? ", " : "", want->ngroups, got->ngroups);
	if (want->cap_eff != got->cap_eff || want->cap_prm != got->cap_prm || want->cap_inh != got->cap_inh)
		PUT("%scapabilities eff/prm/inh %llx/%llx/%llx (is %llx/%llx/%llx)", n ? ", " : "",
		    (unsigned long long)want->cap_eff, (unsigned long long)want->cap_prm,
		    (unsigned long long)want->cap_inh, (unsigned long long)got->cap_eff,
		    (unsigned long long)got->cap_prm, (unsigned long long)got->cap_inh);
	if (want->cap_bnd != got->cap_bnd)
		PUT("%sbounding set %llx (is %llx)", n ? ", " : "", (unsigned long long)want->cap_bnd,
		    (unsigned long long)got->cap_bnd);
	if (want->cap_amb != got->cap_amb)
		PUT("%sambient set %llx (is %llx)", n ? ", " : "", (unsigned long long)want->cap_amb,
		    (unsigned long long)got->cap_amb);
	if (want->no_new_privs != got->no_new_privs)
		PUT("%sno_new_privs %d (is %d)", n ? ", " : "", want->no_new_privs, got->no_new_privs);
#undef PUT
}

/* One call in one child thread; its result (or -errno of a failed inject). */
static long call(struct forkall *fa, struct tstate *t, long nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	uint64_t a[6] = { a0, a1, a2, 0, 0, 0 };
	long ret = 0;
	struct fk_err e;
	fk_err_clear(&e);
	if (rsys_one(fa->tr, fa->cproc, fa->insn, t->child_tid, nr, a, &ret, NULL, &e) < 0)
		return -(e.errnum ? e.errnum : EIO);
	return ret;
}

static void restore_thread(struct forkall *fa, struct tstate *t, const struct proc_creds *have)
{
	const struct proc_creds *w = &t->creds;
	uint64_t at = t->scratch_at;
	if (!t->scratch_saved)
		return; /* no scratch bytes we can put back: nothing is written */
	if (!same_groups(w, have) && w->ngroups >= 0 && w->ngroups <= GROUPS_MAX &&
	    mem_write_exact(fa->child, at, w->groups, (size_t)w->ngroups * sizeof w->groups[0]) == 0)
		call(fa, t, SYS_setgroups, (uint64_t)w->ngroups, at, 0);
	if (memcmp(w->gid, have->gid, sizeof w->gid)) {
		call(fa, t, SYS_setresgid, w->gid[0], w->gid[1], w->gid[2]);
		call(fa, t, SYS_setfsgid, w->gid[3], 0, 0);
	}
	/* bounding and ambient sets before the uid change can take CAP_SETPCAP */
	for (int c = 0; c < 64; c++) {
		uint64_t bit = 1ull << c;
		if ((have->cap_bnd & bit) && !(w->cap_bnd & bit))
			call(fa, t, SYS_prctl, PR_CAPBSET_DROP, (uint64_t)c, 0);
	}
	if (memcmp(w->uid, have->uid, sizeof w->uid)) {
		call(fa, t, SYS_setresuid, w->uid[0], w->uid[1], w->uid[2]);
		call(fa, t, SYS_setfsuid, w->uid[3], 0, 0);
	}
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)w->cap_eff, (uint32_t)w->cap_prm, (uint32_t)w->cap_inh },
		{ (uint32_t)(w->cap_eff >> 32), (uint32_t)(w->cap_prm >> 32), (uint32_t)(w->cap_inh >> 32) },
	};
	if (mem_write_exact(fa->child, at, &h, sizeof h) == 0 && mem_write_exact(fa->child, at + 16, d, sizeof d) == 0)
		call(fa, t, SYS_capset, at, at + 16, 0);
	if (w->cap_amb != have->cap_amb) {
		call(fa, t, SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0);
		for (int c = 0; c < 64; c++)
			if (w->cap_amb & (1ull << c))
				call(fa, t, SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (uint64_t)c);
	}
	if (w->no_new_privs && !have->no_new_privs)
		call(fa, t, SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0);
}

int fa_child_creds(struct forkall *fa)
{
	if (fa_skip(fa, "creds"))
		return 0;
	const struct tstate *f = &fa->ts[fa->forker];
	if (!f->creds_ok)
		return 0;
	for (size_t i = 0; i < fa->nts; i++) {
		struct tstate *t = &fa->ts[i];
		if (i == fa->forker || !t->creds_ok || !fa_creds_differ(&t->creds, &f->creds))
			continue;
		restore_thread(fa, t, &f->creds);
		struct proc_creds now;
		if (proc_task_creds(fa->child, t->child_tid, &now) < 0) {
			fa_warn(fa, "thread %d: credentials not checked (reading /proc/%d/task/%d/status failed)",
				(int)t->tid, (int)fa->child, (int)t->child_tid);
			continue;
		}
		if (fa_creds_differ(&t->creds, &now)) {
			char what[512];
			describe(&t->creds, &now, what, sizeof what);
			fa_warn(fa, "thread %d: credentials not all copied (the forking thread may not set them): %s",
				(int)t->tid, what);
		}
	}
	return fa_fault_at(fa, "creds");
}
