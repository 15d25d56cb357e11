/* elfsym.c — the ELF reader (see elfsym.h): 64-bit ELF files read with
 * pread through glibc's <elf.h> types, no libelf. */
#include "debuginfo/elfsym.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "base/log.h"

struct object {
	char *path;
	uint64_t start, end; /* from its offset-0 mapping to the end of its last */
	bool has_inode;
	bool bias_known;
	uint64_t bias;
	/* .dynsym, for elfsyms_lookup */
	bool dyn_loaded;
	Elf64_Sym *dyn;
	size_t ndyn;
	char *dynstr;
	size_t dynstrsz;
	/* function symbols, sorted by address, for elfsyms_describe */
	bool fn_loaded;
	struct elfsym_func *syms;
	uint32_t *name_off; /* while loading: each name's offset in strs (strs grows) */
	size_t nsyms;
	char *strs;
	size_t strsz;
	/* PLT stubs named "sym@plt", sorted (none has a symbol of its own) */
	bool plt_loaded;
	struct elfsym_func *plt;
	size_t nplt;
	char *pltstrs;
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
		const struct vma *v = &maps->v[i];
		if (v->path[0] != '/')
			continue;
		if (v->offset == 0) {
			struct object *o = &s->objs[s->n];
			if (!(o->path = strdup(v->path)))
				continue;
			o->start = v->start;
			o->end = v->end;
			o->has_inode = v->inode != 0;
			s->n++;
			continue;
		}
		for (size_t j = s->n; j-- > 0;) {
			if (strcmp(s->objs[j].path, v->path) == 0) {
				if (v->end > s->objs[j].end)
					s->objs[j].end = v->end;
				break;
			}
		}
	}
	return s;
}

void elfsyms_free(struct elfsyms *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct object *o = &s->objs[i];
		free(o->path);
		free(o->dyn);
		free(o->dynstr);
		free(o->syms);
		free(o->name_off);
		free(o->strs);
		free(o->plt);
		free(o->pltstrs);
	}
	free(s->objs);
	free(s);
}

/* ---- one ELF file ---- */

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* shorter than its headers say */
		done += (size_t)r;
	}
	return 0;
}

struct elffile {
	int fd;
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	Elf64_Shdr *sh;
};

static void elf_close(struct elffile *f)
{
	free(f->ph);
	free(f->sh);
	if (f->fd >= 0)
		close(f->fd);
	memset(f, 0, sizeof *f);
	f->fd = -1;
}

/* 0, or -errno (-ENOEXEC: not a 64-bit ELF file). */
static int elf_open(struct elffile *f, const char *path)
{
	memset(f, 0, sizeof *f);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	Elf64_Ehdr *eh = &f->eh;
	int rc = pread_all(f->fd, eh, sizeof *eh, 0);
	if (rc == 0 &&
	    (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	     eh->e_phentsize != sizeof(Elf64_Phdr) || (eh->e_shnum && eh->e_shentsize != sizeof(Elf64_Shdr))))
		rc = -ENOEXEC;
	if (rc == 0) {
		f->ph = calloc(eh->e_phnum ? eh->e_phnum : 1, sizeof *f->ph);
		f->sh = calloc(eh->e_shnum ? eh->e_shnum : 1, sizeof *f->sh);
		if (!f->ph || !f->sh)
			rc = -ENOMEM;
	}
	if (rc == 0)
		rc = pread_all(f->fd, f->ph, eh->e_phnum * sizeof *f->ph, eh->e_phoff);
	if (rc == 0)
		rc = pread_all(f->fd, f->sh, eh->e_shnum * sizeof *f->sh, eh->e_shoff);
	if (rc < 0)
		elf_close(f);
	return rc;
}

/* The object's file as the process sees it (/proc/PID/root/…), else by its
 * path here. */
