#include "base/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(struct jw *w)
{
	memset(w, 0, sizeof *w);
}

void jw_free(struct jw *w)
{
	free(w->buf);
	jw_init(w);
}

char *jw_take(struct jw *w, size_t *len)
{
	jw_raw(w, "", 0); /* ensure a buffer exists */
	char *b = w->oom ? NULL : w->buf;
	if (len)
		*len = w->len;
	if (!b)
		free(w->buf);
	jw_init(w);
	return b;
}

void jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n + 1)
			cap *= 2;
		char *nb = realloc(w->buf, cap);
		if (!nb) {
			w->oom = true;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void sep(struct jw *w)
{
	if (w->need_comma)
		jw_raw(w, ",", 1);
	w->need_comma = true;
}

void jw_obj_begin(struct jw *w)
{
	sep(w);
	jw_raw(w, "{", 1);
	w->need_comma = false;
}

void jw_obj_end(struct jw *w)
{
	jw_raw(w, "}", 1);
	w->need_comma = true;
}

void jw_arr_begin(struct jw *w)
{
	sep(w);
	jw_raw(w, "[", 1);
	w->need_comma = false;
}

void jw_arr_end(struct jw *w)
{
	jw_raw(w, "]", 1);
	w->need_comma = true;
}

static void put_string(struct jw *w, const char *s, size_t n)
{
	jw_raw(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jw_raw(w, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			jw_raw(w, esc, 6);
		} else {
			jw_raw(w, (const char *)&s[i], 1);
		}
	}
	jw_raw(w, "\"", 1);
}

void jw_key(struct jw *w, const char *k)
{
	sep(w);
	put_string(w, k, strlen(k));
	jw_raw(w, ":", 1);
	w->need_comma = false;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	sep(w);
	put_string(w, s, n);
}

void jw_str(struct jw *w, const char *s)
{
	if (!s)
		jw_null(w);
	else
		jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
	char b[32];
	sep(w);
	int n = snprintf(b, sizeof b, "%" PRId64, v);
	jw_raw(w, b, (size_t)n);
}

void jw_uint(struct jw *w, uint64_t v)
{
	char b[32];
	sep(w);
	int n = snprintf(b, sizeof b, "%" PRIu64, v);
	jw_raw(w, b, (size_t)n);
}

void jw_bool(struct jw *w, bool v)
{
	sep(w);
	jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
	sep(w);
	jw_raw(w, "null", 4);
}

void jw_hex(struct jw *w, uint64_t v)
{
	char b[24];
	sep(w);
	int n = snprintf(b, sizeof b, "\"0x%" PRIx64 "\"", v);
	jw_raw(w, b, (size_t)n);
}

void jw_hex_bytes(struct jw *w, const uint8_t *le, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	sep(w);
	jw_raw(w, "\"0x", 3);
	size_t i = n;
	while (i > 1 && le[i - 1] == 0)
		i--;
	bool lead = true;
	while (i-- > 0) {
		char d[2] = { digits[le[i] >> 4], digits[le[i] & 15] };
		if (lead && d[0] == '0') {
			jw_raw(w, &d[1], 1);
		} else {
			jw_raw(w, d, 2);
		}
		lead = false;
	}
	jw_raw(w, "\"", 1);
}

void jw_kstr(struct jw *w, const char *k, const char *v)
{
	jw_key(w, k);
	jw_str(w, v);
}

void jw_kint(struct jw *w, const char *k, int64_t v)
{
	jw_key(w, k);
	jw_int(w, v);
}

void jw_khex(struct jw *w, const char *k, uint64_t v)
{
	jw_key(w, k);
	jw_hex(w, v);
}

void jw_kbool(struct jw *w, const char *k, bool v)
{
	jw_key(w, k);
	jw_bool(w, v);
}
