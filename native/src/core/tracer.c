/* tracer.c — the tracer thread: request queue in, message queue out, and
 * the wait loop.
 *
 * Waking the tracer. It sleeps in waitid(WNOWAIT) so that a tracee's stop
 * wakes it, and a new request must wake it too. Submitters send WAKE_SIG
 * with pthread_kill() to the tracer thread only; the signal is blocked on
 * the tracer except inside the wait window, and its handler siglongjmp()s
 * out of the wait. Because the wait uses WNOWAIT, jumping out of it can
 * never lose a status: statuses are consumed afterwards with
 * waitpid(WNOHANG). A pending wake signal is delivered the moment the
 * window opens, so a request queued just before the wait is not missed.
 * Timeouts come from a POSIX timer aimed at the tracer thread with the same
 * signal. All waits use __WNOTHREAD so we never reap children of other
 * threads (Node's child_process) nor let them reap our tracees' stops.
 */
#include "core/tracer.h"
#include "core/tracer_int.h"
#include "core/events.generated.h"

#include "base/procfs.h"

#include <sys/ptrace.h>

#include "base/log.h"
#include "base/jsonread.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forkall.h"

#define WAKE_SIG (SIGRTMIN + 6)

/* volatile: only the signal handler reads it, so without it the compiler
 * may drop the store before the wait as dead (it did: every wake-up that
 * landed between unblocking and entering waitid was lost). */
static __thread sigjmp_buf *volatile t_wait_jmp;

static void wake_handler(int sig)
{
	(void)sig;
	sigjmp_buf *j = t_wait_jmp;
	if (j) {
		t_wait_jmp = NULL;
		siglongjmp(*j, 1);
	}
}

uint64_t tr_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

pid_t tr_tid(const struct fk_tracer *tr)
{
	return tr->tid;
}

/* ---- messages ------------------------------------------------------- */

static void log_sink(void *arg, int level, const char *text)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	struct fk_tracer *tr = arg;
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "type", "log");
	jw_kstr(&w, "level", names[level < 0 ? 0 : level > 3 ? 3 : level]);
	jw_kstr(&w, "message", text);
	jw_obj_end(&w);
	tr_push_jw(tr, &w);
}

static void send_result(struct fk_tracer *tr, int64_t id, struct jw *body, const struct fk_err *err)
{
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "type", "result");
	jw_kint(&w, "id", id);
	if (!err || !fk_err_isset(err)) {
		jw_kbool(&w, "ok", true);
		jw_key(&w, "body");
		jw_raw(&w, body->buf ? body->buf : "{}", body->buf ? body->len : 2);
		w.need_comma = true;
	} else {
		jw_kbool(&w, "ok", false);
		jw_key(&w, "error");
		jw_obj_begin(&w);
		const char *code = err->errnum ? strerrorname_np(err->errnum) : NULL;
		jw_kstr(&w, "code", code ? code : "");
		jw_kint(&w, "errno", err->errnum);
		jw_kstr(&w, "kind", err->kind);
		jw_kstr(&w, "step", err->step);
		jw_kstr(&w, "message", err->msg);
		if (err->tracer_pid)
			jw_kint(&w, "tracerPid", err->tracer_pid);
		jw_obj_end(&w);
	}
	jw_obj_end(&w);
	tr_push_jw(tr, &w);
}

/* ---- processes -------------------------------------------------------- */

struct proc *tr_find_proc(struct fk_tracer *tr, pid_t pid)
{
	for (struct proc *p = tr->procs; p; p = p->next)
		if (p->pid == pid && !p->exited)
			return p;
	return NULL;
}

bool tr_requests_pending(struct fk_tracer *tr)
{
	pthread_mutex_lock(&tr->lock);
	bool r = tr->rq_head != NULL;
	pthread_mutex_unlock(&tr->lock);
	return r;
}

/* Processes that exited are forgotten between requests (ops that held
 * them saw p->exited / tr_find_proc() != p). */
static void forget_exited(struct fk_tracer *tr)
{
	for (struct proc **pp = &tr->procs; *pp;) {
		struct proc *p = *pp;
		if (p->exited && p->n == 0) {
			*pp = p->next;
			tr->hooks->forget(p);
			proc_free(p); /* a launched program's pipes belong to the caller */
		} else {
			pp = &p->next;
		}
	}
}

