/* base/jsonread: the request reader, byte by byte. Runs plain and under
 * ASan/UBSan (make check-asan): every rejected input must be rejected
 * without reading past its end. */
#include "support.h"

#include "base/jsonread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_checks;

/* Parse from an exact-size heap copy: ASan catches any read past the end. */
static int parse_exact(struct jr_doc *d, const char *text, size_t len, char *err, size_t errlen)
{
	char *copy = malloc(len ? len : 1);
	CHECK(copy != NULL, "malloc");
	memcpy(copy, text, len);
	int rc = jr_parse(d, copy, len, err, errlen);
	free(copy); /* the tree must not point into the text */
	return rc;
}

static void ok(const char *text)
{
	struct jr_doc d;
	char err[200];
	n_checks++;
	CHECK(parse_exact(&d, text, strlen(text), err, sizeof err) == 0, "should parse: %s (%s)", text, err);
	jr_free(&d);
}

static void bad_n(const char *text, size_t len, const char *why)
{
	struct jr_doc d;
	char err[200] = "";
	n_checks++;
	CHECK(parse_exact(&d, text, len, err, sizeof err) < 0, "should be rejected: %.*s", (int)len, text);
	CHECK(d.root == NULL && d.blocks == NULL, "failed parse left a tree");
	CHECK(strstr(err, why) != NULL, "%.*s: message \"%s\" does not say \"%s\"", (int)len, text, err, why);
}

static void bad(const char *text, const char *why)
{
	bad_n(text, strlen(text), why);
}

static const struct jr_value *root(struct jr_doc *d, const char *text)
{
	char err[200];
	CHECK(parse_exact(d, text, strlen(text), err, sizeof err) == 0, "%s: %s", text, err);
	return d->root;
}

static void test_grammar(void)
{
	ok("{}");
	ok("[]");
	ok(" \t\r\n{ \"a\" : [ 1 , -2.5e+3 , true , false , null , \"x\" , { } ] } \n");
	ok("0");
	ok("-0");
	ok("\"\"");
	ok("1E9");
	bad("", "empty");
	bad("   ", "unexpected end");
	bad("{", "member name");
	bad("{\"a\"", "expected ':'");
	bad("{\"a\":", "unexpected end");
	bad("{\"a\":1", "unterminated object");
	bad("{\"a\":1,}", "member name");
	bad("[1,]", "unexpected character ']'");
	bad("[1 2]", "expected ',' or ']'");
	bad("[", "unexpected end");
	bad("{'a':1}", "member name");
	bad("{a:1}", "member name");
	bad("01", "leading zero");
	bad("-", "expected a digit");
	bad("1.", "after '.'");
	bad(".5", "unexpected character");
	bad("1e", "exponent");
	bad("+1", "unexpected character");
	bad("NaN", "unexpected character");
	bad("tru", "unexpected character");
	bad("nul", "unexpected character");
	bad("{} x", "after the value");
	bad("{}{}", "after the value");
	bad("{\"a\":1,\"a\":2}", "duplicate member \"a\"");
	bad("// c\n{}", "unexpected character '/'");
	bad_n("{\"a\":1}\0", 8, "after the value");
	bad_n("[1", 2, "unterminated array");
	/* nesting */
	char deep[2 * JR_MAX_DEPTH + 8];
	size_t k = 0;
	for (int i = 0; i < JR_MAX_DEPTH; i++)
		deep[k++] = '[';
	for (int i = 0; i < JR_MAX_DEPTH; i++)
		deep[k++] = ']';
	deep[k] = 0;
	ok(deep);
	k = 0;
	for (int i = 0; i < JR_MAX_DEPTH + 1; i++)
		deep[k++] = '[';
	for (int i = 0; i < JR_MAX_DEPTH + 1; i++)
		deep[k++] = ']';
	deep[k] = 0;
	bad(deep, "nested deeper than 64");
	/* deep and unterminated: fails on depth, never overflows the stack */
	static char deeper[100000];
	memset(deeper, '[', sizeof deeper);
	bad_n(deeper, sizeof deeper, "nested deeper");
}

static void str_is(const char *json, const char *want, size_t wantlen)
{
	struct jr_doc d;
	const struct jr_value *v = root(&d, json);
	n_checks++;
	CHECK(v->type == JR_STRING, "%s: not a string", json);
	CHECK(v->len == wantlen && memcmp(v->str, want, wantlen) == 0 && v->str[wantlen] == 0,
	      "%s: decoded to \"%.*s\" (%zu bytes)", json, (int)v->len, v->str, v->len);
	jr_free(&d);
}

