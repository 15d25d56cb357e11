/* Forks of processes under seccomp (issue 9 item 3).
 *
 * 1. The classic BPF interpreter (base/cbpf.c) on hand-written programs,
 *    and against the kernel itself: each program is installed in a forked
 *    child that makes the call and reports the errno it got.
 * 2. Live targets (fixture `seccomp`): a filter that kills, traps or fails
 *    a call the fork would run makes the fork fail with the thread, the
 *    call and the verdict named, the target alive, running and untraced;
 *    a container-like filter (Docker's clone rules) lets the fork through. */
#include "support.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cbpf.h"
#include "ptrace/seccomp.h"

#define LD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct seccomp_data call(int nr, uint64_t a0, uint64_t a1)
{
	struct seccomp_data d;
	memset(&d, 0, sizeof d);
	d.nr = nr;
	d.arch = AUDIT_ARCH_X86_64;
	d.args[0] = a0;
	d.args[1] = a1;
	return d;
}

/* getpriority(which, who): fails with errno (the filter's data) for
 * who & 0x10, ENOSYS-free otherwise. Uses the ALU, memory and X. */
static struct sock_filter prog_alu[] = {
	LD(nr),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpriority, 1, 0),
	RET(SECCOMP_RET_ALLOW),
	LD(args[1]),	     /* who, low word */
	BPF_STMT(BPF_ST, 3), /* M[3] = who */
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x10),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
	RET(SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_LD | BPF_MEM, 3),		/* A = who */
	BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4), /* who >> 4 */
	BPF_STMT(BPF_MISC | BPF_TAX, 0),	/* X = A */
	BPF_STMT(BPF_LD | BPF_IMM, 7),
	BPF_STMT(BPF_ALU | BPF_MUL | BPF_X, 0), /* 7 * X */
	BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x7f),
	BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
	BPF_STMT(BPF_RET | BPF_A, 0),
};

/* the upper word of args[0] is checked (64-bit arguments are two loads) */
static struct sock_filter prog_hi[] = {
	LD(nr),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpriority, 1, 0),
	RET(SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + 4),
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 1, 0, 1),
	RET(SECCOMP_RET_ERRNO | EDOM),
	RET(SECCOMP_RET_ALLOW),
};

/* division by X = 0 ends the program with 0 (KILL_THREAD) */
static struct sock_filter prog_div0[] = {
	BPF_STMT(BPF_LDX | BPF_IMM, 0),
	BPF_STMT(BPF_LD | BPF_IMM, 5),
	BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
	RET(SECCOMP_RET_ALLOW),
};

