/* ops_threads.c — "threads" and "regs": look at a process without
 * changing it. The pause covers only what needs the LWPs stopped (seize,
 * interrupt, GETREGS, detach); names, maps, pthread_t and stacks are read
 * after the process runs again. */
#include "ptrace/attach.h"
#include "base/log.h"
#include "ops/ops.h"
#include "base/procfs.h"
#include "debuginfo/stack.h"
#include "debuginfo/threaddb.h"
#include "base/mem.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#define STOP_TIMEOUT_MS 10000

struct snap {
	pid_t tid;
	bool regs_ok;
	bool tcb_ok; /* struct pthread at the thread pointer holds this tid */
	fk_gregs regs;
	char name[17]; /* read in the pause for LWPs born after the pre-read */
};

static int cmp_snap(const void *a, const void *b)
{
	const struct snap *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_pre(const void *a, const void *b)
{
	const struct pre_state *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* pre is sorted by tid */
static const struct pre_state *pre_of(const struct pre_state *pre, size_t npre, pid_t tid)
{
	struct pre_state key = { .tid = tid };
	return npre ? bsearch(&key, pre, npre, sizeof *pre, cmp_pre) : NULL;
}

/* Capture tid + registers of every LWP of a stopped process and check,
 * while they are stopped, which thread pointers are glibc's struct pthread
 * of that very LWP (one batched read): a thread that exits right after the
 * pause still gets its pthread_t. */
static struct snap *capture(struct proc *p, pid_t mpid, long tid_off, const struct pre_state *pre, size_t npre,
			    size_t *n)
{
	struct snap *s = calloc(p->n + 1, sizeof *s);
	uint64_t *addrs = calloc(p->n + 1, sizeof *addrs);
	uint32_t *vals = calloc(p->n + 1, sizeof *vals);
	bool *ok = calloc(p->n + 1, sizeof *ok);
	if (!s || !addrs || !vals || !ok) {
		free(s), free(addrs), free(vals), free(ok);
		return NULL;
	}
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct lwp *l = &p->lwps[i];
		s[i].tid = l->tid;
		if (!pre_of(pre, npre, l->tid))
			proc_task_comm(p->pid, l->tid, s[i].name, sizeof s[i].name);
		if (l->state == LWP_STOPPED && arch_get_gregs(l->tid, &l->regs) == 0) {
			l->regs_valid = true;
			s[i].regs = l->regs;
			s[i].regs_ok = true;
			if (tid_off >= 0 && arch_tp(&l->regs))
				addrs[k++] = arch_tp(&l->regs) + (uint64_t)tid_off;
		}
	}
	if (k)
		mem_read_u32_many(mpid, addrs, vals, ok, k);
	for (size_t i = 0, j = 0; i < p->n; i++) {
		if (!s[i].regs_ok || tid_off < 0 || !arch_tp(&s[i].regs))
			continue;
		s[i].tcb_ok = ok[j] && (pid_t)vals[j] == s[i].tid;
		j++;
	}
	free(addrs), free(vals), free(ok);
	*n = p->n;
	return s;
}

int op_threads(struct fk_tracer *tr, const struct rq_threads *rq, struct jw *body, struct fk_err *err)
{
	pid_t pid = rq->pid;
	if (attach_check_pid(pid, err) < 0)
		return -1;

	/* --- before the pause: what each thread is doing, names, layout --- */
	struct pre_state *pre = NULL;
	size_t npre = 0;
	int rc = attach_read_pre_states(pid, &pre, &npre);
	if (rc < 0)
		return fk_fail(err, -rc, rc == -ENOENT ? FK_KIND_NOPROC : FK_KIND_FAILED, "lookup",
			       "reading /proc/%d/task", (int)pid);
	qsort(pre, npre, sizeof *pre, cmp_pre);
	/* a zombie main thread has no memory: read through a live thread */
	pid_t mpid = proc_live_tid(pid);
	struct vma_list maps = { 0 };
	rc = proc_maps_read(mpid, &maps);
	if (rc < 0) {
		free(pre);
		/* the kernel guards maps with the same check as ptrace */
		if (rc == -EACCES || rc == -EPERM)
			return attach_explain(pid, pid, EPERM, err);
		return fk_fail(err, -rc, FK_KIND_NOPROC, "maps", "reading /proc/%d/maps", (int)pid);
	}
	struct elfsyms *syms = elfsyms_new(mpid, &maps);
	struct tdb *tdb = syms ? tdb_open(mpid, syms) : NULL;
	long tid_off = tdb ? tdb_pthread_tid_offset(tdb) : -1;

	/* --- the pause: stop, read registers, let go --- */
	struct snap *snaps = NULL;
	size_t n = 0;
	bool zombie_leader = false;
	uint64_t t0, t1;
	struct proc *p = tr_find_proc(tr, pid);
	bool attached_before = p != NULL;
	if (p) {
		/* A session holds it: capture in place, leave it as it was. */
		bool was_running = p->want_running;
		t0 = tr_now_us();
		if (was_running && attach_stop_all(tr, p, STOP_TIMEOUT_MS, err) < 0)
			goto fail;
		snaps = capture(p, mpid, tid_off, pre, npre, &n);
		zombie_leader = p->zombie_leader;
		if (was_running)
			attach_resume_all(tr, p);
		t1 = tr_now_us();
	} else {
		p = tr_add_proc(tr, pid);
		if (!p) {
			fk_fail(err, ENOMEM, FK_KIND_FAILED, "attach", "out of memory");
			goto fail;
		}
		pid_t *known = malloc((npre ? npre : 1) * sizeof *known);
		for (size_t i = 0; known && i < npre; i++)
			known[i] = pre[i].tid;
		t0 = tr_now_us();
		int src = attach_seize_all(tr, p, true, known, known ? npre : 0, err);
		free(known);
		if (src < 0) {
			if ((p = tr_find_proc(tr, pid)) != NULL)
				attach_release(tr, p);
			goto fail;
		}
		uint64_t ts = tr_now_us();
		if (attach_stop_all(tr, p, STOP_TIMEOUT_MS, err) < 0) {
			if ((p = tr_find_proc(tr, pid)) != NULL)
				attach_release(tr, p);
			goto fail;
		}
		uint64_t tw = tr_now_us();
		snaps = capture(p, mpid, tid_off, pre, npre, &n);
		uint64_t tc = tr_now_us();
		zombie_leader = p->zombie_leader;
		attach_release(tr, p);
		t1 = tr_now_us();
		fk_debug("threads %d: seize %llu us, stop %llu us, capture %llu us, release %llu us", (int)pid,
			 (unsigned long long)(ts - t0), (unsigned long long)(tw - ts), (unsigned long long)(tc - tw),
			 (unsigned long long)(t1 - tc));
	}
	if (!snaps) {
		fk_fail(err, ENOMEM, FK_KIND_FAILED, "capture", "out of memory");
		goto fail;
	}

	/* --- the process runs again; describe what we captured --- */
	qsort(snaps, n, sizeof *snaps, cmp_snap);
	if (tdb && tdb_unavailable(tdb))
		fk_debug("pthread_t via fs_base: %s", tdb_unavailable(tdb));
	struct proc_task_stat lst = { 0 };
	proc_task_stat(pid, pid, &lst);

	jw_kint(body, "pid", pid);
	jw_kint(body, "pauseUs", (int64_t)(t1 - t0));
	jw_kbool(body, "attachedBefore", attached_before);
	/* a main thread that has exited is a zombie without registers: not a row */
	jw_kbool(body, "zombieLeader", zombie_leader);
	jw_key(body, "threads");
	jw_arr_begin(body);
	/* main thread first, then by tid */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			struct snap *s = &snaps[i];
			bool is_main = s->tid == pid;
			if ((pass == 0) != is_main)
				continue;
			/* exiting during the capture (or gone): no registers, no
			 * longer a thread one can look at */
			if (!s->regs_ok)
				continue;
			const struct pre_state *ps = pre_of(pre, npre, s->tid);
			char name[64] = "";
			if (ps)
				snprintf(name, sizeof name, "%s", ps->name);
			else
				snprintf(name, sizeof name, "%s", s->name); /* born during the pause */
			uint64_t pthread = 0;
			const char *psrc = NULL;
			if (s->regs_ok && tdb && tdb_map(tdb, s->tid, arch_tp(&s->regs), &pthread, &psrc) < 0 &&
			    s->tcb_ok) {
				/* exited since: the pause-time check stands */
				pthread = arch_tp(&s->regs);
				psrc = "fs_base";
			}
			jw_obj_begin(body);
			jw_kint(body, "tid", s->tid);
			jw_key(body, "pthread");
			if (psrc)
				jw_hex(body, pthread);
			else
				jw_null(body);
			jw_kstr(body, "pthreadSource", psrc);
			jw_kstr(body, "name", name);
			char st[2] = { zombie_leader && is_main ? 'Z' : ps && ps->state ? ps->state : 0, 0 };
			if (!st[0]) {
				/* born during the pause: its state now, or X if it
				 * has exited since */
				struct proc_task_stat now;
				st[0] = proc_task_stat(pid, s->tid, &now) == 0 ? now.state : 'X';
			}
			jw_kstr(body, "state", st);
			jw_key(body, "syscall");
			long sc = s->regs_ok ? arch_syscall_nr(&s->regs) : -1;
			if (sc >= 0)
				jw_int(body, sc);
			else
				jw_null(body);
			const char *rk[] = { "pc", "sp", "fsBase" };
			uint64_t rv[] = { arch_pc(&s->regs), arch_sp(&s->regs), arch_tp(&s->regs) };
			for (int r = 0; r < 3; r++) {
				jw_key(body, rk[r]);
				if (s->regs_ok)
					jw_hex(body, rv[r]);
				else
					jw_null(body);
			}
			struct stack_range sr;
			jw_key(body, "stack");
			if ((s->regs_ok || is_main) && stack_find(&maps, is_main, lst.startstack, pthread,
								  s->regs_ok ? arch_sp(&s->regs) : 0, &sr)) {
				jw_obj_begin(body);
				jw_khex(body, "low", sr.low);
				jw_khex(body, "high", sr.high);
				jw_kint(body, "guard", (int64_t)sr.guard);
				jw_kstr(body, "source", sr.source);
				jw_obj_end(body);
				if (s->regs_ok && !sr.sp_in_stack)
					jw_kbool(body, "spInStack", false);
			} else {
				jw_null(body);
			}
			jw_obj_end(body);
		}
	}
	jw_arr_end(body);
	rc = 0;
	goto out;
