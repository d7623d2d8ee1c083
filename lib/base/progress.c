#include "base/progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double tina_progress_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void tina_progress_start(TinaProgress *p, const char *label, const char *unit, long long total, bool forced) {
    bool terminal = isatty(2);
    double now = tina_progress_now();
    *p = (TinaProgress){.enabled = forced || terminal, .terminal = terminal, .label = label, .unit = unit,
                        .total = total, .started = now, .last_shown = now}; /* no second count (also) yet */
}

static void show(TinaProgress *p, long long done, double now) {
    double elapsed = now - p->started;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    char line[200], also[64] = "";
    if (p->also) snprintf(also, sizeof also, ", %.0f %s/s", elapsed > 0 ? (double)p->also_done / elapsed : 0, p->also);
    if (p->total > 0) {
        enum { WIDTH = 24 };
        double fraction = done >= p->total ? 1.0 : (double)done / (double)p->total;
        char bar[WIDTH + 1];
        for (int i = 0; i < WIDTH; i++) bar[i] = i < (int)(fraction * WIDTH) ? '#' : '.';
        bar[WIDTH] = '\0';
        double eta = rate > 0 ? (double)(p->total - done) / rate : 0;
        snprintf(line, sizeof line, "%s: [%s] %lld/%lld %s, %.1f/s%s, ETA %.0fs", p->label, bar, done, p->total,
                 p->unit, rate, also, eta);
    } else {
        snprintf(line, sizeof line, "%s: %lld %s, %.1f/s%s, %.0fs", p->label, done, p->unit, rate, also, elapsed);
    }
    if (p->terminal) fprintf(stderr, "\r%s\033[K", line);
    else fprintf(stderr, "%s\n", line);
    p->last_shown = now;
}

void tina_progress_update(TinaProgress *p, long long done) {
    if (!p->enabled) return;
    double now = tina_progress_now();
    if (now - p->last_shown >= (p->terminal ? 0.1 : 10.0)) show(p, done, now);
}

void tina_progress_finish(TinaProgress *p, long long done) {
    if (!p->enabled) return;
    if (p->terminal) fprintf(stderr, "\r\033[K");
    else show(p, done, tina_progress_now());
}

long long tina_progress_count_lines(const char *const *paths, int n) {
    long long lines = 0;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (strcmp(paths[i], "-") == 0 || stat(paths[i], &st) != 0 || !S_ISREG(st.st_mode)) return 0;
        FILE *f = fopen(paths[i], "rb");
        if (!f) return 0;
        unsigned char head[4] = {0};
        if (fread(head, 1, 4, f) == 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) {
            fclose(f);
            return 0; /* zstd: counting would mean decompressing it twice */
        }
        rewind(f);
        int c, blank = 1;
        while ((c = getc(f)) != EOF) {
            if (c == '\n') lines += !blank, blank = 1;
            else if (c != ' ' && c != '\t' && c != '\r') blank = 0;
        }
        lines += !blank;
        fclose(f);
    }
    return lines;
}