static int object_open(const struct elfsyms *s, struct object *o, struct elffile *f)
{
	char path[4200];
	snprintf(path, sizeof path, "/proc/%d/root%s", (int)s->pid, o->path);
	int rc = elf_open(f, path);
	if (rc < 0 && elf_open(f, o->path) < 0) {
		fk_debug("elf: %s: %s", path, strerror(-rc));
		return rc;
	}
	if (!o->bias_known) {
		/* bias = where the offset-0 PT_LOAD landed minus its page-aligned vaddr */
		const Elf64_Phdr *load = NULL;
		for (int i = 0; i < f->eh.e_phnum; i++) {
			if (f->ph[i].p_type != PT_LOAD)
				continue;
			if (!load)
				load = &f->ph[i];
			if (f->ph[i].p_offset == 0) {
				load = &f->ph[i];
				break;
			}
		}
		if (load) {
			uint64_t align = load->p_align > 1 ? load->p_align : 4096;
			o->bias = o->start - (load->p_vaddr & ~(align - 1));
		}
		o->bias_known = true;
	}
	return 0;
}

static int find_section(const struct elffile *f, uint32_t type)
{
	for (int i = 0; i < f->eh.e_shnum; i++)
		if (f->sh[i].sh_type == type)
			return i;
	return -1;
}

/* A symbol table (section idx) and its string table, malloc'ed. */
static int read_symtab(const struct elffile *f, int idx, Elf64_Sym **syms, size_t *n, char **strs, size_t *strsz)
{
	const Elf64_Shdr *sh = &f->sh[idx];
	if (sh->sh_entsize != sizeof(Elf64_Sym) || sh->sh_link >= f->eh.e_shnum)
		return -ENOEXEC;
	const Elf64_Shdr *ss = &f->sh[sh->sh_link];
	*n = sh->sh_size / sizeof(Elf64_Sym);
	*syms = malloc(*n ? *n * sizeof **syms : 1);
	*strs = malloc(ss->sh_size + 1);
	int rc = *syms && *strs ? 0 : -ENOMEM;
	if (rc == 0)
		rc = pread_all(f->fd, *syms, *n * sizeof **syms, sh->sh_offset);
	if (rc == 0)
		rc = pread_all(f->fd, *strs, ss->sh_size, ss->sh_offset);
	if (rc < 0) {
		free(*syms);
		free(*strs);
		*syms = NULL;
		*strs = NULL;
		*n = 0;
		return rc;
	}
	(*strs)[ss->sh_size] = '\0';
	*strsz = ss->sh_size;
	return 0;
}

/* /usr/lib/debug/.build-id/ab/cdef….debug from the NT_GNU_BUILD_ID note. */
static bool build_id_path(const struct elffile *f, char *out, size_t cap)
{
	for (int i = 0; i < f->eh.e_shnum; i++) {
		const Elf64_Shdr *sh = &f->sh[i];
		if (sh->sh_type != SHT_NOTE || sh->sh_size < 12 || sh->sh_size > 4096)
			continue;
		uint8_t buf[4096];
		if (pread_all(f->fd, buf, sh->sh_size, sh->sh_offset) < 0)
			continue;
		for (size_t p = 0; p + 12 <= sh->sh_size;) {
			uint32_t namesz, descsz, type;
			memcpy(&namesz, buf + p, 4);
			memcpy(&descsz, buf + p + 4, 4);
			memcpy(&type, buf + p + 8, 4);
			size_t name_off = p + 12, desc_off = name_off + ((namesz + 3u) & ~3u);
			if (desc_off + descsz > sh->sh_size)
				break;
			if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(buf + name_off, "GNU", 4) == 0 &&
			    descsz >= 2 && descsz <= 64) {
				int n = snprintf(out, cap, "/usr/lib/debug/.build-id/%02x/", buf[desc_off]);
				for (uint32_t k = 1; k < descsz && n > 0 && (size_t)n + 3 < cap; k++)
					n += snprintf(out + n, cap - (size_t)n, "%02x", buf[desc_off + k]);
				if (n > 0 && (size_t)n + 7 < cap) {
					strcpy(out + n, ".debug");
					return true;
				}
				return false;
			}
			p = desc_off + ((descsz + 3u) & ~3u);
		}
	}
	return false;
}

/* ---- .dynsym: name -> address ---- */

