/* SPDX-License-Identifier: MIT */
/*
 * test_postfix_conf - firstboot/postfix_conf.c: table-driven postconf -e cases (each want was
 * checked against Postfix 3.7's postconf -e; the integration test repeats that comparison),
 * idempotence (editing the result again changes nothing), error returns, lookup as Postfix's
 * parser reads main.cf, and the fixtures of tests/data/postfix against golden files made by
 * the real postconf (make_golden.sh), i.e. data made without the code under test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fileio.h"
#include "postfix_conf.h"

#define EDITS_MAX 16

/* A string literal with its length, so that cases may hold NUL bytes. */
#define TEXT(s) s, sizeof(s) - 1

struct edit_case {
        const char *name;
        const char *text;
        size_t len;
        struct postfix_conf_edit edits[4];
        size_t n_edits;
        int want_r;
        const char *want;
};

static const struct edit_case edit_cases[] = {
        {"replace in place, canonical spacing",
         TEXT("a = 1\nrelayhost=x\nb = 2\n"),
         {{"relayhost", "[h]:587"}},
         1,
         0,
         "a = 1\nrelayhost = [h]:587\nb = 2\n"},
        {"same value: line rewritten as name = value",
         TEXT("relayhost=x\n"),
         {{"relayhost", "x"}},
         1,
         0,
         "relayhost = x\n"},
        {"canonical line unchanged",
         TEXT("relayhost = x\n"),
         {{"relayhost", "x"}},
         1,
         0,
         "relayhost = x\n"},
        {"white space around '=' and at the end",
         TEXT("relayhost \t=\t x \t\n"),
         {{"relayhost", "y"}},
         1,
         0,
         "relayhost = y\n"},
        {"every occurrence rewritten, continuations dropped, comments kept",
         TEXT("a = 1\nrelayhost = x\n# c\n  cont\nb = 2\nrelayhost=y\n  more\n\tmore2\nc = 3\n"),
         {{"relayhost", "[h]:587"}},
         1,
         0,
         "a = 1\nrelayhost = [h]:587\n# c\nb = 2\nrelayhost = [h]:587\nc = 3\n"},
        {"blank and white-space-only lines inside a continued value stay",
         TEXT("mynetworks = a\n\n   \n  b\n# c\n\tc\nbiff = no\n"),
         {{"mynetworks", "x"}},
         1,
         0,
         "mynetworks = x\n\n   \n# c\nbiff = no\n"},
        {"continuation of another parameter kept",
         TEXT("a = 1\n  2\nrelayhost = x\n"),
         {{"relayhost", "y"}},
         1,
         0,
         "a = 1\n  2\nrelayhost = y\n"},
        {"continuation lines before any parameter kept",
         TEXT("  junk\n\tjunk2\nrelayhost = x\n"),
         {{"relayhost", "y"}},
         1,
         0,
         "  junk\n\tjunk2\nrelayhost = y\n"},
        {"missing name appended", TEXT("a = 1\n"), {{"b", "2"}}, 1, 0, "a = 1\nb = 2\n"},
        {"missing names appended sorted by name",
         TEXT("a = 1\n"),
         {{"zz", "2"}, {"mm", "1"}, {"a", "0"}, {"B", "3"}},
         4,
         0,
         "a = 0\nB = 3\nmm = 1\nzz = 2\n"},
        {"empty text",
         TEXT(""),
         {{"relayhost", "x"}, {"biff", "no"}},
         2,
         0,
         "biff = no\nrelayhost = x\n"},
        {"no final newline: terminated before appending",
         TEXT("a = 1"),
         {{"zz", "2"}},
         1,
         0,
         "a = 1\nzz = 2\n"},
        {"no final newline after a comment",
         TEXT("a = 1\n# c"),
         {{"zz", "2"}},
         1,
         0,
         "a = 1\n# c\nzz = 2\n"},
        {"no final newline after a continuation",
         TEXT("a = 1\n  more"),
         {{"zz", "2"}},
         1,
         0,
         "a = 1\n  more\nzz = 2\n"},
        {"no final newline on the edited line",
         TEXT("a = 1\nzz = 0"),
         {{"zz", "1"}},
         1,
         0,
         "a = 1\nzz = 1\n"},
        {"no final newline on a dropped continuation",
         TEXT("zz = 0\n  more"),
         {{"zz", "1"}},
         1,
         0,
         "zz = 1\n"},
        {"no edits: copied, last line terminated",
         TEXT("# x\na = 1"),
         {{NULL, NULL}},
         0,
         0,
         "# x\na = 1\n"},
        {"empty value", TEXT("relayhost = x\n"), {{"relayhost", ""}}, 1, 0, "relayhost = \n"},
        {"value trimmed, inner white space kept",
         TEXT(""),
         {{"relayhost", " \t a  b\t \r"}},
         1,
         0,
         "relayhost = a  b\n"},
        {"later edit of a name wins",
         TEXT("x = 0\n"),
         {{"a", "1"}, {"a", "2"}},
         2,
         0,
         "x = 0\na = 2\n"},
        {"later edit of a present name wins",
         TEXT("a = 0\n"),
         {{"a", "1"}, {"a", "2"}},
         2,
         0,
         "a = 2\n"},
        {"CRLF: rewritten line ends in LF, others keep CR",
         TEXT("a = 1\r\nrelayhost = x\r\n  cont\r\n\r\n#c\r\nb = 2\r\n"),
         {{"relayhost", "y"}, {"zz", "1"}},
         2,
         0,
         "a = 1\r\nrelayhost = y\n\r\n#c\r\nb = 2\r\nzz = 1\n"},
        {"name ends at space, tab, CR, newline or '=' only",
         TEXT("relayhost\v= x\nrelayhost\f= x\nrelayhost\r= x\nrelayhost=\nrelayhost\n"),
         {{"relayhost", "y"}},
         1,
         0,
         "relayhost\v= x\nrelayhost\f= x\nrelayhost = y\nrelayhost = y\nrelayhost = y\n"},
        {"longer names and other case are other names",
         TEXT("relayhostx = 1\nrelayhost_b = 2\nRelayhost = 3\n#relayhost = 4\n"),
         {{"relayhost", "y"}},
         1,
         0,
         "relayhostx = 1\nrelayhost_b = 2\nRelayhost = 3\n#relayhost = 4\nrelayhost = y\n"},
        {"UTF-8 and Latin-1 bytes kept",
         TEXT("mydomain = caf\xc3\xa9.example\nx\xff = 1\n"),
         {{"myorigin", "\xe4\xbe\x8b.jp"}},
         1,
         0,
         "mydomain = caf\xc3\xa9.example\nx\xff = 1\nmyorigin = \xe4\xbe\x8b.jp\n"},
        {"value may hold '#', '$' and '='",
         TEXT(""),
         {{"myorigin", "$mydomain # not=a comment"}},
         1,
         0,
         "myorigin = $mydomain # not=a comment\n"},
        {"NUL byte in text", TEXT("a = 1\n\0b = 2\n"), {{"a", "2"}}, 1, -EINVAL, NULL},
        {"empty name", TEXT(""), {{"", "x"}}, 1, -EINVAL, NULL},
        {"name with '-'", TEXT(""), {{"relay-host", "x"}}, 1, -EINVAL, NULL},
        {"name with a space", TEXT(""), {{"relayhost ", "x"}}, 1, -EINVAL, NULL},
        {"name with '='", TEXT(""), {{"a=b", "x"}}, 1, -EINVAL, NULL},
        {"NULL name", TEXT(""), {{NULL, "x"}}, 1, -EINVAL, NULL},
        {"NULL value", TEXT(""), {{"a", NULL}}, 1, -EINVAL, NULL},
        {"newline in value", TEXT(""), {{"a", "x\ny"}}, 1, -EINVAL, NULL},
        {"a bad edit after good ones",
         TEXT("a = 1\n"),
         {{"a", "2"}, {"b", "x\n"}},
         2,
         -EINVAL,
         NULL},
};

