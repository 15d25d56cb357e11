/* jsonread.c — see jsonread.h. Recursive descent, depth-limited; every
 * read is bounds-checked against the end of the text (which need not be
 * NUL-terminated). Decoded strings never grow (an escape is at least as
 * long as what it stands for), so each is copied into the arena once. */
#include "base/jsonread.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jr_block {
	struct jr_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct parser {
	const char *s, *end, *start;
	int depth;
	struct jr_doc *doc;
	char *err;
	size_t errlen;
	bool failed;
};

static void *arena_alloc(struct parser *ps, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	struct jr_block *b = ps->doc->blocks;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 16384 ? n : 16384;
		b = malloc(sizeof *b + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = ps->doc->blocks;
		ps->doc->blocks = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += n;
	return p;
}

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
	if (ps->failed)
		return -1;
	ps->failed = true;
	if (ps->err && ps->errlen) {
		int n = snprintf(ps->err, ps->errlen, "invalid JSON at byte %zu: ", (size_t)(ps->s - ps->start));
		if (n >= 0 && (size_t)n < ps->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -1;
}

static void skip_ws(struct parser *ps)
{
	while (ps->s < ps->end && (*ps->s == ' ' || *ps->s == '\t' || *ps->s == '\n' || *ps->s == '\r'))
		ps->s++;
}

static int hex4(struct parser *ps, unsigned *out)
{
	if (ps->end - ps->s < 4)
		return fail(ps, "\\u needs 4 hex digits");
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = ps->s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(ps, "\\u needs 4 hex digits");
	}
	ps->s += 4;
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One UTF-8 sequence starting at ps->s (first byte >= 0x80): its length,
 * or 0 if it is not well-formed (RFC 3629 table, as Unicode 3.9 D92). */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	size_t avail = (size_t)(end - p);
	unsigned c = p[0];
	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0; /* a surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xf4 && p[1] >= 0x90)
			return 0; /* past U+10FFFF */
		return 4;
	}
	return 0;
}

/* At the opening quote. Decodes into the arena. */
static int parse_string(struct parser *ps, const char **out, size_t *outlen)
{
	ps->s++; /* '"' */
	/* find the closing quote first: the decoded text is at most that long */
	const char *q = ps->s;
	while (q < ps->end && *q != '"') {
		if (*q == '\\') {
			q++;
			if (q >= ps->end)
				break;
		}
		q++;
	}
	if (q >= ps->end)
		return fail(ps, "unterminated string");
	char *o = arena_alloc(ps, (size_t)(q - ps->s) + 1);
	if (!o)
		return fail(ps, "out of memory");
	size_t n = 0;
	while (ps->s < q) {
		unsigned char c = (unsigned char)*ps->s;
		if (c < 0x20)
			return fail(ps, "control character 0x%02x in a string (escape it)", c);
		if (c >= 0x80) {
			size_t k = utf8_seq((const unsigned char *)ps->s, (const unsigned char *)q);
			if (!k)
				return fail(ps, "invalid UTF-8 in a string");
			memcpy(o + n, ps->s, k);
			n += k;
			ps->s += k;
			continue;
		}
		if (c != '\\') {
			o[n++] = (char)c;
			ps->s++;
			continue;
		}
		ps->s++;
		char e = *ps->s++;
		switch (e) {
		case '"': o[n++] = '"'; break;
		case '\\': o[n++] = '\\'; break;
		case '/': o[n++] = '/'; break;
		case 'b': o[n++] = '\b'; break;
		case 'f': o[n++] = '\f'; break;
		case 'n': o[n++] = '\n'; break;
		case 'r': o[n++] = '\r'; break;
		case 't': o[n++] = '\t'; break;
		case 'u': {
			unsigned cp;
			if (hex4(ps, &cp) < 0)
				return -1;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(ps, "lone low surrogate \\u%04x", cp);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;
				if (q - ps->s < 6 || ps->s[0] != '\\' || ps->s[1] != 'u')
					return fail(ps, "high surrogate \\u%04x without its low half", cp);
				ps->s += 2;
				if (hex4(ps, &lo) < 0)
					return -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(ps, "high surrogate \\u%04x followed by \\u%04x", cp, lo);
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			/* an escape of 6 (or 12) bytes never decodes to more */
			n += put_utf8(o + n, cp);
			break;
		}
		default: ps->s--; return fail(ps, "unknown escape \\%c", e >= 0x20 && e < 0x7f ? e : '?');
		}
	}
	o[n] = '\0';
	ps->s = q + 1;
	*out = o;
	*outlen = n;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *ps, struct jr_value *v)
{
	const char *b = ps->s;
	if (ps->s < ps->end && *ps->s == '-')
		ps->s++;
	if (ps->s >= ps->end || !is_digit(*ps->s))
		return fail(ps, "expected a digit");
	if (*ps->s == '0') {
		ps->s++;
		if (ps->s < ps->end && is_digit(*ps->s))
			return fail(ps, "leading zero in a number");
	} else {
		while (ps->s < ps->end && is_digit(*ps->s))
			ps->s++;
	}
	if (ps->s < ps->end && *ps->s == '.') {
		ps->s++;
		if (ps->s >= ps->end || !is_digit(*ps->s))
			return fail(ps, "expected a digit after '.'");
		while (ps->s < ps->end && is_digit(*ps->s))
			ps->s++;
	}
	if (ps->s < ps->end && (*ps->s == 'e' || *ps->s == 'E')) {
		ps->s++;
		if (ps->s < ps->end && (*ps->s == '+' || *ps->s == '-'))
			ps->s++;
		if (ps->s >= ps->end || !is_digit(*ps->s))
			return fail(ps, "expected a digit in the exponent");
		while (ps->s < ps->end && is_digit(*ps->s))
			ps->s++;
	}
	size_t n = (size_t)(ps->s - b);
	char *t = arena_alloc(ps, n + 1);
	if (!t)
		return fail(ps, "out of memory");
	memcpy(t, b, n);
	t[n] = '\0';
	v->type = JR_NUMBER;
	v->str = t;
	v->len = n;
	return 0;
}

