/* step.c — source-line steps (see step.h).
 *
 * Who runs: while the LWP range-steps (its own instructions) the other LWPs
 * stay stopped, as before (gdb's scheduler-locking "step"). While a call is
 * run to its return address, or a line that loops and called something is
 * run with breakpoints, every LWP runs, as on continue. A line that loops
 * without calling runs with breakpoints with only the LWP running. */
#include "engine/step.h"

#include "arch/arch.h"
#include "base/log.h"
#include "base/mem.h"
#include "core/sigpolicy.h"
#include "debuginfo/symbols.h"
#include "ptrace/attach.h"
#include "ptrace/breakpoints.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#ifndef PTRACE_EVENT_EXEC
#define PTRACE_EVENT_EXEC 4
#endif

/* Range-steps in one line (or calls run out of it) before the line is run
 * with breakpoints instead: a straight line costs a few steps, a loop
 * thousands. */
#define RANGE_STEPS_MAX 400
#define CALLS_MAX 8
#define STOP_TIMEOUT_MS 10000
#define WAIT_SLICE_MS 100
#define MAX_TEMPS 4096
/* signals an instruction raises itself: never blocked around a step (the
 * kernel resets the handler of a fault signal that is blocked) */
#define SIGBIT(sig) (1ull << ((sig) - 1))
#define SYNC_SIGNALS \
	(SIGBIT(SIGTRAP) | SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | SIGBIT(SIGFPE) | SIGBIT(SIGSYS))

enum outcome {
	GO,   /* carry on */
	DONE, /* the step is complete: reason "step" */
	END,  /* ended by something else: c->out says what */
	FAIL, /* c->err set */
};

enum run_mode {
	RUN_ALONE,
	RUN_ALL
};

struct ctx {
	struct fk_tracer *tr;
	struct proc *p;
	pid_t pid, tid;
	enum step_kind kind;
	bool alone; /* the others stay stopped, calls included (DAP singleThread) */
	struct fk_symbols *s;
	int held_sig; /* the LWP's pending signal at the start: delivered when it next continues */
	struct step_result *out;
	struct fk_err *err;
	/* the line being stepped */
	uint64_t lo, hi; /* its function */
	struct sym_line_row *rows;
	size_t nrows;
	const char *file;
	int line;
	uint64_t cfa; /* CFA of its frame (0: unknown) */
	uint64_t ret; /* the frame's return address (0: unknown) */
	bool saw_call;
	/* temporary breakpoints of one run */
	uint64_t *temps; /* inserted by us */
	size_t ntemps;
	uint64_t hit;	  /* run_to: the temporary breakpoint that ended it */
	uint64_t call_sp; /* cond_returned: the caller's sp before the call */
	bool keep_pc;	  /* run_to: resume the LWP at its pc, breakpoint or not */
};

static bool alive(const struct ctx *c)
{
	return tr_find_proc(c->tr, c->pid) == c->p && !c->p->exited;
}

static struct lwp *me(const struct ctx *c)
{
	return proc_lwp(c->p, c->tid);
}

static enum outcome end(struct ctx *c, const char *reason, pid_t tid, int sig, uint64_t addr)
{
	c->out->reason = reason;
	c->out->stop_tid = tid;
	c->out->signal = sig;
	c->out->addr = addr;
	return END;
}

/* A breakpoint hit of l ends the step: reported by the step's result, so
 * never again as a pending hit. */
static enum outcome hit_end(struct ctx *c, struct lwp *l)
{
	l->hit_reported = true;
	return end(c, "breakpoint", l->tid, 0, l->bp_addr);
}

static enum outcome gone(struct ctx *c)
{
	if (!alive(c))
		return end(c, "exited", c->tid, 0, 0);
	return end(c, "threadExited", c->tid, 0, 0);
}

static enum outcome get_regs(struct ctx *c, fk_gregs *r)
{
	int rc = arch_get_gregs(c->tid, r);
	if (rc == -ESRCH)
		return gone(c);
	if (rc < 0) {
		fk_fail(c->err, -rc, FK_KIND_FAILED, "step", "PTRACE_GETREGS of thread %d of %d", (int)c->tid,
			(int)c->pid);
		return FAIL;
	}
	return GO;
}

/* ---- the line table ---- */

