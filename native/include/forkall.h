/*
 * forkall.h — the only header the TypeScript side binds (through koffi).
 *
 * The library owns ONE tracer pthread. Every ptrace request and every
 * waitpid() for a tracee runs on it: ptrace requests are only valid from the
 * thread that attached, and a waitpid() from any other thread of this process
 * could steal a tracee's stop. Callers (Node's main thread, koffi pool
 * threads) never call ptrace: they submit a request, and read back messages.
 *
 *   fk_open()          start the tracer thread
 *   fk_request()       queue a request, a JSON object {"op":NAME, ...}
 *                      (returns at once with a request id)
 *   fk_wait()          block until a message is available (use koffi .async())
 *   fk_next_message()  take the next message: a JSON object, one of
 *                        {"type":"result","id":N,"ok":true,"body":{...}}
 *                        {"type":"result","id":N,"ok":false,"error":{...}}
 *                        {"type":"event","event":"...", ...}
 *                        {"type":"log","level":"debug|info|warn|error","message":"..."}
 *   fk_close()         detach from everything (breakpoints removed, threads
 *                      resumed), stop the thread, free.
 *   fk_protocol()      the handshake: protocol version, operations, events.
 *
 * Requests, bodies and events are defined once, in
 * native/protocol/schema.json; native/PROTOCOL.md is generated from it.
 *
 * Memory of a process may be read and written from any thread (the kernel
 * checks credentials, not the calling thread): fk_mem_read/fk_mem_write are
 * synchronous and do not go through the queue.
 */
#ifndef FORKALL_H
#define FORKALL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FK_API __attribute__((visibility("default")))

typedef struct fk_tracer fk_tracer;

/* Start the tracer thread. On failure returns NULL and writes a message. */
FK_API fk_tracer *fk_open(char *err, size_t errlen);

/* Detach from every process (resuming them, removing breakpoints), stop
 * the tracer thread and free everything. Safe to call with NULL. */
FK_API void fk_close(fk_tracer *fk);

/* Queue a request: len bytes of JSON text, an object {"op":NAME, ...}
 * (native/PROTOCOL.md). Returns its id (> 0), or -errno (EINVAL for a NULL
 * tracer, E2BIG past 64 MiB, ENOMEM, ESHUTDOWN after fk_close started). The text is copied
 * and decoded on the tracer thread: a malformed request, or an operation
 * this library does not have, is answered like any other, by an error
 * result (kind "bad-request" or "unknown-op"), in request order. */
FK_API int64_t fk_request(fk_tracer *fk, const char *json, uint64_t len);

/* Block until a message is available or timeout_ms passes (<0: forever).
 * Returns 1 if a message is available, 0 on timeout, -ESHUTDOWN when
 * closed. Meant for koffi's .async(): it never touches JS state. */
FK_API int32_t fk_wait(fk_tracer *fk, int32_t timeout_ms);

/* Copy the next message (JSON, not NUL-terminated) into buf. Returns its
 * length, 0 if there is none, or -(length) if cap is too small (the
 * message stays queued). */
FK_API int64_t fk_next_message(fk_tracer *fk, uint8_t *buf, uint64_t cap);

/* Ask the operation in progress to stop and undo what it did (a fork is
 * rolled back at its next step: the child killed, the parent restored and
 * released; its result is an error with code ECANCELED). Operations that
 * have no steps to undo finish normally. Any thread. */
FK_API void fk_cancel(fk_tracer *fk);

/* Minimum log level forwarded as "log" messages: 0 debug .. 3 error. */
FK_API void fk_set_log_level(fk_tracer *fk, int32_t level);

/* Read len bytes at addr of pid. Returns bytes read (a short count means
 * the rest is unreadable) or -errno if nothing could be read. */
FK_API int64_t fk_mem_read(int32_t pid, uint64_t addr, uint8_t *buf, uint64_t len);

/* Write; writes to read-only pages (text) go through /proc/PID/mem.
 * Returns bytes written or -errno. */
FK_API int64_t fk_mem_write(int32_t pid, uint64_t addr, const uint8_t *buf, uint64_t len);

/* Library version string, e.g. "0.1.0". */
FK_API const char *fk_version(void);

/* The handshake, a static JSON object:
 * {"version":"0.1.0","protocol":N,"ops":[...],"events":[...]} — the
 * protocol version (schema.json's x-version) and every operation and
 * event this library implements. Clients check it instead of probing. */
FK_API const char *fk_protocol(void);

#ifdef __cplusplus
}
#endif
#endif /* FORKALL_H */
