#include "core/proc.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(pid_t tid, size_t cap)
{
	return ((uint32_t)tid * 2654435761u) & (cap - 1);
}

static int rebuild_index(struct proc *p, size_t want)
{
	size_t cap = p->index_cap ? p->index_cap : 64;
	while (cap < want * 2)
		cap *= 2;
	if (cap != p->index_cap) {
		int32_t *ni = calloc(cap, sizeof *ni);
		if (!ni)
			return -1;
		free(p->index);
		p->index = ni;
		p->index_cap = cap;
	} else {
		memset(p->index, 0, cap * sizeof *p->index);
	}
	for (size_t i = 0; i < p->n; i++) {
		size_t s = slot_of(p->lwps[i].tid, cap);
		while (p->index[s])
			s = (s + 1) & (cap - 1);
		p->index[s] = (int32_t)i + 1;
	}
	return 0;
}

struct proc *proc_new(pid_t pid)
{
	struct proc *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->pid = pid;
	sig_policy_default(&p->sigs);
	if (rebuild_index(p, 16) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

void proc_free(struct proc *p)
{
	if (!p)
		return;
	free(p->lwps);
	free(p->index);
	free(p->bps);
	free(p->slots);
	free(p->slot_pages);
	if (p->bpconds_free)
		p->bpconds_free(p->bpconds);
	for (size_t i = 0; i < p->nghosts; i++)
		ghost_clear(&p->ghosts[i]);
	free(p->ghosts);
	free(p->recreated);
	if (p->ckpt && p->ckpt_free)
		p->ckpt_free(p->ckpt);
	free(p);
}

void ghost_clear(struct ghost *g)
{
	free(g->xstate);
	free(g->pd);
	g->xstate = g->pd = NULL;
	g->xlen = g->pdlen = 0;
}

const struct ghost *proc_ghost(const struct proc *p, pid_t tid)
{
	for (size_t i = 0; i < p->nghosts; i++)
		if (p->ghosts[i].tid == tid)
			return &p->ghosts[i];
	return NULL;
}

struct lwp *proc_lwp(struct proc *p, pid_t tid)
{
	size_t s = slot_of(tid, p->index_cap);
	while (p->index[s]) {
		struct lwp *l = &p->lwps[p->index[s] - 1];
		if (l->tid == tid)
			return l;
		s = (s + 1) & (p->index_cap - 1);
	}
	return NULL;
}

struct lwp *proc_add_lwp(struct proc *p, pid_t tid)
{
	struct lwp *l = proc_lwp(p, tid);
	if (l)
		return l;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct lwp *nl = realloc(p->lwps, cap * sizeof *nl);
		if (!nl)
			return NULL;
		p->lwps = nl;
		p->cap = cap;
	}
	l = &p->lwps[p->n++];
	memset(l, 0, sizeof *l);
	l->tid = tid;
	l->state = LWP_RUNNING;
	l->watch_stale = true; /* a new thread's debug registers are empty */
	if ((p->n + 1) * 2 > p->index_cap) {
		if (rebuild_index(p, p->n + 1) < 0) {
			p->n--;
			return NULL;
		}
	} else {
		size_t s = slot_of(tid, p->index_cap);
		while (p->index[s])
			s = (s + 1) & (p->index_cap - 1);
		p->index[s] = (int32_t)p->n;
	}
	return l;
}

void proc_remove_lwp(struct proc *p, pid_t tid)
{
	struct lwp *l = proc_lwp(p, tid);
	if (!l)
		return;
	size_t i = (size_t)(l - p->lwps);
	if (l->state == LWP_STOPPED)
		p->n_stopped--;
	if (l->exiting)
		p->n_exiting--;
	p->lwps[i] = p->lwps[--p->n];
	rebuild_index(p, p->n); /* same capacity: cannot fail */
}

size_t proc_count_running(const struct proc *p)
{
	return p->n - p->n_stopped - p->n_exiting;
}

void proc_set_stopped(struct proc *p, struct lwp *l)
{
	if (l->state != LWP_STOPPED) {
		l->state = LWP_STOPPED;
		p->n_stopped++;
		if (l->exiting) { /* cannot happen: exiting LWPs do not stop */
			l->exiting = false;
			p->n_exiting--;
		}
	}
}

void proc_set_running(struct proc *p, struct lwp *l)
{
	if (l->state == LWP_STOPPED) {
		l->state = LWP_RUNNING;
		p->n_stopped--;
	}
}

void proc_set_exiting(struct proc *p, struct lwp *l)
{
	proc_set_running(p, l);
	if (!l->exiting) {
		l->exiting = true;
		p->n_exiting++;
	}
}
