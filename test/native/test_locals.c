/* "locals" against test/fixtures/locals (built -O1 -g): inspect()'s
 * parameters and locals, formatted, with children,
 *   - as a caller frame (the fixture blocks in pause() below it): values in
 *     memory through the CFA, in callee-saved registers through the
 *     registers libdw recovered;
 *   - as frame 0, stopped at a breakpoint on the "// #LOCALS" line;
 * compared with the JSON line of values the fixture prints. Also the
 * errors: a frame past the stack, a running process, and main()'s frame. */
#include "support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/procfs.h"

static char fixture_bin[4096], fixture_src[4096];
static bool verbose;

/* Launch the fixture stopped at its exec; *outfd: its stdout. */
static pid_t launch(fk_tracer *fk, const char *mode, int *outfd)
{
	char *r = t_req(fk, "{'op':'launch','path':'%s','cwd':'/','argv':['%s','%s']}", fixture_bin, fixture_bin, mode);
	CHECK(t_has(r, "\"ok\":true"), "launch: %s", r);
	pid_t pid = (pid_t)t_num(r, "\"pid\":");
	*outfd = (int)t_num(r, "\"stdoutFd\":");
	CHECK(pid > 0 && *outfd > 0, "%s", r);
	free(r);
	return pid;
}

/* Read the fixture's output until `until` appears; returns the truth line. */
static void read_output(int fd, const char *until, char *out, size_t cap)
{
	size_t got = 0;
	out[0] = '\0';
	for (int i = 0; i < 200 && !strstr(out, until); i++) {
		ssize_t k = read(fd, out + got, cap - 1 - got);
		if (k > 0)
			out[got += (size_t)k] = '\0';
		else
			break;
	}
	CHECK(strstr(out, until) != NULL, "fixture output: %s", out);
}

/* The JSON object of variable `name` (at any depth): from its "name" key
 * to the end of its "value". Copied to buf. */
