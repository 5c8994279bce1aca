/* SPDX-License-Identifier: MIT */
/*
 * test_userdata - userdata_extract() over every user-data format cloud-init knows, over
 * hostile input (bombs, truncation, oversize, NUL bytes, too many parts), and over MIME
 * fixtures written by Python's email package (tests/data/userdata, see its README.md).
 *
 * Each table row names its case; a failure prints "case: got ..., want ..." and the test
 * goes on, so one run shows every broken case.
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

/* cmocka.h needs <setjmp.h>, <stdarg.h> and <stddef.h> before it. */
#include <cmocka.h>
#include <jansson.h>
#define ZLIB_CONST
#include <zlib.h>

#include "fileio.h"
#include "userdata.h"

/* Generated inputs: the builder returns malloc'd bytes. */
typedef int (*build_fn)(uint8_t **ret, size_t *ret_len);

struct ud_case {
        const char *name;
        const char *input;   /* literal input ... */
        size_t len;          /* ... of len bytes (0: strlen) */
        build_fn build;      /* or generated input */
        const char *fixture; /* or a file under $MAILINIT_TEST_DATA/userdata */
        int want;
        /* 1: the "secret_id" of the returned object; 0: the reason, exactly;
         * < 0: text the error message must contain */
        const char *want_text;
};

#define BOM    "\xef\xbb\xbf"
/* A literal that may hold NUL bytes, with its length. */
#define LIT(s) s, sizeof(s) - 1
/* USERDATA_MAX as a size (the header defines it as an int expression). */
#define UD_MAX ((size_t)USERDATA_MAX)

/* check_case - run one case; returns the number of failures (printed) */
static int check_case(const struct ud_case *tc, const uint8_t *data, size_t len)
{
        struct config_error err = {"(unset)"};
        char reason[USERDATA_REASON_MAX] = "(unset)";
        json_t *sentinel = json_null(), *config = sentinel;
        int r, failures = 0;

        r = userdata_extract(data, len, &config, reason, sizeof reason, &err);
        if (r != tc->want) {
                print_error("%s: got %d, want %d (reason \"%s\", err \"%s\")\n", tc->name, r,
                            tc->want, reason, err.message);
                if (r == 1)
                        json_decref(config);
                return 1;
        }
        if (r == 1) {
                const char *got = json_string_value(json_object_get(config, "secret_id"));

                if (!json_is_object(config)) {
                        print_error("%s: got a non-object config\n", tc->name);
                        failures++;
                } else if (!got || strcmp(got, tc->want_text) != 0) {
                        print_error("%s: got secret_id \"%s\", want \"%s\"\n", tc->name,
                                    got ? got : "(none)", tc->want_text);
                        failures++;
                }
                if (strcmp(reason, "(unset)") != 0) {
                        print_error("%s: reason written on success: \"%s\"\n", tc->name, reason);
                        failures++;
                }
                json_decref(config);
                return failures;
        }
        if (config != sentinel) {
                print_error("%s: *ret_config written when returning %d\n", tc->name, r);
                failures++;
        }
        if (r == 0 && strcmp(reason, tc->want_text) != 0) {
                print_error("%s: got reason \"%s\", want \"%s\"\n", tc->name, reason,
                            tc->want_text);
                failures++;
        }
        if (r < 0 && !strstr(err.message, tc->want_text)) {
                print_error("%s: got error \"%s\", want it to contain \"%s\"\n", tc->name,
                            err.message, tc->want_text);
                failures++;
        }
        return failures;
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

static int run_cases(const struct ud_case *cases, size_t n)
{
        int failures = 0;

        for (size_t i = 0; i < n; i++) {
                const struct ud_case *tc = &cases[i];
                uint8_t *data = NULL;
                size_t len = 0;

                if (tc->build) {
                        assert_int_equal(tc->build(&data, &len), 0);
                } else if (tc->fixture) {
                        const char *dir = test_data_dir();
                        char *path, *text = NULL;

                        assert_true(asprintf(&path, "%s/userdata/%s", dir, tc->fixture) >= 0);
                        if (read_file_bounded(path, UD_MAX, &text, &len) < 0) {
                                print_error("%s: cannot read %s\n", tc->name, path);
                                failures++;
                                free(path);
                                continue;
                        }
                        free(path);
                        data = (uint8_t *)text;
                } else {
                        len = tc->len ? tc->len : strlen(tc->input);
                        /* An exact-size copy, so ASan sees any read past the end. */
                        data = malloc(len ? len : 1);
                        assert_non_null(data);
                        memcpy(data, tc->input, len);
                }
                failures += check_case(tc, data, len);
                free(data);
        }
        return failures;
}

/* ---- builders -------------------------------------------------------------------------- */

/* gzip_repeat - gzip data repeated times (so a bomb needs no large input buffer) */
static int gzip_repeat(const void *data, size_t len, size_t times, uint8_t **ret, size_t *ret_len)
{
        z_stream zs = {0};
        size_t cap = 4096 + len + len / 100, out_len = 0;
        uint8_t *out = malloc(cap);
        int zr;

        assert_non_null(out);
        assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                         Z_OK);
        for (size_t i = 0; i < times; i++) {
                zs.next_in = data;
                zs.avail_in = (uInt)len;
                do {
                        if (cap - out_len < 1024) {
                                uint8_t *bigger = realloc(out, cap * 2);

                                assert_non_null(bigger);
                                out = bigger;
                                cap *= 2;
                        }
                        zs.next_out = out + out_len;
                        zs.avail_out = (uInt)(cap - out_len);
                        zr = deflate(&zs, i + 1 == times ? Z_FINISH : Z_NO_FLUSH);
                        assert_true(zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR);
                        out_len = cap - zs.avail_out;
                } while (zs.avail_in > 0 || (i + 1 == times && zr != Z_STREAM_END));
        }
        (void)deflateEnd(&zs);
        *ret = out;
        *ret_len = out_len;
        return 0;
}