static void interpreter(void)
{
	struct seccomp_data d = call(SYS_getpriority, 0, 0x30);
	CHECK(cbpf_run(prog_alu, N(prog_alu), &d) == (SECCOMP_RET_ERRNO | 22), "alu: 0x%x",
	      cbpf_run(prog_alu, N(prog_alu), &d));
	d = call(SYS_getpriority, 0, 0x20);
	CHECK(cbpf_run(prog_alu, N(prog_alu), &d) == SECCOMP_RET_ALLOW, "alu allow");
	d = call(SYS_getpid, 0, 0x30);
	CHECK(cbpf_run(prog_alu, N(prog_alu), &d) == SECCOMP_RET_ALLOW, "alu other call");
	d = call(SYS_getpriority, 1ull << 32, 0);
	CHECK(cbpf_run(prog_hi, N(prog_hi), &d) == (SECCOMP_RET_ERRNO | EDOM), "high word");
	d = call(SYS_getpriority, 0xffffffffull, 0);
	CHECK(cbpf_run(prog_hi, N(prog_hi), &d) == SECCOMP_RET_ALLOW, "low word only");
	CHECK(cbpf_run(prog_div0, N(prog_div0), &d) == 0, "division by zero");
	struct sock_filter mod[] = { BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 3), RET(SECCOMP_RET_ALLOW) };
	CHECK(cbpf_run(mod, N(mod), &d) == CBPF_INVALID, "BPF_MOD (the kernel refuses it in seccomp)");

	/* programs the kernel would never accept: no verdict, not a guess */
	struct sock_filter off_end[] = { BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0), RET(SECCOMP_RET_ALLOW) };
	CHECK(cbpf_run(off_end, N(off_end), &d) == CBPF_INVALID, "jump past the end");
	struct sock_filter no_ret[] = { LD(nr) };
	CHECK(cbpf_run(no_ret, N(no_ret), &d) == CBPF_INVALID, "falls off the end");
	struct sock_filter unaligned[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), RET(SECCOMP_RET_ALLOW) };
	CHECK(cbpf_run(unaligned, N(unaligned), &d) == CBPF_INVALID, "unaligned load");
	struct sock_filter outside[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), RET(SECCOMP_RET_ALLOW) };
	CHECK(cbpf_run(outside, N(outside), &d) == CBPF_INVALID, "load past seccomp_data");

	/* the combined verdict: the most restrictive filter wins */
	struct sock_filter allow[] = { RET(SECCOMP_RET_ALLOW) };
	struct sock_filter kill[] = { RET(SECCOMP_RET_KILL_PROCESS) };
	struct sock_filter eperm[] = { RET(SECCOMP_RET_ERRNO | EPERM) };
	struct sc_filter fs[3] = { { allow, 1 }, { eperm, 1 }, { kill, 1 } };
	struct sc_state s = { .mode = SECCOMP_MODE_FILTER, .readable = true, .filters = fs, .n = 2 };
	CHECK(seccomp_verdict(&s, &d) == (SECCOMP_RET_ERRNO | EPERM), "errno beats allow");
	s.n = 3;
	CHECK(seccomp_verdict(&s, &d) == SECCOMP_RET_KILL_PROCESS, "kill_process beats everything");
	struct sc_state strict = { .mode = SECCOMP_MODE_STRICT };
	d = call(SYS_write, 1, 0);
	CHECK(seccomp_allows(seccomp_verdict(&strict, &d)), "strict allows write");
	d = call(SYS_sigaltstack, 0, 0);
	CHECK(!seccomp_allows(seccomp_verdict(&strict, &d)), "strict kills sigaltstack");
	char name[96];
	seccomp_verdict_name(SECCOMP_RET_ERRNO | EPERM, name, sizeof name);
	CHECK(strcmp(name, "SECCOMP_RET_ERRNO (EPERM)") == 0, "%s", name);
}

/* What the kernel answers: getpriority(PRIO_PROCESS, who) in a child under prog. */
static int kernel_errno(struct sock_filter *prog, unsigned short len, uint64_t a0, uint64_t who)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	pid_t c = fork();
	CHECK(c >= 0, "fork: %s", strerror(errno));
	if (c == 0) {
		struct sock_fprog fp = { len, prog };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp))
			_exit(99);
		errno = 0;
		long r = syscall(SYS_getpriority, a0, who);
		int e = r == -1 ? errno : 0;
		if (write(p[1], &e, sizeof e) != sizeof e)
			_exit(98);
		_exit(0);
	}
	close(p[1]);
	int e = -1, st = 0;
	ssize_t n = read(p[0], &e, sizeof e);
	close(p[0]);
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status 0x%x (99: the filter was refused)", st);
	CHECK(n == sizeof e, "the child reported nothing");
	return e;
}