static const char *var(const char *json, const char *name, char *buf, size_t cap)
{
	char key[128];
	snprintf(key, sizeof key, "{\"name\":\"%s\",", name);
	const char *p = strstr(json, key);
	CHECK(p != NULL, "no variable %s in %s", name, json);
	const char *e = strstr(p, ",\"children\":");
	size_t n = e ? (size_t)(e - p) : strlen(p);
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

static void expect(const char *json, const char *name, const char *type, const char *value, const char *kind)
{
	char buf[2048], want[512];
	var(json, name, buf, sizeof buf);
	if (type) {
		snprintf(want, sizeof want, "\"type\":\"%s\"", type);
		CHECK(strstr(buf, want), "%s: want %s in %s", name, want, buf);
	}
	if (value) {
		snprintf(want, sizeof want, "\"value\":\"%s\"", value);
		CHECK(strstr(buf, want), "%s: want %s in %s", name, want, buf);
	}
	if (kind) {
		snprintf(want, sizeof want, "\"kind\":\"%s\"", kind);
		CHECK(strstr(buf, want), "%s: want %s in %s", name, want, buf);
	}
}

/* The typed raw value of a scalar and its size in bytes (kind NULL: none,
 * an aggregate). */
static void expect_raw(const char *json, const char *name, const char *kind, const char *value, int size)
{
	char buf[2048], want[512];
	var(json, name, buf, sizeof buf);
	if (!kind) {
		CHECK(!strstr(buf, "\"raw\":"), "%s: no raw value wanted: %s", name, buf);
		return;
	}
	snprintf(want, sizeof want, "\"raw\":{\"kind\":\"%s\",\"value\":\"%s\",\"size\":%d}", kind, value, size);
	CHECK(strstr(buf, want), "%s: want %s in %s", name, want, buf);
}

/* The checks shared by both stops. truth: the fixture's JSON line. */
static void check_inspect(const char *r, const char *truth)
{
	char want[256];
	CHECK(t_has(r, "\"ok\":true") && t_has(r, "\"function\":\"inspect\""), "%s", r);
	/* parameters, flagged */
	expect(r, "count", "int", "3", "param");
	snprintf(want, sizeof want, "0x%lx \\\"hello, locals\\\"",
		 (unsigned long)strtoul(strstr(truth, "\"msg\":\"") + 7, NULL, 16));
	expect(r, "label", "const char *", want, "param");
	snprintf(want, sizeof want, "0x%lx", (unsigned long)strtoul(strstr(truth, "\"origin\":\"") + 10, NULL, 16));
	expect(r, "origin", "struct point *", want, "param");
	expect(r, "block", "int", NULL, "param");
	/* base types */
	expect(r, "total", "int", "21", "local");
	expect(r, "mask", "unsigned int", "3735928562", "local");
	expect(r, "letter", "char", "68 'D'", "local");
	expect(r, "ratio", "double", "0.75", "local");
	expect(r, "flag", "_Bool", "true", "local");
	expect(r, "small", "short int", "-300", "local");
	expect(r, "big", "long int", "-3703703670369", "local");
	expect(r, "hue", "enum color", "BLUE", "local");
	/* their typed raw values: what conditions compare (never the display text) */
	expect_raw(r, "total", "int", "21", 4);
	expect_raw(r, "mask", "uint", "3735928562", 4);
	expect_raw(r, "letter", "int", "68", 1);
	expect_raw(r, "ratio", "float", "0.75", 8);
	expect_raw(r, "flag", "bool", "1", 1);
	expect_raw(r, "small", "int", "-300", 2);
	expect_raw(r, "big", "int", "-3703703670369", 8);
	expect_raw(r, "hue", "uint", "6", 4);
	snprintf(want, sizeof want, "0x%lx", (unsigned long)strtoul(strstr(truth, "\"origin\":\"") + 10, NULL, 16));
	expect_raw(r, "origin", "pointer", want, 8);
	/* arrays, with elements as children */
	expect(r, "numbers", "int [5]", "{3, 6, 9, 12, 15}", "local");
	expect(r, "[4]", "int", "15", "element");
	CHECK(t_has(r, "\"expr\":\"numbers[4]\""), "element expression: %s", r);
	expect(r, "name", "char [8]", "\\\"forkall\\\"", "local");
	/* structs: members as children, a summary value */
	expect(r, "pt", "struct point", "{x = 6, y = 1}", "local");
	expect_raw(r, "pt", NULL, NULL, 0);
	CHECK(t_has(r, "\"expr\":\"pt.y\""), "member expression: %s", r);
	expect(r, "bx", "struct box", "{corner = {x = -3, y = 0.5}, tag = 122 'z', depth = 7}", "local");
	expect(r, "num", "union number", "{i = 1078530011, f = 3.1415927}", "local");
	/* pointers: to a struct (members under it), to chars (a preview) */
	snprintf(want, sizeof want, "0x%lx", (unsigned long)strtoul(strstr(truth, "\"pp\":\"") + 6, NULL, 16));
	expect(r, "pp", "struct point *", want, "local");
	CHECK(t_has(r, "\"expr\":\"pp->x\""), "pointer member expression: %s", r);
	CHECK(t_has(r, "\"expr\":\"origin->y\",\"children\":null") || t_has(r, "\"expr\":\"origin->y\""),
	      "origin->y: %s", r);
	expect(r, "msg", "const char *", NULL, "local");
	expect(r, "*cursor", "int", "9", "deref");
	CHECK(t_has(r, "\"expr\":\"*cursor\""), "deref expression: %s", r);
	/* addresses: pt is in memory at what pp points to */
	char buf[2048];
	var(r, "pt", buf, sizeof buf);
	snprintf(want, sizeof want, "\"address\":\"0x%lx\"",
		 (unsigned long)strtoul(strstr(truth, "\"pp\":\"") + 6, NULL, 16));
	CHECK(strstr(buf, want), "pt's address is pp: %s vs %s", buf, want);
}

/* frameVars, typeInfo, typedValue (C expressions) at the frame-0 stop:
 * pt is where locals says, its type's layout is struct point's, and the
 * typed value at its address reads as locals formats it. */
static void check_expr_ops(fk_tracer *fk, pid_t pid, const char *locals)
{
	char *r = t_req(fk, "{'op':'frameVars','pid':%d,'tid':%d,'frame':0}", pid, pid);
	if (verbose)
		fprintf(stderr, "frameVars: %s\n", r);
	CHECK(t_has(r, "\"function\":\"inspect\"") && t_has(r, "{\"name\":\"count\",\"kind\":\"param\",\"type\":\""),
	      "frameVars: %s", r);
	const char *key = "{\"name\":\"pt\",\"kind\":\"local\",\"type\":\"";
	const char *pt = strstr(r, key);
	CHECK(pt != NULL, "frameVars has pt: %s", r);
	char id[64];
	CHECK(sscanf(pt + strlen(key), "%63[0-9a-f:]", id) == 1, "pt's type id: %s", pt);
	const char *at = strstr(pt, "\"address\":\"0x");
	CHECK(at && at < strchr(pt, '}'), "pt is in memory: %s", pt);
	unsigned long long addr = strtoull(at + 13, NULL, 16);
	char buf[2048], want[128];
	var(locals, "pt", buf, sizeof buf);
	snprintf(want, sizeof want, "\"address\":\"0x%llx\"", addr);
	CHECK(strstr(buf, want), "frameVars and locals agree on pt's address: %s vs %s", want, buf);
	free(r);
	r = t_req(fk, "{'op':'typeInfo','pid':%d,'id':'%s'}", pid, id);
	CHECK(t_has(r, "\"name\":\"struct point\",\"kind\":\"struct\"") && t_has(r, "{\"name\":\"x\",") &&
		      t_has(r, "\"offset\":8}") && t_has(r, "\"size\":16"),
	      "struct point's layout: %s", r);
	free(r);
	r = t_req(fk, "{'op':'typeInfo','pid':%d,'name':'color','tag':'enum'}", pid);
	CHECK(t_has(r, "{\"name\":\"GREEN\",\"value\":\"5\"}"), "enum color by name: %s", r);
	free(r);
	r = t_req(fk, "{'op':'typeInfo','pid':%d,'name':'BLUE','tag':'enumerator'}", pid);
	CHECK(t_has(r, "\"name\":\"enum color\""), "the enum of BLUE: %s", r);
	free(r);
	r = t_req(fk, "{'op':'typedValue','pid':%d,'type':'%s','address':'0x%llx','name':'q','expr':'(q)'}", pid, id,
		  addr);
	CHECK(t_has(r, "\"value\":\"{x = 6, y = 1}\"") && t_has(r, "\"expr\":\"(q).y\""), "typedValue of pt: %s", r);
	free(r);
	r = t_req(fk, "{'op':'typeInfo','pid':%d,'id':'1:2'}", pid);
	CHECK(t_has(r, "\"ok\":false") && t_has(r, "no type 1:2"), "a bad id: %s", r);
	free(r);
}

static int frame_of(const char *stack, const char *fn)
{
	char key[128];
	snprintf(key, sizeof key, "\"function\":\"%s\"", fn);
	const char *p = strstr(stack, key);
	CHECK(p != NULL, "no %s in %s", fn, stack);
	int idx = -1;
	for (const char *q = stack; (q = strstr(q, "{\"pc\":")) != NULL && q < p; q++)
		idx++;
	return idx;
}

/* Let the fixture reach pause() (its leader sleeping). */
static void wait_sleeping(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		struct proc_task_stat st;
		if (proc_task_stat(pid, pid, &st) == 0 && st.state == 'S')
			return;
		usleep(5000);
	}
}