static int gzip_text(const char *text, uint8_t **ret, size_t *ret_len)
{
        return gzip_repeat(text, strlen(text), 1, ret, ret_len);
}

#define JSON_OK "{\"mailinit\": {\"secret_id\": \"built\", \"mode\": \"builtin\"}}\n"

#define MIME_OK                                             \
        "Content-Type: multipart/mixed; boundary=\"XYZ\"\n" \
        "MIME-Version: 1.0\n"                               \
        "\n"                                                \
        "--XYZ\n"                                           \
        "Content-Type: text/x-shellscript\n"                \
        "\n"                                                \
        "#!/bin/sh\n"                                       \
        "--XYZ\n"                                           \
        "Content-Type: application/json\n"                  \
        "\n" JSON_OK "--XYZ--\n"

static int build_gzip_json(uint8_t **ret, size_t *ret_len)
{
        return gzip_text(JSON_OK, ret, ret_len);
}

static int build_gzip_mime(uint8_t **ret, size_t *ret_len)
{
        return gzip_text(MIME_OK, ret, ret_len);
}

static int build_gzip_gzip_json(uint8_t **ret, size_t *ret_len)
{
        uint8_t *inner;
        size_t inner_len;

        assert_int_equal(gzip_text(JSON_OK, &inner, &inner_len), 0);
        assert_int_equal(gzip_repeat(inner, inner_len, 1, ret, ret_len), 0);
        free(inner);
        return 0;
}

static int build_gzip_3_levels(uint8_t **ret, size_t *ret_len)
{
        uint8_t *inner;
        size_t inner_len;

        assert_int_equal(build_gzip_gzip_json(&inner, &inner_len), 0);
        assert_int_equal(gzip_repeat(inner, inner_len, 1, ret, ret_len), 0);
        free(inner);
        return 0;
}

static int build_gzip_truncated(uint8_t **ret, size_t *ret_len)
{
        assert_int_equal(gzip_text(JSON_OK, ret, ret_len), 0);
        *ret_len /= 2;
        return 0;
}

static int build_gzip_header_only(uint8_t **ret, size_t *ret_len)
{
        assert_int_equal(gzip_text(JSON_OK, ret, ret_len), 0);
        *ret_len = 10;
        return 0;
}

static int build_gzip_bad_crc(uint8_t **ret, size_t *ret_len)
{
        assert_int_equal(gzip_text(JSON_OK, ret, ret_len), 0);
        (*ret)[*ret_len - 6] ^= 0xff; /* in the CRC-32 of the trailer */
        return 0;
}

static int build_gzip_trailing_garbage(uint8_t **ret, size_t *ret_len)
{
        assert_int_equal(gzip_text(JSON_OK, ret, ret_len), 0);
        *ret = realloc(*ret, *ret_len + 4);
        assert_non_null(*ret);
        memcpy(*ret + *ret_len, "junk", 4);
        *ret_len += 4;
        return 0;
}

/* 50 MB of zeros: about 50 KB compressed. */
static int build_gzip_bomb(uint8_t **ret, size_t *ret_len)
{
        static const uint8_t zeros[64 * 1024];

        assert_int_equal(gzip_repeat(zeros, sizeof zeros, (size_t)50 * 16, ret, ret_len), 0);
        assert_true(*ret_len < (size_t)200 * 1024);
        return 0;
}

/* Exactly one byte more than USERDATA_MAX after decompression. */
static int build_gzip_max_plus_one(uint8_t **ret, size_t *ret_len)
{
        uint8_t *text = malloc(UD_MAX + 1);

        assert_non_null(text);
        memset(text, ' ', UD_MAX + 1);
        memcpy(text, JSON_OK, sizeof JSON_OK - 1);
        assert_int_equal(gzip_repeat(text, UD_MAX + 1, 1, ret, ret_len), 0);
        free(text);
        return 0;
}

