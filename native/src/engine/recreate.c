/* recreate.c — bring a fork child's lost threads back (see recreate.h).
 *
 *   check    the child is a stopped session with ghosts; its leader lives;
 *            every lost thread's stack is still mapped and its struct
 *            pthread was not reused by a thread the child made since
 *   build    the engine's builder (fa_build_threads: the child stub clones
 *            them on their stacks with their TLS; robust list, rseq, name
 *            in each; registers, xstate, mask, affinity, scheduling,
 *            credentials loaded; robust owners rewritten), with the
 *            child's leader as the "forking" thread whose own state is put
 *            back exactly as it was
 *   glibc    glibc's fork() gave the lost threads up in the child
 *            (reclaim_stacks): tid 0, TSD cleared, their descriptors moved
 *            to the stack cache (or, for user stacks, dropped), and
 *            __nptl_nthreads = 1. Each descriptor gets the bytes it had in
 *            the parent back (but its new tid and list links), goes back
 *            on dl_stack_used (dl_stack_user), and the count grows
 *   locks    mutexes/rwlocks DWARF shows whose owner (or futex word) names
 *            a lost thread name its new tid
 *
 * Every memory write of the last two steps is logged with the old bytes,
 * so a failure undoes it; the threads already made are ended (SYS_exit,
 * their robust owners and descriptors put back first).
 */
#include "engine/recreate.h"

#include "arch/arch.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/procfs.h"
#include "debuginfo/elfsym.h"
#include "debuginfo/locks.h"
#include "debuginfo/symbols.h"
#include "debuginfo/threaddb.h"
#include "engine/forkall_int.h"
#include "engine/ownerfix.h"
#include "ptrace/rsys.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>

/* ---- the run ---- */

/* What glibc's fork() did to one lost thread's struct pthread in the child. */
enum pd_state {
	PD_NONE,    /* not a glibc thread (or no glibc layout): nothing to fix */
	PD_LISTED,  /* still on dl_stack_used/dl_stack_user: the child never ran glibc's fork code */
	PD_GIVENUP, /* reclaim_stacks gave it up: to the stack cache (tid 0, TSD cleared), or off the user list */
};

struct rc_ctx {
	struct forkall fa;
	struct proc *c;
	struct glibc_threads gt;
	enum pd_state *pd; /* per ts entry */
	uint64_t *listed;  /* nodes on dl_stack_used and dl_stack_user now (sorted) */
	size_t nlisted;
	uint32_t *old_tid; /* pd->tid before the build (what an undo puts back) */
	fk_gregs lregs;	   /* the leader's state before anything ran */
	uint64_t lmask;
	struct undo undo;
	size_t locks_fixed, relinked;
	bool built;
};

static bool mapped(const struct vma_list *m, uint64_t addr)
{
	return vma_find(m, addr) != NULL;
}

static int check(struct rc_ctx *x)
{
	struct forkall *fa = &x->fa;
	struct proc *c = x->c;
	struct fk_err *err = fa->err;
	if (c->vfork_parent)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "recreate",
			       "process %d was made by vfork(): it shares its parent's memory, whose threads are alive",
			       (int)c->pid);
	if (!c->nghosts)
		return fk_fail(err, ENOENT, FK_KIND_BADREQ, "recreate",
			       c->fork_parent ? "process %d has no lost threads to recreate"
					      : "process %d was not forked by a process followed here (followForks)",
			       (int)c->pid);
	if (proc_count_running(c) > 0)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, "recreate", "process %d is running: pause it first",
			       (int)c->pid);
	struct lwp *l = proc_lwp(c, c->pid);
	if (c->zombie_leader || !l || l->state != LWP_STOPPED || l->exiting)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "recreate",
			       "the main thread of process %d has exited: there is no thread to build the others from",
			       (int)c->pid);
	if (l->vfork_child)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, "recreate",
			       "the main thread of process %d waits for its vfork child %d", (int)c->pid,
			       (int)l->vfork_child);
	return 0;
}