/* check_text - compare bytes; on a mismatch print got and want, escaped */
static void print_escaped(const char *label, const char *s, size_t n)
{
        print_message("%s \"", label);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '\n')
                        print_message("\\n");
                else if (c == '\r')
                        print_message("\\r");
                else if (c == '\t')
                        print_message("\\t");
                else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
                        print_message("\\x%02x", c);
                else
                        print_message("%c", c);
        }
        print_message("\"\n");
}

static int check_text(const char *what, const char *got, size_t got_len, const char *want,
                      size_t want_len)
{
        if (got_len == want_len && memcmp(got, want, got_len) == 0)
                return 0;
        print_error("%s: output differs\n", what);
        print_escaped("  got ", got, got_len);
        print_escaped("  want", want, want_len);
        return 1;
}

/* check_idempotent - editing the result again with the same edits changes nothing */
static int check_idempotent(const char *what, const char *text, size_t len,
                            const struct postfix_conf_edit *edits, size_t n)
{
        char *again = NULL;
        size_t again_len = 0;
        int r, failures;

        r = postfix_conf_edit(text, len, edits, n, &again, &again_len);
        if (r != 0) {
                print_error("%s: second run: got %d, want 0\n", what, r);
                return 1;
        }
        failures = check_text(what, again, again_len, text, len);
        free(again);
        return failures;
}

