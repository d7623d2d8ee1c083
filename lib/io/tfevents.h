/* tfevents: TensorBoard's event files, written: TFRecord frames (a little-endian 64-bit length, its masked CRC-32C,
 * the data, the data's masked CRC-32C) holding Event protocol buffers (tensorflow/core/util/event.proto): first the
 * file version, then one event a step with its scalars (Summary.Value's tag and simple_value). Enough for
 * TensorBoard's scalar dashboard; no other summary kinds. */
#ifndef TINA_TFEVENTS_H
#define TINA_TFEVENTS_H

#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

/* Appends the file's first event: file_version "brain.Event:2" at wall_time. */
TinaStatus tina_tfevents_start(TinaBuf *out, double wall_time, TinaError *err);

/* Appends one event of step holding n scalars, tags[i] = values[i]. */
TinaStatus tina_tfevents_scalars(TinaBuf *out, double wall_time, int64_t step, const char *const *tags,
                                 const float *values, int n, TinaError *err);

#endif
