/* strmap: byte-string keys to values, through growth and clearing. */
#include <stdio.h>

#include "base/strmap.h"
#include "test.h"

static void keys_are_inserted_once_and_keep_their_first_value(void) {
    TinaStrMap *map;
    TinaError err;
    bool inserted;
    int64_t value = -1;
    CHECK(tina_strmap_new(&map, &err) == TINA_OK);
    CHECK(tina_strmap_insert(map, "abc", 3, 7, &inserted, &err) == TINA_OK && inserted);
    CHECK(tina_strmap_insert(map, "abc", 3, 9, &inserted, &err) == TINA_OK && !inserted);
    CHECK(tina_strmap_get(map, "abc", 3, &value) && value == 7);
    CHECK(tina_strmap_insert(map, "ab", 2, 1, &inserted, &err) == TINA_OK && inserted);   /* a prefix is another key */
    CHECK(tina_strmap_insert(map, "ab\0c", 4, 2, &inserted, &err) == TINA_OK && inserted); /* bytes, not C strings */
    CHECK(tina_strmap_insert(map, "", 0, 3, &inserted, &err) == TINA_OK && inserted);
    CHECK(tina_strmap_size(map) == 4);
    CHECK(!tina_strmap_get(map, "abd", 3, &value));
    CHECK(tina_strmap_get(map, "ab\0c", 4, &value) && value == 2);
    tina_strmap_clear(map);
    CHECK(tina_strmap_size(map) == 0 && !tina_strmap_get(map, "abc", 3, &value));
    CHECK(tina_strmap_insert(map, "abc", 3, 5, &inserted, &err) == TINA_OK && inserted);
    tina_strmap_free(map);
}

static void a_hundred_thousand_keys_survive_growth(void) {
    TinaStrMap *map;
    TinaError err;
    bool inserted;
    int all_new = 1, none_new = 1, values_right = 1;
    CHECK(tina_strmap_new(&map, &err) == TINA_OK);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof key, "prompt-%d", i);
        CHECK(tina_strmap_insert(map, key, (size_t)n, i, &inserted, &err) == TINA_OK);
        all_new &= inserted;
    }
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof key, "prompt-%d", i);
        int64_t value;
        CHECK(tina_strmap_insert(map, key, (size_t)n, -1, &inserted, &err) == TINA_OK);
        none_new &= !inserted;
        values_right &= tina_strmap_get(map, key, (size_t)n, &value) && value == i;
    }
    CHECK(all_new && none_new && values_right);
    CHECK(tina_strmap_size(map) == 100000);
    tina_strmap_free(map);
}

RUN_TESTS("test_strmap", TEST(keys_are_inserted_once_and_keep_their_first_value),
          TEST(a_hundred_thousand_keys_survive_growth))
