/* log.h - control-thread logging: one line per event, runtime level */
#ifndef TAS_CTRL_LOG_H
#define TAS_CTRL_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level l);
/* log_parse_level - "error|warn|info|debug" -> level, -1 if unknown */
int log_parse_level(const char *s);
void log_msg(enum log_level l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* TAS_CTRL_LOG_H */