static void test_edit_cases(void **state)
{
        int failures = 0;

        (void)state;
        for (size_t i = 0; i < sizeof edit_cases / sizeof edit_cases[0]; i++) {
                const struct edit_case *c = &edit_cases[i];
                static char sentinel[] = "untouched";
                char *got = sentinel;
                size_t got_len = 12345;
                int r;

                r = postfix_conf_edit(c->text, c->len, c->edits, c->n_edits, &got, &got_len);
                if (r != c->want_r) {
                        print_error("%s: got %d, want %d\n", c->name, r, c->want_r);
                        failures++;
                        if (r == 0)
                                free(got);
                        continue;
                }
                if (r < 0) {
                        if (got != sentinel || got_len != 12345) {
                                print_error("%s: *ret written on failure\n", c->name);
                                failures++;
                        }
                        continue;
                }
                if (got[got_len] != '\0' || strlen(got) != got_len) {
                        print_error("%s: result not NUL-terminated at its length\n", c->name);
                        failures++;
                }
                failures += check_text(c->name, got, got_len, c->want, strlen(c->want));
                failures += check_idempotent(c->name, got, got_len, c->edits, c->n_edits);
                free(got);
        }
        assert_int_equal(failures, 0);
}

/* The text of the last line is the same whether or not it has its newline. */
static void test_missing_newline_same_as_present(void **state)
{
        static const char *const texts[] = {
                "a = 1", "a = 1\n# c", "a = 1\n  more", "relayhost = x", "relayhost = x\n  more",
                "\r"};
        const struct postfix_conf_edit edits[] = {{"relayhost", "y"}, {"zz", "1"}};

        (void)state;
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
                char *with = NULL, *without = NULL, *nl;
                size_t with_len, without_len, len = strlen(texts[i]);

                nl = malloc(len + 2);
                assert_non_null(nl);
                memcpy(nl, texts[i], len);
                nl[len] = '\n';
                nl[len + 1] = '\0';
                assert_int_equal(postfix_conf_edit(texts[i], len, edits, 2, &without, &without_len),
                                 0);
                assert_int_equal(postfix_conf_edit(nl, len + 1, edits, 2, &with, &with_len), 0);
                assert_int_equal(check_text(texts[i], without, without_len, with, with_len), 0);
                free(with);
                free(without);
                free(nl);
        }
}

static void test_size_limits(void **state)
{
        const struct postfix_conf_edit one[] = {{"relayhost", "y"}};
        char *text, *value, *out = NULL;
        size_t out_len = 0, n = POSTFIX_CONF_MAX_BYTES;
        struct postfix_conf_edit e;

        (void)state;
        text = malloc(n + 1);
        assert_non_null(text);
        memset(text, '#', n + 1);
        text[n - 1] = '\n';

        /* exactly the maximum is accepted (a comment line: copied) */
        assert_int_equal(postfix_conf_edit(text, n, NULL, 0, &out, &out_len), 0);
        assert_int_equal(out_len, n);
        free(out);
        out = NULL;
        /* one byte more is refused before anything else */
        assert_int_equal(postfix_conf_edit(text, n + 1, one, 1, &out, &out_len), -EFBIG);
        assert_null(out);
        errno = 0;
        assert_null(postfix_conf_lookup(text, n + 1, "relayhost"));
        assert_int_equal(errno, EFBIG);
        /* an appended setting that would pass the maximum */
        assert_int_equal(postfix_conf_edit(text, n, one, 1, &out, &out_len), -EFBIG);

        /* a small text whose result grows past the maximum: 1 MiB of "x\n" lines, each
         * rewritten with a 100-byte value */
        for (size_t i = 0; i < (size_t)1024 * 1024; i += 2) {
                text[i] = 'x';
                text[i + 1] = '\n';
        }
        value = malloc(101);
        assert_non_null(value);
        memset(value, 'v', 100);
        value[100] = '\0';
        e = (struct postfix_conf_edit){"x", value};
        assert_int_equal(postfix_conf_edit(text, (size_t)1024 * 1024, &e, 1, &out, &out_len),
                         -EFBIG);
        free(value);
        free(text);
}

