/* elfsym.h — dynamic symbols of the objects mapped in a process.
 *
 * Reads .dynsym/.dynstr from the files behind /proc/PID/maps (through
 * /proc/PID/root, so other mount namespaces work), computes each object's
 * load bias from its mappings, and answers name -> address. Enough for
 * libthread_db (ps_pglobal_lookup) and for libc's _thread_db_* descriptors;
 * full symbolization is libdw's job. */
#ifndef FK_ELFSYM_H
#define FK_ELFSYM_H

#include <stdint.h>
#include <sys/types.h>

#include "base/procfs.h"

struct elfsyms;

/* Objects are loaded lazily on the first lookup. */
struct elfsyms *elfsyms_new(pid_t pid, const struct vma_list *maps);
void elfsyms_free(struct elfsyms *s);

/* Look `name` up, first in objects whose file name starts with `prefer`
 * (e.g. "libc.so"), then in all. 0 and *addr, or -ENOENT. */
int elfsyms_lookup(struct elfsyms *s, const char *prefer, const char *name, uint64_t *addr);

/* Path (as mapped) of the first object whose base name starts with prefix. */
const char *elfsyms_object_path(struct elfsyms *s, const char *prefix);

#endif