struct proc *tr_add_proc(struct fk_tracer *tr, pid_t pid)
{
	struct proc *p = proc_new(pid);
	if (!p)
		return NULL;
	p->next = tr->procs;
	tr->procs = p;
	return p;
}

struct proc *tr_first_proc(struct fk_tracer *tr)
{
	return tr->procs;
}

void tr_remove_proc(struct fk_tracer *tr, struct proc *p)
{
	for (struct proc **pp = &tr->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			tr->hooks->forget(p);
			proc_free(p);
			return;
		}
	}
}

static struct proc *owner_of(struct fk_tracer *tr, pid_t tid, struct lwp **out)
{
	for (struct proc *p = tr->procs; p; p = p->next) {
		if (p->exited)
			continue;
		struct lwp *l = proc_lwp(p, tid);
		if (l) {
			*out = l;
			return p;
		}
	}
	*out = NULL;
	return NULL;
}

bool tr_take_unclaimed(struct fk_tracer *tr, pid_t pid, int *status)
{
	for (size_t i = 0; i < tr->n_unclaimed; i++) {
		if (tr->unclaimed[i].pid == pid) {
			*status = tr->unclaimed[i].status;
			tr->unclaimed[i] = tr->unclaimed[--tr->n_unclaimed];
			return true;
		}
	}
	return false;
}

/* ---- the state machine ------------------------------------------------ */

static void lwp_gone(struct fk_tracer *tr, struct proc *p, pid_t tid, int status)
{
	bool leader = tid == p->pid;
	proc_remove_lwp(p, tid);
	if (leader) {
		p->exited = true;
		tr->hooks->exited(tr, p);
		p->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
		if (p->session) {
			int32_t code = WIFEXITED(status) ? WEXITSTATUS(status) : 0, sig = WTERMSIG(status);
			ev_exited(tr, p->pid, WIFEXITED(status) ? &code : NULL, WIFEXITED(status) ? NULL : &sig);
		}
	} else if (p->session) {
		ev_thread_exited(tr, p->pid, tid);
	}
}