struct lookup_case {
        const char *name;
        const char *text;
        size_t len;
        const char *key;
        const char *want; /* NULL: want_errno */
        int want_errno;
};

static const struct lookup_case lookup_cases[] = {
        {"simple", TEXT("relayhost = [h]:587\n"), "relayhost", "[h]:587", 0},
        {"no spaces", TEXT("relayhost=[h]:587"), "relayhost", "[h]:587", 0},
        {"white space trimmed", TEXT("relayhost \t=\t a b \t\r\n"), "relayhost", "a b", 0},
        {"last definition wins", TEXT("relayhost = a\nrelayhost = b\nx = 1\n"), "relayhost", "b",
         0},
        {"continuation joined without the newline", TEXT("mynetworks = a,\n  b\n\tc\n"),
         "mynetworks", "a,  b\tc", 0},
        {"comments and blank lines inside a continued value skipped",
         TEXT("mynetworks = a\n# c\n\n   \n  b\n  # d\n c\nbiff = no\n"), "mynetworks", "a  b c",
         0},
        {"CRLF: the CR of a joined line stays", TEXT("mynetworks = a\r\n  b\r\n"), "mynetworks",
         "a\r  b", 0},
        {"'=' on a continuation line", TEXT("relayhost\n  = x\n"), "relayhost", "x", 0},
        {"empty value", TEXT("relayhost =\n"), "relayhost", "", 0},
        {"only white space", TEXT("relayhost = \t \n"), "relayhost", "", 0},
        {"no $name expansion", TEXT("myorigin = $mydomain\nmydomain = x\n"), "myorigin",
         "$mydomain", 0},
        {"a second '=' belongs to the value", TEXT("mydomain==x\n"), "mydomain", "=x", 0},
        {"a '#' after the value belongs to it", TEXT("mydomain = a.net  # comment\n"), "mydomain",
         "a.net  # comment", 0},
        {"\\v after the name ends it for the parser", TEXT("relayhost\v= x\n"), "relayhost", "x",
         0},
        {"logical line starting with white space ignored", TEXT("  relayhost = x\n"), "relayhost",
         NULL, ENOENT},
        {"... and the next one read", TEXT("  relayhost = x\n  more\nrelayhost = y\n"), "relayhost",
         "y", 0},
        {"commented out", TEXT("#relayhost = x\n"), "relayhost", NULL, ENOENT},
        {"line without '=' skipped", TEXT("relayhost = a\nrelayhost\nb = 1\n"), "relayhost", "a",
         0},
        {"longer name", TEXT("relayhostx = a\n"), "relayhost", NULL, ENOENT},
        {"not defined", TEXT("a = 1\n"), "relayhost", NULL, ENOENT},
        {"empty text", TEXT(""), "relayhost", NULL, ENOENT},
        {"bad name", TEXT("a-b = 1\n"), "a-b", NULL, EINVAL},
        {"empty name", TEXT("a = 1\n"), "", NULL, EINVAL},
        {"NUL byte in text", TEXT("a = 1\0\n"), "a", NULL, EINVAL},
};

static void test_lookup_cases(void **state)
{
        int failures = 0;

        (void)state;
        for (size_t i = 0; i < sizeof lookup_cases / sizeof lookup_cases[0]; i++) {
                const struct lookup_case *c = &lookup_cases[i];
                char *got;

                errno = 0;
                got = postfix_conf_lookup(c->text, c->len, c->key);
                if (c->want && (!got || strcmp(got, c->want) != 0)) {
                        print_error("%s: got %s%s%s (errno %d), want \"%s\"\n", c->name,
                                    got ? "\"" : "", got ? got : "NULL", got ? "\"" : "", errno,
                                    c->want);
                        failures++;
                } else if (!c->want && (got || errno != c->want_errno)) {
                        print_error("%s: got %s, errno %d, want NULL, errno %d\n", c->name,
                                    got ? got : "NULL", errno, c->want_errno);
                        failures++;
                }
                free(got);
        }
        assert_int_equal(failures, 0);
}

