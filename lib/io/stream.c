#include "io/stream.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zstd.h>

#include "base/buf.h"

enum { CHUNK = 1 << 17 }; /* 128 KiB: the zstd streaming sizes, and large enough that syscalls do not show */

/* ---- reading ---------------------------------------------------------------------------------------------- */

struct TinaReader {
    const char *const *paths;
    int n_paths;
    int next_path;       /* index of the next input to open */
    int fd;              /* current input, -1 between inputs */
    const char *name;    /* current input's name for messages */
    long line_number;    /* of the line last returned */
    bool input_eof;      /* read() returned 0 on the current input */
    ZSTD_DCtx *zstd;     /* non-NULL while the current input is zstd */
    size_t zstd_pending; /* last ZSTD_decompressStream result: 0 when a frame just ended */
    char *raw;           /* bytes as read from the fd: [raw_pos, raw_len) not yet consumed */
    size_t raw_pos, raw_len;
    char *text;          /* decoded bytes (== raw for plain input): [text_pos, text_len) not yet split */
    size_t text_pos, text_len;
    TinaBuf partial;     /* a line that crosses text chunks */
};

/* Reads the next bytes into raw[at..CHUNK), keeping raw[0..at). */
static TinaStatus read_raw(TinaReader *r, size_t at, TinaError *err) {
    for (;;) {
        ssize_t n = read(r->fd, r->raw + at, CHUNK - at);
        if (n >= 0) {
            r->raw_pos = 0;
            r->raw_len = at + (size_t)n;
            r->input_eof = n == 0;
            return TINA_OK;
        }
        if (errno != EINTR) return tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot read", r->name);
    }
}

/* Compressed formats we can name but do not read: better a clear refusal than "not JSON" on line 1. */
static const char *foreign_compression(const unsigned char *p, size_t n) {
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return "gzip";
    if (n >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0) return "xz";
    if (n >= 3 && memcmp(p, "BZh", 3) == 0) return "bzip2";
    if (n >= 4 && memcmp(p, "\x04\x22\x4d\x18", 4) == 0) return "lz4";
    return NULL;
}

