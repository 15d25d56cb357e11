/* ops_exec.c — running a program under the tracer: launch, kill, single
 * steps, breakpoints, register writes. */
#include "ptrace/attach.h"
#include "ptrace/breakpoints.h"
#include "ptrace/follow.h"
#include "ptrace/watch.h"
#include "base/log.h"
#include "ops/ops.h"
#include "base/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LAUNCH_TIMEOUT_MS 10000

struct launch_args {
	const char *path, *cwd;
	char **argv, **envp;
};

static int parse_launch(const struct rq_launch *rq, struct launch_args *la, struct fk_err *err)
{
	memset(la, 0, sizeof *la);
	la->path = rq->path;
	la->cwd = rq->cwd;
	la->argv = calloc(rq->n_argv + 2, sizeof *la->argv);
	la->envp = calloc(rq->n_env + 1, sizeof *la->envp);
	if (!la->argv || !la->envp)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "launch", "out of memory");
	for (size_t i = 0; i < rq->n_argv; i++)
		la->argv[i] = (char *)rq->argv[i];
	if (rq->n_argv == 0)
		la->argv[0] = (char *)la->path;
	for (size_t i = 0; i < rq->n_env; i++)
		la->envp[i] = (char *)rq->env[i];
	struct stat st;
	if (stat(la->path, &st) < 0)
		return fk_fail(err, errno, FK_KIND_BADREQ, "launch", "program not found: %s (%s)", la->path,
			       strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fk_fail(err, EACCES, FK_KIND_BADREQ, "launch", "not a regular file: %s", la->path);
	if (access(la->path, X_OK) < 0)
		return fk_fail(err, errno, FK_KIND_BADREQ, "launch", "program is not executable: %s", la->path);
	if (la->cwd[0] && (stat(la->cwd, &st) < 0 || !S_ISDIR(st.st_mode)))
		return fk_fail(err, ENOTDIR, FK_KIND_BADREQ, "launch", "working directory does not exist: %s", la->cwd);
	return 0;
}

/* The signal state a shell gives a program: nothing blocked (the tracer
 * thread that forked us blocks everything), and the dispositions Node.js
 * sets for itself (SIGPIPE and SIGXFSZ ignored) back to their defaults.
 * Other ignored signals came from whoever started the adapter (nohup's
 * SIGHUP, say) and are passed on, as a shell passes them on. Handlers are
 * reset by execve itself. Async-signal-safe. */
