/* error: status codes and error messages shared by every libtina module.
 *
 * Library functions return a TinaStatus and, on failure, fill a TinaError with a message that says what is wrong
 * (and what was expected). They never print and never exit: the tool decides, and its exit code is the status. */
#ifndef TINA_ERROR_H
#define TINA_ERROR_H

typedef enum {
    TINA_OK = 0,
    TINA_ERR_RUNTIME = 1, /* the system failed us: I/O, memory, a device */
    TINA_ERR_INPUT = 2,   /* the input or the usage is wrong: the user can fix it */
} TinaStatus;

typedef struct {
    TinaStatus status;
    char message[1024];
} TinaError;

/* Fills err (if not NULL) with a printf-style message and returns status, so a failing call reads
 * `return tina_error(err, TINA_ERR_INPUT, "field \"%s\" is missing", name);`. */
TinaStatus tina_error(TinaError *err, TinaStatus status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Like tina_error, with ": strerror(errno)" appended; for failed system calls. */
TinaStatus tina_error_errno(TinaError *err, TinaStatus status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts "where: " (a file name) in front of err's message, unless the message already names it; returns its status.
 * For a function that knows the file only after something deeper failed. */
TinaStatus tina_error_in(TinaError *err, const char *where);

#endif
