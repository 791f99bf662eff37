/*
 * log.h: the one logger of core, the daemon and the CLI. Core code never prints any other
 * way; inside a host process (the shim) it writes one line to stderr at most per event.
 */
#ifndef MS_LOG_H
#define MS_LOG_H

enum ms_log_level { MS_LOG_ERROR, MS_LOG_WARN, MS_LOG_INFO, MS_LOG_DEBUG };

void ms_log_init(const char *ident, enum ms_log_level level);
void ms_log(enum ms_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ms_error(...) ms_log(MS_LOG_ERROR, __VA_ARGS__)
#define ms_warn(...)  ms_log(MS_LOG_WARN, __VA_ARGS__)
#define ms_info(...)  ms_log(MS_LOG_INFO, __VA_ARGS__)
#define ms_debug(...) ms_log(MS_LOG_DEBUG, __VA_ARGS__)

#endif