bool recreate_in_fork(struct proc *c)
{
	struct lwp *l = proc_lwp(c, c->pid);
	fk_gregs r;
	if (!l || l->state != LWP_STOPPED || arch_get_gregs(c->pid, &r) < 0)
		return false;
	if (!sym_of_proc(c))
		return false;
	struct sym_frame f[8];
	struct fk_err e;
	fk_err_clear(&e);
	int n = sym_unwind(c->syms, c->pid, &r, f, 8, &e);
	for (int i = 0; i < n; i++) {
		struct sym_info si;
		if (sym_describe(c->syms, f[i].pc, !f[i].activation, &si) < 0 || !si.has_function)
			continue;
		const char *base = strrchr(si.module, '/');
		base = base ? base + 1 : si.module;
		if (strncmp(base, "libc.so", 7) == 0 && strstr(si.function, "fork"))
			return true;
	}
	return false;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The nodes of glibc's two lists of live threads, walked once. */
static void read_glibc_lists(struct rc_ctx *x)
{
	uint64_t heads[2] = { x->gt.stack_used, x->gt.stack_user };
	size_t cap = 0;
	for (int h = 0; h < 2; h++) {
		if (!heads[h])
			continue;
		uint64_t node = heads[h];
		for (int n = 0; n < 100000; n++) {
			if (mem_read_exact(x->c->pid, node, &node, sizeof node) < 0 || !node || node == heads[h])
				break;
			if (x->nlisted == cap) {
				cap = cap ? cap * 2 : 64;
				uint64_t *nv = realloc(x->listed, cap * sizeof *nv);
				if (!nv)
					return;
				x->listed = nv;
			}
			x->listed[x->nlisted++] = node;
		}
	}
	if (x->nlisted)
		qsort(x->listed, x->nlisted, sizeof *x->listed, cmp_u64);
}

static bool on_glibc_list(const struct rc_ctx *x, uint64_t tp)
{
	if (x->gt.list_off < 0)
		return true; /* unknown layout: assume nothing to fix */
	uint64_t node = tp + (uint64_t)x->gt.list_off;
	return x->nlisted && bsearch(&node, x->listed, x->nlisted, sizeof node, cmp_u64) != NULL;
}

/* The ts table: [0] the child's leader as it is now, then every ghost. */
static int load_states(struct rc_ctx *x)
{
	struct forkall *fa = &x->fa;
	struct proc *c = x->c;
	struct fk_err *err = fa->err;
	size_t n = 1 + c->nghosts;
	fa->ts = calloc(n, sizeof *fa->ts);
	x->pd = calloc(n, sizeof *x->pd);
	x->old_tid = calloc(n, sizeof *x->old_tid);
	if (!fa->ts || !x->pd || !x->old_tid)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "recreate", "out of memory");
	fa->nts = n;
	fa->forker = 0;

	struct tstate *L = &fa->ts[0];
	L->tid = L->child_tid = c->pid;
	int e;
	if ((e = arch_get_gregs(c->pid, &L->regs)) < 0)
		return fk_fail(err, -e, FK_KIND_FAILED, "recreate", "PTRACE_GETREGS of thread %d", (int)c->pid);
	x->lregs = L->regs;
	size_t cap = arch_xstate_bufsize();
	L->xstate = malloc(cap);
	L->xstate_owned = L->xstate != NULL;
	if (!L->xstate || (e = arch_get_xstate(c->pid, L->xstate, cap, &L->xlen)) < 0)
		return fk_fail(err, L->xstate ? -e : ENOMEM, FK_KIND_FAILED, "recreate",
			       "PTRACE_GETREGSET NT_X86_XSTATE of thread %d", (int)c->pid);
	if (ptrace(PTRACE_GETSIGMASK, c->pid, (void *)sizeof L->sigmask, &L->sigmask) < 0)
		return fk_fail(err, errno, FK_KIND_FAILED, "recreate", "PTRACE_GETSIGMASK of thread %d", (int)c->pid);
	L->sigmask_ok = true;
	x->lmask = L->sigmask;
	L->creds_ok = proc_task_creds(c->pid, c->pid, &L->creds) == 0;
	L->scratch_at = (arch_sp(&L->regs) - SCRATCH_BELOW_SP - SCRATCH_LEN) & ~(uint64_t)15;

	for (size_t i = 0; i < c->nghosts; i++) {
		const struct ghost *g = &c->ghosts[i];
		struct tstate *t = &fa->ts[1 + i];
		t->tid = g->tid;
		t->regs = g->regs;
		t->xstate = g->xstate; /* borrowed: the ghost keeps it */
		t->xlen = g->xlen;
		t->sigmask = g->sigmask;
		t->sigmask_ok = g->have_mask;
		t->rseq = g->rseq;
		t->rseq_ok = g->rseq.rseq_abi_pointer != 0;
		t->robust_head = g->robust_head;
		t->robust_len = g->robust_len;
		t->robust_ok = g->robust_head != 0;
		t->affinity = g->affinity;
		t->affinity_ok = g->affinity_ok;
		t->sched = g->sched;
		t->sched_ok = g->sched_ok;
		t->creds = g->creds;
		t->creds_ok = g->creds_ok;
		snprintf(t->name, sizeof t->name, "%s", g->name);
		t->scratch_at = (arch_sp(&t->regs) - SCRATCH_BELOW_SP - SCRATCH_LEN) & ~(uint64_t)15;
		if (!g->xstate)
			return fk_fail(err, ENODATA, FK_KIND_FAILED, "recreate",
				       "lost thread %d: its xstate was not captured at the fork", (int)g->tid);
		if (!mapped(&fa->maps, arch_sp(&t->regs)) || !mapped(&fa->maps, arch_sp(&t->regs) - 1))
			return fk_fail(err, EFAULT, FK_KIND_BADREQ, "recreate",
				       "lost thread %d \"%s\": its stack (sp 0x%llx) is no longer mapped in process %d "
				       "(glibc frees cached thread stacks once the child makes or ends threads)",
				       (int)g->tid, g->name, (unsigned long long)arch_sp(&t->regs), (int)c->pid);
		/* its struct pthread: glibc's if the parent's copy held its tid */
		uint64_t tp = arch_tp(&t->regs);
		long off = x->gt.tid_off;
		uint32_t was = 0, now = 0;
		if (off < 0 || !tp || !g->pd || (size_t)off + 4 > g->pdlen)
			continue;
		memcpy(&was, g->pd + off, sizeof was);
		if ((pid_t)was != g->tid)
			continue;
		if (mem_read_exact(c->pid, tp + (uint64_t)off, &now, sizeof now) < 0)
			return fk_fail(err, EFAULT, FK_KIND_FAILED, "recreate",
				       "reading the thread descriptor of lost thread %d at 0x%llx", (int)g->tid,
				       (unsigned long long)tp);
		x->old_tid[1 + i] = now;
		t->glibc = true;
		if (now != 0 && now != was)
			return fk_fail(
				err, EBUSY, FK_KIND_BADREQ, "recreate",
				"lost thread %d \"%s\": its stack and thread descriptor were reused by thread %u "
				"of process %d",
				(int)g->tid, g->name, now, (int)c->pid);
		x->pd[1 + i] = on_glibc_list(x, tp) ? PD_LISTED : PD_GIVENUP;
	}
	return 0;
}

