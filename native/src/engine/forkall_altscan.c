/* forkall_altscan.c — can any thread of the target have an alternate
 * signal stack?
 *
 * The kernel shows a thread's sigaltstack nowhere but to the thread itself,
 * so reading it costs one injected sigaltstack(NULL, &old) per thread, with
 * the whole process stopped: at 64 threads, a quarter of the pause. Yet a
 * thread has an alternate stack only if code of the process ran the
 * sigaltstack (or sigstack) system call in it: new threads (CLONE_VM) and
 * exec start without one, and glibc never sets one for the program. So
 * when no code mapped in the process can make that call, every thread has
 * the default (disabled) stack and nothing needs reading.
 *
 * Code that can make the call, judged from the mappings read at prepare:
 *   - anonymous executable memory (a JIT): anything
 *   - an object other than glibc's libc.so/ld-linux and the vDSO that
 *     imports sigaltstack, sigstack, syscall (libc's raw-call wrapper),
 *     dlsym or dlvsym (which could find either), or whose executable bytes
 *     hold a syscall, sysenter or int $0x80 instruction anywhere (also by
 *     accident inside other instructions: then we just read the stacks)
 *   - an object we cannot read or parse, or more code than we scan
 * Anything that is not clearly "no" is "yes". Left out: a library that set
 * a stack and was unloaded since, and code mapped between prepare and the
 * stop. */
#include "engine/forkall_int.h"

#include "base/log.h"
#include "base/mem.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* more executable bytes than this (outside glibc): read the stacks */
#define SCAN_MAX (16u << 20)

static bool is_glibc(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return strncmp(b, "libc.so", 7) == 0 || strncmp(b, "ld-linux", 8) == 0;
}

static bool pread_all(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* Does the ELF file import a symbol that can set an alternate stack?
 * true also when the file cannot be read or has no section headers. */
static bool imports_altstack(pid_t pid, const char *objpath)
{
	static const char *const risky[] = { "sigaltstack", "sigstack", "syscall", "dlsym", "dlvsym" };
	char path[4200];
	snprintf(path, sizeof path, "/proc/%d/root%s", (int)pid, objpath);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	bool found = true;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL;
	char *str = NULL;
	Elf64_Sym *syms = NULL;
	if (!pread_all(fd, &eh, sizeof eh, 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 ||
	    eh.e_shnum > 4096)
		goto out;
	sh = calloc(eh.e_shnum, sizeof *sh);
	if (!sh || !pread_all(fd, sh, eh.e_shnum * sizeof *sh, (off_t)eh.e_shoff))
		goto out;
	const Elf64_Shdr *ds = NULL;
	for (size_t i = 0; i < eh.e_shnum && !ds; i++)
		if (sh[i].sh_type == SHT_DYNSYM)
			ds = &sh[i];
	if (!ds || ds->sh_link >= eh.e_shnum || ds->sh_entsize != sizeof(Elf64_Sym) || ds->sh_size > (64u << 20))
		goto out;
	const Elf64_Shdr *ss = &sh[ds->sh_link];
	if (ss->sh_size == 0 || ss->sh_size > (64u << 20))
		goto out;
	syms = malloc(ds->sh_size ? ds->sh_size : 1);
	str = malloc(ss->sh_size + 1);
	if (!syms || !str || !pread_all(fd, syms, ds->sh_size, (off_t)ds->sh_offset) ||
	    !pread_all(fd, str, ss->sh_size, (off_t)ss->sh_offset))
		goto out;
	str[ss->sh_size] = '\0';
	found = false;
	size_t nsyms = ds->sh_size / sizeof(Elf64_Sym);
	for (size_t i = 1; i < nsyms && !found; i++) {
		if (syms[i].st_shndx != SHN_UNDEF || syms[i].st_name >= ss->sh_size)
			continue;
		const char *name = str + syms[i].st_name;
		for (size_t k = 0; k < sizeof risky / sizeof risky[0]; k++)
			found |= strcmp(name, risky[k]) == 0;
	}
out:
	free(syms);
	free(str);
	free(sh);
	close(fd);
	return found;
}

/* Do the bytes of [start, end) in pid hold 0f 05 (syscall), 0f 34
 * (sysenter) or cd 80 (int $0x80)? true also when they cannot be read. */
static bool has_syscall_insn(pid_t pid, uint64_t start, uint64_t end)
{
	enum {
		CHUNK = 64 * 1024
	};
	uint8_t *buf = malloc(CHUNK + 1);
	if (!buf)
		return true;
	bool found = false;
	uint8_t prev = 0;
	for (uint64_t a = start; a < end && !found; a += CHUNK) {
		size_t len = end - a < CHUNK ? (size_t)(end - a) : CHUNK;
		buf[0] = prev;
		if (mem_read_exact(pid, a, buf + 1, len) < 0) {
			found = true;
			break;
		}
		for (size_t i = 0; i < len && !found; i++) {
			uint8_t x = buf[i], y = buf[i + 1];
			found = (x == 0x0f && (y == 0x05 || y == 0x34)) || (x == 0xcd && y == 0x80);
		}
		prev = buf[len];
	}
	free(buf);
	return found;
}

bool fa_altstack_possible(struct forkall *fa)
{
	const struct vma_list *m = &fa->maps;
	uint64_t scanned = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct vma *v = &m->v[i];
		if (v->perms[2] != 'x')
			continue;
		const char *p = v->path ? v->path : "";
		if (strcmp(p, "[vdso]") == 0 || strcmp(p, "[vsyscall]") == 0)
			continue; /* the kernel's: time calls only */
		if (p[0] != '/') {
			fk_debug("forkall %d: executable %s memory at 0x%llx: alternate stacks are read", (int)fa->pid,
				 p[0] ? p : "anonymous", (unsigned long long)v->start);
			return true;
		}
		if (is_glibc(p))
			continue;
		/* each object once: its first executable mapping decides the import check */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = m->v[j].perms[2] == 'x' && m->v[j].path && strcmp(m->v[j].path, p) == 0;
		if (!seen && imports_altstack(fa->mpid, p))
			return true;
		scanned += v->end - v->start;
		if (scanned > SCAN_MAX || has_syscall_insn(fa->mpid, v->start, v->end))
			return true;
	}
	return false;
}