static int clean_signal_state(void)
{
	static const int node_ignores[] = { SIGPIPE, SIGXFSZ };
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (size_t i = 0; i < sizeof node_ignores / sizeof node_ignores[0]; i++)
		if (sigaction(node_ignores[i], &dfl, NULL) < 0)
			return -1;
	sigset_t none;
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Only async-signal-safe calls between fork and exec: Node has threads. */
static void __attribute__((noreturn)) exec_child(const struct launch_args *la, int out, int errfd, int null, int go,
						 int report)
{
	char b;
	setpgid(0, 0); /* Ctrl-C in the debugger's terminal is not for it */
	if (dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		goto fail;
	if (la->cwd[0] && chdir(la->cwd) < 0)
		goto fail;
	/* wait until the tracer has seized us: exec must be traced */
	while (read(go, &b, 1) < 0 && errno == EINTR)
		;
	if (clean_signal_state() < 0)
		goto fail;
	execve(la->path, la->argv, la->envp);
fail:;
	int e = errno;
	if (write(report, &e, sizeof e) < 0)
		_exit(126);
	_exit(127);
}

int op_launch(struct fk_tracer *tr, const struct rq_launch *rq, struct jw *body, struct fk_err *err)
{
	struct launch_args la;
	int rc = parse_launch(rq, &la, err);
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, gop[2] = { -1, -1 }, rep[2] = { -1, -1 }, null = -1;
	pid_t pid = -1;
	if (rc < 0)
		goto out;
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(gop, O_CLOEXEC) < 0 ||
	    pipe2(rep, O_CLOEXEC) < 0 || (null = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = fk_fail(err, errno, FK_KIND_FAILED, "launch", "creating the program's pipes");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = fk_fail(err, errno, FK_KIND_FAILED, "launch", "fork");
		goto out;
	}
	if (pid == 0)
		exec_child(&la, outp[1], errp[1], null, gop[0], rep[1]);
	close(outp[1]), close(errp[1]), close(gop[0]), close(rep[1]);
	outp[1] = errp[1] = gop[0] = rep[1] = -1;

	/* exit-kill: a launched program does not outlive a crashed debugger */
	if (ptrace(PTRACE_SEIZE, pid, 0, ATTACH_OPTIONS | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL) < 0) {
		rc = fk_fail(err, errno, FK_KIND_FAILED, "launch", "PTRACE_SEIZE of the new process %d", (int)pid);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, __WALL | __WNOTHREAD);
		goto out;
	}
	struct proc *p = tr_add_proc(tr, pid);
	struct lwp *l = p ? proc_add_lwp(p, pid) : NULL;
	if (!l) {
		rc = fk_fail(err, ENOMEM, FK_KIND_FAILED, "launch", "out of memory");
		kill(pid, SIGKILL);
		goto out;
	}
	p->session = true;
	p->launched = true;
	if (write(gop[1], "g", 1) != 1) {
		rc = fk_fail(err, errno, FK_KIND_FAILED, "launch", "starting the new process %d", (int)pid);
		kill(pid, SIGKILL);
		goto out;
	}
	/* the exec stop, or the exit of a failed exec */
	uint64_t deadline = tr_now_us() + LAUNCH_TIMEOUT_MS * 1000ull;
	for (;;) {
		int r = tr_pump_pid(tr, pid, 200);
		if (tr_find_proc(tr, pid) != p || r == -ECHILD) {
			int e = 0;
			ssize_t got = read(rep[0], &e, sizeof e);
			rc = fk_fail(err, got == sizeof e ? e : ECHILD, FK_KIND_BADREQ, "launch", "cannot start %s: %s",
				     la.path, got == sizeof e ? strerror(e) : "it exited before running");
			goto out;
		}
		l = proc_lwp(p, pid);
		if (l && l->state == LWP_STOPPED) {
			if (l->stop == STOP_EVENT && l->event == PTRACE_EVENT_EXEC)
				break;
			attach_resume_lwp(p, l); /* not yet at the exec */
		}
		if (tr_now_us() > deadline) {
			kill(pid, SIGKILL);
			rc = fk_fail(err, ETIMEDOUT, FK_KIND_FAILED, "launch", "%s did not reach its exec within %d ms",
				     la.path, LAUNCH_TIMEOUT_MS);
			goto out;
		}
	}
	/* The exec event stop is inside execve: finish the call (its exit stop)
	 * so the program stands at its first instruction and a single step
	 * executes exactly that. */
	l = proc_lwp(p, pid);
	if (l && ptrace(PTRACE_SYSCALL, pid, 0, 0) == 0) {
		proc_set_running(p, l);
		for (;;) {
			int r = tr_pump_pid(tr, pid, 200);
			if (tr_find_proc(tr, pid) != p || r == -ECHILD) {
				rc = fk_fail(err, ESRCH, FK_KIND_EXITED, "launch", "%s exited at its start", la.path);
				goto out;
			}
			l = proc_lwp(p, pid);
			if (l && l->state == LWP_STOPPED) {
				if (l->stop == STOP_SYSCALL)
					break;
				if (ptrace(PTRACE_SYSCALL, pid, 0, 0) < 0)
					break;
				proc_set_running(p, l);
			}
			if (tr_now_us() > deadline)
				break;
		}
	}
	p->stdout_fd = outp[0];
	p->stderr_fd = errp[0];
	jw_kint(body, "pid", pid);
	jw_kint(body, "stdoutFd", outp[0]);
	jw_kint(body, "stderrFd", errp[0]);
	jw_key(body, "tids");
	jw_arr_begin(body);
	jw_int(body, pid);
	jw_arr_end(body);
	outp[0] = errp[0] = -1; /* the caller owns them now */
	rc = 0;
out:
	free(la.argv);
	free(la.envp);
	int fds[] = { outp[0], outp[1], errp[0], errp[1], gop[0], gop[1], rep[0], rep[1], null };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

static struct proc *stopped_session(struct fk_tracer *tr, pid_t pid, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, pid);
	if (!p || !p->session) {
		fk_fail(err, ESRCH, FK_KIND_BADREQ, "session", "process %d is not attached", (int)pid);
		return NULL;
	}
	if (p->want_running) {
		fk_fail(err, EBUSY, FK_KIND_BADREQ, "session", "process %d is running; pause it first", (int)pid);
		return NULL;
	}
	return p;
}

int op_kill(struct fk_tracer *tr, const struct rq_kill *rq, struct jw *body, struct fk_err *err)
{
	pid_t pid = rq->pid;
	struct proc *p = tr_find_proc(tr, pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "kill", "process %d is not attached", (int)pid);
	bp_remove_all(p);
	if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
		return fk_fail(err, errno, FK_KIND_FAILED, "kill", "SIGKILL to %d", (int)pid);
	/* collect every thread's end; the exited event follows */
	attach_reap(tr, p, 5000);
	jw_kint(body, "pid", pid);
	return 0;
}

int op_step(struct fk_tracer *tr, const struct rq_step *rq, struct jw *body, struct fk_err *err)
{
	if (rq->line || rq->out)
		return op_step_line(tr, rq, body, err); /* ops_step.c */
	if (rq->into)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "step", "step: \"into\" goes with \"line\"");
	struct proc *p = stopped_session(tr, rq->pid, err);
	if (!p)
		return -1;
	if (vfork_held(p, rq->tid, err))
		return -1;
	struct lwp *l = proc_lwp(p, rq->tid);
	bool pending = l && attach_hit_pending(p, l);
	bool interrupted = false;
	if (pending)
		l->hit_reported = true; /* answered below: never reported again */
	else if (bp_single_step(tr, p, rq->tid, &interrupted, err) < 0)
		return -1;
	fk_gregs r;
	jw_kint(body, "pid", rq->pid);
	jw_kint(body, "tid", rq->tid);
	if (pending) {
		/* it hit its breakpoint while another thread's stop was being
		 * reported: that hit is the answer, the instruction is not run
		 * (stepped over, the hit would be lost) */
		jw_kstr(body, "reason", "breakpoint");
		jw_kint(body, "stopTid", rq->tid);
		jw_khex(body, "addr", l->bp_addr);
	}
	if (arch_get_gregs(rq->tid, &r) == 0)
		jw_khex(body, "pc", arch_pc(&r));
	if (interrupted)
		jw_kbool(body, "interrupted", true);
	return 0;
}

