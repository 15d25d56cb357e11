/* log.h — logging goes to a sink installed by the owner (the tracer turns it
 * into "log" messages); the library never writes to stdout/stderr itself. */
#ifndef FK_LOG_H
#define FK_LOG_H

enum fk_log_level {
	FK_LOG_DEBUG = 0,
	FK_LOG_INFO = 1,
	FK_LOG_WARN = 2,
	FK_LOG_ERROR = 3
};

typedef void (*fk_log_sink)(void *arg, int level, const char *msg);

/* Install the process-wide sink (NULL: discard). */
void fk_log_set_sink(fk_log_sink sink, void *arg, int min_level);

void fk_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define fk_debug(...) fk_log(FK_LOG_DEBUG, __VA_ARGS__)
#define fk_info(...) fk_log(FK_LOG_INFO, __VA_ARGS__)
#define fk_warn(...) fk_log(FK_LOG_WARN, __VA_ARGS__)

#endif
