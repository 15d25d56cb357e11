/* elfsym.h — the ELF reader: the objects mapped in a process and their
 * symbol tables, without libdw.
 *
 * The objects are the files behind /proc/PID/maps (opened through
 * /proc/PID/root, so other mount namespaces work), each with its load
 * bias (from its offset-0 mapping and its first PT_LOAD) and the address
 * range of its mappings. Two tables per object, each read on first use:
 * - .dynsym (every defined symbol), for name -> address: libthread_db
 *   (ps_pglobal_lookup) and libc's _thread_db_* descriptors;
 * - the function symbols (.symtab, else that of the build-id debug file
 *   in /usr/lib/debug/.build-id/, else .dynsym), for address -> function
 *   and function name -> addresses when libdw is not used (symbols.c).
 * Full symbolization (lines, CFI, DWARF) is libdw's job (dw.h).
 *
 * Not thread-safe: one owner per struct elfsyms.
 */
#ifndef FK_ELFSYM_H
#define FK_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/procfs.h"

struct elfsyms;

/* The objects of maps (copied: maps may be freed afterwards); their files
 * are read lazily. NULL only when out of memory. */
struct elfsyms *elfsyms_new(pid_t pid, const struct vma_list *maps);
void elfsyms_free(struct elfsyms *s);

/* Look `name` up in .dynsym, first in objects whose file name starts with
 * `prefer` (e.g. "libc.so"), then in all. 0 and *addr, or -ENOENT. */
int elfsyms_lookup(struct elfsyms *s, const char *prefer, const char *name, uint64_t *addr);

/* Path (as mapped) of the first object whose base name starts with prefix. */
const char *elfsyms_object_path(struct elfsyms *s, const char *prefix);

/* A function symbol; name points into a string table (valid while its
 * reader is), possibly with its version ("f@@GLIBC_2.3"). */
struct elfsym_func {
	uint64_t addr, size; /* size 0: unknown */
	const char *name;
	unsigned char bind; /* STB_GLOBAL, STB_WEAK, STB_LOCAL */
};

/* Sort function symbols by address; at one address sized ones first, then
 * global names before weak and local aliases. */
void elfsym_sort(struct elfsym_func *v, size_t n);

/* In v[0..n) sorted by elfsym_sort: the function containing addr, the
 * last symbol at or below it (the first of its aliases) if addr is inside
 * its size or it has none; NULL otherwise. */
const struct elfsym_func *elfsym_func_at(const struct elfsym_func *v, size_t n, uint64_t addr);

/* The object whose mappings hold addr (its path as mapped), or NULL; and
 * in *fn (when not NULL) the function containing addr: the last symbol at
 * or below it (the first of its aliases, sized ones first) if addr is
 * inside its size or it has none; fn->name NULL when there is none. */
const char *elfsyms_describe(struct elfsyms *s, uint64_t addr, struct elfsym_func *fn);

/* Is addr in a PLT stub (.plt, .plt.sec, .plt.got) of its object? Then
 * *fn is the stub, named "printf@plt" after the symbol its GOT slot is
 * relocated to (read from the file once per object). */
bool elfsyms_plt_at(struct elfsyms *s, uint64_t addr, struct elfsym_func *fn);

/* Call fn for every function symbol of every object (by object, then by
 * address). */
void elfsyms_each_function(struct elfsyms *s, void (*fn)(const struct elfsym_func *f, void *arg), void *arg);

#endif