static void load_dynsym(struct elfsyms *s, struct object *o)
{
	if (o->dyn_loaded)
		return;
	o->dyn_loaded = true;
	struct elffile f;
	if (object_open(s, o, &f) < 0)
		return;
	int idx = find_section(&f, SHT_DYNSYM);
	int rc = idx < 0 ? -ENOENT : read_symtab(&f, idx, &o->dyn, &o->ndyn, &o->dynstr, &o->dynstrsz);
	if (rc < 0 && rc != -ENOENT)
		fk_debug("elf: %s: .dynsym: %s", o->path, strerror(-rc));
	elf_close(&f);
}

static int lookup_in(struct elfsyms *s, struct object *o, const char *name, uint64_t *addr)
{
	if (!o->has_inode)
		return -ENOENT;
	load_dynsym(s, o);
	for (size_t i = 0; i < o->ndyn; i++) {
		const Elf64_Sym *y = &o->dyn[i];
		if (y->st_shndx == SHN_UNDEF || y->st_name >= o->dynstrsz)
			continue;
		if (strcmp(o->dynstr + y->st_name, name) == 0) {
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
		if (s->objs[i].has_inode && strncmp(base_name(s->objs[i].path), prefix, pl) == 0)
			return s->objs[i].path;
	return NULL;
}

/* ---- function symbols: address -> function ---- */

/* Append the function symbols of section idx (SHT_SYMTAB or SHT_DYNSYM). */
static void add_functions(struct object *o, const struct elffile *f, int idx)
{
	Elf64_Sym *raw;
	size_t n, strsz;
	char *strs;
	int rc = read_symtab(f, idx, &raw, &n, &strs, &strsz);
	if (rc < 0) {
		fk_debug("elf: %s: symbol table: %s", o->path, strerror(-rc));
		return;
	}
	char *all = realloc(o->strs, o->strsz + strsz + 1);
	if (all)
		o->strs = all;
	struct elfsym_func *syms = all ? realloc(o->syms, (o->nsyms + n + 1) * sizeof *syms) : NULL;
	if (syms)
		o->syms = syms;
	uint32_t *offs = syms ? realloc(o->name_off, (o->nsyms + n + 1) * sizeof *offs) : NULL;
	if (offs) {
		o->name_off = offs;
		size_t base = o->strsz;
		memcpy(o->strs + base, strs, strsz + 1);
		o->strsz += strsz + 1;
		for (size_t i = 0; i < n; i++) {
			const Elf64_Sym *y = &raw[i];
			int type = ELF64_ST_TYPE(y->st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) || y->st_shndx == SHN_UNDEF ||
			    y->st_value == 0 || y->st_name >= strsz)
				continue;
			o->syms[o->nsyms].addr = y->st_value + o->bias;
			o->syms[o->nsyms].size = y->st_size;
			o->syms[o->nsyms].bind = (unsigned char)ELF64_ST_BIND(y->st_info);
			o->name_off[o->nsyms] = (uint32_t)(base + y->st_name);
			o->nsyms++;
		}
	}
	free(raw);
	free(strs);
}

static int cmp_func(const void *a, const void *b)
{
	const struct elfsym_func *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if ((x->size == 0) != (y->size == 0))
		return x->size == 0 ? 1 : -1; /* sized first */
	static const int rank[] = { [STB_GLOBAL] = 0, [STB_WEAK] = 1, [STB_LOCAL] = 2 };
	int rx = x->bind <= STB_WEAK ? rank[x->bind] : 3, ry = y->bind <= STB_WEAK ? rank[y->bind] : 3;
	return rx - ry; /* global names before weak and local aliases */
}

void elfsym_sort(struct elfsym_func *v, size_t n)
{
	if (n)
		qsort(v, n, sizeof *v, cmp_func);
}

const struct elfsym_func *elfsym_func_at(const struct elfsym_func *v, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct elfsym_func *y = &v[lo - 1];
	while (y > v && y[-1].addr == y->addr)
		y--; /* the first of its aliases (sized first) */
	if (y->size && addr >= y->addr + y->size)
		return NULL;
	return y;
}

static void load_functions(struct elfsyms *s, struct object *o)
{
	if (o->fn_loaded)
		return;
	o->fn_loaded = true;
	struct elffile f;
	if (object_open(s, o, &f) < 0)
		return;
	int idx = find_section(&f, SHT_SYMTAB);
	if (idx >= 0) {
		add_functions(o, &f, idx);
	} else {
		char path[4200];
		struct elffile d;
		if (build_id_path(&f, path, sizeof path) && elf_open(&d, path) == 0) {
			int di = find_section(&d, SHT_SYMTAB);
			if (di >= 0)
				add_functions(o, &d, di); /* same link-time addresses: same bias */
			elf_close(&d);
		}
		if (o->nsyms == 0 && (idx = find_section(&f, SHT_DYNSYM)) >= 0)
			add_functions(o, &f, idx);
	}
	elf_close(&f);
	for (size_t i = 0; i < o->nsyms; i++) /* strs is final: names can point into it */
		o->syms[i].name = o->strs + o->name_off[i];
	free(o->name_off);
	o->name_off = NULL;
	elfsym_sort(o->syms, o->nsyms);
}

const char *elfsyms_describe(struct elfsyms *s, uint64_t addr, struct elfsym_func *fn)
{
	if (fn)
		memset(fn, 0, sizeof *fn);
	for (size_t i = s->n; i-- > 0;) {
		struct object *o = &s->objs[i];
		if (addr < o->start || addr >= o->end)
			continue;
		if (fn) {
			load_functions(s, o);
			const struct elfsym_func *y = elfsym_func_at(o->syms, o->nsyms, addr);
			if (y)
				*fn = *y;
		}
		return o->path;
	}
	return NULL;
}

/* ---- PLT stubs: "printf@plt" ---- */

/* Section `name` (via .shstrtab), or -1. */
static int find_section_named(const struct elffile *f, const char *name)
{
	if (f->eh.e_shstrndx == SHN_UNDEF || f->eh.e_shstrndx >= f->eh.e_shnum)
		return -1;
	const Elf64_Shdr *str = &f->sh[f->eh.e_shstrndx];
	size_t want = strlen(name) + 1;
	char buf[32];
	if (want > sizeof buf)
		return -1;
	for (int i = 0; i < f->eh.e_shnum; i++) {
		uint32_t at = f->sh[i].sh_name;
		if (at + want > str->sh_size || pread_all(f->fd, buf, want, str->sh_offset + at) < 0)
			continue;
		if (memcmp(buf, name, want) == 0)
			return i;
	}
	return -1;
}

/* Every relocation that fills a PLT's GOT slot (arch_plt_reloc): slot ->
 * .dynsym index, from every SHT_RELA section tied to .dynsym. */
struct slot_sym {
	uint64_t slot;
	uint32_t sym;
};

static size_t read_slot_relocs(const struct elffile *f, struct slot_sym **out)
{
	*out = NULL;
	size_t n = 0, cap = 0;
	for (int i = 0; i < f->eh.e_shnum; i++) {
		const Elf64_Shdr *sh = &f->sh[i];
		if (sh->sh_type != SHT_RELA || sh->sh_entsize != sizeof(Elf64_Rela) || sh->sh_size > (64u << 20) ||
		    sh->sh_link >= f->eh.e_shnum || f->sh[sh->sh_link].sh_type != SHT_DYNSYM)
			continue;
		size_t k = sh->sh_size / sizeof(Elf64_Rela);
		Elf64_Rela *r = malloc(k ? k * sizeof *r : 1);
		if (!r || pread_all(f->fd, r, k * sizeof *r, sh->sh_offset) < 0) {
			free(r);
			continue;
		}
		for (size_t j = 0; j < k; j++) {
			if (!arch_plt_reloc((uint32_t)ELF64_R_TYPE(r[j].r_info)) || !ELF64_R_SYM(r[j].r_info))
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct slot_sym *v = realloc(*out, nc * sizeof *v);
				if (!v)
					break;
				*out = v;
				cap = nc;
			}
			(*out)[n++] = (struct slot_sym){ r[j].r_offset, (uint32_t)ELF64_R_SYM(r[j].r_info) };
		}
		free(r);
	}
	return n;
}

