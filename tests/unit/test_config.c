/* SPDX-License-Identifier: MIT */
/*
 * test_config - the main.cf-syntax reader (common/config.c): comments, blank lines,
 * continuation lines, CRLF, duplicate keys, and hostile input, each error checked word for
 * word (label, line number, key). File tests work in a private mkdtemp directory under /tmp.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define LABEL "/etc/mailinit/mailinit.conf"

/* parse_ok - parse text (strlen) that must be accepted */
static struct config_file *parse_ok(const char *text)
{
        struct config_error err = {.message = "untouched"};
        struct config_file *f = NULL;
        int r;

        r = config_parse(LABEL, text, strlen(text), &f, &err);
        if (r != 0)
                fail_msg("config_parse(\"%s\"): got r=%d (%s), want 0", text, r, err.message);
        assert_non_null(f);
        assert_string_equal(f->label, LABEL);
        return f;
}

/* parse_fails - parse len bytes that must be refused with want_r and exactly want_message */
static void parse_fails(const char *text, size_t len, int want_r, const char *want_message)
{
        struct config_error err = {.message = "untouched"};
        struct config_file *f = (struct config_file *)0x1; /* must stay as it is */
        int r;

        r = config_parse(LABEL, text, len, &f, &err);
        if (r != want_r)
                fail_msg("config_parse: got r=%d, want %d (message \"%s\")", r, want_r,
                         err.message);
        assert_ptr_equal(f, (struct config_file *)0x1);
        if (strcmp(err.message, want_message) != 0)
                fail_msg("config_parse: got message\n  \"%s\"\nwant\n  \"%s\"", err.message,
                         want_message);
}

/* check_entry - entry i is key = value from line */
static void check_entry(const struct config_file *f, size_t i, const char *key, const char *value,
                        unsigned line)
{
        if (i >= f->n_entries)
                fail_msg("entry %zu: got only %zu entries", i, f->n_entries);
        if (strcmp(f->entries[i].key, key) != 0)
                fail_msg("entry %zu: got key \"%s\", want \"%s\"", i, f->entries[i].key, key);
        if (strcmp(f->entries[i].value, value) != 0)
                fail_msg("entry %zu (%s): got value \"%s\", want \"%s\"", i, key,
                         f->entries[i].value, value);
        if (f->entries[i].line != line)
                fail_msg("entry %zu (%s): got line %u, want %u", i, key, f->entries[i].line, line);
}

static void test_empty_and_comment_only(void **state)
{
        static const char *const texts[] = {
                "", "\n", "\n\n\n", "# only a comment\n", "   \n\t\n", "#a\n  # b\n\t#c", "\r\n",
        };
        (void)state;

        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
                struct config_file *f = parse_ok(texts[i]);

                if (f->n_entries != 0)
                        fail_msg("\"%s\": got %zu entries, want 0", texts[i], f->n_entries);
                config_file_free(f);
        }
}

static void test_comments_and_blank_lines(void **state)
{
        struct config_file *f;

        (void)state;
        f = parse_ok("# mailinit.conf\n"
                     "\n"
                     "mode = postfix\n"
                     "   \n"
                     "\t# indented comment\n"
                     "region=eu-west-1\n"
                     "#relayhost = [commented.example]:587\n"
                     "secret_id   =   ses/smtp   \t\n"
                     "notify_to =\n");
        assert_int_equal(f->n_entries, 4);
        check_entry(f, 0, "mode", "postfix", 3);
        check_entry(f, 1, "region", "eu-west-1", 6);
        check_entry(f, 2, "secret_id", "ses/smtp", 8);
        check_entry(f, 3, "notify_to", "", 9);
        assert_null(config_file_get(f, "relayhost"));
        config_file_free(f);
}

static void test_no_trailing_newline(void **state)
{
        struct config_file *f;

        (void)state;
        f = parse_ok("a = 1\nb = 2");
        assert_int_equal(f->n_entries, 2);
        check_entry(f, 1, "b", "2", 2);
        config_file_free(f);
}

static void test_value_keeps_equals_and_hash(void **state)
{
        struct config_file *f;

        (void)state;
        /* As in Postfix, '#' starts a comment only at the beginning of a line. */
        f = parse_ok("mydomain = aws-master.net  # comment\n"
                     "secret_id = a=b = c\n"
                     "notify_to=#ops@example.com\n");
        check_entry(f, 0, "mydomain", "aws-master.net  # comment", 1);
        check_entry(f, 1, "secret_id", "a=b = c", 2);
        check_entry(f, 2, "notify_to", "#ops@example.com", 3);
        config_file_free(f);
}

