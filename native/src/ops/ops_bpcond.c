/* ops_bpcond.c — compiled breakpoint conditions ("bpCondition"): the
 * table of a process's conditions by breakpoint address, and the test the
 * tracer thread runs at each hit (p->bpcond_test, from attach_on_stop):
 * the thread's registers in DWARF numbering and its memory into
 * condprog_eval. 0 (false) makes the hit pass without an event
 * (ptrace/bpcondpass.c); true, no condition, or an error reports it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "base/log.h"
#include "base/mem.h"
#include "debuginfo/condprog.h"
#include "debuginfo/condresolve.h"
#include "debuginfo/symbols.h"
#include "ops/ops.h"
#include "ptrace/bpslot.h"
#include "ptrace/breakpoints.h"

struct bpc_entry {
	uint64_t addr;
	struct condprog cp;
	int64_t passes, holds, errors;
	int64_t slot_base; /* the slot's count when this condition was set (slotPasses counts from there) */
};

struct bpc_table {
	struct bpc_entry *v;
	size_t n, cap;
};

static void table_free(void *arg)
{
	struct bpc_table *t = arg;
	if (t) {
		free(t->v);
		free(t);
	}
}

static struct bpc_entry *find(struct proc *p, uint64_t addr)
{
	struct bpc_table *t = p->bpconds;
	for (size_t i = 0; t && i < t->n; i++)
		if (t->v[i].addr == addr)
			return &t->v[i];
	return NULL;
}

static bool read_mem(void *arg, uint64_t addr, void *buf, size_t n)
{
	const pid_t *pid = arg;
	return mem_read_exact(*pid, addr, buf, n) == 0;
}

static int test_hit(struct proc *p, pid_t tid, uint64_t addr)
{
	struct bpc_entry *e = find(p, addr);
	if (!e)
		return 1;
	fk_gregs r;
	char why[200];
	int rc = arch_get_gregs(tid, &r);
	if (rc < 0) {
		e->errors++;
		fk_debug("thread %d: breakpoint condition at 0x%llx: PTRACE_GETREGS: %s", (int)tid,
			 (unsigned long long)addr, strerror(-rc));
		return 1;
	}
	uint64_t regs[SYM_NREGS];
	pid_t pid = p->pid;
	struct cp_frame f = {
		.regs = regs, .nregs = (unsigned)arch_dwarf_gregs(&r, regs, SYM_NREGS), .read = read_mem, .arg = &pid
	};
	rc = condprog_eval(&e->cp, &f, why, sizeof why);
	if (rc == 0) {
		e->passes++;
		return 0;
	}
	if (rc > 0) {
		e->holds++;
	} else {
		e->errors++; /* reported: the adapter evaluates it and says why */
		fk_debug("thread %d: breakpoint condition at 0x%llx: %s", (int)tid, (unsigned long long)addr, why);
	}
	return 1;
}

void ops_bpcond_forget(struct proc *p, uint64_t addr)
{
	struct bpc_table *t = p->bpconds;
	struct bpc_entry *e = find(p, addr);
	if (e)
		*e = t->v[--t->n];
}

/* add (or replace) the condition at addr; NULL: out of memory */
static struct bpc_entry *add(struct proc *p, uint64_t addr)
{
	struct bpc_table *t = p->bpconds;
	if (!t) {
		if ((t = calloc(1, sizeof *t)) == NULL)
			return NULL;
		p->bpconds = t;
		p->bpconds_free = table_free;
		p->bpcond_test = test_hit;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4;
		struct bpc_entry *v = realloc(t->v, cap * sizeof *v);
		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	struct bpc_entry *e = &t->v[t->n++];
	memset(e, 0, sizeof *e);
	e->addr = addr;
	return e;
}

int op_bp_condition(struct fk_tracer *tr, const struct rq_bp_condition *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "bpCondition", "process %d is not attached", (int)rq->pid);
	if (p->vfork_parent)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, "bpCondition",
			       "process %d is a vfork child sharing the memory of %d: its breakpoints are its parent's",
			       (int)p->pid, (int)p->vfork_parent);
	if (!bp_at(p, rq->addr))
		return fk_fail(err, ENOENT, FK_KIND_BADREQ, "bpCondition", "no breakpoint at 0x%llx in process %d",
			       (unsigned long long)rq->addr, (int)rq->pid);
	char note[200] = "";
	if (!rq->query) {
		ops_bpcond_forget(p, rq->addr);
		if (rq->has_program && rq->program[0]) {
			struct condprog *cp = malloc(sizeof *cp);
			if (!cp)
				return fk_fail(err, ENOMEM, FK_KIND_FAILED, "bpCondition", "out of memory");
			struct fk_symbols *s = sym_of_proc(p);
			if (condprog_parse(rq->program, cp, note, sizeof note) == 0 &&
			    condresolve(cp, s ? sym_dwfl(s) : NULL, rq->addr, note, sizeof note) == 0) {
				struct bpc_entry *e = add(p, rq->addr);
				if (!e) {
					free(cp);
					return fk_fail(err, ENOMEM, FK_KIND_FAILED, "bpCondition", "out of memory");
				}
				e->cp = *cp;
				e->slot_base = bpslot_passes(p, rq->addr);
			}
			free(cp);
		}
	}
	const struct bpc_entry *e = find(p, rq->addr);
	jw_khex(body, "addr", rq->addr);
	jw_key(body, "compiled");
	jw_bool(body, e != NULL);
	jw_key(body, "note");
	if (note[0])
		jw_str(body, note);
	else
		jw_null(body);
	jw_kint(body, "passes", e ? e->passes : 0);
	jw_kint(body, "slotPasses", e ? bpslot_passes(p, rq->addr) - e->slot_base : 0);
	jw_kint(body, "holds", e ? e->holds : 0);
	jw_kint(body, "errors", e ? e->errors : 0);
	return 0;
}
