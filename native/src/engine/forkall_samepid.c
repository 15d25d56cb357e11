/* forkall_samepid.c — the tid-preserving fork.
 *
 * Tids live in memory: glibc's errorcheck/recursive/robust/PI mutexes store
 * their owner's tid, and applications cache gettid()/getpid(). A child
 * whose threads have new tids cannot unlock what they held. Here the child
 * gets the same numbers, as CRIU restores them: in a new PID namespace
 * where they are free, through clone3's set_tid.
 *
 *   forker F (parent):  fd = open(/proc/thread-self/ns/pid_for_children)
 *                       unshare(CLONE_NEWPID)   F's next child is in N
 *                       clone(SIGCHLD|CLONE_PARENT) -> I, pid 1 of N
 *                       setns(fd, CLONE_NEWPID); close(fd)   F as before
 *   init I:             close(fd); clone3(set_tid = {pid}) -> the child C,
 *                       whose getpid() is the parent's pid
 *   child leader C:     clone3(CLONE_THREAD.., set_tid = {tid}) per thread
 *   I, at the end:      a reaper loop (wait4 until ECHILD, then the child's own
 *                       end: its exit code or its signal, see reaper.S), so
 *                       N ends when C does and I's parent reaps I
 *
 * Needs CAP_SYS_ADMIN for unshare and set_tid in the target's user
 * namespace (root, or a target launched inside a user namespace).
 * Outside N (ps, /proc, the tracer) the child has other numbers; inside,
 * /proc still shows the outer namespace, so /proc/<getpid()> is the parent.
 */
#include "engine/forkall_int.h"

#include "base/log.h"
#include "base/mem.h"
#include "base/procfs.h"
#include "ptrace/rsys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

/* struct clone_args up to set_tid_size (CLONE_ARGS_SIZE_VER1): UAPI */
struct clone_args_v1 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size;
};

static int call(struct forkall *fa, struct proc *p, pid_t tid, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		uint64_t a3, long *ret, struct rsys_call *rc)
{
	uint64_t a[6] = { a0, a1, a2, a3, 0, 0 };
	return rsys_one(fa->tr, p, fa->insn, tid, nr, a, ret, rc, fa->err);
}

static int clone_child(struct forkall *fa);

/* /proc/I/<file> := text; 0 or -errno */
static int write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int e = n < 0 ? errno : (size_t)n != strlen(text) ? EIO : 0;
	close(fd);
	return -e;
}

/* "a a 1\n" for each distinct id of r/e/s/fs, or only the effective one */
static void id_map(const uint32_t ids[4], bool all, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = 0;
	for (int i = 0; i < 4; i++) {
		if (!all && i != 1)
			continue;
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup |= (all || j == 1) && ids[j] == ids[i];
		if (!dup)
			n += (size_t)snprintf(buf + n, cap - n, "%u %u 1\n", ids[i], ids[i]);
	}
}

/* Map the target's own uids and gids into I's new user namespace, so the
 * child's files keep their owners: every id it uses when the tracer may
 * (CAP_SETUID/CAP_SETGID), else its effective ids (what an unprivileged
 * user may map: its own). */
static int map_ids(struct forkall *fa, pid_t I)
{
	struct proc_creds cr;
	int rc = proc_task_creds(fa->sp_from->pid, fa->sp_tid, &cr);
	if (rc < 0)
		return fk_fail(fa->err, -rc, FK_KIND_FAILED, "same-tids", "reading the credentials of process %d",
			       (int)fa->sp_from->pid);
	char m[128];
	id_map(cr.uid, true, m, sizeof m);
	if ((rc = write_proc(I, "uid_map", m)) == -EPERM) {
		id_map(cr.uid, false, m, sizeof m);
		rc = write_proc(I, "uid_map", m);
	}
	if (rc < 0)
		return fk_fail(fa->err, -rc, FK_KIND_FAILED, "same-tids", "writing /proc/%d/uid_map (\"%.*s\")", (int)I,
			       (int)strcspn(m, "\n"), m);
	id_map(cr.gid, true, m, sizeof m);
	if ((rc = write_proc(I, "gid_map", m)) == -EPERM) {
		/* unprivileged: only after setgroups is denied in the namespace */
		write_proc(I, "setgroups", "deny");
		id_map(cr.gid, false, m, sizeof m);
		rc = write_proc(I, "gid_map", m);
	}
	if (rc < 0)
		return fk_fail(fa->err, -rc, FK_KIND_FAILED, "same-tids", "writing /proc/%d/gid_map (\"%.*s\")", (int)I,
			       (int)strcspn(m, "\n"), m);
	return 0;
}

