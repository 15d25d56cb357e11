#include "support.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/procfs.h"

static pid_t children[16];
static int nchildren;

void t_kill_children(void)
{
	for (int i = 0; i < nchildren; i++) {
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			/* __WNOTHREAD: never take the ptrace stops that belong to
			 * the tracer thread (a sibling of ours). */
			waitpid(children[i], NULL, __WNOTHREAD);
			children[i] = 0;
		}
	}
	nchildren = 0;
}

void t_fail(void)
{
	t_kill_children();
	exit(1);
}

static void *sleeper(void *arg)
{
	long kind = (long)arg;
	if (kind % 3 == 0) {
		for (;;) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	} else if (kind % 3 == 1) {
		static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
		static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
		pthread_mutex_lock(&m);
		for (;;)
			pthread_cond_wait(&c, &m);
	} else {
		int fds[2];
		if (pipe(fds) < 0)
			_exit(99);
		char b;
		for (;;)
			if (read(fds[0], &b, 1) < 0 && errno != EINTR)
				_exit(99);
	}
	return NULL;
}

pid_t t_spawn_threads(int n)
{
	int p[2];
	if (pipe(p) < 0)
		exit(99);
	pid_t pid = fork();
	if (pid < 0)
		exit(99);
	if (pid == 0) {
		close(p[0]);
		for (long i = 0; i < n; i++) {
			pthread_t t;
			pthread_attr_t a;
			pthread_attr_init(&a);
			pthread_attr_setstacksize(&a, 64 * 1024);
			if (pthread_create(&t, &a, sleeper, (void *)i) != 0)
				_exit(99);
		}
		if (write(p[1], "R", 1) != 1)
			_exit(99);
		for (;;)
			pause();
	}
	close(p[1]);
	char b;
	if (read(p[0], &b, 1) != 1)
		exit(99);
	close(p[0]);
	if (nchildren < 16)
		children[nchildren++] = pid;
	/* let the threads reach their blocking calls */
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	return pid;
}