/* After an edit, Postfix's parser reads each edited name as the edited (trimmed) value. */
static void test_lookup_after_edit(void **state)
{
        const struct postfix_conf_edit edits[] = {
                {"relayhost", "[email-smtp.eu-west-1.amazonaws.com]:587"},
                {"mynetworks", " 127.0.0.0/8 [::1]/128 "},
                {"mydomain", ""},
        };
        static const char *const want[] = {"[email-smtp.eu-west-1.amazonaws.com]:587",
                                           "127.0.0.0/8 [::1]/128", ""};
        static const char text[] = "  relayhost = lead\nrelayhost = a\n  b\n# c\n  d\n"
                                   "mynetworks = x\nrelayhost=z\nmydomain = q\n  r\nbiff = no";
        char *out = NULL;
        size_t out_len = 0;

        (void)state;
        assert_int_equal(postfix_conf_edit(text, sizeof text - 1, edits, 3, &out, &out_len), 0);
        for (size_t i = 0; i < 3; i++) {
                char *got = postfix_conf_lookup(out, out_len, edits[i].name);

                assert_non_null(got);
                print_message("%s: got \"%s\", want \"%s\"\n", edits[i].name, got, want[i]);
                assert_string_equal(got, want[i]);
                free(got);
        }
        free(out);
}

/* test_data_dir - tests/data, as CMake passes it to ctest */
static const char *test_data_dir(void)
{
        const char *dir = getenv("MAILINIT_TEST_DATA");

        if (!dir)
                fail_msg(
                        "MAILINIT_TEST_DATA is not set: run through ctest, or set it to tests/data");
        return dir;
}

static char *read_data(const char *rel, size_t *ret_len)
{
        char *path, *text = NULL;
        int r;

        assert_true(asprintf(&path, "%s/postfix/%s", test_data_dir(), rel) >= 0);
        r = read_file_bounded(path, POSTFIX_CONF_MAX_BYTES, &text, ret_len);
        if (r < 0)
                fail_msg("cannot read %s: %s", path, strerror(-r));
        free(path);
        return text;
}

/* load_edits - golden/mailinit.edits: "name=value" lines, '#' comments; the strings point
 * into *ret_buf, which the caller frees */
static size_t load_edits(struct postfix_conf_edit *edits, char **ret_buf)
{
        size_t len, n = 0;
        char *buf = read_data("golden/mailinit.edits", &len), *line, *save = NULL;

        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');

                if (line[0] == '#')
                        continue;
                assert_non_null(eq);
                assert_true(n < EDITS_MAX);
                *eq = '\0';
                edits[n++] = (struct postfix_conf_edit){line, eq + 1};
        }
        *ret_buf = buf;
        return n;
}

/* Each fixture edited with mailinit's settings is what the real postconf -e made of it. */
static void test_golden(void **state)
{
        static const struct {
                const char *fixture, *want;
        } golden[] = {
                {"main.cf.debian", "golden/main.cf.debian.want"},
                {"main.cf.dist", "golden/main.cf.dist.want"},
                {"debian-internet-site.main.cf", "golden/debian-internet-site.main.cf.want"},
                {"ses-manual.main.cf", "golden/ses-manual.main.cf.want"},
                {"hostile/continuation.cf", "golden/hostile-continuation.cf.want"},
                {"hostile/crlf.cf", "golden/hostile-crlf.cf.want"},
                {"hostile/crlf-no-newline.cf", "golden/hostile-crlf-no-newline.cf.want"},
                {"hostile/duplicates.cf", "golden/hostile-duplicates.cf.want"},
                {"hostile/empty.cf", "golden/hostile-empty.cf.want"},
                {"hostile/no-newline-comment.cf", "golden/hostile-no-newline-comment.cf.want"},
                {"hostile/no-newline-continuation.cf",
                 "golden/hostile-no-newline-continuation.cf.want"},
                {"hostile/no-newline-edited.cf", "golden/hostile-no-newline-edited.cf.want"},
                {"hostile/no-newline-edited-continuation.cf",
                 "golden/hostile-no-newline-edited-continuation.cf.want"},
                {"hostile/no-newline-setting.cf", "golden/hostile-no-newline-setting.cf.want"},
                {"hostile/odd-names.cf", "golden/hostile-odd-names.cf.want"},
                {"hostile/only-comments.cf", "golden/hostile-only-comments.cf.want"},
        };
        struct postfix_conf_edit edits[EDITS_MAX];
        char *edits_buf;
        size_t n_edits = load_edits(edits, &edits_buf);
        int failures = 0;

        (void)state;
        assert_int_equal(n_edits, 11);
        for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
                size_t len, want_len, got_len = 0;
                char *text = read_data(golden[i].fixture, &len);
                char *want = read_data(golden[i].want, &want_len);
                char *got = NULL;
                int r;

                r = postfix_conf_edit(text, len, edits, n_edits, &got, &got_len);
                print_message("%s: %d, %zu -> %zu bytes\n", golden[i].fixture, r, len, got_len);
                assert_int_equal(r, 0);
                failures += check_text(golden[i].fixture, got, got_len, want, want_len);
                failures += check_idempotent(golden[i].fixture, got, got_len, edits, n_edits);
                for (size_t k = 0; k < n_edits; k++) {
                        char *v = postfix_conf_lookup(got, got_len, edits[k].name);

                        if (!v || strcmp(v, edits[k].value) != 0) {
                                print_error("%s: lookup %s: got \"%s\", want \"%s\"\n",
                                            golden[i].fixture, edits[k].name, v ? v : "(null)",
                                            edits[k].value);
                                failures++;
                        }
                        free(v);
                }
                free(got);
                free(want);
                free(text);
        }
        free(edits_buf);
        assert_int_equal(failures, 0);
}

