/* stream: line reading (plain, zstd, long lines, several inputs), atomic output, and the errors. */
#include <dirent.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "io/stream.h"
#include "test.h"

static char folder[] = "/tmp/tina-test-stream-XXXXXX";

static const char *path_in_folder(const char *name) {
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 512, "%s/%s", folder, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
}

static size_t files_in_folder(void) {
    size_t n = 0;
    DIR *dir = opendir(folder);
    for (struct dirent *e; (e = readdir(dir));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(dir);
    return n;
}

static void remove_folder_contents(void) {
    DIR *dir = opendir(folder);
    for (struct dirent *e; (e = readdir(dir));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(path_in_folder(e->d_name));
    closedir(dir);
}

/* Writes lines[0..n) through a TinaWriter to path (zstd if it ends in .zst). */
static void write_lines(const char *path, const char *const *lines, int n) {
    TinaWriter *w;
    TinaError err;
    CHECK(tina_writer_open(&w, path, &err) == TINA_OK);
    for (int i = 0; i < n; i++) CHECK(tina_writer_line(w, lines[i], strlen(lines[i]), &err) == TINA_OK);
    CHECK(tina_writer_commit(w, &err) == TINA_OK);
}

/* Reads every line of paths; checks they equal want[0..n) and returns the status that ended reading. */
static TinaStatus expect_lines(const char *const *paths, int n_paths, const char *const *want, int n,
                               TinaError *err) {
    TinaReader *r;
    TinaStatus status = tina_reader_open(&r, paths, n_paths, err);
    CHECK(status == TINA_OK);
    int got = 0;
    for (;;) {
        const char *line;
        size_t len;
        status = tina_reader_next(r, &line, &len, err);
        if (status || !line) break;
        CHECK(got < n);
        if (got < n) {
            CHECK(len == strlen(want[got]));
            CHECK(strcmp(line, want[got]) == 0);
        }
        got++;
    }
    if (!status) CHECK(got == n);
    tina_reader_close(r);
    return status;
}

static void plain_lines_come_without_line_ends_and_blank_lines_are_skipped(void) {
    const char *path = path_in_folder("plain.jsonl");
    const char text[] = "{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}";
    write_file(path, text, sizeof text - 1);
    TinaReader *r;
    TinaError err;
    CHECK(tina_reader_open(&r, &path, 1, &err) == TINA_OK);
    const char *line;
    size_t len;
    const char *want[] = {"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"};
    const long want_line[] = {1, 4, 5};
    for (int i = 0; i < 3; i++) {
        CHECK(tina_reader_next(r, &line, &len, &err) == TINA_OK);
        CHECK_STR(line, want[i]);
        CHECK(len == strlen(want[i]));
        CHECK(tina_reader_line(r) == want_line[i]);
        CHECK_STR(tina_reader_name(r), path);
    }
    CHECK(tina_reader_next(r, &line, &len, &err) == TINA_OK);
    CHECK(line == NULL);
    tina_reader_close(r);
}

/* Blank lines after the last record end the stream as its end does: the reader once handed the skipped blank line
 * back as a last, empty one (every stream tool then failed on "not valid JSON" at it). */
static void blank_lines_after_the_last_record_end_the_stream(void) {
    const char *plain = path_in_folder("trailing.jsonl"), *packed = path_in_folder("trailing.jsonl.zst");
    const char text[] = "{\"a\":1}\n\n \t \n\r\n";
    write_file(plain, text, sizeof text - 1);
    const char *lines[] = {"{\"b\":2}", "", "   "};
    write_lines(packed, lines, 3);
    TinaError err;
    const char *want[] = {"{\"a\":1}", "{\"b\":2}"};
    const char *both[] = {plain, packed};
    CHECK(expect_lines(both, 2, want, 2, &err) == TINA_OK);
    CHECK(expect_lines(&plain, 1, want, 1, &err) == TINA_OK);
}

/* A byte order mark starting an input is not part of its first line; one starting a later line is (and the record
 * parser refuses it, naming that line). */
static void a_byte_order_mark_starting_an_input_is_skipped(void) {
    const char *first = path_in_folder("bom1.jsonl"), *second = path_in_folder("bom2.jsonl");
    const char a[] = "\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBF{\"b\":2}\n", b[] = "\xEF\xBB\xBF\n{\"c\":3}";
    write_file(first, a, sizeof a - 1);
    write_file(second, b, sizeof b - 1);
    TinaError err;
    const char *want[] = {"{\"a\":1}", "\xEF\xBB\xBF{\"b\":2}", "{\"c\":3}"};
    const char *both[] = {first, second};
    CHECK(expect_lines(both, 2, want, 3, &err) == TINA_OK);
}

static void zstd_output_round_trips_and_starts_with_the_zstd_magic(void) {
    enum { N = 20000 };
    static char storage[N][48];
    const char *lines[N];
    for (int i = 0; i < N; i++) {
        snprintf(storage[i], sizeof storage[i], "{\"id\":\"p%d\",\"reward\":%d}", i, i % 3);
        lines[i] = storage[i];
    }
    const char *path = path_in_folder("out.jsonl.zst");
    write_lines(path, lines, N);
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    CHECK(fread(magic, 1, 4, f) == 4);
    fclose(f);
    CHECK(magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd);
    TinaError err;
    CHECK(expect_lines(&path, 1, lines, N, &err) == TINA_OK);
}

static void zstd_input_is_recognised_by_content_whatever_its_name(void) {
    const char *lines[] = {"{\"x\":1}", "{\"x\":2}"};
    const char *zst = path_in_folder("named.zst");
    const char *plain_name = path_in_folder("misnamed.jsonl");
    write_lines(zst, lines, 2);
    CHECK(rename(zst, plain_name) == 0);
    TinaError err;
    CHECK(expect_lines(&plain_name, 1, lines, 2, &err) == TINA_OK);
}

static void concatenated_zstd_frames_read_as_one_stream(void) {
    const char *a_lines[] = {"{\"a\":1}"}, *b_lines[] = {"{\"b\":2}", "{\"b\":3}"};
    const char *a = path_in_folder("a.zst"), *b = path_in_folder("b.zst"), *both = path_in_folder("both.zst");
    write_lines(a, a_lines, 1);
    write_lines(b, b_lines, 2);
    char command[2048];
    snprintf(command, sizeof command, "cat %s %s > %s", a, b, both);
    CHECK(system(command) == 0);
    const char *want[] = {"{\"a\":1}", "{\"b\":2}", "{\"b\":3}"};
    TinaError err;
    CHECK(expect_lines(&both, 1, want, 3, &err) == TINA_OK);
}

/* A line of several megabytes crosses many read chunks, in both formats; the lines around it are intact. */
static void lines_of_several_megabytes_are_read_whole(void) {
    size_t big = 5u << 20;
    char *long_line = malloc(big + 1);
    for (size_t i = 0; i < big; i++) long_line[i] = (char)('a' + i % 26);
    long_line[0] = '[';
    long_line[big - 1] = ']';
    long_line[big] = '\0';
    const char *lines[] = {"{\"first\":1}", long_line, "{\"last\":1}"};
    const char *names[] = {"long.jsonl", "long.jsonl.zst"};
    for (int i = 0; i < 2; i++) {
        const char *path = path_in_folder(names[i]);
        write_lines(path, lines, 3);
        TinaError err;
        CHECK(expect_lines(&path, 1, lines, 3, &err) == TINA_OK);
    }
    free(long_line);
}

static void several_inputs_read_in_order_with_their_own_names_and_line_numbers(void) {
    const char *one = path_in_folder("one.jsonl"), *two = path_in_folder("two.jsonl.zst");
    const char *one_lines[] = {"{\"n\":1}", "{\"n\":2}"}, *two_lines[] = {"{\"n\":3}"};
    write_lines(one, one_lines, 2);
    write_lines(two, two_lines, 1);
    const char *paths[] = {one, two};
    TinaReader *r;
    TinaError err;
    CHECK(tina_reader_open(&r, paths, 2, &err) == TINA_OK);
    const char *line;
    size_t len;
    CHECK(tina_reader_next(r, &line, &len, &err) == TINA_OK);
    CHECK(tina_reader_next(r, &line, &len, &err) == TINA_OK);
    CHECK_STR(tina_reader_name(r), one);
    CHECK(tina_reader_line(r) == 2);
    CHECK(tina_reader_next(r, &line, &len, &err) == TINA_OK);
    CHECK_STR(line, "{\"n\":3}");
    CHECK_STR(tina_reader_name(r), two);
    CHECK(tina_reader_line(r) == 1);
    tina_reader_close(r);
}

static void an_aborted_output_leaves_no_file_and_keeps_the_old_one(void) {
    remove_folder_contents();
    const char *path = path_in_folder("kept.jsonl");
    write_file(path, "old\n", 4);
    TinaWriter *w;
    TinaError err;
    CHECK(tina_writer_open(&w, path, &err) == TINA_OK);
    CHECK(tina_writer_line(w, "new", 3, &err) == TINA_OK);
    CHECK(files_in_folder() == 2); /* the temporary file sits beside the target while writing */
    tina_writer_abort(w);
    CHECK(files_in_folder() == 1);
    FILE *f = fopen(path, "rb");
    char text[16] = {0};
    CHECK(fread(text, 1, sizeof text - 1, f) == 4);
    fclose(f);
    CHECK_STR(text, "old\n");

    const char *fresh = path_in_folder("never.jsonl.zst");
    CHECK(tina_writer_open(&w, fresh, &err) == TINA_OK);
    CHECK(tina_writer_line(w, "x", 1, &err) == TINA_OK);
    tina_writer_abort(w);
    CHECK(access(fresh, F_OK) != 0);
    CHECK(files_in_folder() == 1);
}

/* A file written into the folder's temporary, one committed there, a signal: none of it is left, and the signal
 * still ends the process. */
static void a_signal_removes_an_uncommitted_folder_and_its_files(void) {
    remove_folder_contents();
    pid_t child = fork();
    if (child == 0) {
        TinaFolder f;
        TinaWriter *done, *open;
        TinaError err;
        char path[600];
        if (tina_folder_open(&f, path_in_folder("adapter"), &err)) _exit(3);
        snprintf(path, sizeof path, "%s/done.json", tina_folder_path(&f));
        if (tina_writer_open(&done, path, &err) || tina_writer_line(done, "{}", 2, &err) ||
            tina_writer_commit(done, &err))
            _exit(3);
        snprintf(path, sizeof path, "%s/open.json", tina_folder_path(&f));
        if (tina_writer_open(&open, path, &err) || tina_writer_line(open, "{", 1, &err)) _exit(3);
        raise(SIGTERM);
        _exit(4);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    CHECK(files_in_folder() == 0);
}

/* mkdtemp makes its folder 0700; the committed folder has what mkdir would have given it */
static void a_committed_folder_has_the_umasks_permissions(void) {
    remove_folder_contents();
    mode_t mask = umask(022);
    TinaFolder f;
    TinaError err;
    CHECK(tina_folder_open(&f, path_in_folder("made"), &err) == TINA_OK);
    CHECK(tina_folder_commit(&f, &err) == TINA_OK);
    umask(mask);
    struct stat st;
    CHECK(stat(path_in_folder("made"), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
    rmdir(path_in_folder("made"));
}

static void a_committed_output_replaces_the_old_file_and_keeps_its_permissions(void) {
    const char *path = path_in_folder("replaced.jsonl");
    write_file(path, "old\n", 4);
    chmod(path, 0640);
    const char *lines[] = {"{\"new\":true}"};
    write_lines(path, lines, 1);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    TinaError err;
    CHECK(expect_lines(&path, 1, lines, 1, &err) == TINA_OK);

    const char *fresh = path_in_folder("fresh.jsonl");
    mode_t old_mask = umask(022);
    write_lines(fresh, lines, 1);
    umask(old_mask);
    CHECK(stat(fresh, &st) == 0);
    CHECK((st.st_mode & 0777) == 0644); /* not mkstemp's 0600 */
}

static void a_missing_input_is_an_input_error_naming_the_file(void) {
    const char *path = path_in_folder("does-not-exist.jsonl");
    TinaError err;
    CHECK(expect_lines(&path, 1, NULL, 0, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "does-not-exist.jsonl") != NULL);
    CHECK(strstr(err.message, "No such file") != NULL);
}

static void a_truncated_zstd_file_is_an_error(void) {
    const char *lines[] = {"{\"a\":\"some text that makes a frame of a few dozen bytes\"}"};
    const char *path = path_in_folder("truncated.zst");
    write_lines(path, lines, 1);
    struct stat st;
    stat(path, &st);
    CHECK(truncate(path, st.st_size - 6) == 0);
    TinaError err;
    CHECK(expect_lines(&path, 1, lines, 0, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "truncated zstd") != NULL);
}

static void corrupt_zstd_data_is_an_error(void) {
    const char *lines[] = {"{\"a\":\"some text that makes a frame of a few dozen bytes\"}"};
    const char *path = path_in_folder("corrupt.zst");
    write_lines(path, lines, 1);
    FILE *f = fopen(path, "r+b");
    fseek(f, 12, SEEK_SET);
    fputc(0xff, f);
    fputc(0xff, f);
    fclose(f);
    TinaError err;
    CHECK(expect_lines(&path, 1, lines, 0, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "zstd") != NULL);
}

static void gzip_input_is_refused_by_name(void) {
    const char *path = path_in_folder("data.jsonl.gz");
    write_file(path, "\x1f\x8b\x08\x00\x00\x00\x00\x00", 8);
    TinaError err;
    CHECK(expect_lines(&path, 1, NULL, 0, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "gzip") != NULL);
}

static void an_output_in_a_missing_folder_or_on_a_folder_fails_cleanly(void) {
    TinaWriter *w;
    TinaError err;
    CHECK(tina_writer_open(&w, path_in_folder("no/such/folder/out.jsonl"), &err) == TINA_ERR_RUNTIME);
    CHECK(w == NULL);
    CHECK(strstr(err.message, "out.jsonl") != NULL);
    CHECK(tina_writer_open(&w, folder, &err) == TINA_ERR_INPUT);
    CHECK(strstr(err.message, "directory") != NULL);
}

static void writing_to_a_device_writes_in_place(void) {
    TinaWriter *w;
    TinaError err;
    CHECK(tina_writer_open(&w, "/dev/null", &err) == TINA_OK);
    CHECK(tina_writer_line(w, "x", 1, &err) == TINA_OK);
    CHECK(tina_writer_commit(w, &err) == TINA_OK);
    struct stat st;
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode)); /* still the device, not a renamed file */
}

static void buffers_grow_and_stay_terminated(void) {
    TinaBuf buf = {0};
    TinaError err;
    for (int i = 0; i < 1000; i++) CHECK(tina_buf_append_str(&buf, "abc", &err) == TINA_OK);
    CHECK(buf.len == 3000);
    CHECK(buf.data[buf.len] == '\0');
    tina_buf_clear(&buf);
    CHECK(buf.len == 0 && buf.data[0] == '\0');
    tina_buf_free(&buf);
}

static void setup(void) {
    if (!mkdtemp(folder)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void teardown(void) {
    remove_folder_contents();
    rmdir(folder);
}

int main(void) {
    static const TestCase tests[] = {
        TEST(plain_lines_come_without_line_ends_and_blank_lines_are_skipped),
        TEST(blank_lines_after_the_last_record_end_the_stream),
        TEST(a_byte_order_mark_starting_an_input_is_skipped),
        TEST(zstd_output_round_trips_and_starts_with_the_zstd_magic),
        TEST(zstd_input_is_recognised_by_content_whatever_its_name),
        TEST(concatenated_zstd_frames_read_as_one_stream),
        TEST(lines_of_several_megabytes_are_read_whole),
        TEST(several_inputs_read_in_order_with_their_own_names_and_line_numbers),
        TEST(an_aborted_output_leaves_no_file_and_keeps_the_old_one),
        TEST(a_committed_output_replaces_the_old_file_and_keeps_its_permissions),
        TEST(a_signal_removes_an_uncommitted_folder_and_its_files),
        TEST(a_committed_folder_has_the_umasks_permissions),
        TEST(a_missing_input_is_an_input_error_naming_the_file),
        TEST(a_truncated_zstd_file_is_an_error),
        TEST(corrupt_zstd_data_is_an_error),
        TEST(gzip_input_is_refused_by_name),
        TEST(an_output_in_a_missing_folder_or_on_a_folder_fails_cleanly),
        TEST(writing_to_a_device_writes_in_place),
        TEST(buffers_grow_and_stay_terminated),
    };
    setup();
    int status = test_main("test_stream", tests, sizeof tests / sizeof tests[0]);
    teardown();
    return status;
}
