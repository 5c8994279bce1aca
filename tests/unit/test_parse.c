/* SPDX-License-Identifier: MIT */
/*
 * test_parse - the value parsers of common/parse.c: integers, Postfix durations and sizes,
 * booleans, rates, white-space trimming and Postfix list iteration. Table-driven; every
 * case states the text, the wanted return code and the wanted value. The overflow limits
 * were computed outside the code under test (2^64 - 1 divided by each unit factor).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "parse.h"

#define SENTINEL_U64 UINT64_C(0xdeadbeefcafef00d)

struct u64_case {
        const char *text;
        int want_r;
        uint64_t want; /* ignored unless want_r == 0 */
};

/* check_u64 - one case: the return code, and the value or an untouched out-parameter */
static void check_u64(const char *what, const struct u64_case *c, int r, uint64_t got)
{
        if (r != c->want_r)
                fail_msg("%s(\"%s\"): got r=%d, want r=%d", what, c->text, r, c->want_r);
        if (c->want_r == 0 && got != c->want)
                fail_msg("%s(\"%s\"): got %" PRIu64 ", want %" PRIu64, what, c->text, got, c->want);
        if (c->want_r != 0 && got != SENTINEL_U64)
                fail_msg("%s(\"%s\"): failed but wrote %" PRIu64 " to *ret", what, c->text, got);
}

static void test_parse_uint64(void **state)
{
        static const struct u64_case cases[] = {
                {"0", 0, 0},
                {"7", 0, 7},
                {"0042", 0, 42},
                {"4294967296", 0, UINT64_C(4294967296)},
                {"18446744073709551615", 0, UINT64_MAX},
                {"18446744073709551616", -ERANGE, 0},
                {"18446744073709551620", -ERANGE, 0},
                {"99999999999999999999", -ERANGE, 0},
                {"184467440737095516150", -ERANGE, 0},
                {"", -EINVAL, 0},
                {"+1", -EINVAL, 0},
                {"-1", -EINVAL, 0},
                {"-0", -EINVAL, 0},
                {" 1", -EINVAL, 0},
                {"1 ", -EINVAL, 0},
                {"1\n", -EINVAL, 0},
                {"1 2", -EINVAL, 0},
                {"1a", -EINVAL, 0},
                {"0x10", -EINVAL, 0},
                {"1.0", -EINVAL, 0},
                {"1e3", -EINVAL, 0},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                uint64_t got = SENTINEL_U64;
                int r = parse_uint64(cases[i].text, &got);

                check_u64("parse_uint64", &cases[i], r, got);
        }
}

static void test_parse_uint64_null(void **state)
{
        uint64_t got = SENTINEL_U64;

        (void)state;
        assert_int_equal(parse_uint64(NULL, &got), -EINVAL);
        assert_true(got == SENTINEL_U64);
}

struct duration_case {
        const char *text;
        char default_unit;
        int want_r;
        uint64_t want;
};

static void test_parse_duration(void **state)
{
        static const struct duration_case cases[] = {
                /* each unit */
                {"0s", 's', 0, 0},
                {"10s", 's', 0, 10},
                {"10m", 's', 0, 600},
                {"2h", 's', 0, 7200},
                {"5d", 's', 0, 432000},
                {"1w", 's', 0, 604800},
                /* the default unit applies only without a unit */
                {"300", 's', 0, 300},
                {"7", 'm', 0, 420},
                {"3", 'h', 0, 10800},
                {"5", 'd', 0, 432000},
                {"2", 'w', 0, 1209600},
                {"30s", 'd', 0, 30},
                /* no usable unit */
                {"5", '\0', -EINVAL, 0},
                {"5", 'x', -EINVAL, 0},
                {"5x", 's', -EINVAL, 0},
                {"5S", 's', -EINVAL, 0}, /* Postfix units are lower case */
                {"5ms", 's', -EINVAL, 0},
                {"10ss", 's', -EINVAL, 0},
                {"", 's', -EINVAL, 0},
                {"s", 's', -EINVAL, 0},
                {"-5s", 's', -EINVAL, 0},
                {"+5s", 's', -EINVAL, 0},
                {" 5s", 's', -EINVAL, 0},
                {"5 s", 's', -EINVAL, 0},
                {"5s ", 's', -EINVAL, 0},
                {"1.5h", 's', -EINVAL, 0},
                /* overflow: of the number itself, and of number * unit */
                {"18446744073709551615s", 's', 0, UINT64_MAX},
                {"18446744073709551616s", 's', -ERANGE, 0},
                {"99999999999999999999999999999999999s", 's', -ERANGE, 0},
                {"307445734561825860m", 's', 0, UINT64_C(18446744073709551600)},
                {"307445734561825861m", 's', -ERANGE, 0},
                {"5124095576030432h", 's', -ERANGE, 0},
                {"213503982334601d", 's', 0, UINT64_C(18446744073709526400)},
                {"213503982334602d", 's', -ERANGE, 0},
                {"30500568904943w", 's', 0, UINT64_C(18446744073709526400)},
                {"30500568904944w", 's', -ERANGE, 0},
                {"30500568904944", 'w', -ERANGE, 0},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const struct duration_case *c = &cases[i];
                struct u64_case uc = {c->text, c->want_r, c->want};
                uint64_t got = SENTINEL_U64;
                int r = parse_duration(c->text, c->default_unit, &got);
                char what[64];

                (void)snprintf(what, sizeof what, "parse_duration[default unit %d '%c']",
                               c->default_unit, c->default_unit ? c->default_unit : '0');
                check_u64(what, &uc, r, got);
        }
}