static void test_strings(void)
{
	str_is("\"abc\"", "abc", 3);
	str_is("\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d", 7);
	str_is("\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", 5);
	str_is("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6);
	str_is("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);			 /* U+1F600 from a pair */
	str_is("\"\xf0\x9f\x98\x80 \xc3\xa9\"", "\xf0\x9f\x98\x80 \xc3\xa9", 7); /* raw UTF-8 */
	str_is("\"\xf4\x8f\xbf\xbf\"", "\xf4\x8f\xbf\xbf", 4);			 /* U+10FFFF */
	str_is("\"a\\u0000b\"", "a\0b", 3);
	{
		struct jr_doc d;
		const struct jr_value *v = root(&d, "[\"a\\u0000b\",\"ab\",1]");
		CHECK(jr_cstr(v->child) == NULL, "a string with NUL is not a C string");
		CHECK(jr_cstr(v->child->next) && strcmp(jr_cstr(v->child->next), "ab") == 0, "cstr");
		CHECK(jr_cstr(v->child->next->next) == NULL, "a number is not a string");
		jr_free(&d);
	}
	bad("\"abc", "unterminated string");
	bad("\"abc\\\"", "unterminated string");
	bad("\"a\nb\"", "control character 0x0a");
	bad("\"a\tb\"", "control character 0x09");
	bad("\"\\x41\"", "unknown escape \\x");
	bad("\"\\u12\"", "4 hex digits");
	bad("\"\\u12g4\"", "4 hex digits");
	bad("\"\\ud83d\"", "without its low half");
	bad("\"\\ud83dx\"", "without its low half");
	bad("\"\\ud83d\\u0041\"", "followed by \\u0041");
	bad("\"\\ude00\"", "lone low surrogate");
	bad("\"\xc0\xaf\"", "invalid UTF-8");	      /* overlong '/' */
	bad("\"\xe0\x80\xaf\"", "invalid UTF-8");     /* overlong */
	bad("\"\xed\xa0\x80\"", "invalid UTF-8");     /* encoded surrogate */
	bad("\"\xf4\x90\x80\x80\"", "invalid UTF-8"); /* past U+10FFFF */
	bad("\"\xf5\x80\x80\x80\"", "invalid UTF-8");
	bad("\"\x80\"", "invalid UTF-8"); /* lone continuation */
	bad("\"\xc3\"", "invalid UTF-8"); /* truncated before the quote */
	bad_n("\"\xe2\x82", 3, "unterminated string");
	bad("{\"\xff\":1}", "invalid UTF-8");
}

static void test_numbers(void)
{
	struct jr_doc d;
	const struct jr_value *v =
		root(&d, "[0, -1, 9223372036854775807, -9223372036854775808, 9223372036854775808,"
			 " 18446744073709551615, 18446744073709551616, 1.5, 1e3, \"0x7fffdeadbeef\","
			 " \"0xffffffffffffffff\", \"0x10000000000000000\", \"18446744073709551615\","
			 " \"18446744073709551616\", \"0x\", \"-1\", \"0xg\", \"12a\", true]");
	const struct jr_value *e[19];
	size_t i = 0;
	for (const struct jr_value *c = v->child; c && i < 19; c = c->next)
		e[i++] = c;
	CHECK(i == 19 && v->n == 19, "19 elements, got %zu", v->n);
	int64_t s;
	uint64_t u;
	CHECK(jr_i64(e[0], &s) && s == 0, "0");
	CHECK(jr_i64(e[1], &s) && s == -1, "-1");
	CHECK(!jr_u64(e[1], &u), "-1 is not unsigned");
	CHECK(jr_i64(e[2], &s) && s == INT64_MAX, "INT64_MAX");
	CHECK(jr_i64(e[3], &s) && s == INT64_MIN, "INT64_MIN");
	CHECK(!jr_i64(e[4], &s), "INT64_MAX+1 overflows int64");
	CHECK(jr_u64(e[4], &u) && u == (uint64_t)INT64_MAX + 1, "INT64_MAX+1 as u64");
	CHECK(jr_u64(e[5], &u) && u == UINT64_MAX, "UINT64_MAX");
	CHECK(!jr_u64(e[6], &u) && !jr_i64(e[6], &s), "2^64 overflows");
	CHECK(!jr_i64(e[7], &s) && !jr_u64(e[7], &u), "1.5 is not an integer");
	CHECK(!jr_i64(e[8], &s), "1e3 is not written as an integer");
	CHECK(jr_u64(e[9], &u) && u == 0x7fffdeadbeefull, "hex string");
	CHECK(!jr_i64(e[9], &s), "a string is not an int64");
	CHECK(jr_u64(e[10], &u) && u == UINT64_MAX, "hex max");
	CHECK(!jr_u64(e[11], &u), "17 hex digits");
	CHECK(jr_u64(e[12], &u) && u == UINT64_MAX, "decimal string max");
	CHECK(!jr_u64(e[13], &u), "decimal string 2^64");
	CHECK(!jr_u64(e[14], &u), "0x without digits");
	CHECK(!jr_u64(e[15], &u), "\"-1\"");
	CHECK(!jr_u64(e[16], &u), "0xg");
	CHECK(!jr_u64(e[17], &u), "12a");
	CHECK(!jr_u64(e[18], &u) && !jr_i64(e[18], &s), "true");
	CHECK(!jr_u64(NULL, &u) && !jr_i64(NULL, &s) && !jr_cstr(NULL), "NULL");
	jr_free(&d);
	n_checks += 25;
}

static void test_objects(void)
{
	struct jr_doc d;
	const struct jr_value *v =
		root(&d, "{\"op\":\"launch\",\"argv\":[\"a\",\"b\"],\"nested\":{\"x\":null},\"t\":true}");
	CHECK(v->type == JR_OBJECT && v->n == 4, "object of 4");
	CHECK(jr_cstr(jr_get(v, "op")) && strcmp(jr_cstr(jr_get(v, "op")), "launch") == 0, "op");
	const struct jr_value *a = jr_get(v, "argv");
	CHECK(a && a->type == JR_ARRAY && a->n == 2 && strcmp(a->child->next->str, "b") == 0, "argv");
	CHECK(jr_get(jr_get(v, "nested"), "x")->type == JR_NULL, "nested null");
	CHECK(jr_get(v, "t")->type == JR_BOOL && jr_get(v, "t")->boolean, "true");
	CHECK(jr_get(v, "missing") == NULL && jr_get(a, "op") == NULL && jr_get(NULL, "op") == NULL, "absent");
	CHECK(strcmp(jr_type_name(JR_OBJECT), "an object") == 0, "type name");
	/* keys are compared by length too */
	CHECK(jr_get(v, "o") == NULL && jr_get(v, "opx") == NULL, "prefix keys");
	jr_free(&d);
	jr_free(&d); /* harmless twice */
	n_checks += 8;
	/* a message longer than the error buffer is cut, still terminated */
	char small[16];
	CHECK(jr_parse(&d, "[1,", 3, small, sizeof small) < 0 && strlen(small) == sizeof small - 1, "short errbuf");
	CHECK(jr_parse(&d, "[1,", 3, NULL, 0) < 0, "no errbuf");
	/* a large document spans several arena blocks */
	size_t n = 200000;
	char *big = malloc(n * 8 + 16);
	CHECK(big != NULL, "malloc");
	size_t k = 0;
	big[k++] = '[';
	for (size_t i = 0; i < n; i++)
		k += (size_t)sprintf(big + k, "%s\"%zu\"", i ? "," : "", i % 1000);
	big[k++] = ']';
	char err[200];
	CHECK(jr_parse(&d, big, k, err, sizeof err) == 0 && d.root->n == n, "big array: %s", err);
	jr_free(&d);
	free(big);
}

/* Random mutations of valid requests: every one is parsed or rejected
 * cleanly (under ASan: without reading outside the text). Deterministic. */
static void test_mutations(void)
{
	static const char *const seeds[] = {
		"{\"op\":\"launch\",\"path\":\"/bin/true\",\"argv\":[\"a\",\"b\\u00e9\\ud83d\\ude00\"],\"env\":[]}",
		"{\"op\":\"setRegs\",\"pid\":12,\"tid\":-3,\"regs\":{\"rip\":\"0x7fff0000\",\"rax\":\"0x1\"}}",
		"[1.5e-3,true,false,null,{\"a\":[[[]]]},\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
	};
	static const char alphabet[] = "{}[]\",:\\u0123456789abcdefxEe+-. \t\ntruefalsn\x80\xc3\xa9\xed\xf0\xff";
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int parsed = 0, rejected = 0;
	for (int round = 0; round < 60000; round++) {
		const char *seed = seeds[round % 3];
		size_t n = strlen(seed);
		char buf[256];
		memcpy(buf, seed, n);
		int edits = 1 + (int)(x % 4);
		for (int e = 0; e < edits; e++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t at = (size_t)(x % (n ? n : 1));
			char c = alphabet[(x >> 20) % (sizeof alphabet - 1)];
			switch ((x >> 40) % 3) {
			case 0: /* replace */
				if (n)
					buf[at] = c;
				break;
			case 1: /* insert */
				if (n < sizeof buf - 1) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = c;
					n++;
				}
				break;
			default: /* delete or truncate */
				if (n) {
					if ((x >> 50) & 1)
						n = at;
					else {
						memmove(buf + at, buf + at + 1, n - at - 1);
						n--;
					}
				}
				break;
			}
		}
		struct jr_doc d;
		char err[200];
		if (parse_exact(&d, buf, n, err, sizeof err) == 0) {
			parsed++;
			jr_free(&d);
		} else {
			CHECK(strncmp(err, "invalid JSON at byte ", 21) == 0, "message: %s", err);
			rejected++;
		}
	}
	CHECK(parsed > 100 && rejected > 100, "mutations: %d parsed, %d rejected", parsed, rejected);
	n_checks += 60000;
}

int main(void)
{
	test_grammar();
	test_strings();
	test_numbers();
	test_objects();
	test_mutations();
	printf("test_jsonread: ok (%d checks)\n", n_checks);
	return 0;
}
