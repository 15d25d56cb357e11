/* locks.c — pthread locks in DWARF (see locks.h). */
#include "debuginfo/locks.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "debuginfo/dw.h"
#include "debuginfo/dwglobals.h"
#include "debuginfo/dwtype.h"

#define MAX_ARRAY 4096 /* elements of one array looked at */

struct layout {
	bool known;
	uint64_t owner_off, futex_off;
};

/* A pointer hop left for the time of the call: the pointer's address and
 * what it points to (its value changes as the program runs). */
struct hop {
	uint64_t at;
	Dwarf_Die to;
	int depth;
	char name[128];
};

struct finder {
	pid_t pid; /* whose memory pointers are read from */
	struct lock_site *v;
	size_t n, cap;
	bool oom;
	/* per lock type, learnt from the first DWARF that describes it */
	struct layout mutex, rwlock;
	/* building the plan (the DWARF walk, cached): pointer hops are kept
	 * in hops, not followed */
	bool planning;
	struct hop *hops;
	size_t nhops, caphops;
	struct memo *memo; /* the plan's: which types can hold a lock */
};

/* Which (type, depth, via pointer) can reach a lock at all: the answer
 * depends on the type alone, so each struct type of a module is looked
 * into once (CPython's 100k globals: 280 ms → a few ms). Keyed by the
 * DIE's address in the mapped DWARF, unique while the modules stay open
 * (the plan, which owns the memo, is dropped with them). */
struct memo_slot {
	const void *die;
	uint8_t key;	/* depth * 2 + via_ptr, + 1 (0: empty) */
	uint8_t answer; /* 1 no lock reachable, 2 maybe */
};
struct memo {
	struct memo_slot *v;
	size_t cap, n; /* cap a power of two */
};

/* What the DWARF walk found (cached with the process's symbols): the
 * static sites, and the pointer hops to follow at each call. */
struct plan {
	struct lock_site *v;
	size_t n;
	struct hop *hops;
	size_t nhops;
	struct layout mutex, rwlock;
	struct memo *memo;
};

static void memo_free(struct memo *m)
{
	if (m) {
		free(m->v);
		free(m);
	}
}

static void plan_free(void *p)
{
	struct plan *pl = p;
	free(pl->v);
	free(pl->hops);
	memo_free(pl->memo);
	free(pl);
}

static size_t memo_hash(const void *die, uint8_t key, size_t mask)
{
	uint64_t h = (uint64_t)(uintptr_t)die * 0x9e3779b97f4a7c15ull ^ key;
	return (size_t)(h ^ (h >> 29)) & mask;
}

/* 0 unknown, else the answer */
static uint8_t memo_get(const struct memo *m, const void *die, uint8_t key)
{
	if (!m || !m->cap)
		return 0;
	for (size_t i = memo_hash(die, key, m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const struct memo_slot *s = &m->v[i];
		if (!s->key)
			return 0;
		if (s->die == die && s->key == key)
			return s->answer;
	}
}

static void memo_put(struct memo *m, const void *die, uint8_t key, uint8_t answer)
{
	if (!m)
		return;
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct memo_slot *nv = calloc(cap, sizeof *nv);
		if (!nv)
			return; /* not remembered: only slower */
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->v[i].key)
				continue;
			size_t j = memo_hash(m->v[i].die, m->v[i].key, cap - 1);
			while (nv[j].key)
				j = (j + 1) & (cap - 1);
			nv[j] = m->v[i];
		}
		free(m->v);
		m->v = nv;
		m->cap = cap;
	}
	size_t i = memo_hash(die, key, m->cap - 1);
	while (m->v[i].key && !(m->v[i].die == die && m->v[i].key == key))
		i = (i + 1) & (m->cap - 1);
	if (!m->v[i].key)
		m->n++;
	m->v[i] = (struct memo_slot){ .die = die, .key = key, .answer = answer };
}

const char *lock_kind_name(enum lock_kind k)
{
	return k == LOCK_RWLOCK ? "pthread_rwlock_t" : "pthread_mutex_t";
}

/* The member `name` of a struct/union DIE: its DIE and offset. */
static bool member(Dwarf_Die *agg, const char *name, Dwarf_Die *out, uint64_t *off)
{
	Dwarf_Die ch;
	if (DW->dwarf_child(agg, &ch) != 0)
		return false;
	do {
		const char *n = DW->dwarf_diename(&ch);
		if (DW->dwarf_tag(&ch) == DW_TAG_member && n && strcmp(n, name) == 0) {
			*off = 0;
			dwtype_udata(&ch, DW_AT_data_member_location, off);
			*out = ch;
			return true;
		}
	} while (DW->dwarf_siblingof(&ch, &ch) == 0);
	return false;
}

