#include "debuginfo/elfsym.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct object {
	char *path;
	uint64_t map_start; /* mapping with file offset 0 */
	bool loaded, failed;
	uint64_t bias;
	Elf64_Sym *syms;
	size_t nsyms;
	char *strs;
	size_t strsz;
};

struct elfsyms {
	pid_t pid;
	struct object *objs;
	size_t n;
};

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

struct elfsyms *elfsyms_new(pid_t pid, const struct vma_list *maps)
{
	struct elfsyms *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->pid = pid;
	s->objs = calloc(maps->n ? maps->n : 1, sizeof *s->objs);
	if (!s->objs) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < maps->n; i++) {
		const struct vma *m = &maps->v[i];
		if (m->offset != 0 || m->path[0] != '/' || m->inode == 0)
			continue;
		bool dup = false;
		for (size_t j = 0; j < s->n; j++)
			if (strcmp(s->objs[j].path, m->path) == 0)
				dup = true;
		if (dup)
			continue;
		s->objs[s->n].path = strdup(m->path);
		if (!s->objs[s->n].path)
			continue;
		s->objs[s->n].map_start = m->start;
		s->n++;
	}
	return s;
}

void elfsyms_free(struct elfsyms *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->objs[i].path);
		free(s->objs[i].syms);
		free(s->objs[i].strs);
	}
	free(s->objs);
	free(s);
}

static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int load_object(pid_t pid, struct object *o)
{
	char path[4200];
	snprintf(path, sizeof path, "/proc/%d/root%s", (int)pid, o->path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = -EINVAL;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL;
	Elf64_Phdr *ph = NULL;
	if (pread_all(fd, &eh, sizeof eh, 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr))
		goto out;
	ph = calloc(eh.e_phnum ? eh.e_phnum : 1, sizeof *ph);
	sh = calloc(eh.e_shnum ? eh.e_shnum : 1, sizeof *sh);
	if (!ph || !sh) {
		rc = -ENOMEM;
		goto out;
	}
	if (pread_all(fd, ph, eh.e_phnum * sizeof *ph, (off_t)eh.e_phoff) < 0 ||
	    pread_all(fd, sh, eh.e_shnum * sizeof *sh, (off_t)eh.e_shoff) < 0)
		goto out;
	/* bias = where the offset-0 PT_LOAD landed minus its page-aligned vaddr */
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
			uint64_t align = ph[i].p_align > 1 ? ph[i].p_align : 4096;
			o->bias = o->map_start - (ph[i].p_vaddr & ~(align - 1));
			break;
		}
	}
	for (int i = 0; i < eh.e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh.e_shnum || sh[i].sh_entsize != sizeof(Elf64_Sym))
			continue;
		const Elf64_Shdr *ss = &sh[sh[i].sh_link];
		o->nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
		o->syms = malloc(sh[i].sh_size ? sh[i].sh_size : 1);
		o->strs = malloc(ss->sh_size + 1);
		if (!o->syms || !o->strs) {
			rc = -ENOMEM;
			goto out;
		}
		if (pread_all(fd, o->syms, sh[i].sh_size, (off_t)sh[i].sh_offset) < 0 ||
		    pread_all(fd, o->strs, ss->sh_size, (off_t)ss->sh_offset) < 0)
			goto out;
		o->strs[ss->sh_size] = '\0';
		o->strsz = ss->sh_size;
		rc = 0;
		break;
	}
	if (!o->syms)
		rc = -ENOENT;
out:
	if (rc < 0) {
		free(o->syms);
		free(o->strs);
		o->syms = NULL;
		o->strs = NULL;
		o->nsyms = 0;
	}
	free(ph);
	free(sh);
	close(fd);
	return rc;
}

static int lookup_in(struct elfsyms *s, struct object *o, const char *name, uint64_t *addr)
{
	if (!o->loaded) {
		o->loaded = true;
		o->failed = load_object(s->pid, o) < 0;
	}
	if (o->failed)
		return -ENOENT;
	for (size_t i = 0; i < o->nsyms; i++) {
		const Elf64_Sym *y = &o->syms[i];
		if (y->st_shndx == SHN_UNDEF || y->st_name >= o->strsz)
			continue;
		if (strcmp(o->strs + y->st_name, name) == 0) {
			*addr = o->bias + y->st_value;
			return 0;
		}
	}
	return -ENOENT;
}

int elfsyms_lookup(struct elfsyms *s, const char *prefer, const char *name, uint64_t *addr)
{
	size_t pl = prefer ? strlen(prefer) : 0;
	if (pl)
		for (size_t i = 0; i < s->n; i++)
			if (strncmp(base_name(s->objs[i].path), prefer, pl) == 0 &&
			    lookup_in(s, &s->objs[i], name, addr) == 0)
				return 0;
	for (size_t i = 0; i < s->n; i++)
		if (!(pl && strncmp(base_name(s->objs[i].path), prefer, pl) == 0) &&
		    lookup_in(s, &s->objs[i], name, addr) == 0)
			return 0;
	return -ENOENT;
}

const char *elfsyms_object_path(struct elfsyms *s, const char *prefix)
{
	size_t pl = strlen(prefix);
	for (size_t i = 0; i < s->n; i++)
		if (strncmp(base_name(s->objs[i].path), prefix, pl) == 0)
			return s->objs[i].path;
	return NULL;
}