static void test_continuation_lines(void **state)
{
        struct config_file *f;

        (void)state;
        f = parse_ok("mynetworks = 127.0.0.0/8,\n"
                     "    10.0.0.0/8,\n"
                     "\t192.168.0.0/16\n"
                     "mode = builtin\n"
                     "restart_units =\n"
                     "  postfix.service\n");
        assert_int_equal(f->n_entries, 3);
        /* joined with exactly one space, whatever the indentation */
        check_entry(f, 0, "mynetworks", "127.0.0.0/8, 10.0.0.0/8, 192.168.0.0/16", 1);
        check_entry(f, 1, "mode", "builtin", 4);
        check_entry(f, 2, "restart_units", "postfix.service", 5);
        config_file_free(f);
}

static void test_continuation_trailing_space_joined_once(void **state)
{
        struct config_file *f;

        (void)state;
        f = parse_ok("listen = 127.0.0.1:25   \n"
                     "       [::1]:25  \t\n");
        check_entry(f, 0, "listen", "127.0.0.1:25 [::1]:25", 1);
        config_file_free(f);
}

static void test_comment_between_line_and_continuation(void **state)
{
        struct config_file *f;

        (void)state;
        f = parse_ok("mynetworks = 127.0.0.0/8\n"
                     "# the VPC\n"
                     "\n"
                     "    # indented comment\n"
                     "    10.0.0.0/16\n"
                     "notify_to = ops@example.com\n");
        assert_int_equal(f->n_entries, 2);
        check_entry(f, 0, "mynetworks", "127.0.0.0/8 10.0.0.0/16", 1);
        check_entry(f, 1, "notify_to", "ops@example.com", 6);
        config_file_free(f);
}

static void test_key_continued_on_next_line(void **state)
{
        struct config_file *f;

        (void)state;
        /* Postfix joins first, then splits "name = value": the '=' may come later. */
        f = parse_ok("mode\n  = postfix\n");
        check_entry(f, 0, "mode", "postfix", 1);
        config_file_free(f);
}

static void test_crlf(void **state)
{
        struct config_file *f;

        (void)state;
        f = parse_ok("# written on Windows\r\n"
                     "mode = postfix\r\n"
                     "\r\n"
                     "mynetworks = 127.0.0.0/8,\r\n"
                     "  10.0.0.0/8\r\n"
                     "secret_id = ses\r\n");
        assert_int_equal(f->n_entries, 3);
        check_entry(f, 0, "mode", "postfix", 2);
        check_entry(f, 1, "mynetworks", "127.0.0.0/8, 10.0.0.0/8", 4);
        check_entry(f, 2, "secret_id", "ses", 6);
        for (size_t i = 0; i < f->n_entries; i++)
                assert_null(strchr(f->entries[i].value, '\r'));
        config_file_free(f);
}

static void test_duplicate_keys_later_wins(void **state)
{
        struct config_file *f;

        (void)state;
        f = parse_ok("mode = builtin\nregion = us-east-1\nmode = postfix\n");
        assert_int_equal(f->n_entries, 3);
        check_entry(f, 0, "mode", "builtin", 1);
        check_entry(f, 2, "mode", "postfix", 3);
        assert_string_equal(config_file_get(f, "mode"), "postfix");
        assert_string_equal(config_file_get(f, "region"), "us-east-1");
        assert_null(config_file_get(f, "Mode")); /* keys are case-sensitive, as in Postfix */
        assert_null(config_file_get(f, "mod"));
        config_file_free(f);
}

static void test_key_length_limit(void **state)
{
        char text[512], key[256];
        struct config_file *f;

        (void)state;
        /* 64 characters is the longest accepted name */
        memset(key, 'k', 64);
        key[64] = '\0';
        (void)snprintf(text, sizeof text, "%s = x\n", key);
        f = parse_ok(text);
        check_entry(f, 0, key, "x", 1);
        config_file_free(f);

        memset(key, 'k', 65);
        key[65] = '\0';
        (void)snprintf(text, sizeof text, "a = 1\n%s = x\n", key);
        parse_fails(text, strlen(text), -EINVAL,
                    LABEL ":2: parameter name "
                          "'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' "
                          "is too long");

        memset(key, 'x', 200);
        key[200] = '\0';
        (void)snprintf(text, sizeof text, "%s = x\n", key);
        parse_fails(text, strlen(text), -EINVAL,
                    LABEL ":1: parameter name "
                          "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' "
                          "is too long");
}