/* Without CAP_SYS_ADMIN: clone(CLONE_NEWUSER | CLONE_NEWPID) makes the
 * init in a new user namespace, owned by the target's user, where it holds
 * the capabilities set_tid needs. The child lives there too, with the
 * target's uids and gids mapped to themselves. (clone may do this in a
 * threaded process; unshare(CLONE_NEWUSER) may not.) */
static int userns_fork(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	struct proc *P = fa->sp_from;
	pid_t F = fa->sp_tid;
	long ret;
	struct rsys_call c;
	uint64_t flags = CLONE_NEWUSER | CLONE_NEWPID | SIGCHLD;
	fa->t_fork0 = tr_now_us();
	if (fa_fault_at(fa, "fork") < 0 || call(fa, P, F, SYS_clone, flags | CLONE_PARENT, 0, 0, 0, &ret, &c) < 0)
		return -1;
	if (ret == -EINVAL && call(fa, P, F, SYS_clone, flags, 0, 0, 0, &ret, &c) < 0)
		return -1;
	if (ret < 0)
		return fk_fail(err, (int)-ret, ret == -EPERM || ret == -ENOSPC ? FK_KIND_PERM : FK_KIND_FAILED,
			       "same-tids",
			       "keeping tids needs a new PID namespace: process %d has no CAP_SYS_ADMIN for one, and "
			       "clone(CLONE_NEWUSER|CLONE_NEWPID) for one of its own was refused%s",
			       (int)fa->pid,
			       ret == -EPERM	? " (unprivileged user namespaces are off: sysctl "
						  "kernel.unprivileged_userns_clone or user.max_user_namespaces, or an "
						  "AppArmor/SELinux/seccomp policy)"
			       : ret == -ENOSPC ? " (user.max_user_namespaces or the nesting limit reached)"
						: "");
	fa->init = c.event == PTRACE_EVENT_FORK && c.event_msg ? (pid_t)c.event_msg : 0;
	if (!fa->init)
		return fk_fail(err, EPROTO, FK_KIND_FAILED, "fork", "no fork event for the namespace init of %d",
			       (int)fa->pid);
	fa->userns = true;
	if (fa_attach_new(fa, fa->init, &fa->iproc, "same-tids") < 0 || map_ids(fa, fa->init) < 0)
		return -1;
	return clone_child(fa);
}