static void handle_status(struct fk_tracer *tr, pid_t tid, int status)
{
	struct lwp *l;
	struct proc *p = owner_of(tr, tid, &l);
	if (!p) {
		/* A new LWP whose creator's PTRACE_EVENT_CLONE we have not seen
		 * yet, or the child of an injected fork. */
		long tgid = 0;
		if (WIFSTOPPED(status) && proc_status_long(tid, "Tgid", &tgid) == 0 &&
		    (p = tr_find_proc(tr, (pid_t)tgid)) != NULL) {
			l = proc_add_lwp(p, tid);
			if (!l)
				return;
			if (p->session)
				ev_thread_created(tr, p->pid, tid);
		} else if (WIFSTOPPED(status) && status >> 16 == PTRACE_EVENT_EXIT) {
			/* a thread of a process we let go while it was dying
			 * (an exec kills every other thread): it waits for us
			 * at its exit stop, and the exec waits for it */
			if (ptrace(PTRACE_CONT, tid, 0, 0) < 0 && errno != ESRCH)
				fk_warn("resuming the exit of untracked thread %d: %s", (int)tid, strerror(errno));
			return;
		} else if (WIFSTOPPED(status)) {
			if (tr->n_unclaimed < MAX_UNCLAIMED) {
				tr->unclaimed[tr->n_unclaimed].pid = tid;
				tr->unclaimed[tr->n_unclaimed].status = status;
				tr->n_unclaimed++;
			} else {
				fk_warn("dropped the status 0x%x of unknown tracee %d", status, tid);
			}
			return;
		} else {
			return; /* the exit of a tracee we no longer track: reaped */
		}
	}
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		lwp_gone(tr, p, tid, status);
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	int sig = WSTOPSIG(status), ev = status >> 16;
	proc_set_stopped(p, l);
	tr->hooks->stop_seen(p, l);
	l->regs_valid = false;
	l->slot_unrun = false;
	l->stop_sig = sig;
	l->event = 0;
	if (ev == PTRACE_EVENT_STOP) {
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
			l->stop = STOP_GROUP;
		} else {
			l->stop = STOP_INTERRUPT;
			l->interrupt_pending = false;
		}
	} else if (ev) {
		l->stop = STOP_EVENT;
		l->event = ev;
		if (ev == PTRACE_EVENT_EXEC) {
			/* a new program: breakpoints went with the old memory;
			 * a non-leader that exec'd took the leader's tid */
			unsigned long former = 0;
			ptrace(PTRACE_GETEVENTMSG, tid, 0, &former);
			p->nbps = 0;
			memset(p->watches, 0, sizeof p->watches); /* the kernel flushed them */
			p->execs++;
			p->syms_stale = true;
			if (former && (pid_t)former != tid) {
				proc_remove_lwp(p, (pid_t)former);
				if (p->session)
					ev_thread_exited(tr, p->pid, (pid_t)former);
			}
			l = proc_lwp(p, tid);
			if (!l)
				return;
			if (tr->hooks->exec(tr, p, l, former ? (pid_t)former : tid))
				return; /* let go */
		}
		if (ev == PTRACE_EVENT_CLONE) {
			unsigned long msg = 0;
			if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg) == 0 && msg) {
				bool known = proc_lwp(p, (pid_t)msg) != NULL;
				if (!known && !proc_task_exists(p->pid, (pid_t)msg)) {
					/* clone() without CLONE_THREAD: a new process */
					tr->hooks->new_process(tr, p, l, (pid_t)msg, "clone");
					known = true;
				}
				/* proc_add_lwp may move the array: l is stale after it */
				if (!known && proc_add_lwp(p, (pid_t)msg) && p->session)
					ev_thread_created(tr, p->pid, (pid_t)msg);
				l = proc_lwp(p, tid);
			}
		}
		if (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK) {
			unsigned long msg = 0;
			if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg) == 0 && msg)
				tr->hooks->new_process(tr, p, l, (pid_t)msg,
						       ev == PTRACE_EVENT_VFORK ? "vfork" : "fork");
		}
	} else if (sig == (SIGTRAP | 0x80)) {
		l->stop = STOP_SYSCALL;
	} else {
		l->stop = STOP_SIGNAL;
		l->pending_sig = sig;
		l->bp_hit = false;
		l->watch_hit = 0;
		if (sig == SIGTRAP)
			tr->hooks->trap(p, l);
	}
	tr->hooks->stopped(tr, p, l);
}

static int pump(struct fk_tracer *tr, pid_t which, int timeout_ms)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(which, &status, WNOHANG | __WALL | __WNOTHREAD);
		if (pid > 0) {
			handle_status(tr, pid, status);
			return 1;
		}
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (timeout_ms == 0)
			return 0;

		if (timeout_ms > 0 && tr->timer_ok) {
			struct itimerspec its = { 0 };
			its.it_value.tv_sec = timeout_ms / 1000;
			its.it_value.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
			timer_settime(tr->timer, 0, &its, NULL);
		}
		sigset_t wake;
		sigemptyset(&wake);
		sigaddset(&wake, WAKE_SIG);
		sigjmp_buf jb;
		volatile int ready = 0;
		if (sigsetjmp(jb, 1) == 0) {
			t_wait_jmp = &jb;
			pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
			siginfo_t si;
			memset(&si, 0, sizeof si);
			/* raw syscall: not a cancellation-point wrapper, safe to
			 * leave with siglongjmp */
			long rc = syscall(SYS_waitid, which > 0 ? P_PID : P_ALL, which > 0 ? which : 0, &si,
					  WEXITED | WSTOPPED | WNOWAIT | __WALL | __WNOTHREAD, NULL);
			int e = errno;
			pthread_sigmask(SIG_BLOCK, &wake, NULL);
			t_wait_jmp = NULL;
			if (rc == 0 && si.si_pid != 0)
				ready = 1;
			else if (rc < 0 && e == ECHILD)
				ready = -ECHILD;
		}
		if (timeout_ms > 0 && tr->timer_ok) {
			struct itimerspec off = { 0 };
			timer_settime(tr->timer, 0, &off, NULL);
		}
		if (ready == -ECHILD)
			return -ECHILD;
		if (!ready)
			return 0;
		/* a status is ready: loop to consume it */
	}
}