struct error_case {
        const char *name;
        const char *text;
        const char *want;
};

static void test_syntax_errors(void **state)
{
        static const struct error_case cases[] = {
                {"missing '='", "mode = builtin\nrelay_tls starttls\n",
                 LABEL ":2: missing '=' after 'relay_tls'"},
                {"missing '=' bare word", "# c\n\nmode\n", LABEL ":3: missing '=' after 'mode'"},
                {"missing '=' over continuation", "a = 1\nfoo\n  bar\nb = 2\n",
                 LABEL ":2: missing '=' after 'foo'"},
                {"space in key", "my key = x\n",
                 LABEL ":1: bad parameter name near 'my': expected 'name = value'"},
                {"dash in key", "relay-tls = none\n",
                 LABEL ":1: bad parameter name near 'relay': expected 'name = value'"},
                {"colon in key", "mode: postfix\n", LABEL ":1: missing '=' after 'mode'"},
                {"no key", "=x\n", LABEL ":1: expected a parameter name at the start of the line"},
                {"non-ASCII key", "mode = builtin\n\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87 = x\n",
                 LABEL ":2: expected a parameter name at the start of the line"},
                {"CR key", "\rmode = x\n",
                 LABEL ":1: expected a parameter name at the start of the line"},
                {"continuation first", "  mode = postfix\n",
                 LABEL ":1: continuation line (starting with white space) without a parameter "
                       "before it"},
                {"continuation after comments", "# header\n\n\tvalue\n",
                 LABEL ":3: continuation line (starting with white space) without a parameter "
                       "before it"},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                print_message("case: %s\n", cases[i].name);
                parse_fails(cases[i].text, strlen(cases[i].text), -EINVAL, cases[i].want);
        }
}

static void test_nul_byte(void **state)
{
        static const char text[] = "mode = postfix\nregion = eu-west-1\nsecret_id = a\0b\nx = y\n";

        (void)state;
        parse_fails(text, sizeof text - 1, -EINVAL, LABEL ":3: line contains a NUL byte");
        /* in a comment line too: the file is not text */
        parse_fails("# a\0b\n", 6, -EINVAL, LABEL ":1: line contains a NUL byte");
}

static void test_null_error_is_tolerated(void **state)
{
        struct config_file *f = NULL;

        (void)state;
        assert_int_equal(config_parse(LABEL, "x\n", 2, &f, NULL), -EINVAL);
        assert_null(f);
        assert_null(config_file_free(NULL));
}

static void test_too_large(void **state)
{
        size_t len = 2 * 1024 * 1024;
        char *text = malloc(len);

        (void)state;
        assert_non_null(text);
        /* valid lines, so only the size can be the reason */
        for (size_t i = 0; i + 10 <= len; i += 10)
                memcpy(text + i, "a = 12345\n", 10);
        memcpy(text + len - 2, "\n\n", 2);
        parse_fails(text, len, -EFBIG, LABEL ": file is larger than 1048576 bytes");
        /* the limit itself is accepted, one byte more is not */
        {
                struct config_error err;
                struct config_file *f = NULL;

                assert_int_equal(config_parse(LABEL, text, CONFIG_FILE_MAX, &f, &err), 0);
                assert_int_equal(f->n_entries, CONFIG_FILE_MAX / 10 + 1);
                config_file_free(f);
        }
        parse_fails(text, CONFIG_FILE_MAX + 1, -EFBIG, LABEL ": file is larger than 1048576 bytes");
        free(text);
}

static void test_long_single_line(void **state)
{
        size_t n = 100 * 1024;
        char *text = malloc(n + 32);
        struct config_file *f;

        (void)state;
        assert_non_null(text);
        /* The reader has no line limit (Postfix has none either); the file cap bounds it and
         * settings_set() refuses values over SETTING_VALUE_MAX with a message. */
        memcpy(text, "mydomain = ", 11);
        memset(text + 11, 'a', n);
        memcpy(text + 11 + n, "\n", 2);
        f = parse_ok(text);
        assert_int_equal(f->n_entries, 1);
        assert_int_equal(strlen(f->entries[0].value), n);
        assert_true(f->entries[0].value[0] == 'a' && f->entries[0].value[n - 1] == 'a');
        config_file_free(f);
        free(text);
}