static int build_filled(size_t len, uint8_t fill, const char *head, uint8_t **ret, size_t *ret_len)
{
        uint8_t *p = malloc(len);

        assert_non_null(p);
        memset(p, fill, len);
        memcpy(p, head, strlen(head)); /* NOLINT(bugprone-not-null-terminated-result): bytes */
        *ret = p;
        *ret_len = len;
        return 0;
}

static int build_2mb(uint8_t **ret, size_t *ret_len)
{
        return build_filled((size_t)2 * 1024 * 1024, 'a', JSON_OK, ret, ret_len);
}

/* JSON padded with blanks to exactly USERDATA_MAX bytes: still accepted. */
static int build_exactly_max(uint8_t **ret, size_t *ret_len)
{
        return build_filled(UD_MAX, ' ', JSON_OK, ret, ret_len);
}

/* mime_with_parts - n text/x-shellscript parts, then (when json) one application/json */
static int mime_with_parts(size_t n, bool json, uint8_t **ret, size_t *ret_len)
{
        char *text;
        size_t len;
        FILE *f = open_memstream(&text, &len);

        assert_non_null(f);
        (void)fprintf(f, "Content-Type: multipart/mixed; boundary=b\n\n");
        for (size_t i = 0; i < n; i++)
                (void)fprintf(f, "--b\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho %zu\n",
                              i);
        if (json)
                (void)fprintf(f, "--b\nContent-Type: application/json\n\n%s", JSON_OK);
        (void)fprintf(f, "--b--\n");
        assert_int_equal(fclose(f), 0);
        *ret = (uint8_t *)text;
        *ret_len = len;
        return 0;
}

static int build_mime_1000_parts(uint8_t **ret, size_t *ret_len)
{
        return mime_with_parts(1000, true, ret, ret_len);
}

static int build_mime_64_parts(uint8_t **ret, size_t *ret_len)
{
        return mime_with_parts(USERDATA_MIME_PARTS - 1, true, ret, ret_len);
}

static int build_mime_65_parts(uint8_t **ret, size_t *ret_len)
{
        return mime_with_parts(USERDATA_MIME_PARTS, true, ret, ret_len);
}

/* mime_nested - JSON inside levels multiparts, each the only part of the one around it */
static int mime_nested(unsigned levels, uint8_t **ret, size_t *ret_len)
{
        char *text;
        size_t len;
        FILE *f = open_memstream(&text, &len);

        assert_non_null(f);
        for (unsigned i = 0; i < levels; i++) {
                if (i > 0)
                        (void)fprintf(f, "--b%u\n", i - 1);
                (void)fprintf(f, "Content-Type: multipart/mixed; boundary=\"b%u\"\n\n", i);
        }
        (void)fprintf(f, "--b%u\nContent-Type: application/json\n\n%s", levels - 1, JSON_OK);
        for (unsigned i = levels; i-- > 0;)
                (void)fprintf(f, "--b%u--\n", i);
        assert_int_equal(fclose(f), 0);
        *ret = (uint8_t *)text;
        *ret_len = len;
        return 0;
}

static int build_mime_depth_max(uint8_t **ret, size_t *ret_len)
{
        return mime_nested(USERDATA_MIME_DEPTH, ret, ret_len);
}

static int build_mime_depth_over(uint8_t **ret, size_t *ret_len)
{
        return mime_nested(USERDATA_MIME_DEPTH + 1, ret, ret_len);
}

/* A 100 KB header line in the document's headers and in a part's: nothing breaks. */
static int build_mime_long_header(uint8_t **ret, size_t *ret_len)
{
        char *text;
        size_t len;
        FILE *f = open_memstream(&text, &len);

        assert_non_null(f);
        (void)fprintf(f, "Content-Type: multipart/mixed; boundary=b\nX-Filler: ");
        for (int i = 0; i < 100 * 1024; i++)
                (void)fputc('a' + i % 26, f);
        (void)fprintf(f, "\n\n--b\nX-Part-Filler: ");
        for (int i = 0; i < 100 * 1024; i++)
                (void)fputc('z' - i % 26, f);
        (void)fprintf(f, "\nContent-Type: application/json\n\n%s--b--\n", JSON_OK);
        assert_int_equal(fclose(f), 0);
        *ret = (uint8_t *)text;
        *ret_len = len;
        return 0;
}

/* A 100 KB boundary: RFC 2046 allows 70 characters. */
static int build_mime_long_boundary(uint8_t **ret, size_t *ret_len)
{
        char *text;
        size_t len;
        FILE *f = open_memstream(&text, &len);

        assert_non_null(f);
        (void)fprintf(f, "Content-Type: multipart/mixed; boundary=\"");
        for (int i = 0; i < 100 * 1024; i++)
                (void)fputc('x', f);
        (void)fprintf(f, "\"\n\n--xxxx\n\n{}\n");
        assert_int_equal(fclose(f), 0);
        *ret = (uint8_t *)text;
        *ret_len = len;
        return 0;
}

