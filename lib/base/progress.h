/* progress: a progress line on stderr for long work.
 *
 * Shown when stderr is a terminal or when forced (--progress); silent otherwise, so logs and pipes stay clean. On
 * a terminal it redraws one line at most 10 times a second (a bar with rate and ETA when the total is known); when
 * forced into a file it writes a plain line every 10 seconds. */
#ifndef TINA_PROGRESS_H
#define TINA_PROGRESS_H

#include <stdbool.h>

typedef struct {
    bool enabled;
    bool terminal;
    const char *label;  /* who is working: the tool's name */
    const char *unit;   /* what is counted: "records", "tokens" */
    long long total;    /* 0 when unknown */
    const char *also;   /* a second count shown as a rate ("tokens"), or NULL */
    long long also_done; /* set by the caller before each update */
    double started;     /* seconds, monotonic */
    double last_shown;
} TinaProgress;

void tina_progress_start(TinaProgress *progress, const char *label, const char *unit, long long total,
                         bool forced);
void tina_progress_update(TinaProgress *progress, long long done);

/* Counts the non-blank lines of the inputs when they are all regular files (not stdin, not pipes), for a total and
 * an ETA; 0 otherwise. Plain files only: a zstd input counts 0 (no total). */
long long tina_progress_count_lines(const char *const *paths, int n);
/* Clears the line (terminal) or writes a last line (forced into a file). */
void tina_progress_finish(TinaProgress *progress, long long done);

/* Seconds on the monotonic clock, for timing work. */
double tina_progress_now(void);

#endif