/* tmpdir - a private directory for file tests, removed by the group teardown */
static char tmpdir[64];

static int group_setup(void **state)
{
        (void)state;
        (void)snprintf(tmpdir, sizeof tmpdir, "/tmp/test_config.XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
        char path[128];

        (void)state;
        (void)snprintf(path, sizeof path, "%s/mailinit.conf", tmpdir);
        (void)unlink(path);
        (void)snprintf(path, sizeof path, "%s/big.conf", tmpdir);
        (void)unlink(path);
        (void)snprintf(path, sizeof path, "%s/dir", tmpdir);
        (void)rmdir(path);
        return rmdir(tmpdir);
}

static void write_file(const char *path, const char *data, size_t len)
{
        FILE *fp = fopen(path, "we");

        assert_non_null(fp);
        assert_int_equal(fwrite(data, 1, len, fp), len);
        assert_int_equal(fclose(fp), 0);
}

static void test_read_file(void **state)
{
        static const char text[] = "mode = postfix\n# c\nrelayhost = [127.0.0.1]:2525\n";
        struct config_error err = {.message = ""};
        struct config_file *f = NULL;
        char path[128];

        (void)state;
        (void)snprintf(path, sizeof path, "%s/mailinit.conf", tmpdir);
        write_file(path, text, sizeof text - 1);
        assert_int_equal(config_read_file(path, LABEL, &f, &err), 0);
        assert_string_equal(f->label, LABEL);
        assert_int_equal(f->n_entries, 2);
        check_entry(f, 1, "relayhost", "[127.0.0.1]:2525", 3);
        config_file_free(f);

        /* parse errors name the label, not the I/O path */
        write_file(path, "ok = 1\nbroken\n", 14);
        f = NULL;
        assert_int_equal(config_read_file(path, LABEL, &f, &err), -EINVAL);
        assert_null(f);
        assert_string_equal(err.message, LABEL ":2: missing '=' after 'broken'");
}

static void test_read_file_missing(void **state)
{
        struct config_error err = {.message = ""};
        struct config_file *f = NULL;
        char path[128];

        (void)state;
        (void)snprintf(path, sizeof path, "%s/does-not-exist.conf", tmpdir);
        assert_int_equal(config_read_file(path, LABEL, &f, &err), -ENOENT);
        assert_null(f);
        assert_string_equal(err.message, LABEL ": cannot read: No such file or directory");
}

static void test_read_file_directory(void **state)
{
        struct config_error err = {.message = ""};
        struct config_file *f = NULL;
        char path[128];

        (void)state;
        (void)snprintf(path, sizeof path, "%s/dir", tmpdir);
        assert_int_equal(mkdir(path, 0700), 0);
        assert_int_equal(config_read_file(path, LABEL, &f, &err), -EISDIR);
        assert_null(f);
        assert_string_equal(err.message, LABEL ": cannot read: Is a directory");
}

static void test_read_file_too_large(void **state)
{
        struct config_error err = {.message = ""};
        struct config_file *f = NULL;
        size_t len = CONFIG_FILE_MAX + 1;
        char path[128], *data = malloc(len);

        (void)state;
        assert_non_null(data);
        memset(data, '#', len);
        (void)snprintf(path, sizeof path, "%s/big.conf", tmpdir);
        write_file(path, data, len);
        free(data);
        assert_int_equal(config_read_file(path, LABEL, &f, &err), -EFBIG);
        assert_null(f);
        assert_string_equal(err.message, LABEL ": file is larger than 1048576 bytes");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty_and_comment_only),
                cmocka_unit_test(test_comments_and_blank_lines),
                cmocka_unit_test(test_no_trailing_newline),
                cmocka_unit_test(test_value_keeps_equals_and_hash),
                cmocka_unit_test(test_continuation_lines),
                cmocka_unit_test(test_continuation_trailing_space_joined_once),
                cmocka_unit_test(test_comment_between_line_and_continuation),
                cmocka_unit_test(test_key_continued_on_next_line),
                cmocka_unit_test(test_crlf),
                cmocka_unit_test(test_duplicate_keys_later_wins),
                cmocka_unit_test(test_key_length_limit),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_null_error_is_tolerated),
                cmocka_unit_test(test_too_large),
                cmocka_unit_test(test_long_single_line),
                cmocka_unit_test(test_read_file),
                cmocka_unit_test(test_read_file_missing),
                cmocka_unit_test(test_read_file_directory),
                cmocka_unit_test(test_read_file_too_large),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