static bool is_zstd(const unsigned char *p, size_t n) {
    if (n < 4) return false;
    uint32_t magic = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return magic == ZSTD_MAGICNUMBER || (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

static void close_input(TinaReader *r) {
    if (r->fd > 0) close(r->fd); /* never close stdin: a later "-" may read it again */
    r->fd = -1;
    ZSTD_freeDCtx(r->zstd);
    r->zstd = NULL;
}

static TinaStatus open_next_input(TinaReader *r, TinaError *err) {
    const char *path = r->n_paths ? r->paths[r->next_path] : "-";
    r->next_path++;
    r->line_number = 0;
    r->text_pos = r->text_len = 0;
    r->zstd_pending = 0;
    if (strcmp(path, "-") == 0) {
        r->name = "<stdin>";
        r->fd = 0;
    } else {
        r->name = path;
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) return tina_error_errno(err, TINA_ERR_INPUT, "%s: cannot open", path);
        struct stat st;
        if (fstat(r->fd, &st) == 0 && S_ISDIR(st.st_mode))
            return tina_error(err, TINA_ERR_INPUT, "%s: is a directory (expected a JSON-lines file)", path);
    }
    /* A first read of up to 4 bytes could be short on a pipe; read until we can decide or the input ends. */
    TinaStatus status = read_raw(r, 0, err);
    while (!status && r->raw_len < 4 && !r->input_eof) status = read_raw(r, r->raw_len, err);
    if (status) return status;
    const unsigned char *head = (const unsigned char *)r->raw;
    const char *foreign = foreign_compression(head, r->raw_len);
    if (foreign)
        return tina_error(err, TINA_ERR_INPUT, "%s: %s-compressed input is not supported (expected plain or zstd)",
                          r->name, foreign);
    if (is_zstd(head, r->raw_len)) {
        r->zstd = ZSTD_createDCtx();
        if (!r->zstd) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (zstd decoder)");
    }
    return TINA_OK;
}

/* Makes [text_pos, text_len) non-empty, or leaves it empty at the end of the current input. */
static TinaStatus fill_text(TinaReader *r, TinaError *err) {
    r->text_pos = r->text_len = 0;
    for (;;) {
        if (r->raw_pos == r->raw_len && !r->input_eof) {
            TinaStatus status = read_raw(r, 0, err);
            if (status) return status;
        }
        if (!r->zstd) {
            /* plain input: the raw bytes are the text; swap the buffers instead of copying */
            char *bytes = r->raw;
            r->raw = r->text;
            r->text = bytes;
            r->text_pos = r->raw_pos;
            r->text_len = r->raw_len;
            r->raw_pos = r->raw_len = 0;
            return TINA_OK;
        }
        ZSTD_inBuffer in = {r->raw, r->raw_len, r->raw_pos};
        ZSTD_outBuffer out = {r->text, CHUNK, 0};
        size_t ret = ZSTD_decompressStream(r->zstd, &out, &in);
        if (ZSTD_isError(ret))
            return tina_error(err, TINA_ERR_INPUT, "%s: corrupt zstd data (%s)", r->name, ZSTD_getErrorName(ret));
        if (in.pos != r->raw_pos || out.pos) r->zstd_pending = ret; /* an idle call after a frame says nothing */
        r->raw_pos = in.pos;
        r->text_len = out.pos;
        if (out.pos > 0) return TINA_OK;
        if (r->raw_pos == r->raw_len && r->input_eof) {
            if (r->zstd_pending != 0)
                return tina_error(err, TINA_ERR_INPUT, "%s: truncated zstd stream (the file ends inside a frame)",
                                  r->name);
            return TINA_OK;
        }
    }
}

TinaStatus tina_reader_open(TinaReader **reader, const char *const *paths, int n, TinaError *err) {
    TinaReader *r = calloc(1, sizeof *r);
    if (r) {
        /* + 1: room for the NUL that ends a line at a chunk's end (plain input swaps the two buffers) */
        r->raw = malloc(CHUNK + 1);
        r->text = malloc(CHUNK + 1);
    }
    if (!r || !r->raw || !r->text) {
        tina_reader_close(r);
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (reader)");
    }
    r->paths = paths;
    r->n_paths = n;
    r->fd = -1;
    r->name = n ? paths[0] : "<stdin>";
    *reader = r;
    return TINA_OK;
}

/* Cuts the line ending at text[end] (the "\n" or the chunk's end) out of the current chunk, or completes the
 * partial line with it; returns where the line lies. */
static TinaStatus take_line(TinaReader *r, size_t end, const char **line, size_t *len, TinaError *err) {
    char *start = r->text + r->text_pos;
    size_t n = end - r->text_pos;
    if (r->partial.len) {
        TinaStatus status = tina_buf_append(&r->partial, start, n, err);
        if (status) return status;
        start = r->partial.data;
        n = r->partial.len;
    }
    if (n && start[n - 1] == '\r') n--;
    start[n] = '\0';
    *line = start;
    *len = n;
    return TINA_OK;
}

static bool blank(const char *line, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t') return false;
    return true;
}

TinaStatus tina_reader_next(TinaReader *r, const char **line, size_t *len, TinaError *err) {
    for (;;) {
        *line = NULL; /* until a line that is not blank is read: NULL at the end, not a blank line skipped */
        *len = 0;
        if (r->fd < 0) {
            if (r->next_path >= (r->n_paths ? r->n_paths : 1)) return TINA_OK;
            TinaStatus status = open_next_input(r, err);
            if (status) return status;
        }
        if (r->text_pos == r->text_len) {
            TinaStatus status = fill_text(r, err);
            if (status) return status;
            if (r->text_len == 0) { /* end of this input; a last line without "\n" still counts */
                close_input(r);
                if (!r->partial.len) continue;
            }
        }
        /* a line ends at a "\n", or at the end of its input (closed by now) */
        char *newline = memchr(r->text + r->text_pos, '\n', r->text_len - r->text_pos);
        if (!newline && r->fd >= 0) {
            TinaStatus status = tina_buf_append(&r->partial, r->text + r->text_pos, r->text_len - r->text_pos, err);
            if (status) return status;
            r->text_pos = r->text_len;
            continue;
        }
        size_t end = newline ? (size_t)(newline - r->text) : r->text_pos;
        TinaStatus status = take_line(r, end, line, len, err);
        if (status) return status;
        r->text_pos = newline ? end + 1 : end;
        r->line_number++;
        r->partial.len = 0; /* the line's data stays valid until the next call */
        /* the first line may start with a UTF-8 byte order mark (editors on Windows write one): not part of it */
        if (r->line_number == 1 && *len >= 3 && memcmp(*line, "\xEF\xBB\xBF", 3) == 0) *line += 3, *len -= 3;
        if (!blank(*line, *len)) return TINA_OK;
    }
}

TinaStatus tina_read_file(const char *path, TinaBuf *out, TinaError *err) {
    TinaReader *r;
    const char *paths[] = {path};
    TinaStatus status = tina_reader_open(&r, paths, 1, err);
    if (status) return status;
    tina_buf_clear(out);
    status = open_next_input(r, err);
    while (!status) {
        status = fill_text(r, err);
        if (status || r->text_len == 0) break;
        status = tina_buf_append(out, r->text, r->text_len, err);
    }
    tina_reader_close(r);
    return status;
}

const char *tina_reader_name(const TinaReader *r) { return r->name; }

long tina_reader_line(const TinaReader *r) { return r->line_number; }

void tina_reader_close(TinaReader *r) {
    if (!r) return;
    close_input(r);
    free(r->raw);
    free(r->text);
    tina_buf_free(&r->partial);
    free(r);
}

/* ---- writing ---------------------------------------------------------------------------------------------- */

/* Temporary files and folders not yet committed, removed if the process is interrupted or exits without committing
 * them, so that no partial output survives even a tool that forgets to abort. Signals are blocked while it changes. */
enum { MAX_PENDING = 16 };
static struct {
    char *path;
    bool folder;
} pending[MAX_PENDING];

/* A temporary folder's files (tina's own, no folders), then the folder, from a signal handler too: open, getdents64,
 * unlinkat and rmdir are system calls, where opendir and readdir allocate. Linux's struct linux_dirent64. */
static void remove_folder_now(const char *path) {
    struct entry {
        uint64_t inode;
        int64_t offset;
        unsigned short length;
        unsigned char type;
        char name[];
    };
    static _Alignas(8) char entries[4096]; /* not on the handler's own stack, which is small */
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        for (long n; (n = syscall(SYS_getdents64, fd, entries, sizeof entries)) > 0;)
            for (long at = 0; at < n; at += ((struct entry *)(entries + at))->length) {
                const char *name = ((struct entry *)(entries + at))->name;
                if (strcmp(name, ".") && strcmp(name, "..")) unlinkat(fd, name, 0);
            }
        close(fd);
    }
    rmdir(path);
}

