/* mem.h — tracee memory. process_vm_readv/writev first (one syscall for
 * the whole range); /proc/PID/mem for what they refuse (read-only pages on
 * write, or kernels without them). Never PEEKDATA loops (~600x slower). */
#ifndef FK_MEM_H
#define FK_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes read (short count: the rest is unreadable), or -errno when nothing
 * could be read. */
ssize_t mem_read(pid_t pid, uint64_t addr, void *buf, size_t len);
/* Exactly len bytes or -errno (EFAULT if any part is unreadable). */
int mem_read_exact(pid_t pid, uint64_t addr, void *buf, size_t len);
/* Bytes written or -errno. Writes to non-writable pages (breakpoints in
 * text) go through /proc/PID/mem, which the kernel allows for a tracer. */
ssize_t mem_write(pid_t pid, uint64_t addr, const void *buf, size_t len);
int mem_write_exact(pid_t pid, uint64_t addr, const void *buf, size_t len);

/* Read n 32-bit values at addrs[i] with as few syscalls as possible (one
 * process_vm_readv for up to IOV_MAX of them). ok[i] says which worked. */
void mem_read_u32_many(pid_t pid, const uint64_t *addrs, uint32_t *out, bool *ok, size_t n);

/* n blocks of len bytes at addrs[i] <-> bufs + i*len, batched like
 * mem_read_u32_many (one process_vm_readv/writev per IOV_MAX blocks). */
void mem_read_blocks(pid_t pid, const uint64_t *addrs, size_t len, uint8_t *bufs, bool *ok, size_t n);
void mem_write_blocks(pid_t pid, const uint64_t *addrs, size_t len, const uint8_t *bufs, const bool *which, size_t n);

#endif
