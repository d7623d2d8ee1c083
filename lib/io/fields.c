#include "io/fields.h"

const char *const tina_field_names[TINA_FIELD_COUNT] = {
#define TINA_FIELD_NAME(name, key, stage, holds) key,
    TINA_RECORD_FIELDS(TINA_FIELD_NAME)
#undef TINA_FIELD_NAME
};