static void remove_pending(void) {
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i].path && !pending[i].folder) unlink(pending[i].path);
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i].path && pending[i].folder) remove_folder_now(pending[i].path);
}

/* The signals that end a process, the handlers they had before ours (a sanitizer's report of a crash still comes),
 * and a stack of its own for the handler: a crash can be the stack's own overflow. */
static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ,
                                    SIGSEGV, SIGBUS,  SIGFPE, SIGILL,  SIGABRT};
enum { N_FATAL = sizeof fatal_signals / sizeof *fatal_signals };
static struct sigaction previous_actions[N_FATAL];
static char signal_stack[1 << 16];

static void on_fatal_signal(int sig) {
    remove_pending();
    for (int i = 0; i < N_FATAL; i++)
        if (fatal_signals[i] == sig) sigaction(sig, &previous_actions[i], NULL);
    raise(sig); /* delivered once this returns, to the handler before ours; a fault repeats and goes there too */
}

static void block_signals(sigset_t *old) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, old);
}

static bool track_pending(char *path, bool folder) {
    static bool installed;
    sigset_t old;
    block_signals(&old);
    if (!installed) {
        installed = true;
        atexit(remove_pending);
        stack_t stack = {.ss_sp = signal_stack, .ss_size = sizeof signal_stack}, current_stack;
        bool own_stack = sigaltstack(NULL, &current_stack) == 0 &&
                         (!(current_stack.ss_flags & SS_DISABLE) || sigaltstack(&stack, NULL) == 0);
        for (int i = 0; i < N_FATAL; i++) {
            sigaction(fatal_signals[i], NULL, &previous_actions[i]);
            if (previous_actions[i].sa_handler == SIG_IGN) continue; /* keep what the user's shell chose (nohup) */
            struct sigaction action = {.sa_handler = on_fatal_signal, .sa_flags = own_stack ? SA_ONSTACK : 0};
            sigaction(fatal_signals[i], &action, NULL);
        }
    }
    bool tracked = false;
    for (int i = 0; i < MAX_PENDING && !tracked; i++)
        if (!pending[i].path) pending[i].path = path, pending[i].folder = folder, tracked = true;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return tracked;
}