int samepid_fork(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	struct tstate *f = &fa->ts[fa->forker];
	if (!fa->sp_from) {
		fa->sp_from = fa->parent;
		fa->sp_tid = f->tid;
	}
	if (!fa->sp_want)
		fa->sp_want = fa->pid;
	struct proc *P = fa->sp_from;
	pid_t F = fa->sp_tid;
	long fd = -1, ret;
	int rc = 0;

	static const char path[] = "/proc/thread-self/ns/pid_for_children";
	uint64_t spath = fa_scratch(f, 256); /* the forking thread's stack (a checkpoint's: the same memory) */
	if (mem_write_exact(F, spath, path, sizeof path) < 0)
		return fk_fail(err, EFAULT, FK_KIND_FAILED, "same-tids", "writing to the stack of thread %d", (int)F);
	fa->injected_parent = true;
	if (call(fa, P, F, SYS_openat, (uint64_t)AT_FDCWD, spath, O_RDONLY | O_CLOEXEC, 0, &fd, NULL) < 0)
		return -1;
	if (fd < 0)
		return fk_fail(err, (int)-fd, FK_KIND_FAILED, "same-tids", "opening %s in thread %d", path, (int)F);
	if (call(fa, P, F, SYS_unshare, CLONE_NEWPID, 0, 0, 0, &ret, NULL) < 0) {
		rc = -1;
		goto close_fd;
	}
	if (ret == -EPERM) {
		/* No CAP_SYS_ADMIN in the target: the init gets a user
		 * namespace of its own, where it has it (below). */
		call(fa, P, F, SYS_close, (uint64_t)fd, 0, 0, 0, &ret, NULL);
		return userns_fork(fa);
	}
	if (ret < 0) {
		rc = fk_fail(err, (int)-ret, FK_KIND_FAILED, "same-tids", "unshare(CLONE_NEWPID) in process %d",
			     (int)fa->pid);
		goto close_fd;
	}
	if (ptrace(PTRACE_SETOPTIONS, F, 0, ATTACH_OPTIONS | PTRACE_O_TRACEFORK) < 0) {
		rc = fk_fail(err, errno, FK_KIND_FAILED, "fork", "PTRACE_SETOPTIONS of thread %d", (int)F);
		goto restore_ns;
	}
	struct rsys_call c;
	fa->t_fork0 = tr_now_us();
	if (fa_fault_at(fa, "fork") < 0 || call(fa, P, F, SYS_clone, SIGCHLD | CLONE_PARENT, 0, 0, 0, &ret, &c) < 0) {
		rc = -1;
		goto restore_ns;
	}
	if (ret == -EINVAL && call(fa, P, F, SYS_clone, SIGCHLD, 0, 0, 0, &ret, &c) < 0) {
		rc = -1;
		goto restore_ns;
	}
	if (ret < 0) {
		rc = fk_fail(err, (int)-ret, FK_KIND_FAILED, "fork", "creating the namespace init from process %d",
			     (int)fa->pid);
		goto restore_ns;
	}
	/* from the fork event only: a result register is not a pid (seccomp) */
	fa->init = c.event == PTRACE_EVENT_FORK && c.event_msg ? (pid_t)c.event_msg : 0;
	if (!fa->init)
		rc = fk_fail(err, EPROTO, FK_KIND_FAILED, "fork", "no fork event for the namespace init of %d",
			     (int)fa->pid);

restore_ns:
	ptrace(PTRACE_SETOPTIONS, F, 0, ATTACH_OPTIONS);
	if (call(fa, P, F, SYS_setns, (uint64_t)fd, CLONE_NEWPID, 0, 0, &ret, NULL) < 0 || ret < 0) {
		if (ret < 0)
			fk_fail(err, (int)-ret, FK_KIND_FAILED, "same-tids", "setns back in thread %d", (int)F);
		rc = -1;
	}
close_fd:
	if (call(fa, P, F, SYS_close, (uint64_t)fd, 0, 0, 0, &ret, NULL) < 0)
		rc = -1;
	if (rc < 0 || !fa->init)
		return -1;

	/* the init: a copy of the parent as it is now */
	if (fa_attach_new(fa, fa->init, &fa->iproc, "same-tids") < 0)
		return -1;
	pid_t I = fa->init;
	if (call(fa, fa->iproc, I, SYS_close, (uint64_t)fd, 0, 0, 0, &ret, NULL) < 0)
		return -1;
	return clone_child(fa);
}

/* The init I clones the child C with the parent's pid inside N. */
static int clone_child(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	struct tstate *f = &fa->ts[fa->forker];
	pid_t I = fa->init;
	long ret;
	struct rsys_call c;

	/* the child, pid = the parent's pid inside N */
	struct clone_args_v1 ca;
	memset(&ca, 0, sizeof ca);
	ca.exit_signal = SIGCHLD;
	if (f->glibc) {
		ca.flags = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
		ca.child_tid = arch_tp(&f->regs) + (uint64_t)fa->tid_off;
	}
	int64_t want = fa->sp_want;
	uint64_t sargs = fa_scratch(f, 384), stid = sargs + sizeof ca;
	ca.set_tid = stid;
	ca.set_tid_size = 1;
	if (mem_write_exact(I, sargs, &ca, sizeof ca) < 0 ||
	    mem_write_exact(I, stid, &(int32_t){ (int32_t)want }, 4) < 0)
		return fk_fail(err, EFAULT, FK_KIND_FAILED, "same-tids", "writing clone3 arguments into %d", (int)I);
	if (call(fa, fa->iproc, I, SYS_clone3, sargs, sizeof ca, 0, 0, &ret, &c) < 0)
		return -1;
	fa->t_fork1 = tr_now_us();
	if (ret < 0)
		return fk_fail(err, (int)-ret, ret == -EPERM ? FK_KIND_PERM : FK_KIND_FAILED, "fork",
			       "clone3(set_tid = %d) in the new namespace%s", (int)want,
			       ret == -EPERM ? " (needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN)" : "");
	fa->child = c.event == PTRACE_EVENT_FORK && c.event_msg ? (pid_t)c.event_msg : 0;
	if (!fa->child)
		return fk_fail(err, EIO, FK_KIND_FAILED, "fork", "no fork event for the child of %d", (int)I);
	return fa_attach_new(fa, fa->child, &fa->cproc, "child-attach");
}