static bool any_reclaimed(const struct rc_ctx *x)
{
	for (size_t i = 0; i < x->fa.nts; i++)
		if (x->pd[i] == PD_GIVENUP)
			return true;
	return false;
}

/* list_t links of the descriptor at pd (next, prev) */
static int read_links(pid_t pid, uint64_t node, uint64_t v[2])
{
	return mem_read_exact(pid, node, v, 2 * sizeof *v);
}

/* Undo reclaim_stacks for one descriptor: its old bytes back (but the new
 * tid and the links), off the cache list, onto the used (or user) list. */
static int reclaim_undo(struct rc_ctx *x, const struct ghost *g, const struct tstate *t)
{
	struct forkall *fa = &x->fa;
	pid_t pid = x->c->pid;
	uint64_t tp = arch_tp(&t->regs);
	size_t size = (size_t)x->gt.sizeof_pthread;
	uint64_t node = tp + (uint64_t)x->gt.list_off;
	uint8_t *now = malloc(size);
	if (!now)
		return fk_fail(fa->err, ENOMEM, FK_KIND_FAILED, "recreate-glibc", "out of memory");
	int rc = mem_read_exact(pid, tp, now, size);
	if (rc == 0) {
		/* the parent's bytes (TSD and all), but the tid the clone set and
		 * the list links as they are now */
		uint8_t *want = malloc(size);
		rc = want ? 0 : -ENOMEM;
		if (want) {
			memcpy(want, g->pd, size);
			memcpy(want + x->gt.tid_off, now + x->gt.tid_off, 4);
			memcpy(want + x->gt.list_off, now + x->gt.list_off, 16);
			if (memcmp(want, now, size) != 0)
				rc = undo_write(&x->undo, tp, want, size);
			free(want);
		}
	}
	uint64_t links[2] = { 0, 0 }, nb[2], pb[2];
	if (rc == 0)
		rc = read_links(pid, node, links);
	free(now);
	if (rc < 0)
		return fk_fail(fa->err, -rc, FK_KIND_FAILED, "recreate-glibc",
			       "restoring the thread descriptor of lost thread %d at 0x%llx", (int)t->tid,
			       (unsigned long long)tp);
	/* on a list (the stack cache) if its neighbours point back at it */
	bool listed = links[0] && links[1] && read_links(pid, links[0], nb) == 0 &&
		      read_links(pid, links[1], pb) == 0 && nb[1] == node && pb[0] == node;
	if (listed) {
		if ((rc = undo_write(&x->undo, links[1], &links[0], 8)) < 0 ||	 /* prev->next = next */
		    (rc = undo_write(&x->undo, links[0] + 8, &links[1], 8)) < 0) /* next->prev = prev */
			return fk_fail(fa->err, -rc, FK_KIND_FAILED, "recreate-glibc",
				       "taking lost thread %d's descriptor off glibc's stack cache", (int)t->tid);
	}
	/* cached stacks were glibc's (dl_stack_used); a dropped one was the
	 * user's (dl_stack_user: the main thread's, pthread_attr_setstack) */
	uint64_t head = listed ? x->gt.stack_used : x->gt.stack_user;
	uint64_t hl[2];
	if ((rc = read_links(pid, head, hl)) < 0)
		return fk_fail(fa->err, -rc, FK_KIND_FAILED, "recreate-glibc", "reading glibc's thread list at 0x%llx",
			       (unsigned long long)head);
	uint64_t mine[2] = { hl[0], head };
	if ((rc = undo_write(&x->undo, node, mine, sizeof mine)) < 0 || /* node = {head->next, head} */
	    (rc = undo_write(&x->undo, hl[0] + 8, &node, 8)) < 0 ||	/* head->next->prev = node */
	    (rc = undo_write(&x->undo, head, &node, 8)) < 0)		/* head->next = node */
		return fk_fail(fa->err, -rc, FK_KIND_FAILED, "recreate-glibc",
			       "putting lost thread %d's descriptor back on glibc's thread list", (int)t->tid);
	x->relinked++;
	return 0;
}