/* The row covering pc (the last of several at one address), or -1. */
static long row_at(const struct ctx *c, uint64_t pc)
{
	if (pc < c->lo || pc >= c->hi)
		return -1;
	size_t lo = 0, hi = c->nrows;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->rows[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

static bool same_file(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* pc belongs to the line being stepped (compiler-made code, line 0, too). */
static bool in_line(const struct ctx *c, uint64_t pc)
{
	long i = row_at(c, pc);
	if (i < 0)
		return false;
	const struct sym_line_row *r = &c->rows[i];
	return r->line == 0 || (r->line == c->line && same_file(r->file, c->file));
}

/* pc is where a statement of another line begins. */
static bool stmt_start(const struct ctx *c, uint64_t pc)
{
	long i = row_at(c, pc);
	for (; i >= 0 && c->rows[i].addr == pc; i--)
		if (c->rows[i].stmt && c->rows[i].line != 0)
			return true;
	return false;
}

/* Make the line at pc the one being stepped (its function's rows loaded
 * when pc is in another function). False: no line information there. */
static bool set_line(struct ctx *c, uint64_t pc)
{
	if (pc < c->lo || pc >= c->hi || !c->rows) {
		free(c->rows);
		c->rows = NULL;
		c->nrows = sym_function_lines(c->s, pc, &c->lo, &c->hi, &c->rows);
		if (!c->nrows) {
			c->lo = c->hi = 0;
			return false;
		}
	}
	long i = row_at(c, pc);
	if (i < 0 || c->rows[i].line == 0)
		return false;
	c->file = c->rows[i].file;
	c->line = c->rows[i].line;
	return true;
}

/* CFA and return address of the frame at r (from CFI; 0 when unknown). */
static void frame_of(struct ctx *c, const fk_gregs *r, uint64_t *cfa, uint64_t *ret)
{
	struct sym_frame f[2];
	struct fk_err e;
	fk_err_clear(&e);
	int n = sym_unwind(c->s, c->tid, r, f, 2, &e);
	*cfa = n >= 2 ? f[1].sp : 0;
	*ret = n >= 2 ? f[1].pc : 0;
}

/* ---- breakpoints of one run ---- */

static bool is_temp(const struct ctx *c, uint64_t addr)
{
	for (size_t i = 0; i < c->ntemps; i++)
		if (c->temps[i] == addr)
			return true;
	return false;
}

/* A breakpoint at addr that ends the run when the condition holds;
 * user breakpoints already there stay theirs (a hit is reported). */
static void add_temp(struct ctx *c, uint64_t addr)
{
	if (bp_at(c->p, addr) || c->ntemps >= MAX_TEMPS)
		return;
	struct fk_err e;
	fk_err_clear(&e);
	if (bp_insert(c->p, addr, &e) < 0) {
		fk_debug("step: no temporary breakpoint at 0x%llx: %s", (unsigned long long)addr, e.msg);
		return;
	}
	c->temps[c->ntemps++] = addr;
}

static void remove_temps(struct ctx *c)
{
	for (size_t i = 0; alive(c) && i < c->p->n; i++) {
		struct lwp *l = &c->p->lwps[i];
		if (l->bp_hit && is_temp(c, l->bp_addr))
			l->hit_reported = true; /* a hit of the step's own: nothing to report, ever */
	}
	if (alive(c) && c->ntemps) {
		/* a thread caught just past one of them is rewound first */
		bp_settle_traps(c->tr, c->p, 0);
		for (size_t i = 0; alive(c) && i < c->ntemps; i++) {
			struct fk_err e;
			fk_err_clear(&e);
			if (bp_at(c->p, c->temps[i]) && bp_remove(c->p, c->temps[i], &e) < 0)
				fk_warn("step: removing the temporary breakpoint at 0x%llx: %s",
					(unsigned long long)c->temps[i], e.msg);
		}
	}
	c->ntemps = 0;
}

/* ---- running ---- */

/* A stopped LWP about to run: first alone over a breakpoint under its pc
 * (not the stepping LWP's while the step keeps its pc). NULL: it is not
 * there to run. */
static struct lwp *step_off(struct ctx *c, pid_t tid)
{
	struct lwp *l = proc_lwp(c->p, tid);
	if (!l || l->state != LWP_STOPPED || l->exiting)
		return NULL;
	if (c->p->nbps && !(tid == c->tid && c->keep_pc)) {
		int rc = bp_step_over(c->tr, c->p, tid);
		if (rc < 0 && rc != -ESRCH)
			fk_warn("step: thread %d of %d over a breakpoint: %s", (int)tid, (int)c->pid, strerror(-rc));
		if (!alive(c) || !(l = proc_lwp(c->p, tid)) || l->state != LWP_STOPPED)
			return NULL;
	}
	return l;
}

/* Continue a stopped LWP (stepped off its breakpoint already). */
static int run_one(struct ctx *c, struct lwp *l)
{
	if (l->tid == c->tid) {
		c->keep_pc = false; /* the first resume only */
		if (c->held_sig && (!l->pending_sig || l->pending_sig == c->held_sig)) {
			l->pending_sig = c->held_sig; /* delivered now, as a continue would */
			c->held_sig = 0;
		}
	}
	int rc = attach_resume_lwp(c->p, l);
	if (rc < 0)
		fk_warn("step: resuming thread %d of %d: %s", (int)l->tid, (int)c->pid, strerror(-rc));
	return rc;
}

/* Resume one stopped LWP: first alone over a breakpoint under its pc. */
static int resume_one(struct ctx *c, pid_t tid)
{
	struct lwp *l = step_off(c, tid);
	return l ? run_one(c, l) : 0;
}

/* A thread about to run that holds a breakpoint hit never reported (it
 * hit while another's stop was being reported): the step ends with that
 * hit instead of running it past it (attach_hit_pending). */
static enum outcome pending_hit(struct ctx *c, struct lwp *l)
{
	if (l->frozen && l->tid != c->tid)
		return GO; /* it does not run */
	if (l->bp_hit && !is_temp(c, l->bp_addr) && attach_hit_pending(c->p, l))
		return hit_end(c, l);
	return GO;
}

/* Resume the LWPs of a run (mode); END when one of them holds a pending
 * hit (then none runs). */
static enum outcome resume(struct ctx *c, enum run_mode mode)
{
	if (mode == RUN_ALONE) {
		resume_one(c, c->tid);
		return GO;
	}
	for (size_t i = 0; i < c->p->n; i++)
		if (pending_hit(c, &c->p->lwps[i]) == END)
			return END;
	size_t n = c->p->n;
	pid_t *tids = malloc((n ? n : 1) * sizeof *tids);
	if (!tids) {
		resume_one(c, c->tid);
		return GO;
	}
	for (size_t i = 0; i < n; i++) /* frozen ones stay; the stepping one runs */
		tids[i] = c->p->lwps[i].frozen && c->p->lwps[i].tid != c->tid ? 0 : c->p->lwps[i].tid;
	/* every one off its breakpoint first, all still stopped: an int3
	 * lifted while others run can be passed by them unseen */
	for (size_t i = 0; i < n && alive(c); i++)
		if (tids[i] && !step_off(c, tids[i]))
			tids[i] = 0;
	/* then the others, the stepping LWP last: its condition is checked
	 * on its stop */
	pid_t me_tid = 0;
	for (size_t i = 0; i < n && alive(c); i++) {
		struct lwp *l = tids[i] ? proc_lwp(c->p, tids[i]) : NULL;
		if (tids[i] == c->tid)
			me_tid = c->tid;
		else if (l && l->state == LWP_STOPPED)
			run_one(c, l);
	}
	struct lwp *l = me_tid && alive(c) ? proc_lwp(c->p, me_tid) : NULL;
	if (l && l->state == LWP_STOPPED)
		run_one(c, l);
	free(tids);
	return GO;
}

/* Stop every LWP (all-stop after a run). */
static enum outcome stop_all(struct ctx *c)
{
	if (!alive(c))
		return gone(c);
	if (attach_stop_all(c->tr, c->p, STOP_TIMEOUT_MS, c->err) < 0) {
		if (!alive(c))
			return gone(c);
		return FAIL;
	}
	return GO;
}

/* After stop_all: a signal that stopped an LWP meanwhile is reported. */
static bool signal_goes_on(struct ctx *c, struct lwp *l);

static enum outcome signal_among_stops(struct ctx *c)
{
	for (size_t i = 0; i < c->p->n; i++) {
		struct lwp *l = &c->p->lwps[i];
		if (l->state == LWP_STOPPED && l->stop == STOP_SIGNAL && !l->bp_hit && l->pending_sig &&
		    l->pending_sig == l->stop_sig && !(l->tid == c->tid && l->stop_sig == SIGTRAP) &&
		    !signal_goes_on(c, l))
			return end(c, "signal", l->tid, l->stop_sig, 0);
	}
	return GO;
}

/* The "signal" event of a signal that does not stop but prints (as
 * attach.c's while the process runs). */
static void signal_event(struct ctx *c, const struct lwp *l)
{
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "type", "event");
	jw_kstr(&w, "event", "signal");
	jw_kint(&w, "pid", c->pid);
	jw_kint(&w, "tid", l->tid);
	jw_kint(&w, "signal", l->stop_sig);
	jw_kbool(&w, "passed", sig_passes(&c->p->sigs, l->stop_sig));
	jw_obj_end(&w);
	tr_emit_event(c->tr, &w);
}

/* A signal-delivery-stop of l during the step, by the session's signal
 * table (core/sigpolicy.h) as while the process runs: one that does not
 * stop is printed if it prints and kept for delivery only if it passes
 * (true: the step goes on); one that stops ends the step, delivered on
 * resume only if it passes (false). */
static bool signal_goes_on(struct ctx *c, struct lwp *l)
{
	const struct sig_policy *sp = &c->p->sigs;
	if (!sig_stops(sp, l->stop_sig)) {
		if (sig_prints(sp, l->stop_sig))
			signal_event(c, l);
		if (!sig_passes(sp, l->stop_sig))
			l->pending_sig = 0;
		return true;
	}
	if (!sig_passes(sp, l->stop_sig))
		l->pending_sig = 0;
	return false;
}

typedef bool (*hit_cond)(struct ctx *c, uint64_t addr, const fk_gregs *r);

/* Run (mode) until the stepping LWP reaches one of the temporary
 * breakpoints where cond holds (GO, c->hit), or something else happens
 * (END). The temporary breakpoints are removed again either way. */
static enum outcome run_to(struct ctx *c, enum run_mode mode, hit_cond cond)
{
	if (c->alone)
		mode = RUN_ALONE;
	c->hit = 0;
	c->out->continues++;
	enum outcome o = resume(c, mode);
	while (o == GO) {
		if (!alive(c)) {
			o = gone(c);
			break;
		}
		struct lwp *l = me(c);
		if (!l || l->exiting) {
			o = gone(c);
			break;
		}
		if (tr_cancelled(c->tr)) {
			o = end(c, "paused", c->tid, 0, 0);
			break;
		}
		/* every stop of this process that came in */
		bool handled = false;
		/* alone: the others have been stopped since before the step */
		size_t first = mode == RUN_ALL ? 0 : (size_t)(me(c) - c->p->lwps);
		size_t last = mode == RUN_ALL ? c->p->n : first + 1;
		for (size_t i = first; i < last && o == GO; i++) {
			l = &c->p->lwps[i];
			if (l->state != LWP_STOPPED || l->exiting || (l->frozen && l->tid != c->tid))
				continue; /* a frozen one did not run: its stop is old, it stays */
			pid_t t = l->tid;
			handled = true;
			if (l->stop == STOP_SIGNAL && l->bp_hit) {
				uint64_t a = l->bp_addr;
				if (!is_temp(c, a)) {
					o = hit_end(c, l);
					break;
				}
				if (t == c->tid) {
					fk_gregs r;
					if ((o = get_regs(c, &r)) != GO)
						break;
					if (cond(c, a, &r)) {
						c->hit = a;
						o = DONE;
						break;
					}
				}
				/* not ours (another LWP, a deeper frame): past it. The
				 * int3 is lifted for that: with the others held. */
				if (mode == RUN_ALL) {
					if ((o = stop_all(c)) != GO || (o = signal_among_stops(c)) != GO)
						break;
					o = resume(c, mode);
				} else {
					resume_one(c, t);
				}
				break; /* the table may have changed */
			}
			if (l->stop == STOP_SIGNAL && !signal_goes_on(c, l)) {
				o = end(c, "signal", t, l->stop_sig, 0);
				break;
			}
			if (l->stop == STOP_EVENT && l->event == PTRACE_EVENT_EXEC) {
				o = DONE; /* a new program: nothing of the line is left */
				break;
			}
			/* a new thread's first stop, a late interrupt, a clone
			 * event, a job-control stop: it goes on */
			if (resume_one(c, t) < 0) {
				fk_fail(c->err, EIO, FK_KIND_FAILED, "step", "thread %d of %d cannot be resumed",
					(int)t, (int)c->pid);
				o = FAIL;
			}
			break;
		}
		if (o != GO)
			break;
		if (handled)
			continue;
		int r = mode == RUN_ALONE ? tr_pump_pid(c->tr, c->tid, WAIT_SLICE_MS) : tr_pump(c->tr, WAIT_SLICE_MS);
		if (r == -ECHILD && !alive(c)) {
			o = gone(c);
			break;
		}
	}
	enum outcome keep = o;
	if (o != FAIL && alive(c)) {
		/* all-stop again (only the stepping LWP ran when alone) */
		struct fk_err e;
		fk_err_clear(&e);
		struct fk_err *save = c->err;
		c->err = &e;
		enum outcome s = stop_all(c);
		c->err = save;
		if (s == FAIL) {
			*c->err = e;
			keep = FAIL;
		} else if (s == END) {
			keep = END;
		} else if (keep == DONE || keep == GO) {
			/* a signal that came in while the others were stopped */
			if (mode == RUN_ALL && signal_among_stops(c) == END)
				keep = END;
		}
	}
	remove_temps(c);
	if (keep == END || keep == FAIL)
		return keep;
	if (!alive(c) || !me(c))
		return gone(c);
	return keep == DONE && c->hit ? GO : keep;
}

static bool cond_returned(struct ctx *c, uint64_t addr, const fk_gregs *r);

/* The stepping LWP stopped for a signal that passes without stopping:
 * deliver it and come back to its pc, where no instruction has run yet. A
 * temporary breakpoint there, the LWP alone continued with the signal: a
 * handler runs and returns to it (reached again deeper, from inside the
 * handler, it is stepped over), an ignored signal hits it at once. */
static enum outcome deliver_here(struct ctx *c, const fk_gregs *r)
{
	uint64_t pc = arch_pc(r);
	add_temp(c, pc);
	if (!is_temp(c, pc)) {
		/* a user's breakpoint is here (or none can be): reported */
		struct lwp *l = me(c);
		return end(c, "signal", c->tid, l ? l->stop_sig : 0, 0);
	}
	c->call_sp = arch_sp(r);
	c->keep_pc = true;
	enum outcome o = run_to(c, RUN_ALONE, cond_returned);
	c->keep_pc = false;
	return o;
}

/* One instruction of the stepping LWP alone (a breakpoint under its pc
 * lifted for it). GO with *r its registers after it. */
static enum outcome single_step(struct ctx *c, fk_gregs *r)
{
	for (;;) {
		struct lwp *l = me(c);
		if (!l || l->exiting)
			return gone(c);
		const struct bp *b = bp_at(c->p, arch_pc(r));
		uint64_t lifted = 0, mask = 0;
		bool masked = false;
		if (b) {
			/* as bp_step_over: asynchronous signals blocked for this one
			 * instruction, so one that came while the LWP was stopped at
			 * the breakpoint is not delivered before it (its handler
			 * would return to the breakpoint: a second hit); it comes at
			 * the next step */
			uint64_t quiet;
			masked = ptrace(PTRACE_GETSIGMASK, c->tid, (void *)sizeof mask, &mask) == 0;
			quiet = ~SYNC_SIGNALS | (mask & SYNC_SIGNALS);
			masked = masked && ptrace(PTRACE_SETSIGMASK, c->tid, (void *)sizeof quiet, &quiet) == 0;
			lifted = b->addr;
			int rc = mem_write_exact(c->pid, lifted, b->orig, arch_bp_len);
			if (rc < 0) {
				if (masked)
					ptrace(PTRACE_SETSIGMASK, c->tid, (void *)sizeof mask, &mask);
				fk_fail(c->err, -rc, FK_KIND_FAILED, "step", "lifting the breakpoint at 0x%llx in %d",
					(unsigned long long)lifted, (int)c->pid);
				return FAIL;
			}
		}
		c->out->single_steps++;
		if (ptrace(PTRACE_SINGLESTEP, c->tid, 0, 0) < 0) {
			int e = errno;
			if (masked)
				ptrace(PTRACE_SETSIGMASK, c->tid, (void *)sizeof mask, &mask);
			if (lifted)
				mem_write_exact(c->pid, lifted, arch_bp_insn, arch_bp_len);
			if (e == ESRCH)
				return gone(c);
			fk_fail(c->err, e, FK_KIND_FAILED, "step", "PTRACE_SINGLESTEP of thread %d of %d", (int)c->tid,
				(int)c->pid);
			return FAIL;
		}
		proc_set_running(c->p, l);
		l->stop = STOP_NONE;
		l->stepping = true;
		bool cancelled = false;
		for (;;) {
			int rc = tr_pump_pid(c->tr, c->tid, WAIT_SLICE_MS);
			if (!alive(c))
				return gone(c);
			l = me(c);
			if (!l || l->exiting)
				return gone(c);
			if (l->state == LWP_STOPPED)
				break;
			if (rc == -ECHILD)
				return gone(c);
			if (!cancelled && tr_cancelled(c->tr)) {
				/* an instruction that blocks (a system call): stop it */
				cancelled = true;
				if (ptrace(PTRACE_INTERRUPT, c->tid, 0, 0) == 0)
					l->interrupt_pending = true;
			}
		}
		l->stepping = false;
		if (masked && ptrace(PTRACE_SETSIGMASK, c->tid, (void *)sizeof mask, &mask) < 0 && errno != ESRCH)
			fk_warn("step: thread %d of %d: putting its signal mask back: %s", (int)c->tid, (int)c->pid,
				strerror(errno));
		if (lifted && bp_at(c->p, lifted))
			mem_write_exact(c->pid, lifted, arch_bp_insn, arch_bp_len);
		if (l->stop == STOP_SIGNAL && l->stop_sig == SIGTRAP && !l->bp_hit) {
			l->pending_sig = c->held_sig; /* the trap of our step is no signal */
			return get_regs(c, r);
		}
		if (l->stop == STOP_SIGNAL && l->bp_hit)
			return hit_end(c, l);
		if (l->stop == STOP_SIGNAL && !signal_goes_on(c, l))
			return end(c, "signal", c->tid, l->stop_sig, 0);
		if (l->stop == STOP_SIGNAL) {
			/* it goes on: delivered if it passes (a handler runs and
			 * returns here), then single-stepping from this pc again */
			bool deliver = l->pending_sig != 0;
			enum outcome o = get_regs(c, r);
			if (o == GO && deliver && (o = deliver_here(c, r)) == GO)
				o = get_regs(c, r);
			if (o != GO)
				return o;
			continue;
		}
		if (l->stop == STOP_EVENT && l->event == PTRACE_EVENT_EXEC)
			return DONE;
		if (cancelled)
			return end(c, "paused", c->tid, 0, 0);
		/* a clone event or an interrupt: the instruction is not done */
		if (l->stop == STOP_GROUP)
			return end(c, "signal", c->tid, l->stop_sig, 0);
		enum outcome o = get_regs(c, r);
		if (o != GO)
			return o;
	}
}

/* ---- conditions ---- */

/* The return address of a call, reached by the frame that made it. */
static bool cond_returned(struct ctx *c, uint64_t addr, const fk_gregs *r)
{
	(void)addr;
	return arch_sp(r) >= c->call_sp;
}

/* delve's next: another line of this frame, or this frame's return. The
 * return address of a recursive function is inside it: reached by a
 * deeper frame returning into ours it is no stop unless a statement
 * starts there. */
static bool cond_same_frame(struct ctx *c, uint64_t addr, const fk_gregs *r)
{
	if (!c->cfa)
		return true;
	if (addr == c->ret && arch_sp(r) >= c->cfa)
		return true;
	if (addr < c->lo || addr >= c->hi || !stmt_start(c, addr) || in_line(c, addr))
		return false;
	uint64_t cfa, ret;
	frame_of(c, r, &cfa, &ret);
	return !cfa || cfa >= c->cfa; /* lower: a recursive call's frame */
}

/* stepOut: this frame's return address, reached by returning from it. */
static bool cond_out(struct ctx *c, uint64_t addr, const fk_gregs *r)
{
	(void)addr;
	return !c->cfa || arch_sp(r) >= c->cfa;
}

/* ---- the step ---- */

/* Run the call the LWP just entered (sp: its sp in the callee, [sp] the
 * return address) back to its caller, every LWP running. */
static enum outcome step_out_of_call(struct ctx *c, const fk_gregs *r)
{
	uint64_t ret;
	if (mem_read_exact(c->pid, arch_sp(r), &ret, sizeof ret) < 0) {
		fk_fail(c->err, EFAULT, FK_KIND_FAILED, "step", "reading the return address at 0x%llx",
			(unsigned long long)arch_sp(r));
		return FAIL;
	}
	add_temp(c, ret);
	if (!is_temp(c, ret) && !bp_at(c->p, ret)) {
		fk_fail(c->err, EFAULT, FK_KIND_FAILED, "step", "no breakpoint possible at the return address 0x%llx",
			(unsigned long long)ret);
		return FAIL;
	}
	c->call_sp = arch_sp(r) + 8;
	return run_to(c, RUN_ALL, cond_returned);
}

/* The line loops (or calls a lot): breakpoints on every other statement
 * of the function and on the return address, one continue. */
static enum outcome run_line_with_breakpoints(struct ctx *c)
{
	/* without a breakpoint on the way out the frame could return unseen:
	 * then the line goes on single-stepping (c->ret = 0, c->hit = 0) */
	c->hit = 0;
	add_temp(c, c->ret);
	if (!is_temp(c, c->ret) && !bp_at(c->p, c->ret)) {
		c->ret = 0;
		return GO;
	}
	for (size_t i = 0; i < c->nrows; i++) {
		const struct sym_line_row *w = &c->rows[i];
		if (w->stmt && w->line != 0 && !(w->line == c->line && same_file(w->file, c->file)) &&
		    !in_line(c, w->addr))
			add_temp(c, w->addr);
	}
	return run_to(c, c->saw_call ? RUN_ALL : RUN_ALONE, cond_same_frame);
}

/* After a return into the caller at r: finish the caller's line, unless
 * it has no line information or the return is at a statement's start. */
static enum outcome returned(struct ctx *c, const fk_gregs *r)
{
	uint64_t pc = arch_pc(r);
	if (!set_line(c, pc) || stmt_start(c, pc))
		return DONE;
	frame_of(c, r, &c->cfa, &c->ret);
	c->saw_call = false;
	return GO;
}

static enum outcome line_step(struct ctx *c, fk_gregs *r)
{
	unsigned steps = 0, calls = 0;
	for (;;) {
		if (tr_cancelled(c->tr))
			return end(c, "paused", c->tid, 0, 0);
		uint64_t old_pc = arch_pc(r), old_sp = arch_sp(r);
		enum outcome o = single_step(c, r);
		if (o != GO)
			return o;
		uint64_t pc = arch_pc(r), sp = arch_sp(r);
		/* landed on a breakpoint of the user's: it is hit */
		if (bp_at(c->p, pc))
			return end(c, "breakpoint", c->tid, 0, pc);
		if (in_line(c, pc)) {
			if (++steps > RANGE_STEPS_MAX && c->ret && (c->kind == STEP_NEXT || !c->saw_call)) {
				o = run_line_with_breakpoints(c);
				if (o != GO)
					return o;
				if (!c->hit)
					continue; /* not possible here: single steps it is */
				if ((o = get_regs(c, r)) != GO)
					return o;
				if (c->hit == c->ret && arch_sp(r) >= c->cfa) {
					if ((o = returned(c, r)) != GO)
						return o;
					steps = calls = 0;
					continue;
				}
				return DONE; /* another line of this frame */
			}
			continue;
		}
		uint64_t at = 0;
		bool call = sp == old_sp - 8 && mem_read_exact(c->pid, sp, &at, sizeof at) == 0 && at > old_pc &&
			    at <= old_pc + 16;
		if (call) {
			c->saw_call = true;
			if (c->kind == STEP_IN) {
				uint64_t lo = c->lo, hi = c->hi;
				struct sym_line_row *rows = c->rows;
				size_t nrows = c->nrows;
				c->rows = NULL;
				if (set_line(c, pc)) {
					/* a function with lines: past its opening line (the
					 * prologue), to the first statement of another line,
					 * which may be right here */
					free(rows);
					c->cfa = sp + 8;
					c->ret = at;
					c->saw_call = false;
					steps = calls = 0;
					long i = row_at(c, pc);
					while (i > 0 && c->rows[i - 1].addr == pc)
						i--;
					c->line = c->rows[i].line;
					c->file = c->rows[i].file;
					for (; i < (long)c->nrows && c->rows[i].addr == pc; i++)
						if (c->rows[i].stmt && c->rows[i].line != 0 &&
						    c->rows[i].line != c->line)
							return DONE;
					continue;
				}
				free(c->rows);
				c->rows = rows;
				c->nrows = nrows;
				c->lo = lo;
				c->hi = hi;
			}
			if ((o = step_out_of_call(c, r)) != GO)
				return o;
			if ((o = get_regs(c, r)) != GO)
				return o;
			if (++calls > CALLS_MAX && c->kind == STEP_NEXT)
				steps = RANGE_STEPS_MAX; /* the next step in the line switches */
			if (in_line(c, arch_pc(r)))
				continue;
			pc = arch_pc(r);
			sp = arch_sp(r);
		}
		if (pc < c->lo || pc >= c->hi) {
			if (c->cfa && sp >= c->cfa) {
				/* returned from the frame */
				if ((o = returned(c, r)) != GO)
					return o;
				steps = calls = 0;
				continue;
			}
			/* a jump out of the function (a tail call): on to the caller */
			if (c->kind == STEP_IN && set_line(c, pc))
				return DONE;
			if (!c->ret) {
				if (!set_line(c, pc))
					continue; /* no way back known: step on until lines */
				return DONE;
			}
			add_temp(c, c->ret);
			c->call_sp = c->cfa;
			if ((o = run_to(c, RUN_ALL, cond_returned)) != GO)
				return o;
			if ((o = get_regs(c, r)) != GO || (o = returned(c, r)) != GO)
				return o;
			steps = calls = 0;
			continue;
		}
		/* another line of this function */
		if (stmt_start(c, pc))
			return DONE;
		set_line(c, pc); /* into the middle of a line: finish it */
		steps = 0;
	}
}

int step_line(struct fk_tracer *tr, struct proc *p, pid_t tid, enum step_kind kind, bool alone, struct step_result *out,
	      struct fk_err *err)
{
	memset(out, 0, sizeof *out);
	struct lwp *l = proc_lwp(p, tid);
	if (!l || l->state != LWP_STOPPED)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, "step", "thread %d of %d is not stopped", (int)tid,
			       (int)p->pid);
	if (!sym_of_proc(p))
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "step", "out of memory");
	struct ctx c = { .tr = tr,
			 .p = p,
			 .pid = p->pid,
			 .tid = tid,
			 .kind = kind,
			 .alone = alone,
			 .s = p->syms,
			 .held_sig = l->pending_sig,
			 .out = out,
			 .err = err };
	c.temps = malloc(MAX_TEMPS * sizeof *c.temps);
	if (!c.temps)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "step", "out of memory");
	fk_gregs r;
	/* its own pending hit is reported before it moves */
	enum outcome o = pending_hit(&c, l);
	if (o == GO)
		o = get_regs(&c, &r);
	if (o == GO && kind == STEP_OUT) {
		frame_of(&c, &r, &c.cfa, &c.ret);
		if (c.ret)
			add_temp(&c, c.ret);
		if (!c.ret) {
			fk_fail(err, ENOENT, FK_KIND_BADREQ, "step", "step out: the caller of this frame is not known");
			o = FAIL;
		} else if (!is_temp(&c, c.ret) && !bp_at(p, c.ret)) {
			fk_fail(err, EFAULT, FK_KIND_FAILED, "step",
				"step out: no breakpoint possible at the return address 0x%llx",
				(unsigned long long)c.ret);
			o = FAIL;
		} else {
			o = run_to(&c, RUN_ALL, cond_out);
			if (o == GO)
				o = DONE;
		}
	} else if (o == GO) {
		if (!set_line(&c, arch_pc(&r))) {
			out->reason = "noLine";
			o = END;
		} else {
			frame_of(&c, &r, &c.cfa, &c.ret);
			o = line_step(&c, &r);
		}
	}
	remove_temps(&c); /* none left unless a failure came between insert and run */
	free(c.temps);
	free(c.rows);
	if (c.out->continues)
		p->syms_stale = true; /* it ran: modules may have changed */
	if ((l = proc_lwp(p, tid)) != NULL && c.held_sig && l->state == LWP_STOPPED && !l->pending_sig)
		l->pending_sig = c.held_sig;
	if (o == FAIL)
		return -1;
	if (o == DONE) {
		out->reason = "step";
		out->stop_tid = tid;
	}
	if (!out->stop_tid)
		out->stop_tid = tid;
	return 0;
}
