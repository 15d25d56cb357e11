#include "base/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t proc_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len + 1 < cap) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	close(fd);
	return (ssize_t)len;
}

int proc_list_tasks(pid_t pid, pid_t **tids, size_t *n)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	size_t cap = 64, cnt = 0;
	pid_t *v = malloc(cap * sizeof *v);
	if (!v) {
		closedir(d);
		return -ENOMEM;
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (cnt == cap) {
			pid_t *nv = realloc(v, 2 * cap * sizeof *v);
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap *= 2;
		}
		v[cnt++] = (pid_t)atoi(de->d_name);
	}
	int e = errno;
	closedir(d);
	if (e && cnt == 0) {
		free(v);
		return -e;
	}
	*tids = v;
	*n = cnt;
	return 0;
}

int proc_task_stat(pid_t pid, pid_t tid, struct proc_task_stat *out)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	ssize_t r = proc_read_file(path, buf, sizeof buf);
	if (r < 0)
		return (int)r;
	/* comm may contain spaces and ')': fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EINVAL;
	p += 2;
	memset(out, 0, sizeof *out);
	out->state = *p;
	/* field 3 is state; walk to 9 (flags), 14 (utime), 15 (stime), 26 (startcode),
	 * 28 (startstack), 48 (arg_start) */
	int field = 3;
	char *save = NULL;
	for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 9)
			out->flags = strtoul(tok, NULL, 10);
		else if (field == 14)
			out->utime = strtoull(tok, NULL, 10);
		else if (field == 15)
			out->stime = strtoull(tok, NULL, 10);
		else if (field == 26)
			out->start_code = strtoull(tok, NULL, 10);
		else if (field == 28)
			out->startstack = strtoull(tok, NULL, 10);
		else if (field == 48) {
			out->arg_start = strtoull(tok, NULL, 10);
			break;
		}
	}
	return 0;
}

int proc_task_comm(pid_t pid, pid_t tid, char *out, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	ssize_t r = proc_read_file(path, out, cap);
	if (r < 0) {
		if (cap)
			out[0] = '\0';
		return (int)r;
	}
	if (r > 0 && out[r - 1] == '\n')
		out[r - 1] = '\0';
	return 0;
}

/* The text after "key:" in /proc/PID/status, in buf. */
static int status_field(pid_t pid, const char *key, char *buf, size_t cap, const char **val)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	ssize_t r = proc_read_file(path, buf, cap);
	if (r < 0)
		return (int)r;
	size_t kl = strlen(key);
	for (char *line = buf; line && *line;) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			*val = line + kl + 1;
			return 0;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

int proc_status_long(pid_t pid, const char *key, long *out)
{
	char buf[4096];
	const char *v;
	int rc = status_field(pid, key, buf, sizeof buf, &v);
	if (rc == 0)
		*out = strtol(v, NULL, 10);
	return rc;
}

int proc_status_hex(pid_t pid, const char *key, uint64_t *out)
{
	char buf[4096];
	const char *v;
	int rc = status_field(pid, key, buf, sizeof buf, &v);
	if (rc == 0)
		*out = strtoull(v, NULL, 16);
	return rc;
}

bool proc_task_exists(pid_t pid, pid_t tid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d", (int)pid, (int)tid);
	return access(path, F_OK) == 0;
}

