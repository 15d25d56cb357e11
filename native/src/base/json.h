/* json.h — a growable byte buffer and a minimal JSON writer.
 *
 * Results and events leave the library as JSON text (one crossing of the
 * FFI per message). The writer tracks commas itself; allocation failure is
 * sticky (jw->oom) and checked once by the owner. */
#ifndef FK_JSON_H
#define FK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jw {
	char *buf;
	size_t len, cap;
	bool oom;
	bool need_comma; /* a value was written at the current nesting level */
};

void jw_init(struct jw *w);
void jw_free(struct jw *w);
/* Take ownership of the text (NUL-terminated); the writer is reset. */
char *jw_take(struct jw *w, size_t *len);

void jw_raw(struct jw *w, const char *s, size_t n);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
/* Object key; the next value call writes its value. */
void jw_key(struct jw *w, const char *k);

void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* "0x1f" — addresses and registers (do not fit a JS number). */
void jw_hex(struct jw *w, uint64_t v);
/* A little-endian byte vector as one hex number, most significant first,
 * without leading zeros ("0x0" for all zero). */
void jw_hex_bytes(struct jw *w, const uint8_t *le, size_t n);

/* key + value shorthands */
void jw_kstr(struct jw *w, const char *k, const char *v);
void jw_kint(struct jw *w, const char *k, int64_t v);
void jw_khex(struct jw *w, const char *k, uint64_t v);
void jw_kbool(struct jw *w, const char *k, bool v);

#endif
