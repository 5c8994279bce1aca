/* SPDX-License-Identifier: MIT */
/*
 * userdata - find mailinit's configuration in EC2 user-data, in the formats cloud-init reads.
 *
 * Accepted: a JSON object with a "mailinit" object; a MIME document (RFC 2045/2046, as written
 * by `cloud-init devel make-mime` or Python's email package) whose parts are walked in document
 * order (base64, quoted-printable, 7bit/8bit/binary; nested multiparts; gzip-compressed parts);
 * either of them gzip-compressed (at most USERDATA_GZIP_LEVELS deep).
 *
 * Failure policy: every size is bounded by USERDATA_MAX (input, each decompressed or decoded
 * form), MIME nesting by USERDATA_MIME_DEPTH and the number of parts by USERDATA_MIME_PARTS.
 * The first problem stops the walk and is reported in err; nothing is returned on error.
 * Content that is not for mailinit is not an error: it returns 0 with a short reason.
 *
 * SECURITY: the input comes from whoever launched the instance and may be hostile. It is not
 * NUL-terminated and may hold NUL bytes: everything here works on (pointer, length) spans.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ZLIB_CONST
#include <zlib.h>

#include "buf.h"
#include "userdata.h"

/* A gzip inside a gzip is tolerated once; more is refused, not decompressed further. */
#define USERDATA_GZIP_LEVELS 2
/* RFC 2046 section 5.1.1: a boundary is 1 to 70 characters. */
#define MIME_BOUNDARY_MAX    70
#define MIME_TYPE_MAX        128
#define MIME_CTE_MAX         32
#define MIME_WHERE_MAX       (MIME_TYPE_MAX + 64)
#define GZIP_CHUNK_SIZE      16384
#define USERDATA_MAX_SIZE    ((size_t)USERDATA_MAX)

struct ud_ctx {
        struct config_error *err;
        unsigned n_parts; /* body parts found so far, at every level */
        unsigned part_no; /* number of the part being examined, in document order */
        bool multipart;   /* the document is a multipart */
};

struct span {
        const uint8_t *p;
        size_t len;
};

enum mime_cte {
        MIME_CTE_IDENTITY, /* absent, 7bit, 8bit, binary */
        MIME_CTE_BASE64,
        MIME_CTE_QUOTED_PRINTABLE,
        MIME_CTE_UNKNOWN,
};

struct mime_headers {
        char type[MIME_TYPE_MAX]; /* "type/subtype" lowercased; "" when absent or malformed */
        char boundary[MIME_BOUNDARY_MAX + 1];
        size_t boundary_len;
        bool boundary_bad; /* too long or holds control characters */
        bool have_type;
        bool have_cte;
        enum mime_cte cte;
        char cte_name[MIME_CTE_MAX];
        struct span body;
};

/* How a part's decoded body is looked at. */
enum part_kind {
        PART_SKIP,   /* someone else's: not decoded */
        PART_STRICT, /* claims to be JSON: a parse error is an error */
        PART_SNIFF,  /* JSON when it starts with '{', else skipped; a parse error skips it */
};

static const char *const strict_types[] = {
        "application/json",
        "text/json",
        "text/x-mailinit",
        "text/x-mailinit+json",
};

/* text/plain and the types cloud-init decompresses or sniffs are looked at too. */
static const char *const sniff_types[] = {
        "text/plain",
        "application/octet-stream",
        "application/gzip",
        "application/gzip-compressed",
        "application/gzipped",
        "application/x-gzip",
        "application/x-gzip-compressed",
        "application/x-compressed",
};

/* Markers of the other formats cloud-init reads; longer prefixes first. */
static const struct {
        const char *prefix;
        const char *reason;
} markers[] = {
        {"#!", "a shell script"},
        {"#cloud-config-archive", "#cloud-config-archive"},
        {"#cloud-config-jsonp", "#cloud-config-jsonp"},
        {"#cloud-config", "#cloud-config"},
        {"#cloud-boothook", "#cloud-boothook"},
        {"#include-once", "#include-once"},
        {"#include", "#include"},
        {"#part-handler", "#part-handler"},
        {"#upstart-job", "#upstart-job"},
        {"## template: jinja", "## template: jinja"},
};