pid_t t_spawn_fixture(const char *name, const char *const *args)
{
	const char *dir = getenv("FK_FIXTURES");
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir ? dir : "../test/fixtures/build", name);
	const char *argv[16] = { path };
	size_t n = 1;
	for (; args && args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	int p[2];
	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		if (dup2(p[1], 1) < 0)
			_exit(99);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	if (nchildren < 16)
		children[nchildren++] = pid;
	char line[64];
	size_t len = 0;
	while (len < sizeof line - 1) {
		ssize_t r = read(p[0], line + len, 1);
		if (r < 0 && errno == EINTR)
			continue;
		CHECK(r == 1, "%s exited before READY", path);
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	close(p[0]);
	CHECK(strcmp(line, "READY") == 0, "%s printed \"%s\", not READY", path, line);
	return pid;
}

bool t_exited(pid_t pid, int *status)
{
	return waitpid(pid, status, WNOHANG | __WNOTHREAD) == pid;
}

static int64_t vsubmit(fk_tracer *fk, const char *fmt, va_list ap, char *shown, size_t shownlen)
{
	char q[1024];
	snprintf(q, sizeof q, "%s", fmt);
	for (char *c = q; *c; c++)
		if (*c == '\'')
			*c = '"';
	char text[8192];
	int n = vsnprintf(text, sizeof text, q, ap);
	CHECK(n > 0 && (size_t)n < sizeof text, "request too long: %s", fmt);
	size_t k = (size_t)n < shownlen - 1 ? (size_t)n : shownlen - 1;
	memcpy(shown, text, k);
	shown[k] = '\0';
	int64_t id = fk_request(fk, text, (uint64_t)n);
	CHECK(id > 0, "fk_request(%s): %lld", text, (long long)id);
	return id;
}

int64_t t_submit(fk_tracer *fk, const char *fmt, ...)
{
	char shown[256];
	va_list ap;
	va_start(ap, fmt);
	int64_t id = vsubmit(fk, fmt, ap, shown, sizeof shown);
	va_end(ap);
	return id;
}

char *t_req(fk_tracer *fk, const char *fmt, ...)
{
	char shown[256];
	va_list ap;
	va_start(ap, fmt);
	int64_t id = vsubmit(fk, fmt, ap, shown, sizeof shown);
	va_end(ap);
	return t_result(fk, id);
}

char *t_result(fk_tracer *fk, int64_t id)
{
	char idkey[64];
	snprintf(idkey, sizeof idkey, "\"type\":\"result\",\"id\":%lld,", (long long)id);
	for (;;) {
		int32_t w = fk_wait(fk, 30000);
		CHECK(w == 1, "no result for request %lld within 30 s (fk_wait=%d)", (long long)id, w);
		int64_t len = fk_next_message(fk, NULL, 0);
		CHECK(len < 0, "expected a pending message");
		char *buf = malloc((size_t)-len + 1);
		CHECK(buf != NULL, "malloc");
		int64_t got = fk_next_message(fk, (uint8_t *)buf, (uint64_t)-len);
		CHECK(got == -len, "message length changed");
		buf[got] = '\0';
		if (strstr(buf, idkey))
			return buf;
		if (getenv("FK_TEST_VERBOSE"))
			fprintf(stderr, "%s\n", buf);
		free(buf);
	}
}

bool t_has(const char *json, const char *needle)
{
	return strstr(json, needle) != NULL;
}

int t_count(const char *json, const char *needle)
{
	int c = 0;
	size_t nl = strlen(needle);
	for (const char *p = json; (p = strstr(p, needle)) != NULL; p += nl)
		c++;
	return c;
}

char *t_wait_message(fk_tracer *fk, const char *what, int tenths)
{
	for (int i = 0; i < tenths; i++) {
		if (fk_wait(fk, 100) != 1)
			continue;
		int64_t len = fk_next_message(fk, NULL, 0);
		if (len >= 0)
			continue;
		char *buf = malloc((size_t)-len + 1);
		CHECK(buf != NULL, "malloc");
		CHECK(fk_next_message(fk, (uint8_t *)buf, (uint64_t)-len) == -len, "message");
		buf[-len] = '\0';
		if (strstr(buf, what))
			return buf;
		free(buf);
	}
	return NULL;
}

long t_num(const char *json, const char *key)
{
	const char *p = strstr(json, key);
	return p ? strtol(p + strlen(key), NULL, 0) : -1;
}

int t_marker(const char *src, const char *name)
{
	FILE *f = fopen(src, "r");
	CHECK(f != NULL, "open %s: %s", src, strerror(errno));
	char buf[512], want[64];
	snprintf(want, sizeof want, "// #%s", name);
	size_t wl = strlen(want);
	for (int line = 1; fgets(buf, sizeof buf, f); line++) {
		const char *m = strstr(buf, want);
		if (m && (m[wl] == '\n' || m[wl] == '\0' || m[wl] == ' ')) {
			fclose(f);
			return line;
		}
	}
	fclose(f);
	CHECK(0, "no marker %s in %s", name, src);
	return 0;
}

bool t_all_running_untraced(pid_t pid)
{
	pid_t *tids = NULL;
	size_t n = 0;
	if (proc_list_tasks(pid, &tids, &n) < 0)
		return false;
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		char path[96], buf[4096];
		snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tids[i]);
		if (proc_read_file(path, buf, sizeof buf) < 0)
			continue;
		char *tp = strstr(buf, "TracerPid:");
		char *st = strstr(buf, "State:");
		if ((tp && strtol(tp + 10, NULL, 10) != 0) ||
		    (st && (strstr(st, "t (tracing stop)") == st + 7 || strstr(st, "T (stopped)") == st + 7))) {
			fprintf(stderr, "task %d of %d: still traced or stopped\n", (int)tids[i], (int)pid);
			ok = false;
		}
	}
	free(tids);
	return ok;
}