/* typedef pthread_mutex_t = union { struct __pthread_mutex_s __data; ... }:
 * the offsets of __data.<owner> and __data.<futex>. */
static bool learn(Dwarf_Die *tdef, const char *owner, const char *futex, struct layout *out)
{
	Dwarf_Die u, data, dtype, m;
	uint64_t data_off, o1, o2;
	if (!dwtype_peel(tdef, &u) || !member(&u, "__data", &data, &data_off) ||
	    !dwtype_ref(&data, DW_AT_type, &dtype) || !dwtype_peel(&dtype, &dtype) || !member(&dtype, owner, &m, &o1) ||
	    !member(&dtype, futex, &m, &o2))
		return false;
	out->owner_off = data_off + o1;
	out->futex_off = data_off + o2;
	out->known = true;
	return true;
}

/* Is this type (before peeling) one of the lock typedefs? */
static bool lock_type(struct finder *f, Dwarf_Die *type, enum lock_kind *kind, struct layout **lay)
{
	Dwarf_Die t = *type;
	/* qualifiers (volatile pthread_mutex_t) on the way to the typedef */
	for (int i = 0; i < 8; i++) {
		int tag = DW->dwarf_tag(&t);
		if (tag == DW_TAG_typedef) {
			const char *n = DW->dwarf_diename(&t);
			if (n && strcmp(n, "pthread_mutex_t") == 0) {
				*kind = LOCK_MUTEX;
				*lay = &f->mutex;
				return f->mutex.known || learn(&t, "__owner", "__lock", &f->mutex);
			}
			if (n && strcmp(n, "pthread_rwlock_t") == 0) {
				*kind = LOCK_RWLOCK;
				*lay = &f->rwlock;
				return f->rwlock.known || learn(&t, "__cur_writer", "__writers_futex", &f->rwlock);
			}
		} else if (tag != DW_TAG_const_type && tag != DW_TAG_volatile_type) {
			return false;
		}
		if (!dwtype_ref(&t, DW_AT_type, &t))
			return false;
	}
	return false;
}

static void add(struct finder *f, uint64_t addr, enum lock_kind kind, const struct layout *lay, const char *name)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct lock_site *nv = realloc(f->v, cap * sizeof *nv);
		if (!nv) {
			f->oom = true;
			return;
		}
		f->v = nv;
		f->cap = cap;
	}
	struct lock_site *s = &f->v[f->n++];
	s->addr = addr;
	s->owner_addr = addr + lay->owner_off;
	s->futex_addr = addr + lay->futex_off;
	s->kind = kind;
	snprintf(s->name, sizeof s->name, "%s", name);
}

/* Can visit(type, depth, via_ptr) find a lock or leave a pointer hop?
 * Mirrors visit's descent without an address; over-approximating is safe. */
static bool reaches_lock(struct finder *f, Dwarf_Die *type, int depth, bool via_ptr)
{
	enum lock_kind kind;
	struct layout *lay;
	if (lock_type(f, type, &kind, &lay))
		return true;
	Dwarf_Die t;
	if (depth <= 0 || !dwtype_peel(type, &t))
		return false;
	int tag = DW->dwarf_tag(&t);
	if (tag != DW_TAG_array_type && tag != DW_TAG_structure_type && !(tag == DW_TAG_pointer_type && !via_ptr))
		return false;
	uint8_t key = (uint8_t)(depth * 2 + via_ptr + 1);
	uint8_t known = memo_get(f->memo, t.addr, key);
	if (known)
		return known == 2;
	memo_put(f->memo, t.addr, key, 2); /* a struct that contains itself through a pointer: maybe */
	bool yes = false;
	Dwarf_Die sub;
	if (tag == DW_TAG_array_type) {
		yes = dwtype_ref(&t, DW_AT_type, &sub) && reaches_lock(f, &sub, depth - 1, false);
	} else if (tag == DW_TAG_structure_type) {
		Dwarf_Die ch;
		if (DW->dwarf_child(&t, &ch) == 0) {
			do {
				if (DW->dwarf_tag(&ch) == DW_TAG_member && dwtype_ref(&ch, DW_AT_type, &sub))
					yes = reaches_lock(f, &sub, depth - 1, false);
			} while (!yes && DW->dwarf_siblingof(&ch, &ch) == 0);
		}
	} else {
		/* a pointer: a hop to a lock, or to a struct that holds one */
		Dwarf_Die peeled;
		yes = dwtype_ref(&t, DW_AT_type, &sub) && dwtype_peel(&sub, &peeled) &&
		      (lock_type(f, &sub, &kind, &lay) ||
		       (DW->dwarf_tag(&peeled) == DW_TAG_structure_type && reaches_lock(f, &sub, depth - 1, true)));
	}
	memo_put(f->memo, t.addr, key, yes ? 2 : 1);
	return yes;
}