static void untrack_pending(const char *path) {
    sigset_t old;
    block_signals(&old);
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i].path == path) pending[i].path = NULL;
    sigprocmask(SIG_SETMASK, &old, NULL);
}

struct TinaWriter {
    int fd;
    const char *name;    /* for messages: the target's name, "<stdout>" */
    char *target;        /* final path; NULL when writing in place (stdout, a FIFO) */
    char *temp;          /* temporary path while not committed */
    mode_t mode;         /* permissions the committed file gets */
    ZSTD_CCtx *zstd;     /* non-NULL for ".zst" outputs */
    char *buf;           /* uncompressed bytes waiting: [0, buf_len) */
    size_t buf_len;
    char *packed;        /* compressed bytes on their way to the fd */
};

static TinaStatus write_all(TinaWriter *w, const char *data, size_t len, TinaError *err) {
    while (len) {
        ssize_t n = write(w->fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot write", w->name);
        data += n;
        len -= (size_t)n;
    }
    return TINA_OK;
}

/* Sends buf to the fd, through zstd when compressing; `end` also closes the zstd frame. */
static TinaStatus drain(TinaWriter *w, bool end, TinaError *err) {
    if (!w->zstd) {
        TinaStatus status = write_all(w, w->buf, w->buf_len, err);
        w->buf_len = 0;
        return status;
    }
    ZSTD_inBuffer in = {w->buf, w->buf_len, 0};
    for (;;) {
        ZSTD_outBuffer out = {w->packed, CHUNK, 0};
        size_t left = ZSTD_compressStream2(w->zstd, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left))
            return tina_error(err, TINA_ERR_RUNTIME, "%s: zstd compression failed (%s)", w->name,
                              ZSTD_getErrorName(left));
        TinaStatus status = write_all(w, w->packed, out.pos, err);
        if (status) return status;
        if (end ? left == 0 : in.pos == in.size) break;
    }
    w->buf_len = 0;
    return TINA_OK;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void free_writer(TinaWriter *w) {
    if (w->temp) {
        unlink(w->temp);
        untrack_pending(w->temp);
    }
    if (w->fd > 1) close(w->fd);
    ZSTD_freeCCtx(w->zstd);
    free(w->target);
    free(w->temp);
    free(w->buf);
    free(w->packed);
    free(w);
}

/* The template for mkstemp or mkdtemp of a temporary name beside path[0..len): ".NAME.tmp-XXXXXX" in the same
 * folder, so that rename() is atomic. NULL when out of memory. */
static char *temporary_name(const char *path, size_t len) {
    size_t name = len;
    while (name && path[name - 1] != '/') name--;
    char *temp = malloc(len + 16);
    if (temp) snprintf(temp, len + 16, "%.*s.%.*s.tmp-XXXXXX", (int)name, path, (int)(len - name), path + name);
    return temp;
}

/* The permissions open or mkdir would give a new file or folder asking for full: what the umask leaves of it. */
static mode_t creation_mode(mode_t full) {
    mode_t mask = umask(0);
    umask(mask);
    return full & ~mask;
}

static TinaStatus open_temporary(TinaWriter *w, const char *path, TinaError *err) {
    w->target = strdup(path);
    w->temp = temporary_name(path, strlen(path));
    if (!w->target || !w->temp) return tina_error(err, TINA_ERR_RUNTIME, "out of memory (writer)");
    w->fd = mkstemp(w->temp);
    if (w->fd < 0) {
        free(w->temp);
        w->temp = NULL;
        return tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot create output file", path);
    }
    if (!track_pending(w->temp, false))
        return tina_error(err, TINA_ERR_RUNTIME, "%s: too many output files open at once", path);
    return TINA_OK;
}

TinaStatus tina_writer_open(TinaWriter **writer, const char *path, TinaError *err) {
    *writer = NULL;
    TinaWriter *w = calloc(1, sizeof *w);
    if (w) w->buf = malloc(CHUNK);
    if (!w || !w->buf) {
        free(w);
        return tina_error(err, TINA_ERR_RUNTIME, "out of memory (writer)");
    }
    w->fd = -1;
    bool to_stdout = !path || strcmp(path, "-") == 0;
    w->name = to_stdout ? "<stdout>" : path;
    struct stat st;
    bool exists = !to_stdout && stat(path, &st) == 0;
    TinaStatus status = TINA_OK;
    if (to_stdout) {
        w->fd = 1;
    } else if (exists && S_ISDIR(st.st_mode)) {
        status = tina_error(err, TINA_ERR_INPUT, "%s: is a directory (expected an output file name)", path);
    } else if (exists && !S_ISREG(st.st_mode)) {
        w->fd = open(path, O_WRONLY | O_CLOEXEC);
        if (w->fd < 0) status = tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot open for writing", path);
    } else {
        w->mode = exists ? st.st_mode & 07777 : creation_mode(0666); /* a rewritten file keeps its permissions */
        status = open_temporary(w, path, err);
    }
    if (!status && w->fd != 1 && ends_with(path, ".zst")) {
        w->zstd = ZSTD_createCCtx();
        w->packed = malloc(CHUNK);
        if (!w->zstd || !w->packed) status = tina_error(err, TINA_ERR_RUNTIME, "out of memory (zstd encoder)");
        else {
            ZSTD_CCtx_setParameter(w->zstd, ZSTD_c_compressionLevel, 3);
            ZSTD_CCtx_setParameter(w->zstd, ZSTD_c_checksumFlag, 1);
        }
    }
    if (status) free_writer(w);
    else *writer = w;
    return status;
}

TinaStatus tina_writer_write(TinaWriter *w, const void *data, size_t len, TinaError *err) {
    const char *bytes = data;
    while (len) {
        if (w->buf_len == CHUNK) {
            TinaStatus status = drain(w, false, err);
            if (status) return status;
        }
        size_t n = CHUNK - w->buf_len < len ? CHUNK - w->buf_len : len;
        memcpy(w->buf + w->buf_len, bytes, n);
        w->buf_len += n;
        bytes += n;
        len -= n;
    }
    return TINA_OK;
}

TinaStatus tina_writer_line(TinaWriter *w, const char *line, size_t len, TinaError *err) {
    TinaStatus status = tina_writer_write(w, line, len, err);
    return status ? status : tina_writer_write(w, "\n", 1, err);
}

static void sync_folder(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + 1, path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd); /* best effort: the rename is already atomic; this only makes it durable */
        close(fd);
    }
}