int proc_maps_read(pid_t pid, struct vma_list *out)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t cap = 128, n = 0;
	struct vma *v = malloc(cap * sizeof *v);
	char *line = NULL;
	size_t lcap = 0;
	int rc = 0;
	if (!v) {
		fclose(f);
		return -ENOMEM;
	}
	while (getline(&line, &lcap, f) > 0) {
		struct vma m = { 0 };
		int pos = 0;
		unsigned long long s, e, off, ino;
		char perms[8];
		if (sscanf(line, "%llx-%llx %4s %llx %*x:%*x %llu %n", &s, &e, perms, &off, &ino, &pos) < 5)
			continue;
		m.start = s;
		m.end = e;
		m.offset = off;
		m.inode = ino;
		memcpy(m.perms, perms, 4);
		m.perms[4] = '\0';
		char *p = line + pos;
		size_t pl = strlen(p);
		while (pl && (p[pl - 1] == '\n' || p[pl - 1] == ' '))
			p[--pl] = '\0';
		m.path = strdup(p);
		if (!m.path) {
			rc = -ENOMEM;
			break;
		}
		if (n == cap) {
			struct vma *nv = realloc(v, 2 * cap * sizeof *v);
			if (!nv) {
				free(m.path);
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap *= 2;
		}
		v[n++] = m;
	}
	free(line);
	fclose(f);
	out->v = v;
	out->n = n;
	if (rc) {
		proc_maps_free(out);
		return rc;
	}
	if (n == 0) {
		proc_maps_free(out);
		return -ESRCH; /* a process without mappings is gone (zombie) */
	}
	return 0;
}

void proc_maps_free(struct vma_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const struct vma *vma_find(const struct vma_list *l, uint64_t addr)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < l->v[mid].start)
			hi = mid;
		else if (addr >= l->v[mid].end)
			lo = mid + 1;
		else
			return &l->v[mid];
	}
	return NULL;
}

const struct vma *vma_below(const struct vma_list *l, const struct vma *m)
{
	if (m <= l->v)
		return NULL;
	const struct vma *b = m - 1;
	return b->end == m->start ? b : NULL;
}

