/* SPDX-License-Identifier: MIT */
/*
 * test_queue_ids - the delivery schedule's set of known queue ids (relay/queue_ids.c): an id
 * is added once, its in-flight flag follows the calls, removal forgets it (and only it), ids
 * longer than a queue id are refused, and many ids stay distinct.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "queue_ids.h"

static void test_add_once(void **state)
{
        struct queue_ids s = {0};

        (void)state;
        assert_int_equal(queue_ids_add(&s, "A1B2C3D4E5F6"), 1);
        assert_int_equal(queue_ids_add(&s, "A1B2C3D4E5F6"), 0);
        assert_int_equal(queue_ids_add(&s, "A1B2C3D4E5F7"), 1);
        assert_int_equal(s.n, 2);
        assert_true(queue_ids_contains(&s, "A1B2C3D4E5F6"));
        assert_false(queue_ids_contains(&s, "A1B2C3D4E5F"));
        assert_false(queue_ids_contains(&s, "A1B2C3D4E5F60"));
        queue_ids_clear(&s);
        assert_int_equal(s.n, 0);
        assert_false(queue_ids_contains(&s, "A1B2C3D4E5F6"));
}

static void test_in_flight(void **state)
{
        struct queue_ids s = {0};

        (void)state;
        assert_int_equal(queue_ids_add(&s, "ID1"), 1);
        assert_false(queue_ids_in_flight(&s, "ID1")); /* added as waiting */
        queue_ids_set_in_flight(&s, "ID1", true);
        assert_true(queue_ids_in_flight(&s, "ID1"));
        /* adding a known id leaves its state alone */
        assert_int_equal(queue_ids_add(&s, "ID1"), 0);
        assert_true(queue_ids_in_flight(&s, "ID1"));
        queue_ids_set_in_flight(&s, "ID1", false);
        assert_false(queue_ids_in_flight(&s, "ID1"));
        /* unknown ids: no state, and marking them adds nothing */
        queue_ids_set_in_flight(&s, "ID2", true);
        assert_false(queue_ids_in_flight(&s, "ID2"));
        assert_false(queue_ids_contains(&s, "ID2"));
        assert_int_equal(s.n, 1);
        queue_ids_clear(&s);
}

static void test_remove(void **state)
{
        struct queue_ids s = {0};

        (void)state;
        assert_int_equal(queue_ids_add(&s, "X1"), 1);
        assert_int_equal(queue_ids_add(&s, "X2"), 1);
        queue_ids_remove(&s, "X1");
        queue_ids_remove(&s, "X3"); /* unknown: nothing */
        assert_int_equal(s.n, 1);
        assert_false(queue_ids_contains(&s, "X1"));
        assert_true(queue_ids_contains(&s, "X2"));
        assert_int_equal(queue_ids_add(&s, "X1"), 1); /* forgotten, so new again */
        queue_ids_clear(&s);
}

static void test_too_long(void **state)
{
        struct queue_ids s = {0};

        (void)state;
        assert_int_equal(queue_ids_add(&s, "012345678901234567890"), -EINVAL); /* 21 */
        assert_int_equal(queue_ids_add(&s, "01234567890123456789"), 1);        /* 20 */
        assert_int_equal(s.n, 1);
        queue_ids_clear(&s);
}

static void test_many(void **state)
{
        struct queue_ids s = {0};
        char id[32];

        (void)state;
        for (unsigned i = 0; i < 20000; i++) {
                (void)snprintf(id, sizeof id, "%012X", i * 2654435761u);
                assert_int_equal(queue_ids_add(&s, id), 1);
        }
        assert_int_equal(s.n, 20000);
        for (unsigned i = 0; i < 20000; i += 2) {
                (void)snprintf(id, sizeof id, "%012X", i * 2654435761u);
                queue_ids_remove(&s, id);
        }
        assert_int_equal(s.n, 10000);
        for (unsigned i = 0; i < 20000; i++) {
                (void)snprintf(id, sizeof id, "%012X", i * 2654435761u);
                assert_int_equal(queue_ids_contains(&s, id), i % 2 == 1);
        }
        queue_ids_clear(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_add_once), cmocka_unit_test(test_in_flight),
                cmocka_unit_test(test_remove),   cmocka_unit_test(test_too_long),
                cmocka_unit_test(test_many),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