static int literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->s) < n || memcmp(ps->s, word, n) != 0)
		return fail(ps, "unexpected character '%c'", *ps->s >= 0x20 && *ps->s < 0x7f ? *ps->s : '?');
	ps->s += n;
	return 0;
}

static int parse_value(struct parser *ps, struct jr_value *v);

static int parse_array(struct parser *ps, struct jr_value *v)
{
	v->type = JR_ARRAY;
	ps->s++; /* '[' */
	skip_ws(ps);
	if (ps->s < ps->end && *ps->s == ']') {
		ps->s++;
		return 0;
	}
	struct jr_value **tail = &v->child;
	for (;;) {
		struct jr_value *e = arena_alloc(ps, sizeof *e);
		if (!e)
			return fail(ps, "out of memory");
		memset(e, 0, sizeof *e);
		if (parse_value(ps, e) < 0)
			return -1;
		*tail = e;
		tail = &e->next;
		v->n++;
		skip_ws(ps);
		if (ps->s >= ps->end)
			return fail(ps, "unterminated array");
		if (*ps->s == ']') {
			ps->s++;
			return 0;
		}
		if (*ps->s != ',')
			return fail(ps, "expected ',' or ']'");
		ps->s++;
	}
}

static int parse_object(struct parser *ps, struct jr_value *v)
{
	v->type = JR_OBJECT;
	ps->s++; /* '{' */
	skip_ws(ps);
	if (ps->s < ps->end && *ps->s == '}') {
		ps->s++;
		return 0;
	}
	struct jr_value **tail = &v->child;
	for (;;) {
		skip_ws(ps);
		if (ps->s >= ps->end || *ps->s != '"')
			return fail(ps, "expected a member name in double quotes");
		const char *key;
		size_t keylen;
		const char *at = ps->s;
		if (parse_string(ps, &key, &keylen) < 0)
			return -1;
		/* objects in requests are small: a linear check is fine */
		for (const struct jr_value *m = v->child; m; m = m->next) {
			if (m->keylen == keylen && memcmp(m->key, key, keylen) == 0) {
				ps->s = at;
				return fail(ps, "duplicate member \"%s\"", key);
			}
		}
		skip_ws(ps);
		if (ps->s >= ps->end || *ps->s != ':')
			return fail(ps, "expected ':'");
		ps->s++;
		struct jr_value *m = arena_alloc(ps, sizeof *m);
		if (!m)
			return fail(ps, "out of memory");
		memset(m, 0, sizeof *m);
		if (parse_value(ps, m) < 0)
			return -1;
		m->key = key;
		m->keylen = keylen;
		*tail = m;
		tail = &m->next;
		v->n++;
		skip_ws(ps);
		if (ps->s >= ps->end)
			return fail(ps, "unterminated object");
		if (*ps->s == '}') {
			ps->s++;
			return 0;
		}
		if (*ps->s != ',')
			return fail(ps, "expected ',' or '}'");
		ps->s++;
	}
}

