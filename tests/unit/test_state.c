/* SPDX-License-Identifier: MIT */
/*
 * test_state - status.json: what is written reads back the same, and files that are not a
 * status.json are refused with a reason instead of being trusted.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "state.h"

static char tmpdir[] = "/tmp/test_state.XXXXXX";

static int setup(void **state)
{
        (void)state;
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
        char path[256];

        (void)state;
        snprintf(path, sizeof path, "%s/status.json", tmpdir);
        (void)unlink(path);
        return rmdir(tmpdir);
}

static void test_roundtrip(void **state)
{
        char instance_id[] = "i-0123456789abcdef0", mode[] = "postfix", queue_id[] = "4ABC123";
        char error[] = "Restarting postfix.service failed: the job's result is 'failed'";
        struct firstboot_state in = {
                .instance_id = instance_id,
                .mode = mode,
                .ok = false,
                .error = error,
                .completed_at = 1795824000, /* 2026-11-28T00:00:00Z */
                .queue_id = queue_id,
                .confirmation = CONFIRMATION_FAILED,
        };
        struct firstboot_state out;
        char path[256], why[256], *text;
        struct stat st;

        (void)state;
        snprintf(path, sizeof path, "%s/status.json", tmpdir);
        assert_int_equal(state_write(path, &in), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        assert_int_equal(read_file_bounded(path, 4096, &text, NULL), 0);
        print_message("%s", text);
        assert_non_null(strstr(text, "\"completed_at\": \"2026-11-28T00:00:00Z\""));
        assert_non_null(strstr(text, "\"result\": \"failed\""));
        free(text);

        assert_int_equal(state_read(path, &out, why, sizeof why), 0);
        assert_string_equal(out.instance_id, in.instance_id);
        assert_string_equal(out.mode, in.mode);
        assert_false(out.ok);
        assert_string_equal(out.error, in.error);
        assert_int_equal(out.completed_at, in.completed_at);
        assert_string_equal(out.queue_id, in.queue_id);
        assert_int_equal(out.confirmation, CONFIRMATION_FAILED);
        state_done(&out);

        /* A success has no "error" member. */
        in.ok = true;
        in.confirmation = CONFIRMATION_PENDING;
        assert_int_equal(state_write(path, &in), 0);
        assert_int_equal(read_file_bounded(path, 4096, &text, NULL), 0);
        assert_null(strstr(text, "\"error\""));
        assert_non_null(strstr(text, "\"status\": \"pending\""));
        free(text);
        assert_int_equal(state_read(path, &out, why, sizeof why), 0);
        assert_true(out.ok);
        assert_int_equal(out.confirmation, CONFIRMATION_PENDING);
        state_done(&out);
}

static void test_hostile_files(void **state)
{
        static const char *const bad[] = {
                "",
                "not json",
                "[]",
                "{\"result\": \"ok\", \"completed_at\": \"2026-11-28T00:00:00Z\"}",
                "{\"instance_id\": \"i-1\", \"result\": \"maybe\", \"completed_at\": \"2026-11-28T00:00:00Z\"}",
                "{\"instance_id\": \"i-1\", \"result\": \"ok\", \"completed_at\": \"yesterday\"}",
                "{\"instance_id\": 42, \"result\": \"ok\", \"completed_at\": \"2026-11-28T00:00:00Z\"}",
        };
        char path[256], why[256];

        (void)state;
        snprintf(path, sizeof path, "%s/status.json", tmpdir);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct firstboot_state out;

                assert_int_equal(write_file_atomic(path, bad[i], strlen(bad[i]), 0644), 0);
                why[0] = '\0';
                assert_int_equal(state_read(path, &out, why, sizeof why), -EBADMSG);
                print_message("'%s' -> %s\n", bad[i], why);
                assert_non_null(strstr(why, path));
        }
        (void)unlink(path);
        {
                struct firstboot_state out;

                assert_int_equal(state_read(path, &out, why, sizeof why), -ENOENT);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_hostile_files),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
