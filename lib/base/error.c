#include "base/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static TinaStatus fill(TinaError *err, TinaStatus status, const char *suffix, const char *format, va_list args) {
    if (!err) return status;
    err->status = status;
    int n = vsnprintf(err->message, sizeof err->message, format, args);
    if (suffix && n >= 0 && (size_t)n < sizeof err->message)
        snprintf(err->message + n, sizeof err->message - (size_t)n, ": %s", suffix);
    return status;
}

TinaStatus tina_error(TinaError *err, TinaStatus status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fill(err, status, NULL, format, args);
    va_end(args);
    return status;
}

TinaStatus tina_error_errno(TinaError *err, TinaStatus status, const char *format, ...) {
    const char *reason = strerror(errno); /* read before vsnprintf can touch errno */
    va_list args;
    va_start(args, format);
    fill(err, status, reason, format, args);
    va_end(args);
    return status;
}

TinaStatus tina_error_in(TinaError *err, const char *where) {
    if (!err || strstr(err->message, where)) return err ? err->status : TINA_OK;
    char message[sizeof err->message];
    snprintf(message, sizeof message, "%s", err->message);
    return tina_error(err, err->status, "%s: %s", where, message);
}