static void test_parse_size(void **state)
{
        static const struct u64_case cases[] = {
                {"0", 0, 0},
                {"10240000", 0, 10240000},
                {"1k", 0, 1024},
                {"1K", 0, 1024},
                {"10m", 0, 10485760},
                {"10M", 0, 10485760},
                {"2g", 0, UINT64_C(2147483648)},
                {"2G", 0, UINT64_C(2147483648)},
                {"18014398509481983k", 0, UINT64_C(18446744073709550592)},
                {"18014398509481984k", -ERANGE, 0},
                {"17592186044416m", -ERANGE, 0},
                {"17179869183g", 0, UINT64_C(18446744072635809792)},
                {"17179869184g", -ERANGE, 0},
                {"18446744073709551616", -ERANGE, 0},
                {"10MB", -EINVAL, 0},
                {"10kb", -EINVAL, 0},
                {"10b", -EINVAL, 0},
                {"10t", -EINVAL, 0},
                {"10T", -EINVAL, 0},
                {"k", -EINVAL, 0},
                {"", -EINVAL, 0},
                {"-1", -EINVAL, 0},
                {"1 k", -EINVAL, 0},
                {"1.5m", -EINVAL, 0},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                uint64_t got = SENTINEL_U64;
                int r = parse_size(cases[i].text, &got);

                check_u64("parse_size", &cases[i], r, got);
        }
}

static void test_parse_bool(void **state)
{
        static const struct {
                const char *text;
                int want_r;
                bool want;
        } cases[] = {
                {"yes", 0, true},         {"YES", 0, true},         {"Yes", 0, true},
                {"true", 0, true},        {"TRUE", 0, true},        {"on", 0, true},
                {"On", 0, true},          {"1", 0, true},           {"no", 0, false},
                {"NO", 0, false},         {"false", 0, false},      {"False", 0, false},
                {"off", 0, false},        {"OFF", 0, false},        {"0", 0, false},
                {"", -EINVAL, false},     {"y", -EINVAL, false},    {"n", -EINVAL, false},
                {"2", -EINVAL, false},    {"01", -EINVAL, false},   {" yes", -EINVAL, false},
                {"yes ", -EINVAL, false}, {"yess", -EINVAL, false}, {"enable", -EINVAL, false},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                /* start from the opposite so a success that writes nothing is seen */
                bool got = !cases[i].want;
                int r = parse_bool(cases[i].text, &got);

                if (r != cases[i].want_r)
                        fail_msg("parse_bool(\"%s\"): got r=%d, want r=%d", cases[i].text, r,
                                 cases[i].want_r);
                if (r == 0 && got != cases[i].want)
                        fail_msg("parse_bool(\"%s\"): got %d, want %d", cases[i].text, got,
                                 cases[i].want);
                if (r < 0 && got != !cases[i].want)
                        fail_msg("parse_bool(\"%s\"): failed but wrote *ret", cases[i].text);
        }
        assert_int_equal(parse_bool(NULL, &(bool){false}), -EINVAL);
}

static void test_parse_rate(void **state)
{
        static const struct {
                const char *text;
                int want_r;
                double want;
        } cases[] = {
                {"14", 0, 14.0},
                {"0", 0, 0.0},
                {"0.5", 0, 0.5},
                {".5", 0, 0.5},
                {"0.25", 0, 0.25},
                {"007.75", 0, 7.75},
                {"0.000000001", 0, 1e-9},
                {"1.0000000001", 0, 1.0}, /* digits beyond 1e-9 are ignored */
                {"1000000000", 0, 1e9},
                {"10000000009", 0, 10000000009.0},
                {"99999999999", -ERANGE, 0},
                {"1.", -EINVAL, 0},
                {".", -EINVAL, 0},
                {"", -EINVAL, 0},
                {"-1", -EINVAL, 0},
                {"-0.5", -EINVAL, 0},
                {"+1", -EINVAL, 0},
                {"1e3", -EINVAL, 0},
                {"1E3", -EINVAL, 0},
                {"inf", -EINVAL, 0},
                {"nan", -EINVAL, 0},
                {"0x10", -EINVAL, 0},
                {"1,5", -EINVAL, 0},
                {"1.2.3", -EINVAL, 0},
                {" 1", -EINVAL, 0},
                {"1 ", -EINVAL, 0},
                {"1/s", -EINVAL, 0},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                double got = -42.0;
                int r = parse_rate(cases[i].text, &got);

                if (r != cases[i].want_r)
                        fail_msg("parse_rate(\"%s\"): got r=%d, want r=%d", cases[i].text, r,
                                 cases[i].want_r);
                if (r == 0 && got != cases[i].want)
                        fail_msg("parse_rate(\"%s\"): got %.17g, want %.17g", cases[i].text, got,
                                 cases[i].want);
                if (r < 0 && got != -42.0)
                        fail_msg("parse_rate(\"%s\"): failed but wrote %g", cases[i].text, got);
        }
        assert_int_equal(parse_rate(NULL, &(double){0}), -EINVAL);
}

