/* ops_symbols.c — call stacks, symbol lookups and frame variables
 * ("stack", "symbols", "locals"), on top of symbols.c and
 * locals.c. One symbol session per traced
 * process, refreshed after the process ran (it may have loaded modules). */
#include "base/procfs.h"
#include "debuginfo/stack.h"
#include "debuginfo/locks.h"
#include "base/mem.h"

#include <stdio.h>
#include "engine/recreate.h"
#include "ops/ops.h"
#include "ptrace/attach.h"
#include "debuginfo/locals.h"
#include "debuginfo/symbols.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 256
#define MAX_ADDRS 64

#define syms_of sym_of_proc

static void info_json(struct jw *w, const struct sym_info *si, bool ok)
{
	jw_key(w, "function");
	if (ok && si->has_function)
		jw_str(w, si->function);
	else
		jw_null(w);
	jw_kint(w, "offset", ok && si->has_function ? (int64_t)si->offset : 0);
	jw_key(w, "module");
	if (ok && si->module[0])
		jw_str(w, si->module);
	else
		jw_null(w);
	jw_key(w, "file");
	if (ok && si->has_line)
		jw_str(w, si->file);
	else
		jw_null(w);
	jw_key(w, "line");
	if (ok && si->has_line)
		jw_int(w, si->line);
	else
		jw_null(w);
	jw_key(w, "column");
	if (ok && si->has_line && si->column > 0)
		jw_int(w, si->column);
	else
		jw_null(w);
}

static void frame_json(struct jw *body, struct fk_symbols *s, const struct sym_frame *f)
{
	struct sym_info si;
	bool ok = sym_describe(s, f->pc, !f->activation, &si) == 0;
	jw_obj_begin(body);
	jw_khex(body, "pc", f->pc);
	jw_khex(body, "sp", f->sp);
	info_json(body, &si, ok);
	jw_obj_end(body);
}

/* tid 0: the top maxFrames frames (default 1) of every stopped LWP, in one request
 * (a debugger's thread list with each thread's function). */
static int stack_all(struct proc *p, const struct rq_stack *rq, struct jw *body, struct fk_err *err)
{
	struct fk_symbols *s = syms_of(p);
	if (!s)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "stack", "out of memory");
	int max = rq->max_frames > 0 && rq->max_frames < MAX_FRAMES ? (int)rq->max_frames : 1;
	struct sym_frame frames[MAX_FRAMES];
	jw_kint(body, "pid", rq->pid);
	jw_kint(body, "tid", 0);
	jw_kstr(body, "unwinder", sym_unwinder(s));
	jw_kstr(body, "note", sym_note(s));
	jw_key(body, "frames");
	jw_arr_begin(body);
	jw_arr_end(body);
	jw_key(body, "threads");
	jw_arr_begin(body);
	for (size_t i = 0; i < p->n; i++) {
		struct lwp *l = &p->lwps[i];
		fk_gregs r;
		if (l->state != LWP_STOPPED || arch_get_gregs(l->tid, &r) < 0)
			continue;
		struct fk_err e2;
		fk_err_clear(&e2);
		int n = max == 1 ? 1 : sym_unwind(s, l->tid, &r, frames, max, &e2);
		if (max == 1) {
			frames[0].pc = arch_pc(&r);
			frames[0].sp = arch_sp(&r);
			frames[0].activation = true;
		}
		jw_obj_begin(body);
		jw_kint(body, "tid", l->tid);
		jw_key(body, "frames");
		jw_arr_begin(body);
		for (int k = 0; k < n; k++)
			frame_json(body, s, &frames[k]);
		jw_arr_end(body);
		jw_obj_end(body);
	}
	jw_arr_end(body);
	return 0;
}

/* The registers to unwind a thread of p from: a stopped LWP's, or those
 * of a thread p lost in its fork (its stack is in p's memory). */
static int thread_regs(struct proc *p, pid_t tid, const char *what, fk_gregs *r, struct fk_err *err)
{
	const struct ghost *g = proc_ghost(p, tid);
	if (g) {
		*r = g->regs;
		return 0;
	}
	struct lwp *l = proc_lwp(p, tid);
	if (!l || l->state != LWP_STOPPED)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, what, "thread %d of process %d is not stopped", (int)tid,
			       (int)p->pid);
	int rc = arch_get_gregs(tid, r);
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_FAILED, what, "PTRACE_GETREGS of thread %d", (int)tid);
	return 0;
}

int op_stack(struct fk_tracer *tr, const struct rq_stack *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "stack", "process %d is not attached", (int)rq->pid);
	if (rq->tid == 0) {
		if (p->want_running)
			return fk_fail(err, EBUSY, FK_KIND_BADREQ, "stack", "process %d is running; pause it first",
				       (int)rq->pid);
		return stack_all(p, rq, body, err);
	}
	fk_gregs r;
	if (thread_regs(p, rq->tid, "stack", &r, err) < 0)
		return -1;
	struct fk_symbols *s = syms_of(p);
	if (!s)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "stack", "out of memory");
	int max = rq->max_frames > 0 && rq->max_frames < MAX_FRAMES ? (int)rq->max_frames : MAX_FRAMES;
	struct sym_frame frames[MAX_FRAMES];
	int n = sym_unwind(s, rq->tid, &r, frames, max, err);
	if (n < 0)
		return -1;
	jw_kint(body, "pid", rq->pid);
	jw_kint(body, "tid", rq->tid);
	jw_kstr(body, "unwinder", sym_unwinder(s));
	jw_kstr(body, "note", sym_note(s));
	jw_key(body, "frames");
	jw_arr_begin(body);
	for (int i = 0; i < n; i++)
		frame_json(body, s, &frames[i]);
	jw_arr_end(body);
	return 0;
}

