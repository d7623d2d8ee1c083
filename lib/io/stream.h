/* stream: JSON-lines input and output, plain or zstd, of any line length, with atomic output files.
 *
 * Reading: a list of paths ("-" is stdin) read in order as one stream of lines; each input is zstd if it starts
 * with a zstd frame, whatever its name. Writing: stdout, or a file that is written under a temporary name in its
 * own folder and renamed over the target only by tina_writer_commit, so a failed run never leaves a partial file;
 * zstd when the name ends in ".zst". */
#ifndef TINA_STREAM_H
#define TINA_STREAM_H

#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

typedef struct TinaReader TinaReader;
typedef struct TinaWriter TinaWriter;

/* Opens paths[0..n) as one stream ("-" is stdin; n == 0 reads stdin). Inputs are opened one after the other as
 * reading reaches them, so an unreadable later input is reported when reached, with its name. */
TinaStatus tina_reader_open(TinaReader **reader, const char *const *paths, int n, TinaError *err);

/* The next line that is not blank, without its "\n" (or "\r\n"), NUL-terminated; *line is NULL after the last
 * line of the last input. The line stays valid until the next call. A last line without "\n" counts; a UTF-8 byte
 * order mark that starts an input is not part of its first line. */
TinaStatus tina_reader_next(TinaReader *reader, const char **line, size_t *len, TinaError *err);

/* Name of the input the last line came from ("<stdin>" for "-"), and that line's 1-based number in it. */
const char *tina_reader_name(const TinaReader *reader);
long tina_reader_line(const TinaReader *reader);

void tina_reader_close(TinaReader *reader);

/* Reads all of a file (plain or zstd, by content) into out, replacing what out held. */
TinaStatus tina_read_file(const char *path, TinaBuf *out, TinaError *err);

/* Opens path for writing; NULL or "-" is stdout (written as it comes, never compressed). A path that exists and is
 * not a regular file (a FIFO, /dev/null) is written in place. */
TinaStatus tina_writer_open(TinaWriter **writer, const char *path, TinaError *err);

TinaStatus tina_writer_write(TinaWriter *writer, const void *data, size_t len, TinaError *err);

/* Writes line[0..len) and a "\n". */
TinaStatus tina_writer_line(TinaWriter *writer, const char *line, size_t len, TinaError *err);

/* Flushes, ends the zstd frame, syncs the file to disk and gives it its name. Frees the writer, also on failure
 * (when the temporary file is removed). */
TinaStatus tina_writer_commit(TinaWriter *writer, TinaError *err);

/* Drops everything written: removes the temporary file and frees the writer. NULL is allowed. */
void tina_writer_abort(TinaWriter *writer);

/* A folder of outputs that appears whole or not at all: its files are written into a temporary sibling,
 * ".NAME.tmp-XXXXXX", renamed to the folder's name by tina_folder_commit. A folder that exists already and holds
 * files is written in place instead, file by file (each file atomic, as tina_writer_open). */
typedef struct {
    char *dir;  /* the folder's name */
    char *temp; /* the temporary folder, or NULL when writing in place */
} TinaFolder;

TinaStatus tina_folder_open(TinaFolder *folder, const char *dir, TinaError *err);
/* Where to write the files: the temporary folder, or dir itself. */
const char *tina_folder_path(const TinaFolder *folder);
/* Gives the folder its name (syncing its files' folder); frees the TinaFolder, also on failure (as abort). */
TinaStatus tina_folder_commit(TinaFolder *folder, TinaError *err);
/* Removes the temporary folder and what was written in it; frees the TinaFolder. */
void tina_folder_abort(TinaFolder *folder);

#endif