int tr_pump(struct fk_tracer *tr, int timeout_ms)
{
	return pump(tr, -1, timeout_ms);
}

int tr_pump_pid(struct fk_tracer *tr, pid_t tid, int timeout_ms)
{
	return pump(tr, tid, timeout_ms);
}

static void seize_timer(struct fk_tracer *tr, bool on)
{
	struct itimerspec its = { 0 };
	if (on) {
		its.it_value.tv_nsec = 20L * 1000 * 1000;
		its.it_interval.tv_nsec = 20L * 1000 * 1000;
	}
	if (timer_settime(tr->timer, 0, &its, NULL) < 0)
		fk_warn("timer_settime (seize watchdog %s): %s", on ? "on" : "off", strerror(errno));
}

void tr_seize_round(struct fk_tracer *tr, bool on)
{
	if (!tr->timer_ok || tr->seize_round == on)
		return;
	tr->seize_round = on;
	seize_timer(tr, on);
}

int tr_seize(struct fk_tracer *tr, pid_t tid, unsigned long options)
{
	if (!tr->timer_ok)
		return ptrace(PTRACE_SEIZE, tid, 0, options) == 0 ? 0 : -errno;
	uint64_t deadline = tr_now_us() + 10u * 1000u * 1000u;
	sigset_t wake;
	sigemptyset(&wake);
	sigaddset(&wake, WAKE_SIG);
	bool own_timer = !tr->seize_round;
	for (;;) {
		if (own_timer)
			seize_timer(tr, true);
		sigjmp_buf jb;
		volatile long rc = -1;
		volatile int e = 0, interrupted = 1;
		/* no mask saved: the handler runs with WAKE_SIG blocked, and a
		 * jump out of it leaves it blocked, as this thread keeps it */
		if (sigsetjmp(jb, 0) == 0) {
			t_wait_jmp = &jb;
			pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
			/* raw syscall: safe to leave with siglongjmp */
			rc = syscall(SYS_ptrace, PTRACE_SEIZE, tid, 0, options);
			e = errno;
			pthread_sigmask(SIG_BLOCK, &wake, NULL);
			t_wait_jmp = NULL;
			interrupted = 0;
		}
		if (own_timer)
			seize_timer(tr, false);
		if (!interrupted)
			return rc == 0 ? 0 : -e;
		/* an exec may be waiting for threads we hold: let them go */
		while (pump(tr, -1, 0) == 1)
			;
		if (tr_now_us() > deadline)
			return -ETIMEDOUT;
	}
}

/* Sleep until a request arrives (no tracees to wait for). */
static void idle_wait(struct fk_tracer *tr)
{
	(void)tr;
	sigset_t wake;
	sigemptyset(&wake);
	sigaddset(&wake, WAKE_SIG);
	struct timespec ts = { 1, 0 };
	sigtimedwait(&wake, NULL, &ts);
}

/* ---- requests ----------------------------------------------------------- */

static void run_request(struct fk_tracer *tr, struct tr_request *rq)
{
	struct jw body;
	struct fk_err err;
	jw_init(&body);
	fk_err_clear(&err);
	jw_obj_begin(&body);
	const char *op = "?";
	if (tr->hooks->request(tr, rq->text, rq->len, &body, &err, &op) < 0 && !fk_err_isset(&err))
		fk_fail(&err, 0, FK_KIND_FAILED, "request", "operation %s failed", op);
	jw_obj_end(&body);
	if (body.oom && !fk_err_isset(&err))
		fk_fail(&err, ENOMEM, FK_KIND_FAILED, "result", "out of memory building the result");
	send_result(tr, rq->id, &body, &err);
	jw_free(&body);
	atomic_store(&tr->cancel, false); /* it was meant for this one */
}

bool tr_cancelled(struct fk_tracer *tr)
{
	return atomic_load(&tr->cancel);
}

