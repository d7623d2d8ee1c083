/* version: what this build of tina is, for every tool's --version. */
#ifndef TINA_VERSION_H
#define TINA_VERSION_H

#include <stddef.h>

#define TINA_VERSION "0.1.0"

/* One line: the libraries linked and the compute backends built in, e.g.
 * "cJSON 1.7.15, zstd 1.5.4, backends: cpu cuda (runtime 13.0, 0 devices)". */
void tina_version_describe(char *out, size_t size);

#endif