int proc_vmflag_ranges(pid_t pid, struct vmflag_range **out, size_t *n)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	struct vmflag_range *v = NULL, cur = { 0 };
	size_t cnt = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	int rc = 0;
	while (getline(&line, &lcap, f) > 0) {
		unsigned long long s, e;
		int pos = 0;
		if (sscanf(line, "%llx-%llx %*4s %*x %*x:%*x %*u %n", &s, &e, &pos) == 2 && pos > 0) {
			cur.start = s;
			cur.end = e;
			cur.rss = 0;
			char *p = line + pos;
			size_t pl = strcspn(p, "\n");
			if (pl >= sizeof cur.path)
				pl = sizeof cur.path - 1;
			memcpy(cur.path, p, pl);
			cur.path[pl] = '\0';
			continue;
		}
		if (strncmp(line, "Rss:", 4) == 0) {
			cur.rss = strtoull(line + 4, NULL, 10) * 1024;
			continue;
		}
		if (strncmp(line, "VmFlags:", 8) != 0)
			continue;
		unsigned fl = 0;
		char *save = NULL;
		for (char *tok = strtok_r(line + 8, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			if (strcmp(tok, "dc") == 0)
				fl |= VMF_DONTFORK;
			else if (strcmp(tok, "wf") == 0)
				fl |= VMF_WIPEONFORK;
		}
		if (!fl)
			continue;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct vmflag_range *nv = realloc(v, nc * sizeof *nv);
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		cur.flags = fl;
		v[cnt++] = cur;
	}
	free(line);
	fclose(f);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

pid_t proc_live_tid(pid_t pid)
{
	struct proc_task_stat st;
	if (proc_task_stat(pid, pid, &st) == 0 && st.state != 'Z' && st.state != 'X')
		return pid;
	pid_t *tids = NULL;
	size_t n = 0;
	pid_t live = pid;
	if (proc_list_tasks(pid, &tids, &n) == 0) {
		for (size_t i = 0; i < n && live == pid; i++)
			if (tids[i] != pid && proc_task_stat(pid, tids[i], &st) == 0 && st.state != 'Z' &&
			    st.state != 'X')
				live = tids[i];
		free(tids);
	}
	return live;
}

enum proc_life proc_life(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (proc_read_file(path, buf, sizeof buf) < 0)
		return PROC_GONE;
	const char *st = strstr(buf, "State:\t");
	const char *th = strstr(buf, "Threads:\t");
	const char *pnd = strstr(buf, "SigPnd:\t");
	char state = st ? st[7] : '?';
	long threads = th ? strtol(th + 9, NULL, 10) : 0;
	unsigned long long pending = pnd ? strtoull(pnd + 8, NULL, 16) : 0;
	if (state == 'X' || (state == 'Z' && threads <= 1))
		return PROC_GONE;
	struct proc_task_stat leader;
	/* PF_EXITING 0x4, PF_POSTCOREDUMP 0x8, PF_SIGNALED 0x400 */
	bool exiting = proc_task_stat(pid, pid, &leader) == 0 && (leader.flags & 0x40c);
	if (state == 'Z' || exiting || (pending & (1ull << (SIGKILL - 1))))
		return PROC_DYING;
	return PROC_ALIVE;
}

/* status's "Name:" is escaped (the kernel's seq_escape_str with
 * ESCAPE_SPACE|ESCAPE_SPECIAL, plus '\n' and '\\'): back to the raw comm. */
static void unescape_name(const char *v, char *name, size_t cap)
{
	size_t n = 0;
	if (*v == '\t')
		v++;
	for (; *v && n + 1 < cap; v++) {
		char c = *v;
		if (c == '\\' && v[1]) {
			c = *++v;
			if (c >= '0' && c <= '7') {
				int o = 0;
				for (int k = 0; k < 3 && *v >= '0' && *v <= '7'; k++, v++)
					o = o * 8 + (*v - '0');
				v--;
				c = (char)o;
			} else {
				static const char from[] = "ntrfvae", to[] = "\n\t\r\f\v\a\033";
				const char *q = strchr(from, c);
				if (q)
					c = to[q - from];
			}
		}
		name[n++] = c;
	}
	name[n] = '\0';
}

int proc_task_creds(pid_t pid, pid_t tid, struct proc_creds *out)
{
	return proc_task_status(pid, tid, out, NULL, 0, NULL);
}

int proc_task_status(pid_t pid, pid_t tid, struct proc_creds *out, char *name, size_t namecap, char *state)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	ssize_t r = proc_read_file(path, buf, sizeof buf);
	if (r < 0)
		return (int)r;
	memset(out, 0, sizeof *out);
	int seen = 0;
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *v = strchr(line, ':');
		if (v) {
			*v++ = '\0';
			if (name && strcmp(line, "Name") == 0) {
				unescape_name(v, name, namecap);
			} else if (state && strcmp(line, "State") == 0) {
				*state = v[strspn(v, " \t")];
			} else if (strcmp(line, "Uid") == 0 || strcmp(line, "Gid") == 0) {
				uint32_t *dst = line[0] == 'U' ? out->uid : out->gid;
				for (int i = 0; i < 4; i++)
					dst[i] = (uint32_t)strtoul(v, &v, 10);
				seen++;
			} else if (strcmp(line, "Groups") == 0) {
				char *end;
				for (unsigned long g = strtoul(v, &end, 10); end != v; g = strtoul(v, &end, 10)) {
					v = end;
					if (out->ngroups < 0)
						continue;
					if (out->ngroups == PROC_MAX_GROUPS)
						out->ngroups = -1;
					else
						out->groups[out->ngroups++] = (uint32_t)g;
				}
			} else if (strncmp(line, "Cap", 3) == 0) {
				uint64_t x = strtoull(v, NULL, 16);
				if (strcmp(line, "CapInh") == 0)
					out->cap_inh = x;
				else if (strcmp(line, "CapPrm") == 0)
					out->cap_prm = x;
				else if (strcmp(line, "CapEff") == 0)
					out->cap_eff = x;
				else if (strcmp(line, "CapBnd") == 0)
					out->cap_bnd = x;
				else if (strcmp(line, "CapAmb") == 0)
					out->cap_amb = x;
			} else if (strcmp(line, "NoNewPrivs") == 0) {
				out->no_new_privs = atoi(v);
			} else if (strcmp(line, "Seccomp") == 0) {
				out->seccomp_mode = atoi(v);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return seen == 2 ? 0 : -EPROTO;
}