/* Gives the written temporary file its permissions and its name, durably; on failure free_writer removes it. */
static TinaStatus rename_into_place(TinaWriter *w, TinaError *err) {
    if (fchmod(w->fd, w->mode) != 0 || fsync(w->fd) != 0)
        return tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot sync output file", w->name);
    if (close(w->fd) != 0) return tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot close output file", w->name);
    w->fd = -1;
    if (rename(w->temp, w->target) != 0)
        return tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot rename output file into place", w->name);
    untrack_pending(w->temp);
    free(w->temp);
    w->temp = NULL;
    sync_folder(w->target);
    return TINA_OK;
}

TinaStatus tina_writer_commit(TinaWriter *w, TinaError *err) {
    TinaStatus status = drain(w, w->zstd != NULL, err);
    if (!status && w->temp) status = rename_into_place(w, err);
    free_writer(w);
    return status;
}

void tina_writer_abort(TinaWriter *w) {
    if (w) free_writer(w);
}

/* ---- folders -------------------------------------------------------------------------------------------------- */

static bool holds_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return false;
    bool any = false;
    for (struct dirent *e; !any && (e = readdir(d)) != NULL;) any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return any;
}

TinaStatus tina_folder_open(TinaFolder *f, const char *dir, TinaError *err) {
    *f = (TinaFolder){strdup(dir), NULL};
    if (!f->dir) return tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    struct stat st;
    bool exists = stat(dir, &st) == 0;
    if (exists) {
        if (!S_ISDIR(st.st_mode)) {
            tina_folder_abort(f);
            return tina_error(err, TINA_ERR_INPUT, "%s: exists and is not a folder", dir);
        }
        if (holds_files(dir)) return TINA_OK;
    }
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    char *temp = temporary_name(dir, len);
    if (temp && mkdtemp(temp)) {
        f->temp = temp;
        /* not mkdtemp's 0700: what mkdir would have given the folder, or the permissions of the empty folder it
         * replaces, as a rewritten file keeps its own */
        chmod(temp, exists ? st.st_mode & 07777 : creation_mode(0777));
        if (track_pending(temp, true)) return TINA_OK;
        tina_folder_abort(f);
        return tina_error(err, TINA_ERR_RUNTIME, "%s: too many outputs open at once", dir);
    }
    TinaStatus status = temp ? tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot create a folder beside it", dir)
                             : tina_error(err, TINA_ERR_RUNTIME, "out of memory");
    free(temp); /* not f's: tina_folder_abort would remove a folder that was never made */
    tina_folder_abort(f);
    return status;
}

