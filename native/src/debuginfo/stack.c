#include "debuginfo/stack.h"

#include <string.h>

static bool guard_below(const struct vma_list *maps, const struct vma *m, uint64_t *guard)
{
	const struct vma *b = vma_below(maps, m);
	if (b && strncmp(b->perms, "---", 3) == 0) {
		*guard = b->end - b->start;
		return true;
	}
	*guard = 0;
	return false;
}

bool stack_find(const struct vma_list *maps, bool is_main, uint64_t startstack, uint64_t pthread, uint64_t sp,
		struct stack_range *out)
{
	const struct vma *m = NULL;
	memset(out, 0, sizeof *out);
	if (is_main && startstack && (m = vma_find(maps, startstack)) != NULL) {
		out->source = "maps:[stack]";
	} else if (!is_main && pthread && (m = vma_find(maps, pthread)) != NULL) {
		out->source = "maps:pthread";
	} else if ((m = vma_find(maps, sp)) != NULL) {
		out->source = "maps:sp";
	} else {
		return false;
	}
	out->low = m->start;
	out->high = m->end;
	/* The kernel's gap below [stack] is not a mapping: no guard to show. */
	if (!is_main)
		guard_below(maps, m, &out->guard);
	out->sp_in_stack = sp >= out->low && sp < out->high;
	return true;
}