/* ud_fail - fill err and return r */
static int ud_fail(struct ud_ctx *c, int r, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
static int ud_fail(struct ud_ctx *c, int r, const char *format, ...)
{
        char text[CONFIG_ERROR_MAX];
        va_list ap;

        va_start(ap, format);
        (void)vsnprintf(text, sizeof text, format, ap);
        va_end(ap);
        (void)config_error_set(c->err, "%s", text);
        return r;
}

static int ud_oom(struct ud_ctx *c)
{
        return ud_fail(c, -ENOMEM, "user-data: out of memory");
}

static bool is_space(uint8_t ch)
{
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

static bool is_gzip(const uint8_t *p, size_t len)
{
        return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* skip_bom_space - offset of the first byte after an optional UTF-8 BOM and white space */
static size_t skip_bom_space(const uint8_t *p, size_t len)
{
        size_t i = 0;

        if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
                i = 3;
        while (i < len && is_space(p[i]))
                i++;
        return i;
}

static bool has_prefix_ci(const uint8_t *p, size_t len, const char *prefix)
{
        size_t n = strlen(prefix);

        return len >= n && strncasecmp((const char *)p, prefix, n) == 0;
}

static bool type_in(const char *type, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(type, list[i]) == 0)
                        return true;
        return false;
}

/* ud_gunzip - decompress one gzip stream (or several concatenated members) into out, which
 * refuses to grow past USERDATA_MAX: a small bomb costs at most that much memory. */
static int ud_gunzip(struct ud_ctx *c, const char *where, const uint8_t *in, size_t len,
                     struct buf *out)
{
        unsigned char chunk[GZIP_CHUNK_SIZE];
        z_stream zs = {0};
        int zr, r = 0;

        /* 16 + MAX_WBITS: gzip header and trailer (CRC-32, size) are required and checked. */
        zr = inflateInit2(&zs, 16 + MAX_WBITS);
        if (zr == Z_MEM_ERROR)
                return ud_oom(c);
        if (zr != Z_OK)
                return ud_fail(c, -EBADMSG, "user-data: %sgzip: cannot initialise zlib", where);
        zs.next_in = in;
        zs.avail_in = (uInt)len; /* len <= USERDATA_MAX */
        for (;;) {
                zs.next_out = chunk;
                zs.avail_out = sizeof chunk;
                zr = inflate(&zs, Z_NO_FLUSH);
                if (zr == Z_OK || zr == Z_STREAM_END) {
                        r = buf_append(out, chunk, sizeof chunk - zs.avail_out);
                        if (r == -EFBIG) {
                                r = ud_fail(
                                        c, -EFBIG,
                                        "user-data: %sgzip data decompresses to more than %d bytes",
                                        where, USERDATA_MAX);
                                break;
                        }
                        if (r < 0) {
                                r = ud_oom(c);
                                break;
                        }
                }
                if (zr == Z_OK)
                        continue;
                if (zr == Z_STREAM_END) {
                        const uint8_t *rest = zs.next_in;
                        size_t n = zs.avail_in;

                        if (n == 0)
                                break;
                        /* gzip(1) writes concatenated members; tar-style zero padding is
                         * ignored as gzip(1) does. Anything else is damage. */
                        if (is_gzip(rest, n)) {
                                if (inflateReset(&zs) != Z_OK) {
                                        r = ud_fail(
                                                c, -EBADMSG,
                                                "user-data: %sgzip data is corrupt: cannot restart",
                                                where);
                                        break;
                                }
                                continue;
                        }
                        while (n > 0 && rest[n - 1] == 0)
                                n--;
                        if (n > 0)
                                r = ud_fail(
                                        c, -EBADMSG,
                                        "user-data: %sgzip data is corrupt: trailing garbage after the compressed data",
                                        where);
                        break;
                }
                if (zr == Z_MEM_ERROR) {
                        r = ud_oom(c);
                        break;
                }
                /* Z_BUF_ERROR with room in the output: the input ended inside the stream. */
                r = ud_fail(c, -EBADMSG, "user-data: %sgzip data is corrupt: %s", where,
                            zr == Z_BUF_ERROR ? "unexpected end of data"
                            : zs.msg          ? zs.msg
                                              : "invalid data");
                break;
        }
        (void)inflateEnd(&zs);
        return r;
}

/* ud_unwrap_gzip - while *data is gzip, decompress it; *owned holds the current copy (or
 * NULL) and is replaced. Leaves non-gzip data alone. */
static int ud_unwrap_gzip(struct ud_ctx *c, const char *where, const uint8_t **data, size_t *len,
                          char **owned)
{
        for (unsigned level = 0; is_gzip(*data, *len); level++) {
                struct buf out;
                int r;

                if (level == USERDATA_GZIP_LEVELS)
                        return ud_fail(c, -EBADMSG,
                                       "user-data: %sgzip nested more than %d levels deep", where,
                                       USERDATA_GZIP_LEVELS);
                buf_init(&out, USERDATA_MAX_SIZE);
                r = ud_gunzip(c, where, *data, *len, &out);
                if (r < 0) {
                        buf_done(&out);
                        return r;
                }
                free(*owned);
                *owned = buf_take(&out, len);
                *data = *owned ? (const uint8_t *)*owned : (const uint8_t *)"";
        }
        return 0;
}

/* json_position - line and column (1-based, columns in characters as jansson counts
 * them) of the byte at offset pos */
static void json_position(const uint8_t *p, size_t pos, unsigned *ret_line, unsigned *ret_column)
{
        unsigned line = 1, column = 0;

        for (size_t i = 0; i <= pos; i++) {
                if (i < pos && p[i] == '\n') {
                        line++;
                        column = 0;
                } else if ((p[i] & 0xc0) != 0x80) {
                        column++;
                }
        }
        *ret_line = line;
        *ret_column = column;
}

/* ud_json - parse text as JSON and take its "mailinit" object. Returns 1 with *ret set, 0
 * when there is none (or, unless strict, when the text is not valid JSON), or -errno. */
static int ud_json(struct ud_ctx *c, const char *where, const uint8_t *text, size_t len,
                   bool strict, json_t **ret)
{
        json_error_t jerr;
        const uint8_t *nul;
        json_t *root, *config;

        /* jansson refuses a BOM; RFC 8259 section 8.1 lets parsers ignore one. */
        if (len >= 3 && text[0] == 0xef && text[1] == 0xbb && text[2] == 0xbf) {
                text += 3;
                len -= 3;
        }
        /* jansson stops at a NUL byte and blames the end of the file: say what it is. */
        nul = memchr(text, '\0', len);
        if (nul) {
                unsigned line, column;

                if (!strict)
                        return 0;
                json_position(text, (size_t)(nul - text), &line, &column);
                return ud_fail(
                        c, -EBADMSG,
                        "user-data: %sinvalid JSON at line %u, column %u: NUL byte in the text",
                        where, line, column);
        }
        root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                if (json_error_code(&jerr) == json_error_out_of_memory)
                        return ud_oom(c);
                if (!strict)
                        return 0;
                return ud_fail(c, -EBADMSG, "user-data: %sinvalid JSON at line %d, column %d: %s",
                               where, jerr.line, jerr.column, jerr.text);
        }
        if (!json_is_object(root)) {
                json_decref(root);
                if (!strict)
                        return 0;
                return ud_fail(c, -EBADMSG, "user-data: %sJSON is not an object", where);
        }
        config = json_object_get(root, "mailinit");
        if (!config) {
                json_decref(root);
                return 0;
        }
        if (!json_is_object(config)) {
                json_decref(root);
                return ud_fail(c, -EBADMSG, "user-data: %s\"mailinit\" must be a JSON object",
                               where);
        }
        *ret = json_incref(config);
        json_decref(root);
        return 1;
}

static int b64_value(uint8_t ch)
{
        if (ch >= 'A' && ch <= 'Z')
                return ch - 'A';
        if (ch >= 'a' && ch <= 'z')
                return ch - 'a' + 26;
        if (ch >= '0' && ch <= '9')
                return ch - '0' + 52;
        if (ch == '+')
                return 62;
        if (ch == '/')
                return 63;
        return -1;
}

/* ud_base64 - decode RFC 2045 section 6.8 base64. Line breaks and blanks are skipped; any
 * other character outside the alphabet, misplaced padding or a lone final sextet is refused
 * rather than ignored: a part that claims base64 and is not is damaged, not decorated.
 * Output (caller frees) is never longer than the input. */
static int ud_base64(struct ud_ctx *c, const char *where, const uint8_t *in, size_t len, char **ret,
                     size_t *ret_len)
{
        uint8_t *out;
        uint32_t acc = 0;
        unsigned n = 0, pad = 0;
        size_t o = 0;

        out = malloc(len + 1);
        if (!out)
                return ud_oom(c);
        for (size_t i = 0; i < len; i++) {
                uint8_t ch = in[i];
                int v;

                if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
                        continue;
                if (ch == '=') {
                        /* "xx==" or "xxx=": padding completes a quantum of 2 or 3. */
                        if (n + pad < 2 || n + pad >= 4) {
                                free(out);
                                return ud_fail(
                                        c, -EBADMSG,
                                        "user-data: %sinvalid base64: misplaced '=' at offset %zu",
                                        where, i);
                        }
                        pad++;
                        continue;
                }
                v = b64_value(ch);
                if (v < 0 || pad > 0) {
                        free(out);
                        if (v < 0)
                                return ud_fail(
                                        c, -EBADMSG,
                                        "user-data: %sinvalid base64: unexpected character 0x%02x at offset %zu",
                                        where, ch, i);
                        return ud_fail(
                                c, -EBADMSG,
                                "user-data: %sinvalid base64: data after '=' padding at offset %zu",
                                where, i);
                }
                acc = (acc << 6) | (uint32_t)v;
                if (++n == 4) {
                        out[o++] = (uint8_t)(acc >> 16);
                        out[o++] = (uint8_t)(acc >> 8);
                        out[o++] = (uint8_t)acc;
                        acc = 0;
                        n = 0;
                }
        }
        if (n == 1 || (pad > 0 && n + pad != 4)) {
                free(out);
                return ud_fail(c, -EBADMSG, "user-data: %sinvalid base64: truncated data", where);
        }
        if (n == 2) {
                out[o++] = (uint8_t)(acc >> 4);
        } else if (n == 3) {
                out[o++] = (uint8_t)(acc >> 10);
                out[o++] = (uint8_t)(acc >> 2);
        }
        out[o] = '\0';
        *ret = (char *)out;
        *ret_len = o;
        return 0;
}

static int hex_value(uint8_t ch)
{
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        return -1;
}

/* ud_quoted_printable - decode RFC 2045 section 6.7: "=XX" octets, "=" at the end of a line
 * is a soft line break, trailing blanks are dropped (rule 3). As the RFC recommends, a "="
 * not followed by two hex digits is kept as it is, so this never fails but on ENOMEM.
 * Line breaks come out as LF. Output (caller frees) is never longer than the input. */
static int ud_quoted_printable(struct ud_ctx *c, const uint8_t *in, size_t len, char **ret,
                               size_t *ret_len)
{
        uint8_t *out;
        size_t pos = 0, o = 0;

        out = malloc(len + 1);
        if (!out)
                return ud_oom(c);
        while (pos < len) {
                const uint8_t *line = in + pos, *nl;
                size_t n;
                bool soft = false;

                nl = memchr(line, '\n', len - pos);
                n = nl ? (size_t)(nl - line) : len - pos;
                pos += n + (nl ? 1 : 0);
                while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
                        n--;
                if (n > 0 && line[n - 1] == '=') {
                        soft = true;
                        n--;
                }
                for (size_t i = 0; i < n; i++) {
                        if (line[i] == '=' && i + 2 < n) {
                                int hi = hex_value(line[i + 1]), lo = hex_value(line[i + 2]);

                                if (hi >= 0 && lo >= 0) {
                                        out[o++] = (uint8_t)(hi << 4 | lo);
                                        i += 2;
                                        continue;
                                }
                        }
                        out[o++] = line[i];
                }
                if (nl && !soft)
                        out[o++] = '\n';
        }
        out[o] = '\0';
        *ret = (char *)out;
        *ret_len = o;
        return 0;
}

/* Header values are tokenised in place; folded lines (CRLF + blank) are white space. */
struct hv {
        const uint8_t *p, *end;
};

/* hv_skip_cfws - skip white space and RFC 5322 comments "(...)" */
static void hv_skip_cfws(struct hv *h)
{
        while (h->p < h->end) {
                if (is_space(*h->p)) {
                        h->p++;
                } else if (*h->p == '(') {
                        unsigned depth = 0;

                        for (; h->p < h->end; h->p++) {
                                if (*h->p == '\\' && h->end - h->p > 1) {
                                        h->p++;
                                } else if (*h->p == '(') {
                                        depth++;
                                } else if (*h->p == ')' && --depth == 0) {
                                        h->p++;
                                        break;
                                }
                        }
                } else {
                        break;
                }
        }
}

/* RFC 2045 section 5.1: token := 1*<any CHAR except SPACE, CTLs, or tspecials> */
static bool is_token_char(uint8_t ch)
{
        return ch > 0x20 && ch < 0x7f && !strchr("()<>@,;:\\\"/[]?=", ch);
}

/* hv_token - copy a token lowercased into out (truncated names yield ""); returns its length */
static size_t hv_token(struct hv *h, char *out, size_t out_size)
{
        size_t n = 0;

        while (h->p < h->end && is_token_char(*h->p)) {
                if (n + 1 < out_size)
                        out[n] = (char)((*h->p >= 'A' && *h->p <= 'Z') ? *h->p + 32 : *h->p);
                n++;
                h->p++;
        }
        if (n + 1 > out_size)
                n = 0; /* too long to be a name we know */
        out[n] = '\0';
        return n;
}

/* hv_value - read a parameter value (quoted-string or, leniently, anything up to ';' or
 * white space) into out; sets *bad when it does not fit or holds control characters. */
static void hv_value(struct hv *h, char *out, size_t out_size, size_t *ret_len, bool *bad)
{
        size_t n = 0;

        *bad = false;
        if (h->p < h->end && *h->p == '"') {
                h->p++;
                while (h->p < h->end && *h->p != '"') {
                        uint8_t ch = *h->p++;

                        if (ch == '\r' || ch == '\n')
                                continue; /* folding inside the quotes */
                        if (ch == '\\' && h->p < h->end)
                                ch = *h->p++;
                        if (ch < 0x20 || ch == 0x7f)
                                *bad = true;
                        if (n < out_size - 1)
                                out[n] = (char)ch;
                        else
                                *bad = true;
                        n++;
                }
                if (h->p < h->end)
                        h->p++;
                else
                        *bad = true; /* unterminated */
        } else {
                while (h->p < h->end && *h->p != ';' && *h->p > 0x20 && *h->p != 0x7f) {
                        if (n < out_size - 1)
                                out[n] = (char)*h->p;
                        else
                                *bad = true;
                        n++;
                        h->p++;
                }
        }
        if (n > out_size - 1)
                n = out_size - 1;
        out[n] = '\0';
        *ret_len = n;
}

/* parse_content_type - RFC 2045 section 5.1: type "/" subtype *(";" parameter). A malformed
 * value leaves type empty: section 5.2 then means text/plain. */
static void parse_content_type(struct mime_headers *h, const uint8_t *p, size_t len)
{
        struct hv v = {p, p + len};
        char type[MIME_TYPE_MAX], subtype[MIME_TYPE_MAX];

        h->have_type = true;
        hv_skip_cfws(&v);
        if (hv_token(&v, type, sizeof type) == 0)
                return;
        hv_skip_cfws(&v);
        if (v.p == v.end || *v.p != '/')
                return;
        v.p++;
        hv_skip_cfws(&v);
        if (hv_token(&v, subtype, sizeof subtype) == 0)
                return;
        if ((size_t)snprintf(h->type, sizeof h->type, "%s/%s", type, subtype) >= sizeof h->type) {
                h->type[0] = '\0';
                return;
        }
        for (;;) {
                char name[32], value[MIME_BOUNDARY_MAX + 1];
                size_t value_len;
                bool bad;

                hv_skip_cfws(&v);
                if (v.p == v.end || *v.p != ';')
                        return;
                v.p++;
                hv_skip_cfws(&v);
                (void)hv_token(&v, name, sizeof name);
                hv_skip_cfws(&v);
                if (v.p == v.end || *v.p != '=')
                        return;
                v.p++;
                hv_skip_cfws(&v);
                hv_value(&v, value, sizeof value, &value_len, &bad);
                if (strcmp(name, "boundary") == 0 && h->boundary_len == 0 && !h->boundary_bad) {
                        memcpy(h->boundary, value, value_len + 1);
                        h->boundary_len = value_len;
                        h->boundary_bad = bad;
                }
        }
}

static void parse_cte(struct mime_headers *h, const uint8_t *p, size_t len)
{
        struct hv v = {p, p + len};

        const uint8_t *name;

        h->have_cte = true;
        hv_skip_cfws(&v);
        name = v.p;
        if (hv_token(&v, h->cte_name, sizeof h->cte_name) == 0 && v.p != name) {
                /* longer than any encoding we know */
                (void)snprintf(h->cte_name, sizeof h->cte_name, "%.20s...", (const char *)name);
                h->cte = MIME_CTE_UNKNOWN;
                return;
        }
        if (h->cte_name[0] == '\0' || strcmp(h->cte_name, "7bit") == 0 ||
            strcmp(h->cte_name, "8bit") == 0 || strcmp(h->cte_name, "binary") == 0)
                h->cte = MIME_CTE_IDENTITY;
        else if (strcmp(h->cte_name, "base64") == 0)
                h->cte = MIME_CTE_BASE64;
        else if (strcmp(h->cte_name, "quoted-printable") == 0)
                h->cte = MIME_CTE_QUOTED_PRINTABLE;
        else
                h->cte = MIME_CTE_UNKNOWN;
}

static void header_field(struct mime_headers *h, const uint8_t *name, size_t name_len,
                         const uint8_t *value, size_t value_len)
{
        /* The first of repeated fields wins, as Python's Message.get() does. */
        if (name_len == 12 && strncasecmp((const char *)name, "content-type", 12) == 0) {
                if (!h->have_type)
                        parse_content_type(h, value, value_len);
        } else if (name_len == 25 &&
                   strncasecmp((const char *)name, "content-transfer-encoding", 25) == 0) {
                if (!h->have_cte)
                        parse_cte(h, value, value_len);
        }
}

/* strip_cr - length of a line without the CR of a CRLF line ending */
static size_t strip_cr(const uint8_t *line, size_t n)
{
        return n > 0 && line[n - 1] == '\r' ? n - 1 : n;
}

/* parse_headers - read an entity's header fields (RFC 5322 section 2.2, with folding) up to
 * the empty line; the rest is the body. A line that is not a field ends the headers too and
 * starts the body, as Python's parser does. */
static void parse_headers(struct mime_headers *h, const uint8_t *p, size_t len)
{
        const uint8_t *name = NULL, *value = NULL;
        size_t pos = 0, name_len = 0, value_end = 0;

        *h = (struct mime_headers){.cte = MIME_CTE_IDENTITY};
        h->body = (struct span){p + len, 0};
        while (pos < len) {
                const uint8_t *line = p + pos, *nl;
                size_t n, next, i;

                nl = memchr(line, '\n', len - pos);
                n = nl ? (size_t)(nl - line) : len - pos;
                next = pos + n + (nl ? 1 : 0);
                n = strip_cr(line, n);
                if (n == 0) {
                        pos = next;
                        break;
                }
                if (line[0] == ' ' || line[0] == '\t') {
                        if (!name)
                                break; /* continuation without a field: body text */
                        value_end = pos + n;
                        pos = next;
                        continue;
                }
                for (i = 0; i < n && line[i] != ':' && line[i] > 0x20 && line[i] < 0x7f; i++)
                        ;
                if (i == 0 || i == n || line[i] != ':')
                        break;
                if (name)
                        header_field(h, name, name_len, value, (size_t)(p + value_end - value));
                name = line;
                name_len = i;
                value = line + i + 1;
                value_end = pos + n;
                pos = next;
        }
        if (name)
                header_field(h, name, name_len, value, (size_t)(p + value_end - value));
        h->body = (struct span){p + pos, len - pos};
}

/* delimiter_at - is the line at p "--boundary" (close: "--boundary--") followed only by
 * blanks (RFC 2046 transport padding) up to the end of the line? */
static bool delimiter_at(const uint8_t *p, const uint8_t *end, const struct mime_headers *h,
                         bool *close, const uint8_t **ret_next)
{
        const uint8_t *q = p + 2 + h->boundary_len;

        if ((size_t)(end - p) < 2 + h->boundary_len || p[0] != '-' || p[1] != '-' ||
            memcmp(p + 2, h->boundary, h->boundary_len) != 0)
                return false;
        *close = end - q >= 2 && q[0] == '-' && q[1] == '-';
        if (*close)
                q += 2;
        while (q < end && (*q == ' ' || *q == '\t'))
                q++;
        if (q < end && *q == '\r' && (q + 1 == end || q[1] == '\n'))
                q++;
        if (q < end && *q != '\n')
                return false;
        *ret_next = q < end ? q + 1 : q;
        return true;
}

/* mime_split - cut a multipart body into its body parts (RFC 2046 section 5.1.1): the
 * preamble and the epilogue are dropped, and so is the line break before each delimiter,
 * which belongs to it. Counts parts against USERDATA_MIME_PARTS. */
static int mime_split(struct ud_ctx *c, const struct mime_headers *h, struct span *parts,
                      size_t *ret_n)
{
        const uint8_t *p = h->body.p, *end = h->body.p + h->body.len;
        const uint8_t *line = p, *start = NULL;
        size_t n = 0;

        while (line < end) {
                const uint8_t *nl, *next;
                bool close;

                if (delimiter_at(line, end, h, &close, &next)) {
                        if (start) {
                                const uint8_t *stop = line;

                                if (stop > start && stop[-1] == '\n')
                                        stop--;
                                if (stop > start && stop[-1] == '\r')
                                        stop--;
                                if (++c->n_parts > USERDATA_MIME_PARTS)
                                        return ud_fail(
                                                c, -EBADMSG,
                                                "user-data: MIME document has more than %d parts",
                                                USERDATA_MIME_PARTS);
                                parts[n++] = (struct span){start, (size_t)(stop - start)};
                        }
                        if (close) {
                                *ret_n = n;
                                return 0;
                        }
                        start = next;
                        line = next;
                        continue;
                }
                nl = memchr(line, '\n', (size_t)(end - line));
                if (!nl)
                        break;
                line = nl + 1;
        }
        if (!start)
                return ud_fail(c, -EBADMSG,
                               "user-data: MIME boundary \"%s\" not found in the multipart body",
                               h->boundary);
        return ud_fail(c, -EBADMSG,
                       "user-data: MIME multipart has no closing boundary \"--%s--\" (truncated?)",
                       h->boundary);
}

static int ud_entity(struct ud_ctx *c, const uint8_t *p, size_t len, unsigned depth, json_t **ret);

/* ud_multipart - examine the body parts of h in order; the first one with a "mailinit"
 * object wins. */
static int ud_multipart(struct ud_ctx *c, const struct mime_headers *h, unsigned depth,
                        json_t **ret)
{
        struct span parts[USERDATA_MIME_PARTS];
        size_t n = 0;
        int r;

        c->multipart = true;
        if (depth > USERDATA_MIME_DEPTH)
                return ud_fail(c, -EBADMSG,
                               "user-data: MIME multipart nested more than %d levels deep",
                               USERDATA_MIME_DEPTH);
        if (h->boundary_bad)
                return ud_fail(
                        c, -EBADMSG,
                        "user-data: MIME %s boundary is invalid (RFC 2046: 1 to %d printable characters)",
                        h->type, MIME_BOUNDARY_MAX);
        if (h->boundary_len == 0)
                return ud_fail(c, -EBADMSG, "user-data: MIME %s without a boundary parameter",
                               h->type);
        r = mime_split(c, h, parts, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = ud_entity(c, parts[i].p, parts[i].len, depth, ret);
                if (r != 0)
                        return r;
        }
        return 0;
}

static enum part_kind part_kind(const char *type)
{
        if (type_in(type, strict_types, sizeof strict_types / sizeof strict_types[0]))
                return PART_STRICT;
        if (type_in(type, sniff_types, sizeof sniff_types / sizeof sniff_types[0]))
                return PART_SNIFF;
        return PART_SKIP;
}

/* ud_leaf - decode a non-multipart part and look for the "mailinit" object in it */
static int ud_leaf(struct ud_ctx *c, const struct mime_headers *h, const char *type, json_t **ret)
{
        enum part_kind kind = part_kind(type);
        char where[MIME_WHERE_MAX];
        const uint8_t *data = h->body.p;
        size_t len = h->body.len, start;
        char *owned = NULL;
        int r = 0;

        if (kind == PART_SKIP)
                return 0;
        if (c->part_no == 0)
                (void)snprintf(where, sizeof where, "MIME body (%s): ", type);
        else
                (void)snprintf(where, sizeof where, "MIME part %u (%s): ", c->part_no, type);
        switch (h->cte) {
        case MIME_CTE_IDENTITY:
                break;
        case MIME_CTE_BASE64:
                r = ud_base64(c, where, data, len, &owned, &len);
                break;
        case MIME_CTE_QUOTED_PRINTABLE:
                r = ud_quoted_printable(c, data, len, &owned, &len);
                break;
        case MIME_CTE_UNKNOWN:
                if (kind == PART_STRICT)
                        return ud_fail(c, -EBADMSG,
                                       "user-data: %sunknown Content-Transfer-Encoding \"%s\"",
                                       where, h->cte_name);
                return 0; /* RFC 2045 section 6.4: treat as opaque data */
        }
        if (r < 0)
                return r;
        if (owned)
                data = (const uint8_t *)owned;
        r = ud_unwrap_gzip(c, where, &data, &len, &owned);
        if (r < 0)
                goto out;
        start = skip_bom_space(data, len);
        if (kind == PART_SNIFF && (start == len || data[start] != '{'))
                goto out;
        r = ud_json(c, where, data, len, kind == PART_STRICT, ret);
out:
        free(owned);
        return r;
}

/* ud_entity - one MIME entity (a body part, or the whole document): headers, then either
 * more parts or content. depth counts the multiparts around it. */
static int ud_entity(struct ud_ctx *c, const uint8_t *p, size_t len, unsigned depth, json_t **ret)
{
        struct mime_headers h;
        const char *type;

        parse_headers(&h, p, len);
        c->part_no++;
        /* RFC 2045 section 5.2: no (usable) Content-Type means text/plain. */
        type = h.type[0] ? h.type : "text/plain";
        if (strncmp(type, "multipart/", 10) == 0)
                return ud_multipart(c, &h, depth + 1, ret);
        return ud_leaf(c, &h, type, ret);
}

/* ud_mime - a MIME document from its top-level headers on */
static int ud_mime(struct ud_ctx *c, const uint8_t *p, size_t len, json_t **ret,
                   const char **ret_reason)
{
        int r;

        /* The document itself is part 0: body parts count from 1. */
        c->part_no = (unsigned)-1;
        r = ud_entity(c, p, len, 0, ret);
        if (r == 0)
                *ret_reason = c->multipart ? "MIME multipart without a mailinit JSON part"
                                           : "MIME message without a mailinit JSON part";
        return r;
}

/* ud_examine - sniff the format of the (decompressed) user-data */
static int ud_examine(struct ud_ctx *c, const uint8_t *data, size_t len, json_t **ret,
                      const char **ret_reason)
{
        char *owned = NULL;
        size_t start;
        int r;

        if (len > USERDATA_MAX_SIZE)
                return ud_fail(c, -EFBIG, "user-data: larger than %d bytes", USERDATA_MAX);
        r = ud_unwrap_gzip(c, "", &data, &len, &owned);
        if (r < 0)
                goto out;
        start = skip_bom_space(data, len);
        if (start == len) {
                *ret_reason = "empty";
        } else if (data[start] == '{') {
                r = ud_json(c, "", data, len, true, ret);
                if (r == 0)
                        *ret_reason = "JSON without a \"mailinit\" key";
        } else if (has_prefix_ci(data + start, len - start, "content-type:") ||
                   has_prefix_ci(data + start, len - start, "mime-version:")) {
                r = ud_mime(c, data + start, len - start, ret, ret_reason);
        } else {
                *ret_reason = "unrecognised content";
                for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
                        size_t n = strlen(markers[i].prefix);

                        if (len - start >= n && memcmp(data + start, markers[i].prefix, n) == 0) {
                                *ret_reason = markers[i].reason;
                                break;
                        }
                }
        }
out:
        free(owned);
        return r;
}

int userdata_extract(const uint8_t *data, size_t len, json_t **ret_config, char *reason,
                     size_t reason_size, struct config_error *err)
{
        struct ud_ctx c = {.err = err};
        const char *why = "unrecognised content";
        json_t *config = NULL;
        int r;

        assert(data || len == 0);
        assert(ret_config);

        if (!data)
                data = (const uint8_t *)"";
        r = ud_examine(&c, data, len, &config, &why);
        if (r == 1)
                *ret_config = config;
        else if (r == 0 && reason && reason_size > 0)
                (void)snprintf(reason, reason_size, "%s", why);
        return r;
}
