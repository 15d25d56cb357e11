/* forkall_seccomp.c — refuse a fork that a seccomp filter would punish.
 *
 * The fork runs system calls in the target's own threads: sigaltstack in
 * every thread, mmap/munmap/madvise/clone in the forking thread, and in the
 * child (whose threads are all copies of the forking one, so they carry its
 * filters) clone, set_robust_list, rseq, prctl, sigaltstack, futex, exit,
 * and getpid/gettid/tgkill for the stub's final stop. A filter that kills or traps one of them
 * used to take the target down with SIGSYS. Here, with every thread
 * stopped and before anything is injected, each call is judged by the
 * filters of the thread that will run it, with its real number and
 * arguments; any verdict but ALLOW or LOG stops the fork, naming the
 * thread, the call and the verdict. Filters we cannot read (no
 * CAP_SYS_ADMIN) stop it too, unless FORKALL_SECCOMP=unchecked. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/cbpf.h"
#include "base/log.h"
#include "engine/forkall_int.h"
#include "ptrace/seccomp.h"
#include "forkall.h"

struct call {
	long nr;
	const char *name;
	uint64_t a[6];
	const char *why;
};

static const char *mode_words(const struct sc_state *s)
{
	return s->mode == SECCOMP_MODE_STRICT ? "strict mode" : "a filter";
}

/* One thread's verdict on the calls; 0 or -1 with fa->err. */
static int judge(struct forkall *fa, pid_t tid, const struct sc_state *s, const struct call *calls, size_t n)
{
	struct seccomp_data d;
	for (size_t i = 0; i < n; i++) {
		memset(&d, 0, sizeof d);
		d.nr = (int)calls[i].nr;
		d.arch = FK_AUDIT_ARCH;
		d.instruction_pointer = fa->insn + arch_syscall_insn_len;
		memcpy(d.args, calls[i].a, sizeof d.args);
		uint32_t v = seccomp_verdict(s, &d);
		if (seccomp_allows(v))
			continue;
		char verdict[96];
		seccomp_verdict_name(v, verdict, sizeof verdict);
		return fk_fail(fa->err, EPERM, FK_KIND_FAILED, "seccomp",
			       "thread %d of process %d runs under seccomp (%s) that answers %s to %s (system call "
			       "%ld), which the fork must run %s; nothing was changed",
			       (int)tid, (int)fa->pid, mode_words(s), verdict, calls[i].name, calls[i].nr,
			       calls[i].why);
	}
	return 0;
}

#define ADD(nr_, name_, why_, ...)                                                     \
	do {                                                                           \
		if (n < cap) {                                                         \
			calls[n] = (struct call){ nr_, name_, { __VA_ARGS__ }, why_ }; \
			n++;                                                           \
		}                                                                      \
	} while (0)