int op_symbols(struct fk_tracer *tr, const struct rq_symbols *rq, struct jw *body, struct fk_err *err)
{
	int queries = (rq->has_function ? 1 : 0) + (rq->has_file || rq->has_line ? 1 : 0) + (rq->has_addr ? 1 : 0);
	if (queries != 1)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "symbols",
			       "symbols: give exactly one of \"function\", \"file\"+\"line\", \"addr\"");
	if (rq->has_file != rq->has_line)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "symbols", "symbols: \"file\" and \"line\" go together");
	struct proc *p = tr_find_proc(tr, rq->pid);
	struct fk_symbols *own = NULL, *s;
	if (p && p->session) {
		s = syms_of(p);
	} else {
		if (attach_check_pid(rq->pid, err) < 0)
			return -1;
		s = own = sym_open(rq->pid);
	}
	if (!s)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "symbols", "out of memory");
	if (rq->has_function) {
		uint64_t a[MAX_ADDRS];
		int n = sym_lookup_function(s, rq->function, a, MAX_ADDRS);
		jw_key(body, "addresses");
		jw_arr_begin(body);
		for (int i = 0; i < n; i++)
			jw_hex(body, a[i]);
		jw_arr_end(body);
	} else if (rq->has_file) {
		int actual = 0;
		uint64_t a[MAX_ADDRS];
		int n = sym_lookup_line(s, rq->file, rq->line, a, MAX_ADDRS, &actual);
		jw_key(body, "addresses");
		jw_arr_begin(body);
		for (int i = 0; i < n; i++)
			jw_hex(body, a[i]);
		jw_arr_end(body);
		jw_key(body, "line");
		if (n > 0)
			jw_int(body, actual);
		else
			jw_null(body);
	} else {
		struct sym_info si;
		bool ok = sym_describe(s, rq->addr, false, &si) == 0;
		info_json(body, &si, ok);
	}
	jw_kstr(body, "unwinder", sym_unwinder(s));
	sym_close(own);
	return 0;
}

typedef int (*frame_writer)(struct fk_symbols *s, pid_t pid, const struct sym_frame *frames, int n, int index,
			    const struct sym_regs *regs, struct jw *w, struct fk_err *err);

/* Unwind thread tid of pid to frame `frame` and let `write` describe that frame's variables. */
static int frame_op(struct fk_tracer *tr, const char *what, int32_t pid, int32_t tid, int32_t frame, frame_writer write,
		    struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, what, "process %d is not attached", (int)pid);
	if (frame < 0 || frame >= MAX_FRAMES - 1)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, what, "frame %d is out of range", (int)frame);
	fk_gregs r;
	if (thread_regs(p, tid, what, &r, err) < 0)
		return -1;
	struct fk_symbols *s = syms_of(p);
	if (!s)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, what, "out of memory");
	int want = (int)frame;
	struct sym_frame frames[MAX_FRAMES];
	struct sym_regs regs;
	/* one frame past the wanted one: its sp is the wanted frame's CFA */
	int n = sym_unwind_regs(s, tid, &r, frames, want + 2, want, &regs, err);
	if (n < 0)
		return -1;
	if (want >= n)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, what, "thread %d has %d frames, no frame %d", (int)tid, n,
			       want);
	jw_kint(body, "pid", pid);
	jw_kint(body, "tid", tid);
	jw_kint(body, "frame", want);
	jw_khex(body, "pc", frames[want].pc);
	return write(s, p->pid, frames, n, want, &regs, body, err);
}

int op_locals(struct fk_tracer *tr, const struct rq_locals *rq, struct jw *body, struct fk_err *err)
{
	return frame_op(tr, "locals", rq->pid, rq->tid, rq->frame, locals_json, body, err);
}

int op_frame_vars(struct fk_tracer *tr, const struct rq_frame_vars *rq, struct jw *body, struct fk_err *err)
{
	return frame_op(tr, "frameVars", rq->pid, rq->tid, rq->frame, frame_vars_json, body, err);
}

/* The locks DWARF can see whose owner field names a thread the process
 * lost in its fork: nobody here will ever unlock them. */