static struct tr_request *pop_request(struct fk_tracer *tr)
{
	pthread_mutex_lock(&tr->lock);
	struct tr_request *rq = tr->rq_head;
	if (rq) {
		tr->rq_head = rq->next;
		if (!tr->rq_head)
			tr->rq_tail = NULL;
	}
	pthread_mutex_unlock(&tr->lock);
	return rq;
}

/* Work a stop left for the main loop (it waits for other stops, which the
 * state machine must not). True if something was done: the process list
 * may have changed, look again. */
static bool pending_work(struct fk_tracer *tr)
{
	for (struct proc *p = tr->procs; p; p = p->next)
		if (tr->hooks->pending(tr, p))
			return true;
	return false;
}

static void *tracer_main(void *arg)
{
	struct fk_tracer *tr = arg;
	tr->tid = (pid_t)syscall(SYS_gettid);

	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = WAKE_SIG;
	sev._sigev_un._tid = tr->tid;
	tr->timer_ok = timer_create(CLOCK_MONOTONIC, &sev, &tr->timer) == 0;

	pthread_mutex_lock(&tr->lock);
	tr->started = true;
	if (!tr->timer_ok)
		snprintf(tr->start_err, sizeof tr->start_err, "timer_create: %s", strerror(errno));
	pthread_cond_broadcast(&tr->cond);
	pthread_mutex_unlock(&tr->lock);

	for (;;) {
		struct tr_request *rq;
		while ((rq = pop_request(tr)) != NULL) {
			run_request(tr, rq);
			free(rq->text);
			free(rq);
		}
		/* a request's own waits may have left work (a fork seen) */
		while (pending_work(tr))
			;
		pthread_mutex_lock(&tr->lock);
		bool closing = tr->closing && !tr->rq_head;
		pthread_mutex_unlock(&tr->lock);
		if (closing)
			break;
		/* handle whatever tracees report; sleep when nothing does */
		int r = tr_pump(tr, -1);
		if (r == -ECHILD)
			idle_wait(tr);
		forget_exited(tr);
		while (pending_work(tr))
			;
	}

	/* Leave nothing behind (hooks: every process is detached and resumed,
	 * but checkpoints, copies that must never run, are killed). */
	forget_exited(tr);
	while (tr->procs)
		tr->hooks->release(tr, tr->procs);
	if (tr->timer_ok)
		timer_delete(tr->timer);
	return NULL;
}

/* ---- the exported API ------------------------------------------------- */

static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static int handler_err;

static void install_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = wake_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the wait must be interrupted */
	if (sigaction(WAKE_SIG, &sa, NULL) < 0)
		handler_err = errno;
}

struct fk_tracer *tr_open(const struct tr_hooks *hooks, char *errbuf, size_t errlen)
{
	pthread_once(&handler_once, install_handler);
	if (handler_err) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "sigaction(SIGRTMIN+6): %s", strerror(handler_err));
		return NULL;
	}
	struct fk_tracer *tr = calloc(1, sizeof *tr);
	if (!tr) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	tr->hooks = hooks;
	pthread_mutex_init(&tr->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tr->cond, &ca);
	pthread_condattr_destroy(&ca);
	tr->next_id = 1;
	fk_log_set_sink(log_sink, tr, FK_LOG_INFO);

	/* The tracer thread starts with every signal blocked: Node's signal
	 * handling stays on Node's threads, WAKE_SIG is opened only inside
	 * the wait window. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&tr->thread, NULL, tracer_main, tr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "pthread_create (tracer thread): %s", strerror(rc));
		fk_log_set_sink(NULL, NULL, FK_LOG_INFO);
		pthread_cond_destroy(&tr->cond);
		pthread_mutex_destroy(&tr->lock);
		free(tr);
		return NULL;
	}
	pthread_mutex_lock(&tr->lock);
	while (!tr->started)
		pthread_cond_wait(&tr->cond, &tr->lock);
	pthread_mutex_unlock(&tr->lock);
	if (tr->start_err[0])
		fk_warn("%s (operation timeouts are disabled)", tr->start_err);
	return tr;
}

static void wake(struct fk_tracer *tr)
{
	pthread_kill(tr->thread, WAKE_SIG);
}

void fk_cancel(fk_tracer *tr)
{
	if (!tr)
		return;
	atomic_store(&tr->cancel, true);
	wake(tr);
}

void fk_close(fk_tracer *tr)
{
	if (!tr)
		return;
	pthread_mutex_lock(&tr->lock);
	tr->closing = true;
	pthread_mutex_unlock(&tr->lock);
	atomic_store(&tr->cancel, true); /* a long operation (a step) ends now */
	wake(tr);
	pthread_join(tr->thread, NULL);
	fk_log_set_sink(NULL, NULL, FK_LOG_INFO);
	/* let threads blocked in fk_wait (koffi pool threads) leave first */
	pthread_mutex_lock(&tr->lock);
	pthread_cond_broadcast(&tr->cond);
	while (tr->waiters > 0)
		pthread_cond_wait(&tr->cond, &tr->lock);
	pthread_mutex_unlock(&tr->lock);
	for (struct msg *m = tr->msg_head; m;) {
		struct msg *n = m->next;
		free(m->text);
		free(m);
		m = n;
	}
	pthread_cond_destroy(&tr->cond);
	pthread_mutex_destroy(&tr->lock);
	free(tr);
}