static void visit(struct finder *f, Dwarf_Die *type, uint64_t addr, const char *name, int depth, bool via_ptr);

/* The pointer at `at` (to a lock or a struct of type `to`), followed now. */
static void follow(struct finder *f, uint64_t at, Dwarf_Die *to, int depth, const char *name)
{
	uint64_t ptr = 0;
	if (mem_read_exact(f->pid, at, &ptr, sizeof ptr) < 0 || ptr == 0)
		return;
	enum lock_kind k;
	struct layout *l;
	if (lock_type(f, to, &k, &l)) {
		char sub[128];
		snprintf(sub, sizeof sub, "*%s", name);
		add(f, ptr, k, l, sub);
	} else {
		visit(f, to, ptr, name, depth, true);
	}
}

/* A variable (or a part of one) of this type at addr: a lock, an array of
 * locks, or a struct with lock members (depth levels down). */
static void visit(struct finder *f, Dwarf_Die *type, uint64_t addr, const char *name, int depth, bool via_ptr)
{
	enum lock_kind kind;
	struct layout *lay;
	if (lock_type(f, type, &kind, &lay)) {
		add(f, addr, kind, lay, name);
		return;
	}
	Dwarf_Die t;
	if (depth <= 0 || !reaches_lock(f, type, depth, via_ptr) || !dwtype_peel(type, &t))
		return;
	char sub[128];
	int tag = DW->dwarf_tag(&t);
	if (tag == DW_TAG_array_type) {
		Dwarf_Die elem;
		int64_t counts[1];
		uint64_t esz;
		if (dwtype_array_dims(&t, counts, 1) < 1 || counts[0] <= 0 || !dwtype_ref(&t, DW_AT_type, &elem) ||
		    !dwtype_size(&elem, &esz) || esz == 0)
			return;
		int64_t n = counts[0] < MAX_ARRAY ? counts[0] : MAX_ARRAY;
		for (int64_t i = 0; i < n && !f->oom; i++) {
			snprintf(sub, sizeof sub, "%s[%lld]", name, (long long)i);
			visit(f, &elem, addr + (uint64_t)i * esz, sub, depth - 1, false);
		}
	} else if (tag == DW_TAG_structure_type) {
		Dwarf_Die ch;
		if (DW->dwarf_child(&t, &ch) != 0)
			return;
		do {
			Dwarf_Die mt;
			uint64_t off = 0;
			const char *mn = DW->dwarf_diename(&ch);
			if (DW->dwarf_tag(&ch) != DW_TAG_member || !mn || !dwtype_ref(&ch, DW_AT_type, &mt))
				continue;
			dwtype_udata(&ch, DW_AT_data_member_location, &off);
			snprintf(sub, sizeof sub, via_ptr ? "%s->%s" : "%s.%s", name, mn);
			visit(f, &mt, addr + off, sub, depth - 1, false);
		} while (!f->oom && DW->dwarf_siblingof(&ch, &ch) == 0);
	} else if (tag == DW_TAG_pointer_type && !via_ptr) {
		/* one pointer hop: a struct (or a lock) the variable points to */
		Dwarf_Die to, peeled;
		if (!dwtype_ref(&t, DW_AT_type, &to) || !dwtype_peel(&to, &peeled))
			return;
		enum lock_kind k;
		struct layout *l;
		bool is_lock = lock_type(f, &to, &k, &l);
		if (!is_lock && DW->dwarf_tag(&peeled) != DW_TAG_structure_type)
			return;
		if (f->planning) {
			if (f->nhops == f->caphops) {
				size_t cap = f->caphops ? f->caphops * 2 : 16;
				struct hop *nh = realloc(f->hops, cap * sizeof *nh);
				if (!nh) {
					f->oom = true;
					return;
				}
				f->hops = nh;
				f->caphops = cap;
			}
			struct hop *h = &f->hops[f->nhops++];
			h->at = addr;
			h->to = to;
			h->depth = depth - 1;
			snprintf(h->name, sizeof h->name, "%s", name);
			return;
		}
		follow(f, addr, &to, depth - 1, name);
	}
}