static void held_locks(struct proc *p, struct jw *body)
{
	struct lock_site *v = NULL;
	size_t n = 0;
	uint64_t *seen = NULL; /* futex words reported */
	size_t nseen = 0;
	jw_key(body, "heldLocks");
	jw_arr_begin(body);
	if (p->nghosts && locks_find(syms_of(p), p->pid, &v, &n) == 0 && n) {
		uint64_t *addrs = calloc(n, sizeof *addrs);
		uint32_t *owner = calloc(n, sizeof *owner);
		bool *ok = calloc(n, sizeof *ok);
		seen = calloc(n, sizeof *seen);
		for (size_t i = 0; addrs && owner && ok && i < n; i++)
			addrs[i] = v[i].owner_addr;
		if (addrs && owner && ok)
			mem_read_u32_many(p->pid, addrs, owner, ok, n);
		for (size_t i = 0; addrs && owner && ok && seen && i < n; i++) {
			const struct ghost *g = ok[i] && owner[i] ? proc_ghost(p, (pid_t)owner[i]) : NULL;
			if (!g)
				continue;
			seen[nseen++] = v[i].futex_addr;
			jw_obj_begin(body);
			jw_khex(body, "address", v[i].addr);
			jw_khex(body, "futex", v[i].futex_addr);
			jw_kstr(body, "symbol", v[i].name);
			jw_kstr(body, "type", lock_kind_name(v[i].kind));
			jw_kint(body, "ownerTid", g->tid);
			jw_kstr(body, "ownerName", g->name);
			jw_obj_end(body);
		}
		free(addrs), free(owner), free(ok);
	}
	/* robust mutexes DWARF does not show: on each dead thread's robust
	 * list, with its tid in their futex word */
	for (size_t i = 0; i < p->nghosts; i++) {
		const struct ghost *g = &p->ghosts[i];
		uint64_t fut[64];
		size_t k = locks_robust_held(p->pid, g->robust_head, g->tid, fut, 64);
		for (size_t j = 0; j < k; j++) {
			bool dup = false;
			for (size_t s2 = 0; s2 < nseen && !dup; s2++)
				dup = seen[s2] == fut[j];
			if (dup)
				continue;
			char name[64];
			snprintf(name, sizeof name, "*(pthread_mutex_t *)0x%llx", (unsigned long long)fut[j]);
			jw_obj_begin(body);
			jw_khex(body, "address", fut[j]);
			jw_khex(body, "futex", fut[j]);
			jw_kstr(body, "symbol", name);
			jw_kstr(body, "type", "pthread_mutex_t");
			jw_kint(body, "ownerTid", g->tid);
			jw_kstr(body, "ownerName", g->name);
			jw_obj_end(body);
		}
	}
	jw_arr_end(body);
	free(seen);
	free(v);
}

int op_fork_info(struct fk_tracer *tr, const struct rq_fork_info *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "forkInfo", "process %d is not attached", (int)rq->pid);
	if (!p->fork_parent)
		return fk_fail(err, ENOENT, FK_KIND_BADREQ, "forkInfo",
			       "process %d was not forked by a process followed here (followForks)", (int)rq->pid);
	struct vma_list maps = { 0 };
	bool have_maps = proc_maps_read(p->pid, &maps) == 0;
	struct proc_task_stat pst = { 0 };
	bool have_stat = proc_task_stat(p->pid, p->pid, &pst) == 0;
	jw_kint(body, "pid", p->pid);
	jw_kint(body, "parent", p->fork_parent);
	jw_kstr(body, "kind", p->fork_clone ? "clone" : "fork");
	jw_kint(body, "forkingTid", p->fork_tid);
	jw_key(body, "deadThreads");
	jw_arr_begin(body);
	for (size_t i = 0; i < p->nghosts; i++) {
		const struct ghost *g = &p->ghosts[i];
		jw_obj_begin(body);
		jw_kint(body, "tid", g->tid);
		jw_kstr(body, "name", g->name);
		jw_khex(body, "pc", arch_pc(&g->regs));
		jw_khex(body, "sp", arch_sp(&g->regs));
		jw_khex(body, "fsBase", arch_tp(&g->regs));
		struct stack_range sr;
		bool is_main = g->tid == p->fork_parent;
		jw_key(body, "stack");
		if (have_maps && stack_find(&maps, is_main, have_stat ? pst.startstack : 0,
					    is_main ? 0 : arch_tp(&g->regs), arch_sp(&g->regs), &sr)) {
			jw_obj_begin(body);
			jw_khex(body, "low", sr.low);
			jw_khex(body, "high", sr.high);
			jw_kint(body, "guard", (int64_t)sr.guard);
			jw_kstr(body, "source", sr.source);
			jw_obj_end(body);
		} else {
			jw_null(body);
		}
		jw_obj_end(body);
	}
	jw_arr_end(body);
	if (have_maps)
		proc_maps_free(&maps);
	held_locks(p, body);
	jw_kbool(body, "inFork", p->nghosts && recreate_in_fork(p));
	jw_key(body, "recreated");
	recreate_records_json(body, p->recreated, p->nrecreated);
	return 0;
}

int op_global(struct fk_tracer *tr, const struct rq_global *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "global", "process %d is not attached", (int)rq->pid);
	struct fk_symbols *s = syms_of(p);
	if (!s)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "global", "out of memory");
	jw_kint(body, "pid", rq->pid);
	return globals_json(s, p->pid, rq->name, rq->has_pc, rq->pc, body, err);
}