static void against_kernel(void)
{
	static const uint64_t who[] = { 0, 0x10, 0x20, 0x30, 0x1f0, 0x7ff0 };
	for (size_t i = 0; i < N(who); i++) {
		struct seccomp_data d = call(SYS_getpriority, 0, who[i]);
		uint32_t v = cbpf_run(prog_alu, N(prog_alu), &d);
		int want = (v & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO ? (int)(v & SECCOMP_RET_DATA) : 0;
		int got = kernel_errno(prog_alu, N(prog_alu), 0, who[i]);
		/* ESRCH: no process with that id; the filter allowed the call */
		CHECK(got == want || (want == 0 && got == ESRCH), "who 0x%llx: kernel errno %d, interpreter %d",
		      (unsigned long long)who[i], got, want);
	}
	struct seccomp_data d = call(SYS_getpriority, 1ull << 32, 0);
	CHECK(kernel_errno(prog_hi, N(prog_hi), 1ull << 32, 0) == EDOM &&
		      cbpf_run(prog_hi, N(prog_hi), &d) == (SECCOMP_RET_ERRNO | EDOM),
	      "high word: kernel and interpreter disagree");
}

static void refused(fk_tracer *fk, const char *mode, const char *verdict, const char *what)
{
	const char *const args[] = { mode, NULL };
	pid_t pid = t_spawn_fixture("seccomp", args);
	char *r = t_req(fk, "{'op':'fork','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":false"), "%s: the fork was not refused: %s", mode, r);
	CHECK(t_has(r, "\"step\":\"seccomp\""), "%s: not refused before injecting: %s", mode, r);
	CHECK(t_has(r, verdict) && t_has(r, what), "%s: want %s to %s: %s", mode, verdict, what, r);
	CHECK(t_has(r, "nothing was changed"), "%s: %s", mode, r);
	usleep(50 * 1000);
	int st = 0;
	CHECK(!t_exited(pid, &st), "%s: the target died (status 0x%x: signal %d)", mode, st,
	      WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	CHECK(t_all_running_untraced(pid), "%s: target left stopped or traced", mode);
	printf("test_seccomp: %s refused: %.160s\n", mode, strstr(r, "\"message\""));
	free(r);
	kill(pid, SIGKILL);
}

static void allowed(fk_tracer *fk, const char *mode)
{
	const char *const args[] = { mode, NULL };
	pid_t pid = t_spawn_fixture("seccomp", args);
	char *r = t_req(fk, "{'op':'fork','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":true"), "%s: the fork failed: %s", mode, r);
	const char *c = strstr(r, "\"child\":");
	pid_t child = c ? (pid_t)atoi(c + 8) : 0;
	CHECK(child > 0, "%s: no child: %s", mode, r);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)child);
	int threads = 0;
	for (int i = 0; i < 4; i++) {
		char tp[96];
		snprintf(tp, sizeof tp, "/proc/%d/status", (int)child);
		FILE *f = fopen(tp, "r");
		char line[256];
		while (f && fgets(line, sizeof line, f))
			if (strncmp(line, "Threads:", 8) == 0)
				threads = atoi(line + 8);
		if (f)
			fclose(f);
	}
	CHECK(threads == 4, "%s: the child has %d threads, not 4", mode, threads);
	kill(child, SIGKILL);
	waitpid(child, NULL, __WALL);
	int st = 0;
	CHECK(!t_exited(pid, &st), "%s: the target died (status 0x%x)", mode, st);
	CHECK(t_all_running_untraced(pid), "%s: target left stopped or traced", mode);
	printf("test_seccomp: %s: fork ok, child %d with 4 threads\n", mode, (int)child);
	free(r);
	kill(pid, SIGKILL);
}

/* Drop CAP_SYS_ADMIN from this thread's effective set (threads started
 * later, the tracer's, inherit it): PTRACE_SECCOMP_GET_FILTER then fails. */
static bool drop_sys_admin(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) != 0)
		return false;
	if (!(d[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32))))
		return true;
	d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
	return syscall(SYS_capset, &h, d) == 0;
}

int main(void)
{
	interpreter();
	against_kernel();
	printf("test_seccomp: interpreter agrees with the kernel\n");

	char err[256];
	fk_tracer *fk = fk_open(err, sizeof err);
	CHECK(fk != NULL, "fk_open: %s", err);
	if (getenv("FK_TEST_VERBOSE"))
		fk_set_log_level(fk, 0);
	refused(fk, "kill-clone", "SECCOMP_RET_KILL_PROCESS", "to clone (the fork)");
	refused(fk, "trap-clone", "SECCOMP_RET_TRAP", "to clone (the fork)");
	refused(fk, "errno-sigaltstack", "SECCOMP_RET_ERRNO (EPERM)", "to sigaltstack");
	refused(fk, "thread-sigaltstack", "SECCOMP_RET_KILL_PROCESS", "to sigaltstack");
	refused(fk, "strict", "(strict mode) that answers SECCOMP_RET_KILL_PROCESS", "to sigaltstack");
	allowed(fk, "container");
	fk_close(fk);

	/* A tracer that cannot read the filters refuses, saying why and how
	 * to override; FORKALL_SECCOMP=unchecked forks anyway. */
	CHECK(drop_sys_admin(), "capset: %s", strerror(errno));
	fk = fk_open(err, sizeof err);
	CHECK(fk != NULL, "fk_open: %s", err);
	refused(fk, "kill-clone", "cannot read", "FORKALL_SECCOMP=unchecked");
	setenv("FORKALL_SECCOMP", "unchecked", 1);
	allowed(fk, "container");
	unsetenv("FORKALL_SECCOMP");
	fk_close(fk);
	t_kill_children();
	printf("test_seccomp: ok\n");
	return 0;
}