/* Values Postfix itself reads from the fixtures (checked with postconf -h / postmap -q). */
static void test_lookup_fixtures(void **state)
{
        static const struct {
                const char *fixture, *key, *want;
        } cases[] = {
                {"main.cf.debian", "compatibility_level", "3.6"},
                {"main.cf.debian", "smtpd_banner", "$myhostname ESMTP $mail_name (Debian/GNU)"},
                {"main.cf.dist", "debugger_command",
                 "PATH=/bin:/usr/bin:/usr/local/bin:/usr/X11R6/bin\t ddd "
                 "$daemon_directory/$process_name $process_id & sleep 5"},
                {"main.cf.dist", "mynetworks", "127.0.0.0/8"},
                {"debian-internet-site.main.cf", "mydestination",
                 "$myhostname, debian.example.org, localhost.example.org, , localhost"},
                {"debian-internet-site.main.cf", "relayhost", ""},
                {"debian-internet-site.main.cf", "smtp_tls_security_level", "may"},
                {"ses-manual.main.cf", "mydomain",
                 "aws-master.net  # \xe3\x83\xa1\xe3\x83\xbc\xe3\x83\xab"
                 "From\xe3\x81\xae@\xe4\xbb\xa5\xe9\x99\x8d\xe3\x81\xab\xe4\xbb\x98\xe4\xb8\x8e"
                 "\xe3\x81\x99\xe3\x82\x8b\xe3\x83\x89\xe3\x83\xa1\xe3\x82\xa4\xe3\x83\xb3"
                 "\xe5\x90\x8d\xe3\x81\xae\xe5\xae\x9a\xe7\xbe\xa9"},
                {"ses-manual.main.cf", "smtp_sasl_security_options", "noanonymous"},
                {"hostile/duplicates.cf", "relayhost", ""},
                {"hostile/duplicates.cf", "myhostname", "second.example.com"},
                {"hostile/crlf.cf", "mynetworks", "127.0.0.0/8\r\t[::1]/128"},
        };
        int failures = 0;

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                size_t len;
                char *text = read_data(cases[i].fixture, &len);
                char *got = postfix_conf_lookup(text, len, cases[i].key);

                if (!got || strcmp(got, cases[i].want) != 0) {
                        print_error("%s: %s: got \"%s\", want \"%s\"\n", cases[i].fixture,
                                    cases[i].key, got ? got : "(null)", cases[i].want);
                        failures++;
                }
                free(got);
                free(text);
        }
        assert_int_equal(failures, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_edit_cases),
                cmocka_unit_test(test_missing_newline_same_as_present),
                cmocka_unit_test(test_size_limits),
                cmocka_unit_test(test_lookup_cases),
                cmocka_unit_test(test_lookup_after_edit),
                cmocka_unit_test(test_golden),
                cmocka_unit_test(test_lookup_fixtures),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