static int glibc_fixups(struct rc_ctx *x)
{
	struct forkall *fa = &x->fa;
	if (!any_reclaimed(x))
		return 0;
	size_t k = 0;
	for (size_t i = 1; i < fa->nts; i++) {
		if (x->pd[i] != PD_GIVENUP)
			continue;
		if (reclaim_undo(x, &x->c->ghosts[i - 1], &fa->ts[i]) < 0)
			return -1;
		k++;
	}
	uint32_t nt;
	int rc = mem_read_exact(x->c->pid, x->gt.nthreads, &nt, sizeof nt);
	if (rc == 0) {
		nt += (uint32_t)k;
		rc = undo_write(&x->undo, x->gt.nthreads, &nt, sizeof nt);
	}
	if (rc < 0)
		return fk_fail(fa->err, -rc, FK_KIND_FAILED, "recreate-glibc",
			       "counting the recreated threads in glibc's __nptl_nthreads at 0x%llx",
			       (unsigned long long)x->gt.nthreads);
	return 0;
}

/* Everything built is taken back: owner words and descriptors put back,
 * the new threads ended, the leader's state as it was. */
static void rollback(struct rc_ctx *x)
{
	struct forkall *fa = &x->fa;
	struct proc *c = x->c;
	undo_all(&x->undo);
	/* robust owners: new tid -> old (the same rewrite, mapping reversed) */
	if (fa->robust_fixed) {
		for (size_t i = 0; i < fa->nts; i++) {
			pid_t t = fa->ts[i].tid;
			fa->ts[i].tid = fa->ts[i].child_tid;
			fa->ts[i].child_tid = t;
		}
		fa_fix_robust_owners(fa);
		for (size_t i = 0; i < fa->nts; i++) {
			pid_t t = fa->ts[i].tid;
			fa->ts[i].tid = fa->ts[i].child_tid;
			fa->ts[i].child_tid = t;
		}
	}
	size_t ending = 0;
	for (size_t i = 1; i < fa->nts; i++) {
		struct tstate *t = &fa->ts[i];
		struct lwp *l = t->child_tid > 0 ? proc_lwp(c, t->child_tid) : NULL;
		if (!l)
			continue;
		fk_gregs r;
		uint64_t a[6] = { 0, 0, 0, 0, 0, 0 };
		if (arch_get_gregs(t->child_tid, &r) < 0)
			continue;
		arch_setup_syscall(&r, fa->insn, SYS_exit, a);
		uint64_t all = ~0ull;
		ptrace(PTRACE_SETSIGMASK, t->child_tid, (void *)sizeof all, &all);
		if (arch_set_gregs(t->child_tid, &r) < 0 || ptrace(PTRACE_CONT, t->child_tid, 0, 0) < 0) {
			fk_warn("recreate %d: ending new thread %d: %s", (int)c->pid, (int)t->child_tid,
				strerror(errno));
			continue;
		}
		proc_set_running(c, l);
		ending++;
	}
	uint64_t deadline = tr_now_us() + 2000000;
	while (ending && tr_now_us() < deadline) {
		tr_pump(fa->tr, 50);
		size_t left = 0;
		for (size_t i = 1; i < fa->nts; i++)
			left += fa->ts[i].child_tid > 0 && proc_lwp(c, fa->ts[i].child_tid) != NULL;
		if (!left)
			break;
	}
	/* their exit cleared pd->tid (CLONE_CHILD_CLEARTID): as it was */
	for (size_t i = 1; i < fa->nts; i++) {
		if (!fa->ts[i].glibc || !fa->ts[i].child_tid)
			continue;
		uint64_t at = arch_tp(&fa->ts[i].regs) + (uint64_t)x->gt.tid_off;
		mem_write_exact(c->pid, at, &x->old_tid[i], sizeof x->old_tid[i]);
	}
	struct lwp *l = proc_lwp(c, c->pid);
	if (l && l->state == LWP_STOPPED) {
		arch_set_gregs(c->pid, &x->lregs);
		if (fa->ts[0].xstate)
			arch_set_xstate(c->pid, fa->ts[0].xstate, fa->ts[0].xlen);
		ptrace(PTRACE_SETSIGMASK, c->pid, (void *)sizeof x->lmask, &x->lmask);
		l->regs_valid = false;
	}
}