static bool cb_global(Dwarf_Die *var, uint64_t addr, void *arg)
{
	struct finder *f = arg;
	Dwarf_Die type;
	if (dwtype_ref(var, DW_AT_type, &type))
		visit(f, &type, addr, DW->dwarf_diename(var), 3, false);
	return !f->oom;
}

/* glibc's own modules: their locks (malloc arenas, stdio, dl_load_lock)
 * are re-initialised by glibc in a fork child, never a hazard there. */
static bool glibc_module(const char *module)
{
	const char *b = strrchr(module, '/');
	b = b ? b + 1 : module;
	static const char *const names[] = { "libc.so", "ld-linux", "libpthread.so", "libc-", "ld-" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strncmp(b, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* The DWARF walk over every module's globals, once per module set. */
static struct plan *plan_of(struct fk_symbols *s, pid_t pid)
{
	struct plan *pl = sym_cache_get(s, SYM_CACHE_LOCKS);
	if (pl)
		return pl;
	Dwfl *dwfl = sym_dwfl(s);
	if (!dwfl)
		return NULL;
	struct finder f = { .pid = pid, .planning = true, .memo = calloc(1, sizeof(struct memo)) };
	dw_each_global_skip(dwfl, glibc_module, cb_global, &f);
	pl = calloc(1, sizeof *pl);
	if (f.oom || !pl) {
		free(f.v);
		free(f.hops);
		memo_free(f.memo);
		free(pl);
		return NULL;
	}
	/* a declaration and a definition name the same object */
	size_t k = 0;
	for (size_t i = 0; i < f.n; i++) {
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++)
			dup = f.v[j].addr == f.v[i].addr;
		if (!dup)
			f.v[k++] = f.v[i];
	}
	size_t h = 0;
	for (size_t i = 0; i < f.nhops; i++) {
		bool dup = false;
		for (size_t j = 0; j < h && !dup; j++)
			dup = f.hops[j].at == f.hops[i].at;
		if (!dup)
			f.hops[h++] = f.hops[i];
	}
	*pl = (struct plan){
		.v = f.v, .n = k, .hops = f.hops, .nhops = h, .mutex = f.mutex, .rwlock = f.rwlock, .memo = f.memo
	};
	sym_cache_set(s, SYM_CACHE_LOCKS, pl, plan_free);
	return pl;
}

int locks_find(struct fk_symbols *s, pid_t pid, struct lock_site **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!sym_dwfl(s))
		return 0;
	struct plan *pl = plan_of(s, pid);
	if (!pl)
		return -1;
	struct finder f = { .pid = pid, .mutex = pl->mutex, .rwlock = pl->rwlock, .memo = pl->memo };
	if (pl->n) {
		f.v = malloc(pl->n * sizeof *f.v);
		if (!f.v)
			return -1;
		memcpy(f.v, pl->v, pl->n * sizeof *f.v);
		f.n = f.cap = pl->n;
	}
	for (size_t i = 0; i < pl->nhops && !f.oom; i++)
		follow(&f, pl->hops[i].at, &pl->hops[i].to, pl->hops[i].depth, pl->hops[i].name);
	if (f.oom) {
		free(f.v);
		return -1;
	}
	*out = f.v;
	*n = f.n;
	return 0;
}

size_t locks_robust_held(pid_t pid, uint64_t head, pid_t tid, uint64_t *futex, size_t max)
{
	struct {
		uint64_t list;
		int64_t futex_offset;
		uint64_t pending;
	} h;
	if (!head || mem_read_exact(pid, head, &h, sizeof h) < 0)
		return 0;
	size_t n = 0;
	uint64_t entry = h.list;
	for (int i = 0; i < 4096 && entry && entry != head && n < max; i++) {
		uint64_t fut = entry + (uint64_t)h.futex_offset;
		uint32_t w;
		if (mem_read_exact(pid, fut, &w, sizeof w) == 0 && (w & 0x3fffffffu) == (uint32_t)tid)
			futex[n++] = fut;
		if (mem_read_exact(pid, entry, &entry, sizeof entry) < 0)
			break;
	}
	return n;
}