/* Breakpoint bytes written into a vfork child's memory would be its
 * parent's too. */
static int vfork_refusal(const struct proc *p, struct fk_err *err)
{
	return fk_fail(err, EBUSY, FK_KIND_BADREQ, "breakpoint",
		       "process %d was made by vfork() and shares the memory of process %d until it calls exec or "
		       "exits: its breakpoints are set after that",
		       (int)p->pid, (int)p->vfork_parent);
}

int op_bp_insert(struct fk_tracer *tr, const struct rq_bp_insert *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "breakpoint", "process %d is not attached", (int)rq->pid);
	if (p->vfork_parent)
		return vfork_refusal(p, err);
	if (bp_insert(p, rq->addr, err) < 0)
		return -1;
	ops_bpcond_forget(p, rq->addr); /* a new breakpoint starts without a condition */
	follow_breakpoints_changed(tr, p);
	jw_khex(body, "addr", rq->addr);
	return 0;
}

int op_bp_remove(struct fk_tracer *tr, const struct rq_bp_remove *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "breakpoint", "process %d is not attached", (int)rq->pid);
	/* All stopped: a thread caught just past this int3 (its SIGTRAP still
	 * queued) is rewound now; once the bytes are gone its SIGTRAP would no
	 * longer be ours and would kill the program. */
	if (bp_at(p, rq->addr) && !p->want_running && proc_count_running(p) == 0) {
		pid_t pid = p->pid;
		bp_settle_traps(tr, p, rq->addr);
		if ((p = tr_find_proc(tr, pid)) == NULL)
			return fk_fail(err, ESRCH, FK_KIND_EXITED, "breakpoint",
				       "process %d exited during the operation", (int)pid);
	}
	if (p->vfork_parent)
		return vfork_refusal(p, err);
	if (bp_remove(p, rq->addr, err) < 0)
		return -1;
	ops_bpcond_forget(p, rq->addr);
	follow_breakpoints_changed(tr, p);
	jw_khex(body, "addr", rq->addr);
	return 0;
}

int op_set_regs(struct fk_tracer *tr, const struct rq_set_regs *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = stopped_session(tr, rq->pid, err);
	if (!p)
		return -1;
	struct lwp *l = proc_lwp(p, rq->tid);
	if (!l || l->state != LWP_STOPPED)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "regs", "thread %d of %d is not stopped", (int)rq->tid,
			       (int)rq->pid);
	fk_gregs r;
	int rc = arch_get_gregs(rq->tid, &r);
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_FAILED, "regs", "PTRACE_GETREGS of thread %d", (int)rq->tid);
	for (size_t i = 0; i < rq->n_regs; i++)
		if (arch_greg_set_by_name(&r, rq->regs[i].name, rq->regs[i].value) < 0)
			return fk_fail(err, EINVAL, FK_KIND_BADREQ, "regs", "unknown register \"%s\"",
				       rq->regs[i].name);
	if ((rc = arch_set_gregs(rq->tid, &r)) < 0)
		return fk_fail(err, -rc, FK_KIND_FAILED, "regs", "PTRACE_SETREGS of thread %d", (int)rq->tid);
	jw_kint(body, "tid", rq->tid);
	jw_key(body, "gpr");
	jw_obj_begin(body);
	arch_gregs_json(body, &r);
	jw_obj_end(body);
	return 0;
}

int op_watch(struct fk_tracer *tr, const struct rq_watch *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = stopped_session(tr, rq->pid, err);
	if (!p)
		return -1;
	int slot = watch_add(p, rq->addr, (unsigned)rq->len, rq->rw, err);
	if (slot < 0)
		return -1;
	jw_kint(body, "pid", rq->pid);
	jw_kint(body, "slot", slot);
	return 0;
}

int op_unwatch(struct fk_tracer *tr, const struct rq_unwatch *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = stopped_session(tr, rq->pid, err);
	if (!p)
		return -1;
	if (watch_remove(p, rq->addr, err) < 0)
		return -1;
	jw_kint(body, "pid", rq->pid);
	return 0;
}
