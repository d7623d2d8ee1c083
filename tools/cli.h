/* cli: the conventions every tina-* tool shares (see man/tina.7): messages on stderr as "tina-x: where: what",
 * exit status 0 success, 1 runtime failure, 2 bad usage or bad input, and strict parsing of option values.
 * This is the tool side of libtina, the one place allowed to exit. */
#ifndef TINA_CLI_H
#define TINA_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdnoreturn.h>

#include "base/error.h"
#include "io/record.h"

/* Names the running tool for every message; call first in main. */
void cli_init(const char *program);
const char *cli_program(void);
/* Sends what stdio holds for stdout now, for a tool that must know before it commits an output; a failure is the
 * caller's to report (and is not said again at exit). */
TinaStatus cli_flush_stdout(TinaError *err);

/* "tina-x: MESSAGE" and "Try 'tina-x --help'." on stderr, exit 2. */
noreturn void cli_usage_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* "tina-x: MESSAGE" on stderr. */
void cli_report(const TinaError *err);
/* "tina-x: FILE:LINE: MESSAGE" on stderr, for an error in the line the reader returned last. */
void cli_report_at(const char *file, long line, const TinaError *err);

/* Reads the records of paths[0..n) in order (as tina_reader_open: "-" is stdin, none reads stdin) and hands each to
 * add(record, context, err); a line that does not parse or that add refuses names its file and line in the
 * message ("FILE:LINE: ..."). */
typedef TinaStatus (*CliAddRecord)(const cJSON *record, void *context, TinaError *err);
TinaStatus cli_read_records(const char *const *paths, int n, CliAddRecord add, void *context, TinaError *err);

/* The tool's result: written to path (stdout when NULL; zstd for a name ending in ".zst") by cli_close_output only
 * when status is TINA_OK, and atomically (tina_writer_open); it returns the first failure, status or the write's.
 * Nothing is written on a failure, and an older file of that name stays as it was. */
FILE *cli_open_output(TinaError *err);
TinaStatus cli_close_output(FILE *out, const char *path, TinaStatus status, TinaError *err);

/* "tina-x VERSION (libraries, backends)" on stdout. */
void cli_print_version(void);

/* The getopt cases every tool shares, for its default branch: 'h' prints usage and exits 0, 'V' the version; a
 * missing value (':', with opterr 0 and a leading ':' in the short options), an unknown option and an abbreviation
 * of several of the tool's long options (naming them) are usage errors. */
noreturn void cli_standard_option(int c, char **argv, const char *usage, const struct option *long_options);

/* Option values, parsed strictly (the whole argument, within range) or a usage error naming the option. */
double cli_double(const char *option, const char *arg, double min, double max);
long long cli_integer(const char *option, const char *arg, long long min, long long max);
/* A comma-separated list: its items, each non-empty, in a NULL-terminated array (free it with free; the items live
 * in it); an empty list or item ("", "1,,2", "a,") is a usage error naming the option. */
char **cli_list(const char *option, const char *arg);
/* Index of arg in the NULL-terminated choices. */
int cli_choice(const char *option, const char *arg, const char *const *choices);

#endif