int64_t fk_request(fk_tracer *tr, const char *json, uint64_t len)
{
	if (!tr || (!json && len))
		return -EINVAL;
	if (len > JR_MAX_TEXT)
		return -E2BIG;
	struct tr_request *rq = calloc(1, sizeof *rq);
	if (!rq)
		return -ENOMEM;
	/* decoded on the tracer thread, so that its result (an error for a
	 * malformed request too) arrives in request order */
	rq->text = malloc(len + 1);
	if (!rq->text) {
		free(rq);
		return -ENOMEM;
	}
	if (len)
		memcpy(rq->text, json, len);
	rq->text[len] = 0;
	rq->len = len;
	pthread_mutex_lock(&tr->lock);
	if (tr->closing) {
		pthread_mutex_unlock(&tr->lock);
		free(rq->text);
		free(rq);
		return -ESHUTDOWN;
	}
	rq->id = tr->next_id++;
	if (tr->rq_tail)
		tr->rq_tail->next = rq;
	else
		tr->rq_head = rq;
	tr->rq_tail = rq;
	int64_t id = rq->id;
	pthread_mutex_unlock(&tr->lock);
	wake(tr);
	return id;
}

int32_t fk_wait(fk_tracer *tr, int32_t timeout_ms)
{
	if (!tr)
		return -EINVAL;
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	if (timeout_ms > 0) {
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&tr->lock);
	int rc = 0;
	tr->waiters++;
	while (!tr->msg_head) {
		if (timeout_ms == 0 || tr->closing)
			break;
		if (timeout_ms < 0) {
			pthread_cond_wait(&tr->cond, &tr->lock);
		} else if (pthread_cond_timedwait(&tr->cond, &tr->lock, &dl) == ETIMEDOUT) {
			break;
		}
	}
	if (tr->msg_head)
		rc = 1;
	else if (tr->closing)
		rc = -ESHUTDOWN;
	tr->waiters--;
	pthread_cond_broadcast(&tr->cond);
	pthread_mutex_unlock(&tr->lock);
	return rc;
}

int64_t fk_next_message(fk_tracer *tr, uint8_t *buf, uint64_t cap)
{
	if (!tr)
		return -EINVAL;
	pthread_mutex_lock(&tr->lock);
	struct msg *m = tr->msg_head;
	if (!m) {
		pthread_mutex_unlock(&tr->lock);
		return 0;
	}
	if (m->len > cap) {
		int64_t need = -(int64_t)m->len;
		pthread_mutex_unlock(&tr->lock);
		return need;
	}
	tr->msg_head = m->next;
	if (!tr->msg_head)
		tr->msg_tail = NULL;
	pthread_mutex_unlock(&tr->lock);
	memcpy(buf, m->text, m->len);
	int64_t len = (int64_t)m->len;
	free(m->text);
	free(m);
	return len;
}

void fk_set_log_level(fk_tracer *tr, int32_t level)
{
	fk_log_set_sink(log_sink, tr, level);
}