static int parse_value(struct parser *ps, struct jr_value *v)
{
	skip_ws(ps);
	if (ps->s >= ps->end)
		return fail(ps, "unexpected end of text");
	switch (*ps->s) {
	case '{':
	case '[': {
		if (++ps->depth > JR_MAX_DEPTH)
			return fail(ps, "nested deeper than %d", JR_MAX_DEPTH);
		int rc = *ps->s == '{' ? parse_object(ps, v) : parse_array(ps, v);
		ps->depth--;
		return rc;
	}
	case '"': v->type = JR_STRING; return parse_string(ps, &v->str, &v->len);
	case 't':
		v->type = JR_BOOL;
		v->boolean = true;
		return literal(ps, "true");
	case 'f':
		v->type = JR_BOOL;
		v->boolean = false;
		return literal(ps, "false");
	case 'n': v->type = JR_NULL; return literal(ps, "null");
	default:
		if (*ps->s == '-' || is_digit(*ps->s))
			return parse_number(ps, v);
		return fail(ps, "unexpected character '%c'", *ps->s >= 0x20 && *ps->s < 0x7f ? *ps->s : '?');
	}
}

int jr_parse(struct jr_doc *doc, const char *text, size_t len, char *err, size_t errlen)
{
	memset(doc, 0, sizeof *doc);
	struct parser ps = { .s = text, .end = text + len, .start = text, .doc = doc, .err = err, .errlen = errlen };
	if (!text || len == 0) {
		fail(&ps, "empty text");
		return -1;
	}
	if (len > JR_MAX_TEXT) {
		fail(&ps, "text of %zu bytes is longer than %u", len, JR_MAX_TEXT);
		return -1;
	}
	struct jr_value *root = arena_alloc(&ps, sizeof *root);
	if (!root) {
		fail(&ps, "out of memory");
		return -1;
	}
	memset(root, 0, sizeof *root);
	if (parse_value(&ps, root) == 0) {
		skip_ws(&ps);
		if (ps.s != ps.end)
			fail(&ps, "unexpected text after the value");
	}
	if (ps.failed) {
		jr_free(doc);
		return -1;
	}
	doc->root = root;
	return 0;
}

void jr_free(struct jr_doc *doc)
{
	for (struct jr_block *b = doc->blocks; b;) {
		struct jr_block *n = b->next;
		free(b);
		b = n;
	}
	doc->blocks = NULL;
	doc->root = NULL;
}

void *jr_alloc(struct jr_doc *doc, size_t n)
{
	struct parser ps = { .doc = doc };
	return arena_alloc(&ps, n ? n : 1);
}

const struct jr_value *jr_get(const struct jr_value *obj, const char *key)
{
	if (!obj || obj->type != JR_OBJECT)
		return NULL;
	size_t n = strlen(key);
	for (const struct jr_value *m = obj->child; m; m = m->next)
		if (m->keylen == n && memcmp(m->key, key, n) == 0)
			return m;
	return NULL;
}

/* Digits only (no sign); base 10 or 16; false on overflow or no digits. */
static bool digits_u64(const char *s, size_t n, unsigned base, uint64_t *out)
{
	if (n == 0)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool is_integer_text(const struct jr_value *v)
{
	return v && v->type == JR_NUMBER && !memchr(v->str, '.', v->len) && !memchr(v->str, 'e', v->len) &&
	       !memchr(v->str, 'E', v->len);
}

bool jr_i64(const struct jr_value *v, int64_t *out)
{
	if (!is_integer_text(v))
		return false;
	bool neg = v->str[0] == '-';
	uint64_t m;
	if (!digits_u64(v->str + neg, v->len - neg, 10, &m))
		return false;
	if (neg) {
		if (m > (uint64_t)INT64_MAX + 1)
			return false;
		*out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
	} else {
		if (m > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)m;
	}
	return true;
}

bool jr_u64(const struct jr_value *v, uint64_t *out)
{
	if (!v)
		return false;
	if (v->type == JR_NUMBER) {
		if (!is_integer_text(v) || v->str[0] == '-')
			return false;
		return digits_u64(v->str, v->len, 10, out);
	}
	if (v->type != JR_STRING)
		return false;
	if (v->len > 2 && v->str[0] == '0' && (v->str[1] == 'x' || v->str[1] == 'X'))
		return v->len - 2 <= 16 && digits_u64(v->str + 2, v->len - 2, 16, out);
	return v->len <= 20 && digits_u64(v->str, v->len, 10, out);
}

const char *jr_cstr(const struct jr_value *v)
{
	if (!v || v->type != JR_STRING || memchr(v->str, '\0', v->len))
		return NULL;
	return v->str;
}

const char *jr_type_name(enum jr_type t)
{
	switch (t) {
	case JR_NULL: return "null";
	case JR_BOOL: return "a boolean";
	case JR_NUMBER: return "a number";
	case JR_STRING: return "a string";
	case JR_ARRAY: return "an array";
	case JR_OBJECT: return "an object";
	}
	return "?";
}