int samepid_clone_thread(struct forkall *fa, struct tstate *t, uint64_t flags, uint64_t tidp, uint64_t tls,
			 pid_t *outer_tid)
{
	struct fk_err *err = fa->err;
	struct tstate *f = &fa->ts[fa->forker];
	pid_t L = fa->child;
	struct clone_args_v1 ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = flags;
	ca.child_tid = ca.parent_tid = tidp;
	ca.tls = tls;
	uint64_t sargs = fa_scratch(f, 384), stid = sargs + sizeof ca;
	ca.set_tid = stid;
	ca.set_tid_size = 1;
	int32_t want = t->tid;
	if (mem_write_exact(fa->child, sargs, &ca, sizeof ca) < 0 || mem_write_exact(fa->child, stid, &want, 4) < 0)
		return fk_fail(err, EFAULT, FK_KIND_FAILED, "clone", "writing clone3 arguments into %d", (int)L);
	struct rsys_call c;
	long ret;
	if (call(fa, fa->cproc, L, SYS_clone3, sargs, sizeof ca, 0, 0, &ret, &c) < 0)
		return -1;
	if (ret < 0)
		return fk_fail(err, (int)-ret, FK_KIND_FAILED, "clone", "clone3(set_tid = %d) in child %d", (int)want,
			       (int)L);
	if (c.event != PTRACE_EVENT_CLONE || !c.event_msg)
		return fk_fail(err, EIO, FK_KIND_FAILED, "clone", "no clone event for thread %d in child %d", (int)want,
			       (int)L);
	*outer_tid = (pid_t)c.event_msg;
	return 0;
}

int samepid_finish_init(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	pid_t I = fa->init;
	long addr;
	uint64_t a[6] = { 0, 4096, PROT_READ | PROT_EXEC | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0 };
	if (rsys_one(fa->tr, fa->iproc, fa->insn, I, SYS_mmap, a, &addr, NULL, err) < 0)
		return -1;
	if (addr < 0 && addr > -4096)
		return fk_fail(err, (int)-addr, FK_KIND_FAILED, "same-tids", "mmap in the namespace init %d", (int)I);
	uint8_t code[512];
	size_t len = arch_reaper_code(code, sizeof code);
	if (!len || mem_write_exact(I, (uint64_t)addr, code, len) < 0)
		return fk_fail(err, EFAULT, FK_KIND_FAILED, "same-tids", "writing the reaper into %d", (int)I);
	uint64_t all = ~0ull;
	fk_gregs r;
	int e;
	if (ptrace(PTRACE_SETSIGMASK, I, (void *)sizeof all, &all) < 0 || (e = arch_get_gregs(I, &r)) < 0)
		return fk_fail(err, errno, FK_KIND_FAILED, "same-tids", "preparing the namespace init %d", (int)I);
	/* the child has the parent's pid in its namespace */
	arch_reaper_regs(&r, (uint64_t)addr, fa->sp_want);
	if ((e = arch_set_gregs(I, &r)) < 0)
		return fk_fail(err, -e, FK_KIND_FAILED, "same-tids", "PTRACE_SETREGS of the namespace init %d", (int)I);
	attach_release(fa->tr, fa->iproc);
	fa->iproc = NULL;
	return 0;
}

void samepid_kill_init(struct forkall *fa)
{
	if (fa->init <= 0)
		return;
	kill(fa->init, SIGKILL); /* takes every process of the namespace with it */
	struct proc *p = tr_find_proc(fa->tr, fa->init);
	if (p)
		attach_reap(fa->tr, p, 5000);
	fa->iproc = NULL;
	fa->init = 0;
}