static void test_strip_whitespace(void **state)
{
        static const struct {
                const char *text;
                const char *want;
                size_t want_offset; /* where the result starts in the buffer */
        } cases[] = {
                {"", "", 0},
                {"x", "x", 0},
                {"   ", "", 3},
                {" \t\r\n", "", 4},
                {"  a b  ", "a b", 2},
                {"\ta\tb\t", "a\tb", 1},
                {"value\r\n", "value", 0},
                {"\r\n value", "value", 3},
                {"a  \v", "a  \v", 0}, /* only space, tab, CR and LF are white space here */
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char buf[64];
                char *got;

                (void)snprintf(buf, sizeof buf, "%s", cases[i].text);
                got = strip_whitespace(buf);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("strip_whitespace(\"%s\"): got \"%s\", want \"%s\"", cases[i].text,
                                 got, cases[i].want);
                if ((size_t)(got - buf) != cases[i].want_offset)
                        fail_msg("strip_whitespace(\"%s\"): got offset %zu, want %zu",
                                 cases[i].text, (size_t)(got - buf), cases[i].want_offset);
        }
}

/* join_list - the items list_next returns, as "a|b|c", for comparison */
static void join_list(const char *list, char *out, size_t size, unsigned *ret_count)
{
        const char *state = list, *item;
        size_t len, used = 0;
        unsigned count = 0;

        out[0] = '\0';
        while ((item = list_next(&state, &len))) {
                assert_true(len > 0);
                assert_true(used + len + 2 < size);
                if (count > 0)
                        out[used++] = '|';
                memcpy(out + used, item, len);
                used += len;
                out[used] = '\0';
                count++;
                assert_true(count < 100);
        }
        /* at the end the state rests on the terminating NUL and stays there */
        assert_int_equal(*state, '\0');
        assert_null(list_next(&state, &len));
        *ret_count = count;
}

static void test_list_next(void **state)
{
        static const struct {
                const char *text;
                const char *want;
                unsigned want_count;
        } cases[] = {
                {"", "", 0},
                {"   ", "", 0},
                {",", "", 0},
                {" , ,, \t,\n", "", 0},
                {"single", "single", 1},
                {"a,b", "a|b", 2},
                {"a b", "a|b", 2},
                {"a, b", "a|b", 2},
                {"a ,b", "a|b", 2},
                {"a,,b", "a|b", 2},
                {", a ,\t, b ,", "a|b", 2},
                {"a\tb\nc\rd", "a|b|c|d", 4},
                {"127.0.0.0/8, [::1]/128", "127.0.0.0/8|[::1]/128", 2},
                {"postfix.service mailinit-relay.service,x.timer",
                 "postfix.service|mailinit-relay.service|x.timer", 3},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char got[256];
                unsigned count;

                join_list(cases[i].text, got, sizeof got, &count);
                if (strcmp(got, cases[i].want) != 0 || count != cases[i].want_count)
                        fail_msg("list_next(\"%s\"): got \"%s\" (%u items), want \"%s\" (%u)",
                                 cases[i].text, got, count, cases[i].want, cases[i].want_count);
        }
}

static void test_list_next_points_into_text(void **state)
{
        const char *text = "  alpha,beta";
        const char *st = text, *item;
        size_t len = 999;

        (void)state;
        item = list_next(&st, &len);
        assert_ptr_equal(item, text + 2);
        assert_int_equal(len, 5);
        assert_ptr_equal(st, text + 7);
        item = list_next(&st, &len);
        assert_ptr_equal(item, text + 8);
        assert_int_equal(len, 4);
        len = 999;
        assert_null(list_next(&st, &len));
        assert_int_equal(len, 999); /* not written at the end */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_uint64),
                cmocka_unit_test(test_parse_uint64_null),
                cmocka_unit_test(test_parse_duration),
                cmocka_unit_test(test_parse_size),
                cmocka_unit_test(test_parse_bool),
                cmocka_unit_test(test_parse_rate),
                cmocka_unit_test(test_strip_whitespace),
                cmocka_unit_test(test_list_next),
                cmocka_unit_test(test_list_next_points_into_text),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