fail:
	rc = -1;
out:
	tdb_close(tdb);
	elfsyms_free(syms);
	proc_maps_free(&maps);
	free(snaps);
	free(pre);
	return rc;
}

/* Stop just one LWP (transient), or use the session's stopped one. */
int op_regs(struct fk_tracer *tr, const struct rq_regs *rq, struct jw *body, struct fk_err *err)
{
	pid_t pid = rq->pid, tid = rq->tid;
	if (attach_check_pid(pid, err) < 0)
		return -1;
	if (tid <= 0)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "arguments", "invalid thread id %d", (int)tid);
	const struct proc *fp = tr_find_proc(tr, pid);
	const struct ghost *g = fp ? proc_ghost(fp, tid) : NULL;
	if (g && (!g->xstate || g->xlen < 512))
		return fk_fail(err, ENODATA, FK_KIND_FAILED, "regs",
			       "the floating-point state of thread %d (lost in the fork of %d) was not captured",
			       (int)tid, (int)pid);
	if (g) {
		/* a thread the process lost in its fork: as it was then */
		jw_kint(body, "pid", pid);
		jw_kint(body, "tid", tid);
		jw_key(body, "gpr");
		jw_obj_begin(body);
		arch_gregs_json(body, &g->regs);
		jw_obj_end(body);
		arch_xstate_json(body, g->xstate, g->xstate ? g->xlen : 0);
		jw_key(body, "sigmask");
		if (g->have_mask)
			jw_hex(body, g->sigmask);
		else
			jw_null(body);
		return 0;
	}
	if (!proc_task_exists(pid, tid))
		return fk_fail(err, ESRCH, FK_KIND_NOPROC, "lookup", "thread %d is not a thread of process %d",
			       (int)tid, (int)pid);

	struct proc *p = tr_find_proc(tr, pid);
	bool transient = p == NULL;
	struct lwp *l = NULL;
	if (!transient) {
		l = proc_lwp(p, tid);
		if (!l || l->state != LWP_STOPPED)
			return fk_fail(err, EBUSY, FK_KIND_BADREQ, "regs",
				       "thread %d of process %d is running; pause the process first", (int)tid,
				       (int)pid);
	} else {
		p = tr_add_proc(tr, pid);
		if (!p)
			return fk_fail(err, ENOMEM, FK_KIND_FAILED, "regs", "out of memory");
		if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACEEXIT) < 0) {
			int e = errno;
			tr_remove_proc(tr, p);
			return attach_explain(pid, tid, e, err);
		}
		l = proc_add_lwp(p, tid);
		if (!l || ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
			int e = l ? errno : ENOMEM;
			attach_release(tr, p);
			return fk_fail(err, e, FK_KIND_FAILED, "interrupt", "PTRACE_INTERRUPT of thread %d", (int)tid);
		}
		l->interrupt_pending = true;
		if (attach_stop_all(tr, p, STOP_TIMEOUT_MS, err) < 0) {
			if ((p = tr_find_proc(tr, pid)) != NULL)
				attach_release(tr, p);
			return -1;
		}
		l = proc_lwp(p, tid);
		if (!l) {
			attach_release(tr, p);
			return fk_fail(err, ESRCH, FK_KIND_EXITED, "regs", "thread %d exited during the operation",
				       (int)tid);
		}
	}

	int rc = 0;
	fk_gregs regs;
	size_t xcap = arch_xstate_bufsize(), xlen = 0;
	uint8_t *xbuf = calloc(1, xcap);
	uint64_t sigmask = 0;
	bool have_mask = false;
	if (!xbuf) {
		rc = fk_fail(err, ENOMEM, FK_KIND_FAILED, "regs", "out of memory");
	} else if ((rc = arch_get_gregs(tid, &regs)) < 0) {
		rc = fk_fail(err, -rc, FK_KIND_FAILED, "getregs", "PTRACE_GETREGS of thread %d", (int)tid);
	} else if ((rc = arch_get_xstate(tid, xbuf, xcap, &xlen)) < 0) {
		rc = fk_fail(err, -rc, FK_KIND_FAILED, "getregset", "PTRACE_GETREGSET NT_X86_XSTATE of thread %d",
			     (int)tid);
	} else {
		have_mask = ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof sigmask, &sigmask) == 0;
	}
	if (transient)
		attach_release(tr, p);
	if (rc < 0) {
		free(xbuf);
		return -1;
	}
	jw_kint(body, "pid", pid);
	jw_kint(body, "tid", tid);
	jw_key(body, "gpr");
	jw_obj_begin(body);
	arch_gregs_json(body, &regs);
	jw_obj_end(body);
	arch_xstate_json(body, xbuf, xlen);
	jw_key(body, "sigmask");
	if (have_mask)
		jw_hex(body, sigmask);
	else
		jw_null(body);
	free(xbuf);
	return 0;
}