/* A part body of about 800 KB base64 that decodes to JSON with a long value. */
static int build_mime_big_base64(uint8_t **ret, size_t *ret_len)
{
        static const char alphabet[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char *json, *text;
        size_t json_len, len, quanta = 0;
        FILE *f;

        f = open_memstream(&json, &json_len);
        assert_non_null(f);
        (void)fprintf(f, "{\"mailinit\": {\"secret_id\": \"big\", \"pad\": \"");
        for (int i = 0; i < 600 * 1024; i++)
                (void)fputc('p', f);
        (void)fprintf(f, "\"}}\n");
        while (ftell(f) % 3 != 0)
                (void)fputc(' ', f);
        assert_int_equal(fclose(f), 0);

        f = open_memstream(&text, &len);
        assert_non_null(f);
        (void)fprintf(f, "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
                         "Content-Type: application/json\nContent-Transfer-Encoding: base64\n\n");
        for (size_t i = 0; i < json_len; i += 3) {
                uint32_t v = (uint32_t)(uint8_t)json[i] << 16 |
                             (uint32_t)(uint8_t)json[i + 1] << 8 | (uint8_t)json[i + 2];

                (void)fputc(alphabet[v >> 18 & 63], f);
                (void)fputc(alphabet[v >> 12 & 63], f);
                (void)fputc(alphabet[v >> 6 & 63], f);
                (void)fputc(alphabet[v & 63], f);
                if (++quanta % 19 == 0)
                        (void)fputc('\n', f);
        }
        (void)fprintf(f, "\n--b--\n");
        assert_int_equal(fclose(f), 0);
        free(json);
        *ret = (uint8_t *)text;
        *ret_len = len;
        return 0;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_plain_formats(void **state)
{
        static const struct ud_case cases[] = {
                {"empty", "", .want = 0, .want_text = "empty"},
                {"blanks", " \r\n\t \n", .want = 0, .want_text = "empty"},
                {"BOM only", BOM "\n", .want = 0, .want_text = "empty"},
                {"json", "{\"mailinit\": {\"secret_id\": \"plain\"}}", .want = 1,
                 .want_text = "plain"},
                {"json with blanks", "\n\n  {\"mailinit\": {\"secret_id\": \"ws\"}}\n\n", .want = 1,
                 .want_text = "ws"},
                {"json with BOM", BOM "{\"mailinit\": {\"secret_id\": \"bom\"}}", .want = 1,
                 .want_text = "bom"},
                {"json without mailinit", "{\"packages\": [\"postfix\"]}", .want = 0,
                 .want_text = "JSON without a \"mailinit\" key"},
                {"json mailinit array", "{\"mailinit\": []}", .want = -EBADMSG,
                 .want_text = "user-data: \"mailinit\" must be a JSON object"},
                {"json mailinit string", "{\"mailinit\": \"secret\"}", .want = -EBADMSG,
                 .want_text = "user-data: \"mailinit\" must be a JSON object"},
                {"json syntax error", "{\"mailinit\": {\n  \"mode\": builtin\n}}", .want = -EBADMSG,
                 .want_text =
                         "user-data: invalid JSON at line 2, column 17: invalid token near 'builtin'"},
                {"json unterminated", "{\"mailinit\": {", .want = -EBADMSG,
                 .want_text = "user-data: invalid JSON at line 1, column 14:"},
                {"json trailing garbage", "{\"mailinit\": {}} x", .want = -EBADMSG,
                 .want_text = "end of file expected"},
                {"json duplicate key", "{\"mailinit\": {}, \"mailinit\": {}}", .want = -EBADMSG,
                 .want_text = "duplicate object key"},
                {"json NUL in string", LIT("{\"mailinit\": {\"secret_id\": \"a\0b\"}}"),
                 .want = -EBADMSG,
                 .want_text = "user-data: invalid JSON at line 1, column 30: NUL byte in the text"},
                {"json NUL after object", LIT("{\"mailinit\": {\"secret_id\": \"a\"}}\0\0"),
                 .want = -EBADMSG, .want_text = "NUL byte"},
                {"json NUL on line 2", LIT("{\n\0\"mailinit\": {}}"), .want = -EBADMSG,
                 .want_text = "at line 2, column 1: NUL byte"},
                {"json invalid UTF-8", "{\"mailinit\": {\"secret_id\": \"\xff\"}}",
                 .want = -EBADMSG, .want_text = "user-data: invalid JSON at line 1"},
                {"json array", "[{\"mailinit\": {}}]", .want = 0,
                 .want_text = "unrecognised content"},
                {"shell script", "#!/bin/bash\necho hi\n", .want = 0,
                 .want_text = "a shell script"},
                {"shell script with NUL", LIT("#!/bin/sh\n\0\0\0binary"), .want = 0,
                 .want_text = "a shell script"},
                {"cloud-config", "#cloud-config\npackages: [postfix]\n", .want = 0,
                 .want_text = "#cloud-config"},
                {"cloud-config-archive", "#cloud-config-archive\n- type: foo\n", .want = 0,
                 .want_text = "#cloud-config-archive"},
                {"cloud-boothook", "#cloud-boothook\n#!/bin/sh\n", .want = 0,
                 .want_text = "#cloud-boothook"},
                {"include", "#include\nhttps://example.com/ud\n", .want = 0,
                 .want_text = "#include"},
                {"include-once", "#include-once\nhttps://example.com/ud\n", .want = 0,
                 .want_text = "#include-once"},
                {"part-handler", "#part-handler\ndef list_types(): pass\n", .want = 0,
                 .want_text = "#part-handler"},
                {"jinja", "## template: jinja\n#cloud-config\n", .want = 0,
                 .want_text = "## template: jinja"},
                {"text", "hello world\n", .want = 0, .want_text = "unrecognised content"},
                {"binary", LIT("\x00\x01\x02\x03"), .want = 0, .want_text = "unrecognised content"},
                {"lone 0x1f", "\x1f", .want = 0, .want_text = "unrecognised content"},
        };

        (void)state;
        assert_int_equal(run_cases(cases, sizeof cases / sizeof cases[0]), 0);
}

static void test_mime(void **state)
{
        static const struct ud_case cases[] = {
                {"mime LF", MIME_OK, .want = 1, .want_text = "built"},
                {"mime CRLF",
                 "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
                 "MIME-Version: 1.0\r\n\r\n"
                 "--XYZ\r\nContent-Type: text/x-shellscript\r\n\r\n#!/bin/sh\r\n"
                 "--XYZ\r\nContent-Type: application/json\r\n\r\n"
                 "{\"mailinit\": {\"secret_id\": \"crlf\"}}\r\n"
                 "--XYZ--\r\n",
                 .want = 1, .want_text = "crlf"},
                {"mime-version first, unquoted boundary, preamble and epilogue",
                 "MIME-Version: 1.0\n"
                 "Content-Type: multipart/mixed; boundary=simple\n\n"
                 "This is the preamble.\n"
                 "--simple\nContent-Type: text/json\n\n{\"mailinit\": {\"secret_id\": \"pre\"}}\n"
                 "--simple--\n"
                 "This is the epilogue.\n--simple\n",
                 .want = 1, .want_text = "pre"},
                {"mime header case, folding, comments, parameters",
                 "content-type: MULTIPART/Mixed (comment);\n\tcharset=us-ascii;\n BOUNDARY=\"a b\"\n\n"
                 "--a b   \n"
                 "CONTENT-TYPE: Application/JSON; charset=\"utf-8\"\n\n"
                 "{\"mailinit\": {\"secret_id\": \"case\"}}\n"
                 "--a b-- \n",
                 .want = 1, .want_text = "case"},
                {"mime base64 part",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: text/x-mailinit\nContent-Transfer-Encoding: base64\n\n"
                 /* {"mailinit": {"secret_id": "b64"}} */
                 "eyJtYWlsaW5pdCI6IHsic2VjcmV0X2lk\r\nIjogImI2NCJ9fQ==\n"
                 "--b--\n",
                 .want = 1, .want_text = "b64"},
                {"mime base64 without padding",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: application/json\nContent-Transfer-Encoding: BASE64\n\n"
                 /* {"mailinit":{"secret_id":"np"}} */
                 "eyJtYWlsaW5pdCI6eyJzZWNyZXRfaWQiOiJucCJ9fQ\n"
                 "--b--\n",
                 .want = 1, .want_text = "np"},
                {"mime quoted-printable part",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: text/x-mailinit+json\n"
                 "Content-Transfer-Encoding: quoted-printable\n\n"
                 "{\"mailinit\": {\"secret_id\"=3A \"q=\n"
                 "p\", \"x\": \"caf=C3=A9 =3d =ZZ=\"}}   \n"
                 "--b--\n",
                 .want = 1, .want_text = "qp"},
                {"mime text/plain JSON",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: text/plain\n\n" BOM
                 "  {\"mailinit\": {\"secret_id\": \"plain\"}}\n"
                 "--b--\n",
                 .want = 1, .want_text = "plain"},
                {"mime part without headers is text/plain",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\n\n{\"mailinit\": {\"secret_id\": \"noheaders\"}}\n"
                 "--b--\n",
                 .want = 1, .want_text = "noheaders"},
                {"mime text/plain not JSON is skipped",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: text/plain\n\n{ this is not JSON\n"
                 "--b\nContent-Type: text/plain\n\nhello\n"
                 "--b\nContent-Type: application/json\n\n{\"mailinit\": {\"secret_id\": \"2nd\"}}\n"
                 "--b--\n",
                 .want = 1, .want_text = "2nd"},
                {"mime first mailinit part wins",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: application/json\n\n{\"other\": 1}\n"
                 "--b\nContent-Type: text/x-mailinit\n\n{\"mailinit\": {\"secret_id\": \"first\"}}\n"
                 "--b\nContent-Type: application/json\n\n{\"mailinit\": {\"secret_id\": \"second\"}}\n"
                 "--b--\n",
                 .want = 1, .want_text = "first"},
                {"mime nested",
                 "Content-Type: multipart/mixed; boundary=outer\n\n"
                 "--outer\nContent-Type: text/cloud-config\n\n#cloud-config\n"
                 "--outer\nContent-Type: multipart/alternative; boundary=inner\n\n"
                 "--inner\nContent-Type: text/x-shellscript\n\n#!/bin/sh\n"
                 "--inner\nContent-Type: application/json\n\n{\"mailinit\": {\"secret_id\": \"nested\"}}\n"
                 "--inner--\n"
                 "--outer--\n",
                 .want = 1, .want_text = "nested"},
                {"mime single part document",
                 "MIME-Version: 1.0\nContent-Type: application/json\n\n"
                 "{\"mailinit\": {\"secret_id\": \"single\"}}\n",
                 .want = 1, .want_text = "single"},
                {"mime single part, not ours", "MIME-Version: 1.0\n\nhello\n", .want = 0,
                 .want_text = "MIME message without a mailinit JSON part"},
                {"mime no candidate",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: text/x-shellscript\n\n#!/bin/sh\n"
                 "--b\nContent-Type: text/cloud-config\n\n#cloud-config\n"
                 "--b\nContent-Type: application/json\n\n{\"other\": true}\n"
                 "--b--\n",
                 .want = 0, .want_text = "MIME multipart without a mailinit JSON part"},
                {"mime no parts", "Content-Type: multipart/mixed; boundary=b\n\n--b--\n", .want = 0,
                 .want_text = "MIME multipart without a mailinit JSON part"},
                {"mime bad base64 skipped in a shell script",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: base64\n\n!!!\n"
                 "--b--\n",
                 .want = 0, .want_text = "MIME multipart without a mailinit JSON part"},
                {"mime invalid JSON part",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: text/x-shellscript\n\n#!/bin/sh\n"
                 "--b\nContent-Type: application/json\n\n{\"mailinit\": {,}}\n"
                 "--b--\n",
                 .want = -EBADMSG,
                 .want_text =
                         "user-data: MIME part 2 (application/json): invalid JSON at line 1, column 15:"},
                {"mime JSON part not an object",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: application/json\n\n[1, 2]\n--b--\n",
                 .want = -EBADMSG,
                 .want_text = "MIME part 1 (application/json): JSON is not an object"},
                {"mime mailinit array",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: text/plain\n\n{\"mailinit\": []}\n--b--\n",
                 .want = -EBADMSG,
                 .want_text = "MIME part 1 (text/plain): \"mailinit\" must be a JSON object"},
                {"mime part numbers count nested parts",
                 "Content-Type: multipart/mixed; boundary=o\n\n"
                 "--o\nContent-Type: multipart/mixed; boundary=i\n\n"
                 "--i\nContent-Type: text/x-shellscript\n\n#!/bin/sh\n--i--\n"
                 "--o\nContent-Type: application/json\n\n{\n"
                 "--o--\n",
                 .want = -EBADMSG, .want_text = "user-data: MIME part 3 (application/json)"},
                {"mime NUL in JSON part",
                 LIT("Content-Type: multipart/mixed; boundary=b\n\n"
                     "--b\nContent-Type: application/json\n\n{\"mailinit\": {\0}}\n--b--\n"),
                 .want = -EBADMSG,
                 .want_text =
                         "MIME part 1 (application/json): invalid JSON at line 1, column 15: NUL byte"},
                {"mime invalid base64 character",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: application/json\nContent-Transfer-Encoding: base64\n\n"
                 "eyJtYWlsaW5pdCI6!!!\n--b--\n",
                 .want = -EBADMSG,
                 .want_text =
                         "user-data: MIME part 1 (application/json): invalid base64: unexpected character 0x21"},
                {"mime truncated base64",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: application/json\nContent-Transfer-Encoding: base64\n\n"
                 "eyJtY\n--b--\n",
                 .want = -EBADMSG, .want_text = "invalid base64: truncated"},
                {"mime base64 data after padding",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: application/json\nContent-Transfer-Encoding: base64\n\n"
                 "e30=e30=\n--b--\n",
                 .want = -EBADMSG, .want_text = "invalid base64: data after '=' padding"},
                {"mime base64 misplaced padding",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: application/json\nContent-Transfer-Encoding: base64\n\n"
                 "e===\n--b--\n",
                 .want = -EBADMSG, .want_text = "invalid base64: misplaced '='"},
                {"mime unknown transfer encoding",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: application/json\nContent-Transfer-Encoding: x-uuencode\n\n"
                 "begin 644 x\n--b--\n",
                 .want = -EBADMSG, .want_text = "unknown Content-Transfer-Encoding \"x-uuencode\""},
                {"mime long unknown transfer encoding",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: application/json\n"
                 "Content-Transfer-Encoding: x-an-encoding-name-much-longer-than-any-known-one\n\n"
                 "{}\n--b--\n",
                 .want = -EBADMSG,
                 .want_text = "unknown Content-Transfer-Encoding \"x-an-encoding-name-m...\""},
                {"mime corrupt gzip part",
                 LIT("Content-Type: multipart/mixed; boundary=b\n\n"
                     "--b\nContent-Type: application/x-gzip\n\n\x1f\x8b\x08\x00garbage\n--b--\n"),
                 .want = -EBADMSG,
                 .want_text = "user-data: MIME part 1 (application/x-gzip): gzip data is corrupt:"},
                {"mime without closing boundary",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: application/json\n\n{\"mailinit\": {\"secret_id\": \"x\"}}\n",
                 .want = -EBADMSG,
                 .want_text = "user-data: MIME multipart has no closing boundary \"--b--\""},
                {"mime boundary prefix is not a delimiter",
                 "Content-Type: multipart/mixed; boundary=b\n\n"
                 "--b\nContent-Type: text/plain\n\nx\n--bb--\n",
                 .want = -EBADMSG, .want_text = "no closing boundary"},
                {"mime boundary missing",
                 "Content-Type: multipart/mixed\n\n"
                 "--b\nContent-Type: application/json\n\n{}\n--b--\n",
                 .want = -EBADMSG,
                 .want_text = "user-data: MIME multipart/mixed without a boundary parameter"},
                {"mime boundary empty",
                 "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\n{}\n----\n",
                 .want = -EBADMSG, .want_text = "without a boundary parameter"},
                {"mime boundary unterminated quote",
                 "Content-Type: multipart/mixed; boundary=\"b\n\n--b\n\n{}\n--b--\n",
                 .want = -EBADMSG, .want_text = "boundary is invalid"},
                {"mime boundary not in body",
                 "Content-Type: multipart/mixed; boundary=b\n\njust text\n", .want = -EBADMSG,
                 .want_text = "user-data: MIME boundary \"b\" not found"},
                {"mime empty body", "Content-Type: multipart/mixed; boundary=b\n", .want = -EBADMSG,
                 .want_text = "not found"},
        };

        (void)state;
        assert_int_equal(run_cases(cases, sizeof cases / sizeof cases[0]), 0);
}

static void test_generated(void **state)
{
        static const struct ud_case cases[] = {
                {"gzip of JSON", .build = build_gzip_json, .want = 1, .want_text = "built"},
                {"gzip of MIME", .build = build_gzip_mime, .want = 1, .want_text = "built"},
                {"gzip of gzip of JSON", .build = build_gzip_gzip_json, .want = 1,
                 .want_text = "built"},
                {"gzip three levels", .build = build_gzip_3_levels, .want = -EBADMSG,
                 .want_text = "gzip nested more than 2 levels deep"},
                {"gzip truncated", .build = build_gzip_truncated, .want = -EBADMSG,
                 .want_text = "user-data: gzip data is corrupt: unexpected end of data"},
                {"gzip header only", .build = build_gzip_header_only, .want = -EBADMSG,
                 .want_text = "user-data: gzip data is corrupt:"},
                {"gzip bad CRC", .build = build_gzip_bad_crc, .want = -EBADMSG,
                 .want_text = "user-data: gzip data is corrupt: incorrect data check"},
                {"gzip trailing garbage", .build = build_gzip_trailing_garbage, .want = -EBADMSG,
                 .want_text = "user-data: gzip data is corrupt: trailing garbage"},
                {"gzip bomb", .build = build_gzip_bomb, .want = -EFBIG,
                 .want_text = "user-data: gzip data decompresses to more than 1048576 bytes"},
                {"gzip one byte too big", .build = build_gzip_max_plus_one, .want = -EFBIG,
                 .want_text = "more than 1048576 bytes"},
                {"2 MB input", .build = build_2mb, .want = -EFBIG,
                 .want_text = "user-data: larger than 1048576 bytes"},
                {"exactly USERDATA_MAX", .build = build_exactly_max, .want = 1,
                 .want_text = "built"},
                {"mime 1000 parts", .build = build_mime_1000_parts, .want = -EBADMSG,
                 .want_text = "user-data: MIME document has more than 64 parts"},
                {"mime 64 parts", .build = build_mime_64_parts, .want = 1, .want_text = "built"},
                {"mime 65 parts", .build = build_mime_65_parts, .want = -EBADMSG,
                 .want_text = "more than 64 parts"},
                {"mime nested to the limit", .build = build_mime_depth_max, .want = 1,
                 .want_text = "built"},
                {"mime nested too deep", .build = build_mime_depth_over, .want = -EBADMSG,
                 .want_text = "user-data: MIME multipart nested more than 4 levels deep"},
                {"mime 100 KB header lines", .build = build_mime_long_header, .want = 1,
                 .want_text = "built"},
                {"mime 100 KB boundary", .build = build_mime_long_boundary, .want = -EBADMSG,
                 .want_text = "boundary is invalid"},
                {"mime big base64 part", .build = build_mime_big_base64, .want = 1,
                 .want_text = "big"},
        };

        (void)state;
        assert_int_equal(run_cases(cases, sizeof cases / sizeof cases[0]), 0);
}

/* Made by Python's email package (tests/data/userdata/make_fixtures.py), not by us. */
static void test_fixtures(void **state)
{
        static const struct ud_case cases[] = {
                {"make-mime", .fixture = "mime-make-mime.txt", .want = 1,
                 .want_text = "fixture-make-mime"},
                {"make-mime gzip", .fixture = "mime-make-mime.txt.gz", .want = 1,
                 .want_text = "fixture-make-mime"},
                {"MIMEApplication json", .fixture = "mime-application-json.txt", .want = 1,
                 .want_text = "fixture-application-json"},
                {"quoted-printable", .fixture = "mime-qp.txt", .want = 1,
                 .want_text = "fixture-qp"},
                {"nested CRLF with gzip part", .fixture = "mime-nested-crlf.eml", .want = 1,
                 .want_text = "fixture-nested-crlf"},
                {"make-mime without mailinit", .fixture = "mime-no-mailinit.txt", .want = 0,
                 .want_text = "MIME multipart without a mailinit JSON part"},
                {"gzip JSON", .fixture = "userdata.json.gz", .want = 1,
                 .want_text = "fixture-json-gz"},
        };

        (void)state;
        assert_int_equal(run_cases(cases, sizeof cases / sizeof cases[0]), 0);
}

/* Values decoded through quoted-printable come out as the writer meant them. */
static void test_fixture_qp_values(void **state)
{
        const char *dir = test_data_dir();
        struct config_error err = {""};
        json_t *config = NULL;
        char *path, *text, n80[81], want_to[4 + 80 + 12 + 1];
        size_t len;

        (void)state;
        assert_true(asprintf(&path, "%s/userdata/mime-qp.txt", dir) >= 0);
        assert_int_equal(read_file_bounded(path, UD_MAX, &text, &len), 0);
        assert_int_equal(userdata_extract((const uint8_t *)text, len, &config, NULL, 0, &err), 1);
        assert_string_equal(json_string_value(json_object_get(config, "notify_from")),
                            "postmaster@r\xc3\xa9seau.example");
        /* make_fixtures.py: "ops-" + "n" * 80 + "@example.com", cut by a soft line break */
        memset(n80, 'n', 80);
        n80[80] = '\0';
        (void)snprintf(want_to, sizeof want_to, "ops-%s@example.com", n80);
        assert_string_equal(json_string_value(json_object_get(config, "notify_to")), want_to);
        json_decref(config);
        free(text);
        free(path);
}

/* reason may be NULL or small; err may be NULL; data may be NULL when len is 0. */
static void test_optional_outputs(void **state)
{
        static const char script[] = "#cloud-config\n";
        static const char bad[] = "{\"mailinit\": 1}";
        char small[5] = "xxxx", untouched[4] = "abc";
        json_t *config = NULL;

        (void)state;
        assert_int_equal(userdata_extract(NULL, 0, &config, NULL, 0, NULL), 0);
        assert_int_equal(
                userdata_extract((const uint8_t *)script, strlen(script), &config, NULL, 0, NULL),
                0);
        assert_int_equal(userdata_extract((const uint8_t *)script, strlen(script), &config,
                                          untouched, 0, NULL),
                         0);
        assert_string_equal(untouched, "abc");
        assert_int_equal(userdata_extract((const uint8_t *)script, strlen(script), &config, small,
                                          sizeof small, NULL),
                         0);
        assert_string_equal(small, "#clo");
        assert_int_equal(userdata_extract((const uint8_t *)bad, strlen(bad), &config, small,
                                          sizeof small, NULL),
                         -EBADMSG);
        assert_null(config);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain_formats),     cmocka_unit_test(test_mime),
                cmocka_unit_test(test_generated),         cmocka_unit_test(test_fixtures),
                cmocka_unit_test(test_fixture_qp_values), cmocka_unit_test(test_optional_outputs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
