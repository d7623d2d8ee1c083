#include "io/fields.h"

const TinaFieldInfo tina_fields[TINA_FIELD_COUNT] = {
#define TINA_FIELD_INFO(name, key, stage, holds) {key, TINA_STAGE_##stage, holds},
    TINA_RECORD_FIELDS(TINA_FIELD_INFO)
#undef TINA_FIELD_INFO
};