const char *tina_folder_path(const TinaFolder *f) { return f->temp ? f->temp : f->dir; }

TinaStatus tina_folder_commit(TinaFolder *f, TinaError *err) {
    TinaStatus status = TINA_OK;
    if (f->temp) {
        struct stat st;
        if (stat(f->dir, &st) == 0 && S_ISDIR(st.st_mode) && !holds_files(f->dir)) rmdir(f->dir); /* empty: ours */
        if (rename(f->temp, f->dir) != 0)
            status = tina_error_errno(err, TINA_ERR_RUNTIME, "%s: cannot rename %s into place", f->dir, f->temp);
        else {
            untrack_pending(f->temp);
            sync_folder(f->dir);
            free(f->temp);
            f->temp = NULL; /* it is the folder now: not for tina_folder_abort to remove */
        }
    }
    tina_folder_abort(f);
    return status;
}

void tina_folder_abort(TinaFolder *f) {
    if (f->temp) { /* only tina's own files are in it: no folders */
        DIR *d = opendir(f->temp);
        char path[4096];
        for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(path, sizeof path, "%s/%s", f->temp, e->d_name);
            unlink(path);
        }
        if (d) closedir(d);
        rmdir(f->temp);
        untrack_pending(f->temp);
    }
    free(f->temp);
    free(f->dir);
    *f = (TinaFolder){0};
}
