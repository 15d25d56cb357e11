/* stack.h — where an LWP's stack is, from /proc/PID/maps. */
#ifndef FK_STACK_H
#define FK_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/procfs.h"

struct stack_range {
	uint64_t low, high; /* the usable stack mapping */
	uint64_t guard;	    /* bytes of the ---p mapping just below (0: none) */
	const char *source; /* "maps:[stack]", "maps:pthread", "maps:sp" */
	bool sp_in_stack;   /* false: running on an alternate signal stack */
};

/* The main thread's stack holds `startstack` (/proc/PID/stat field 28); a
 * glibc thread's stack holds its struct pthread (pthread != 0), which is
 * right even while the thread runs on an alternate signal stack; anything
 * else falls back to the mapping holding SP. Returns false if none found. */
bool stack_find(const struct vma_list *maps, bool is_main, uint64_t startstack, uint64_t pthread, uint64_t sp,
		struct stack_range *out);

#endif