/* What the forking thread and its copies in the child will run. */
static size_t forker_calls(struct forkall *fa, struct call *calls, size_t cap)
{
	size_t n = 0;
	struct tstate *f = &fa->ts[fa->forker];
	const char *P = "in the forking thread", *C = "in the child";
	if (fa->nts >= 4) {
		ADD(SYS_mmap, "mmap", P, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
		ADD(SYS_munmap, "munmap", P, 0, 4096);
	}
	if (fa_want_dontfork_copy(fa)) {
		ADD(SYS_madvise, "madvise(MADV_DOFORK)", P, 0, 0, MADV_DOFORK);
		ADD(SYS_madvise, "madvise(MADV_DONTFORK)", P, 0, 0, MADV_DONTFORK);
	}
	uint64_t a[6];
	uint64_t fl = SIGCHLD | CLONE_PARENT;
	if (f->glibc && !fa->zombie_leader)
		fl |= CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
	if (fa->flags & FK_FORK_SAME_TIDS) {
		ADD(SYS_openat, "openat", P, (uint64_t)AT_FDCWD, 0, O_RDONLY | O_CLOEXEC);
		ADD(SYS_unshare, "unshare(CLONE_NEWPID)", P, CLONE_NEWPID);
		ADD(SYS_clone, "clone (the namespace init)", P, SIGCHLD | CLONE_PARENT);
		ADD(SYS_clone, "clone (the namespace init, in a user namespace)", P,
		    CLONE_NEWUSER | CLONE_NEWPID | SIGCHLD | CLONE_PARENT);
		ADD(SYS_setns, "setns", P, 0, CLONE_NEWPID);
		ADD(SYS_close, "close", P, 0);
		ADD(SYS_clone3, "clone3", C, 0, 0);
		ADD(SYS_mmap, "mmap", C, 0, 4096, PROT_READ | PROT_EXEC | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    (uint64_t)-1, 0);
		ADD(SYS_wait4, "wait4", "in the namespace init", (uint64_t)-1, 0, __WALL);
		ADD(SYS_exit_group, "exit_group", "in the namespace init", 0);
		ADD(SYS_setrlimit, "setrlimit(RLIMIT_CORE)", "in the namespace init", RLIMIT_CORE, 0);
		ADD(SYS_rt_sigaction, "rt_sigaction", "in the namespace init", SIGSEGV, 0, 0, 8);
		ADD(SYS_rt_sigprocmask, "rt_sigprocmask", "in the namespace init", SIG_SETMASK, 0, 0, 8);
	} else {
		arch_clone_args(a, fl, 0, 0, 0, 0);
		ADD(SYS_clone, "clone (the fork)", P, a[0], a[1], a[2], a[3], a[4], a[5]);
		arch_clone_args(a, fl & ~(uint64_t)CLONE_PARENT, 0, 0, 0, 0);
		ADD(SYS_clone, "clone (the fork)", P, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	ADD(SYS_mmap, "mmap", C, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1,
	    0);
	ADD(SYS_munmap, "munmap", C, 0, 4096);
	/* one clone per distinct flag set of the threads to recreate */
	for (size_t i = 0; i < fa->nts; i++) {
		if (i == fa->forker)
			continue;
		struct tstate *t = &fa->ts[i];
		uint64_t tf = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
		if (arch_tp(&t->regs))
			tf |= CLONE_SETTLS;
		if (t->glibc)
			tf |= CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
		bool seen = false;
		for (size_t k = 0; k < n; k++)
			seen |= calls[k].nr == SYS_clone && calls[k].a[0] == tf;
		if (!seen) {
			arch_clone_args(a, tf, arch_sp(&t->regs), 0, 0, arch_tp(&t->regs));
			ADD(SYS_clone, "clone (a thread)", C, a[0], a[1], a[2], a[3], a[4], a[5]);
		}
	}
	ADD(SYS_set_robust_list, "set_robust_list", C, 0, 24);
	ADD(SYS_rseq, "rseq", C, 0, 32, 0, 0);
	ADD(SYS_prctl, "prctl(PR_SET_NAME)", C, PR_SET_NAME, 0);
	ADD(SYS_sigaltstack, "sigaltstack", C, 0, 0);
	ADD(SYS_futex, "futex(FUTEX_WAIT_PRIVATE)", C, 0, FUTEX_WAIT_PRIVATE, 0, 0);
	ADD(SYS_getpid, "getpid", C, 0);
	ADD(SYS_gettid, "gettid", C, 0);
	ADD(SYS_tgkill, "tgkill(SIGSTOP)", C, 0, 0, SIGSTOP);
	ADD(SYS_exit, "exit", C, 0);
	return n;
}

int fa_check_seccomp(struct forkall *fa)
{
	if (fa_skip(fa, "seccomp"))
		return 0; /* negative control for the tests */
	const char *env = getenv("FORKALL_SECCOMP");
	bool unchecked = env && strcmp(env, "unchecked") == 0;
	struct call fcalls[48];
	size_t nf = 0;
	struct call alt = {
		SYS_sigaltstack, "sigaltstack", { 0 }, "in every thread (to read its alternate signal stack)"
	};
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < fa->nts; i++) {
		struct tstate *t = &fa->ts[i];
		/* No filter now (EINVAL: the kernel's answer for a thread not in
		 * filter mode) and no strict mode at prepare: nothing to judge,
		 * without reading /proc during the pause. Only the thread itself
		 * could have entered strict mode since prepare. */
		if (t->creds_early && t->creds.seccomp_mode == SECCOMP_MODE_DISABLED &&
		    ptrace(PTRACE_SECCOMP_GET_FILTER, t->tid, (void *)0, NULL) < 0 && errno == EINVAL)
			continue;
		struct sc_state s;
		if (seccomp_read(fa->pid, t->tid, &s, fa->err) < 0)
			return -1;
		if (s.mode == SECCOMP_MODE_DISABLED) {
			seccomp_state_free(&s);
			continue;
		}
		if (s.mode == SECCOMP_MODE_FILTER && !s.readable) {
			seccomp_state_free(&s);
			if (unchecked)
				continue;
			return fk_fail(
				fa->err, EPERM, FK_KIND_FAILED, "seccomp",
				"thread %d of process %d runs under a seccomp filter that Forkall cannot read "
				"(%s: PTRACE_SECCOMP_GET_FILTER needs CAP_SYS_ADMIN and a tracer without a filter "
				"of its own); a filter that forbids a call the fork runs (clone, mmap, "
				"sigaltstack, ...) would kill the process, so nothing was changed. Run Forkall "
				"as root, or set FORKALL_SECCOMP=unchecked to fork anyway",
				(int)t->tid, (int)fa->pid, strerror(s.read_errno));
		}
		alt.a[1] = fa_scratch(t, 64);
		rc = judge(fa, t->tid, &s, &alt, 1);
		if (rc == 0 && i == fa->forker) {
			nf = forker_calls(fa, fcalls, sizeof fcalls / sizeof fcalls[0]);
			rc = judge(fa, t->tid, &s, fcalls, nf);
		}
		seccomp_state_free(&s);
	}
	if (rc < 0)
		return -1;
	return fa_fault_at(fa, "seccomp");
}
