/* strset: membership of byte strings, through growth. */
#include <stdio.h>

#include "strset.h"
#include "test.h"

static void keys_are_added_once(void) {
    TinaStrSet *set;
    TinaError err;
    int added;
    CHECK(tina_strset_new(&set, &err) == TINA_OK);
    CHECK(tina_strset_add(set, "abc", 3, &added, &err) == TINA_OK && added == 1);
    CHECK(tina_strset_add(set, "abc", 3, &added, &err) == TINA_OK && added == 0);
    CHECK(tina_strset_add(set, "ab", 2, &added, &err) == TINA_OK && added == 1);   /* a prefix is another key */
    CHECK(tina_strset_add(set, "ab\0c", 4, &added, &err) == TINA_OK && added == 1); /* bytes, not C strings */
    CHECK(tina_strset_add(set, "", 0, &added, &err) == TINA_OK && added == 1);
    CHECK(tina_strset_size(set) == 4);
    tina_strset_free(set);
}

static void a_hundred_thousand_keys_survive_growth(void) {
    TinaStrSet *set;
    TinaError err;
    int added, all_new = 1, none_new = 1;
    CHECK(tina_strset_new(&set, &err) == TINA_OK);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof key, "prompt-%d", i);
        CHECK(tina_strset_add(set, key, (size_t)n, &added, &err) == TINA_OK);
        all_new &= added;
    }
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof key, "prompt-%d", i);
        CHECK(tina_strset_add(set, key, (size_t)n, &added, &err) == TINA_OK);
        none_new &= !added;
    }
    CHECK(all_new && none_new);
    CHECK(tina_strset_size(set) == 100000);
    tina_strset_free(set);
}

RUN_TESTS("test_strset", TEST(keys_are_added_once), TEST(a_hundred_thousand_keys_survive_growth))