/* .plt, .plt.sec and .plt.got: each entry whose jump goes through a slot a
 * relocation names gets "name@plt" (as objdump and gdb call them). */
static void load_plt(struct elfsyms *s, struct object *o)
{
	if (o->plt_loaded)
		return;
	o->plt_loaded = true;
	load_dynsym(s, o);
	struct elffile f;
	if (!o->ndyn || object_open(s, o, &f) < 0)
		return;
	struct slot_sym *rel = NULL;
	size_t nrel = read_slot_relocs(&f, &rel);
	static const char *const secs[] = { ".plt", ".plt.sec", ".plt.got" };
	size_t cap = 0, strcap = 0, strsz = 0;
	for (size_t si = 0; si < sizeof secs / sizeof *secs && nrel; si++) {
		int idx = find_section_named(&f, secs[si]);
		if (idx < 0 || f.sh[idx].sh_type != SHT_PROGBITS || f.sh[idx].sh_size > (16u << 20))
			continue;
		const Elf64_Shdr *sh = &f.sh[idx];
		size_t ent = sh->sh_entsize >= 8 && sh->sh_entsize <= 32 ? sh->sh_entsize : 16;
		uint8_t *code = malloc(sh->sh_size ? sh->sh_size : 1);
		if (!code || pread_all(f.fd, code, sh->sh_size, sh->sh_offset) < 0) {
			free(code);
			continue;
		}
		for (uint64_t off = 0; off + ent <= sh->sh_size; off += ent) {
			uint64_t slot;
			if (!arch_plt_slot(code + off, ent, sh->sh_addr + off, &slot))
				continue;
			const struct slot_sym *hit = NULL;
			for (size_t k = 0; k < nrel && !hit; k++)
				if (rel[k].slot == slot)
					hit = &rel[k];
			if (!hit || hit->sym >= o->ndyn || o->dyn[hit->sym].st_name >= o->dynstrsz)
				continue;
			const char *nm = o->dynstr + o->dyn[hit->sym].st_name;
			size_t len = strlen(nm) + sizeof "@plt";
			if (o->nplt == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct elfsym_func *v = realloc(o->plt, nc * sizeof *v);
				if (!v)
					break;
				o->plt = v;
				cap = nc;
			}
			if (strsz + len > strcap) {
				size_t nc = (strcap ? strcap * 2 : 4096) + len;
				char *v = realloc(o->pltstrs, nc);
				if (!v)
					break;
				o->pltstrs = v;
				strcap = nc;
			}
			snprintf(o->pltstrs + strsz, len, "%s@plt", nm);
			/* names as offsets until the buffer stops moving */
			o->plt[o->nplt++] = (struct elfsym_func){ .addr = sh->sh_addr + off + o->bias,
								  .size = ent,
								  .name = (const char *)(uintptr_t)strsz,
								  .bind = STB_GLOBAL };
			strsz += len;
		}
		free(code);
	}
	for (size_t i = 0; i < o->nplt; i++)
		o->plt[i].name = o->pltstrs + (uintptr_t)o->plt[i].name;
	elfsym_sort(o->plt, o->nplt);
	free(rel);
	elf_close(&f);
}

bool elfsyms_plt_at(struct elfsyms *s, uint64_t addr, struct elfsym_func *fn)
{
	for (size_t i = s->n; i-- > 0;) {
		struct object *o = &s->objs[i];
		if (addr < o->start || addr >= o->end)
			continue;
		if (!o->has_inode)
			return false;
		load_plt(s, o);
		const struct elfsym_func *y = elfsym_func_at(o->plt, o->nplt, addr);
		if (!y)
			return false;
		*fn = *y;
		return true;
	}
	return false;
}

void elfsyms_each_function(struct elfsyms *s, void (*fn)(const struct elfsym_func *f, void *arg), void *arg)
{
	for (size_t i = 0; i < s->n; i++) {
		struct object *o = &s->objs[i];
		load_functions(s, o);
		for (size_t k = 0; k < o->nsyms; k++)
			fn(&o->syms[k], arg);
	}
}