/* A struct in pieces of two callee-saved registers (test/fixtures/pieces.c),
 * read as main's local, a caller frame: DW_OP_piece put together from the
 * registers the unwinder recovered. */
static void test_pieces(fk_tracer *fk)
{
	pid_t pid = t_spawn_fixture("pieces", NULL);
	char *r = t_req(fk, "{'op':'attach','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":true"), "attach pieces: %s", r);
	free(r);
	wait_sleeping(pid);
	r = t_req(fk, "{'op':'stop','pid':%d}", pid);
	free(r);
	char *stack = t_req(fk, "{'op':'stack','pid':%d,'tid':%d}", pid, pid);
	int mi = frame_of(stack, "main");
	free(stack);
	r = t_req(fk, "{'op':'locals','pid':%d,'tid':%d,'frame':%d}", pid, pid, mi);
	if (verbose)
		fprintf(stderr, "pieces, main (frame %d): %s\n", mi, r);
	expect(r, "p", "struct pair", "{a = 41, b = 7}", "local");
	expect_raw(r, "a", "int", "41", 8);
	expect_raw(r, "b", "int", "7", 8);
	free(r);
	r = t_req(fk, "{'op':'kill','pid':%d}", pid);
	free(r);
}

int main(void)
{
	const char *fx = getenv("FK_FIXTURES");
	if (!fx) {
		printf("test_locals: skipped (FK_FIXTURES not set; run through make check)\n");
		return 77;
	}
	verbose = getenv("FK_VERBOSE") && *getenv("FK_VERBOSE") == '1';
	snprintf(fixture_bin, sizeof fixture_bin, "%s/locals", fx);
	snprintf(fixture_src, sizeof fixture_src, "%s/../locals.c", fx);
	char err[256];
	fk_tracer *fk = fk_open(err, sizeof err);
	CHECK(fk != NULL, "fk_open: %s", err);

	/* 1. inspect() as a caller frame: the fixture blocks in pause() */
	int outfd;
	pid_t pid = launch(fk, "block", &outfd);
	char *r = t_req(fk, "{'op':'locals','pid':%d,'tid':%d,'frame':%d}", pid, pid, 0);
	CHECK(t_has(r, "\"ok\":true") && t_has(r, "\"variables\":["), "locals at the exec stop (no DWARF): %s", r);
	free(r);
	r = t_req(fk, "{'op':'resume','pid':%d}", pid);
	free(r);
	char out[8192];
	read_output(outfd, "READY", out, sizeof out);
	char truth[sizeof out];
	snprintf(truth, sizeof truth, "%s", out);
	r = t_req(fk, "{'op':'locals','pid':%d,'tid':%d,'frame':%d}", pid, pid, 0);
	CHECK(t_has(r, "\"ok\":false") && t_has(r, "not stopped"), "locals while running: %s", r);
	free(r);
	wait_sleeping(pid);
	r = t_req(fk, "{'op':'stop','pid':%d}", pid);
	free(r);
	char *stack = t_req(fk, "{'op':'stack','pid':%d,'tid':%d}", pid, pid);
	int fi = frame_of(stack, "inspect"), mi = frame_of(stack, "main");
	CHECK(fi >= 1 && mi == fi + 1, "frames: %s", stack);
	free(stack);
	r = t_req(fk, "{'op':'locals','pid':%d,'tid':%d,'frame':%d}", pid, pid, fi);
	if (verbose)
		fprintf(stderr, "caller frame %d: %s\n", fi, r);
	check_inspect(r, truth);
	free(r);
	r = t_req(fk, "{'op':'locals','pid':%d,'tid':%d,'frame':%d}", pid, pid, mi);
	if (verbose)
		fprintf(stderr, "main: %s\n", r);
	/* -O1: main's argc is dead after the call (a DW_OP_entry_value) */
	CHECK(t_has(r, "\"function\":\"main\"") && t_has(r, "{\"name\":\"argc\",\"type\":\"int\",") &&
		      t_has(r, "{\"name\":\"argv\",\"type\":\"char **\","),
	      "main's frame: %s", r);
	free(r);
	/* file scope for expressions: names by prefix (DWARF and ELF symbols), a function as a value */
	r = t_req(fk, "{'op':'globalNames','pid':%d,'prefix':'inspe','max':5}", pid);
	CHECK(t_has(r, "\"names\":[\"inspect\"]") && t_has(r, "\"more\":false"), "globalNames inspe: %s", r);
	free(r);
	r = t_req(fk, "{'op':'globalNames','pid':%d,'prefix':'p','max':3}", pid);
	CHECK(t_has(r, "\"more\":true"), "globalNames p (libc has more than 3): %s", r);
	free(r);
	r = t_req(fk, "{'op':'globalNames','pid':%d,'prefix':'pagesiz'}", pid);
	CHECK(t_has(r, "\"ok\":true") && !t_has(r, "."), "C identifiers only (glibc's symtab has pagesize.0): %s", r);
	free(r);
	r = t_req(fk, "{'op':'fileScope','pid':%d,'name':'inspect'}", pid);
	CHECK(t_has(r, "\"type\":\"int (int, const char *, struct point *, int)\"") && t_has(r, "\"constants\":[]"),
	      "fileScope inspect: %s", r);
	free(r);
	r = t_req(fk, "{'op':'fileScope','pid':%d,'name':'no_such_name'}", pid);
	CHECK(t_has(r, "\"functions\":[],\"constants\":[]"), "fileScope of nothing: %s", r);
	free(r);
	/* every frame answers: libc's with or without its debuginfo installed
	 * (without: no variables and a note) */
	for (int k = 0; k <= mi + 2; k++) {
		r = t_req(fk, "{'op':'locals','pid':%d,'tid':%d,'frame':%d}", pid, pid, k);
		CHECK((t_has(r, "\"ok\":true") && (t_has(r, "\"note\":null") || t_has(r, "\"variables\":[]"))) ||
			      t_has(r, "no frame"),
		      "frame %d: %s", k, r);
		if (verbose)
			fprintf(stderr, "frame %d: %.300s\n", k, r);
		free(r);
	}
	r = t_req(fk, "{'op':'locals','pid':%d,'tid':%d,'frame':%d}", pid, pid, 200);
	CHECK(t_has(r, "\"ok\":false") && t_has(r, "no frame 200"), "frame past the stack: %s", r);
	free(r);
	r = t_req(fk, "{'op':'kill','pid':%d}", pid);
	free(r);
	close(outfd);

	/* 2. frame 0 at a breakpoint on the #LOCALS line */
	pid = launch(fk, "run", &outfd);
	int line = t_marker(fixture_src, "LOCALS");
	r = t_req(fk, "{'op':'symbols','pid':%d,'file':'locals.c','line':%d}", pid, line);
	const char *a = strstr(r, "\"addresses\":[\"");
	CHECK(a != NULL, "address of locals.c:%d: %s", line, r);
	uint64_t addr = strtoull(a + 14, NULL, 16);
	free(r);
	r = t_req(fk, "{'op':'bpInsert','pid':%d,'addr':'0x%llx'}", pid, (unsigned long long)addr);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'resume','pid':%d}", pid);
	free(r);
	char *ev = t_wait_message(fk, "\"reason\":\"breakpoint\"", 200);
	CHECK(ev != NULL, "breakpoint at locals.c:%d not hit", line);
	free(ev);
	read_output(outfd, "\"origin\"", out, sizeof out);
	r = t_req(fk, "{'op':'locals','pid':%d,'tid':%d,'frame':%d}", pid, pid, 0);
	if (verbose)
		fprintf(stderr, "frame 0: %s\n", r);
	check_inspect(r, out);
	check_expr_ops(fk, pid, r);
	free(r);
	r = t_req(fk, "{'op':'kill','pid':%d}", pid);
	free(r);
	close(outfd);
	test_pieces(fk);
	fk_close(fk);
	printf("test_locals: ok\n");
	return 0;
}