static void result(struct rc_ctx *x, struct jw *body, uint64_t us)
{
	struct forkall *fa = &x->fa;
	jw_kint(body, "pid", x->c->pid);
	size_t n = fa->nts - 1; /* the lost threads (check: at least one); keep_record added their records last */
	jw_key(body, "threads");
	recreate_records_json(body, x->c->recreated + x->c->nrecreated - n, n);
	jw_kint(body, "locksFixed", (int64_t)x->locks_fixed);
	jw_kint(body, "robustOwnersFixed", (int64_t)fa->robust_fixed);
	jw_kint(body, "descriptorsRestored", (int64_t)x->relinked);
	jw_kint(body, "us", (int64_t)us);
	fa_warnings_json(fa, body);
}

void recreate_records_json(struct jw *w, const struct fk_recreated *r, size_t n)
{
	jw_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		jw_obj_begin(w);
		jw_kint(w, "parentTid", r[i].parent_tid);
		jw_kint(w, "childTid", r[i].child_tid);
		jw_kstr(w, "name", r[i].name);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* The ghosts become the record of what was recreated (forkInfo). */
static int keep_record(struct rc_ctx *x)
{
	struct proc *c = x->c;
	struct fk_recreated *v = realloc(c->recreated, (c->nrecreated + c->nghosts) * sizeof *v);
	if (!v)
		return -1;
	c->recreated = v;
	for (size_t i = 1; i < x->fa.nts; i++) {
		struct fk_recreated *r = &c->recreated[c->nrecreated++];
		r->parent_tid = x->fa.ts[i].tid;
		r->child_tid = x->fa.ts[i].child_tid;
		memcpy(r->name, x->fa.ts[i].name, sizeof r->name - 1);
		r->name[sizeof r->name - 1] = '\0';
	}
	for (size_t i = 0; i < c->nghosts; i++)
		ghost_clear(&c->ghosts[i]);
	free(c->ghosts);
	c->ghosts = NULL;
	c->nghosts = 0;
	return 0;
}

int forkall_recreate(struct fk_tracer *tr, struct proc *c, struct jw *body, struct fk_err *err)
{
	struct rc_ctx *x = calloc(1, sizeof *x);
	if (!x)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "recreate", "out of memory");
	uint64_t t0 = tr_now_us();
	struct forkall *fa = &x->fa;
	x->c = c;
	undo_init(&x->undo, c->pid);
	fa->tr = tr;
	fa->pid = fa->mpid = fa->child = c->pid;
	fa->cproc = c;
	fa->flags = FK_FORK_KEEP_TRACED;
	fa->err = err;
	fa->fault = getenv("FORKALL_FAULT");
	fa->skip = getenv("FORKALL_SKIP");
	fa->tid_off = -1;
	jw_init(&fa->warnings);

	uint64_t ph[6] = { 0 };
	int rc = check(x);
	if (rc == 0 && recreate_in_fork(c))
		rc = fk_fail(err, EBUSY, FK_KIND_BADREQ, "recreate",
			     "process %d is still inside glibc's fork(), which gives the other threads up on its way "
			     "out: run it out of fork() first",
			     (int)c->pid);
	ph[0] = tr_now_us();
	if (rc == 0) {
		rc = proc_maps_read(c->pid, &fa->maps);
		if (rc < 0)
			rc = fk_fail(err, -rc, FK_KIND_FAILED, "recreate", "reading /proc/%d/maps", (int)c->pid);
	}
	if (rc == 0)
		rc = rsys_find_insn(c->pid, &fa->maps, &fa->insn, err);
	if (rc == 0) {
		fa->syms = elfsyms_new(c->pid, &fa->maps);
		if (fa->syms)
			glibc_threads_read(c->pid, fa->syms, &x->gt);
		else
			x->gt.tid_off = x->gt.list_off = x->gt.sizeof_pthread = -1;
		fa->tid_off = x->gt.tid_off;
		read_glibc_lists(x);
		rc = load_states(x);
	}
	if (rc == 0 && any_reclaimed(x)) {
		/* glibc's fork() ran in the child: its lists must be found */
		bool ok = x->gt.list_off >= 0 && x->gt.sizeof_pthread > 0 && x->gt.nthreads && x->gt.stack_used &&
			  x->gt.stack_user;
		for (size_t i = 1; ok && i < fa->nts; i++)
			if (x->pd[i] == PD_GIVENUP && c->ghosts[i - 1].pdlen < (size_t)x->gt.sizeof_pthread)
				ok = false;
		if (!ok)
			rc = fk_fail(err, ENOENT, FK_KIND_FAILED, "recreate",
				     "glibc's thread lists of process %d cannot be located (libc's _thread_db_ "
				     "descriptors): the threads its fork() gave up cannot be handed back to it",
				     (int)c->pid);
	}
	ph[1] = tr_now_us();
	if (rc == 0) {
		rc = fa_build_threads(tr, fa); /* leaves every new thread stopped in c */
		x->built = true;
	}
	ph[2] = tr_now_us();
	if (rc == 0)
		rc = glibc_fixups(x);
	if (rc == 0)
		rc = fa_fault_at(fa, "recreate-glibc");
	ph[3] = tr_now_us();
	if (rc == 0)
		rc = ownerfix_locks(fa, c, NULL, &x->undo, &x->locks_fixed);
	if (rc == 0)
		rc = fa_fault_at(fa, "recreate-locks");
	ph[4] = tr_now_us();
	if (rc == 0 && keep_record(x) < 0)
		rc = fk_fail(err, ENOMEM, FK_KIND_FAILED, "recreate", "out of memory");
	if (rc < 0) {
		if (x->built)
			rollback(x);
	} else {
		fk_info("recreate %d: %zu lost threads back (%zu descriptors restored, %zu lock owners, %zu robust) in %llu us",
			(int)c->pid, fa->nts - 1, x->relinked, x->locks_fixed, fa->robust_fixed,
			(unsigned long long)(tr_now_us() - t0));
		fk_debug("recreate %d: check+in-fork %llu us, prepare %llu, build %llu, glibc %llu, locks %llu",
			 (int)c->pid, (unsigned long long)(ph[0] - t0), (unsigned long long)(ph[1] - ph[0]),
			 (unsigned long long)(ph[2] - ph[1]), (unsigned long long)(ph[3] - ph[2]),
			 (unsigned long long)(ph[4] - ph[3]));
		result(x, body, tr_now_us() - t0);
	}
	undo_free(&x->undo);
	if (fa->ts && fa->ts[0].xstate_owned)
		free(fa->ts[0].xstate);
	free(fa->ts);
	free(x->pd);
	free(x->old_tid);
	free(x->listed);
	elfsyms_free(fa->syms);
	proc_maps_free(&fa->maps);
	jw_free(&fa->warnings);
	free(x);
	return rc;
}
