/* jsonread.h — a small, strict JSON reader (RFC 8259) for requests.
 *
 * Requests arrive as JSON text (native/protocol/schema.json). The reader
 * builds a read-only tree in one arena owned by the document, checking as
 * it goes:
 *   - the grammar exactly (no trailing commas, comments, NaN, leading
 *     zeros, single quotes; nothing but whitespace after the value);
 *   - UTF-8: overlong forms, surrogates and code points past U+10FFFF
 *     are rejected, as are raw control characters inside strings;
 *   - escapes, \uXXXX with surrogate pairs (a lone surrogate is an error);
 *   - nesting depth (JR_MAX_DEPTH), text size (JR_MAX_TEXT), duplicate keys.
 * Numbers are kept as their text and converted on demand with range checks;
 * 64-bit addresses travel as strings ("0x7f…", or decimal) because a JS
 * number holds only 53 bits, and jr_u64() reads both forms.
 *
 * Errors name the byte offset and what was expected. */
#ifndef FK_JSONREAD_H
#define FK_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JR_MAX_DEPTH 64
#define JR_MAX_TEXT (64u * 1024u * 1024u)

enum jr_type {
	JR_NULL,
	JR_BOOL,
	JR_NUMBER,
	JR_STRING,
	JR_ARRAY,
	JR_OBJECT
};

struct jr_value {
	enum jr_type type;
	bool boolean;	 /* JR_BOOL */
	const char *str; /* JR_STRING: decoded, NUL-terminated; JR_NUMBER: its text */
	size_t len;	 /* bytes in str (a string may hold \u0000) */
	const char *key; /* member of an object: its decoded name */
	size_t keylen;
	size_t n;		/* JR_ARRAY/JR_OBJECT: number of children */
	struct jr_value *child; /* first element or member */
	struct jr_value *next;	/* next sibling */
};

struct jr_block;

struct jr_doc {
	struct jr_value *root;
	struct jr_block *blocks; /* the arena */
};

/* Parse text[0..len). Returns 0, or -1 with a message in err (never
 * NULL-terminated beyond errlen) and the document empty. jr_free() is
 * needed after success and harmless after failure. */
int jr_parse(struct jr_doc *doc, const char *text, size_t len, char *err, size_t errlen);
void jr_free(struct jr_doc *doc);

/* n bytes from the document's arena (freed with it), or NULL. For data
 * derived from the document (an argv array of its strings). */
void *jr_alloc(struct jr_doc *doc, size_t n);

/* The member `key` of an object, or NULL (not an object, or absent). */
const struct jr_value *jr_get(const struct jr_value *obj, const char *key);

/* Conversions; false when the value is not of that type or out of range.
 * jr_i64: an integer number (no fraction or exponent).
 * jr_u64: an integer number >= 0, or a string "0x" + 1..16 hex digits, or
 *         a string of decimal digits up to 18446744073709551615.
 * jr_cstr: a string without NUL bytes. */
bool jr_i64(const struct jr_value *v, int64_t *out);
bool jr_u64(const struct jr_value *v, uint64_t *out);
const char *jr_cstr(const struct jr_value *v);

/* Name of a type for messages ("a string", "an object", ...). */
const char *jr_type_name(enum jr_type t);

#endif
