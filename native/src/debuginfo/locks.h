/* locks.h — the program's pthread locks that DWARF can see, and where each
 * keeps its owner.
 *
 * Global and static variables (at file scope, in every module with DWARF
 * but glibc's own, whose locks its fork() re-initialises in the child)
 * of type pthread_mutex_t or pthread_rwlock_t, arrays of them, members of
 * that type in structs held by such variables, and the same behind a
 * pointer such a variable holds (a heap struct: `db->mutex`), read from
 * the process's memory now. The owner field's place
 * comes from the program's own DWARF of glibc's types (pthread_mutex_t's
 * __data.__owner, pthread_rwlock_t's __data.__cur_writer; the futex word
 * __data.__lock / __data.__writers_futex): no struct layout is assumed.
 */
#ifndef FK_LOCKS_H
#define FK_LOCKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "debuginfo/symbols.h"

enum lock_kind {
	LOCK_MUTEX,
	LOCK_RWLOCK,
};

struct lock_site {
	uint64_t addr;	     /* the lock object */
	uint64_t owner_addr; /* its owner tid (int) */
	uint64_t futex_addr; /* the word its waiters sleep on */
	enum lock_kind kind;
	char name[128]; /* "table_lock", "locks[3]", "db.mutex" */
};

/* Every lock site of the process's modules (*out malloc'd; 0 sites without
 * libdw or DWARF). Returns 0, or -1 when out of memory. */
int locks_find(struct fk_symbols *s, pid_t pid, struct lock_site **out, size_t *n);

const char *lock_kind_name(enum lock_kind k);

/* The robust mutexes on the robust list at head (in pid's memory, kernel
 * ABI: {list, futex_offset, list_op_pending}) whose futex word names tid:
 * their futex addresses (for glibc, the mutex itself), at most max.
 * Returns how many. */
size_t locks_robust_held(pid_t pid, uint64_t head, pid_t tid, uint64_t *futex, size_t max);

#endif
