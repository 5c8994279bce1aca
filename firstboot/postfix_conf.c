/* SPDX-License-Identifier: MIT */
/*
 * postfix_conf - edit Postfix's main.cf as `postconf -e name=value ...` does, and read a
 * parameter back as Postfix's own parser does, so firstboot changes only the keys it owns and
 * keeps every other line, comment and blank line as it was.
 *
 * Editing goes line by line, as pcf_edit_main() in Postfix 3.7 does:
 *  - comment lines ('#' after optional white space), empty and white-space-only lines: copied;
 *  - a line starting in column 1 starts a parameter whose name ends at one of " \t\r\n=";
 *    every occurrence of an edited name (duplicates too) becomes "name = value\n", any
 *    other parameter line is copied;
 *  - a line starting with white space continues the parameter above it: dropped after an
 *    edited parameter (comments between stay), copied otherwise, also before any parameter;
 *  - edited names not found are appended, one "name = value\n" each, sorted by name.
 * CRLF lines keep their CR except the rewritten ones, which end in LF as postconf writes them.
 * Two deliberate differences from Postfix 3.7: an unterminated last line gets its newline
 * (3.7 glues the first appended setting onto it, into a comment or another value), and the
 * appended names are sorted (3.7 appends them in the order of a randomly seeded hash table).
 * Newer Postfix does both as we do. Hence a second run with the same edits is byte-identical.
 *
 * Reading follows readlline() + split_nameval(): comment and blank lines are skipped even
 * inside a continued parameter, continuation lines are joined without their newline, a
 * logical line that starts with white space is ignored, value white space is trimmed, and the
 * last definition wins. Postfix refuses a main.cf with a line that has no '='; we skip it.
 * One known disagreement inside Postfix itself: postconf -e ends a name at " \t\r\n=" but the
 * parser also at '\v' and '\f', so "relayhost\v= x" is not edited yet is read as relayhost.
 *
 * Failure policy: input and output bounded by POSTFIX_CONF_MAX_BYTES, -errno, no logging.
 */
#include "postfix_conf.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A validated edit: value trimmed; order is its index, so that the later edit of a name wins. */
struct slot {
        const char *name;
        size_t name_len;
        const char *value;
        size_t value_len;
        size_t order;
        bool found;
};

/* Output of one pass: with data == NULL the pass only counts bytes. */
struct out {
        char *data;
        size_t len;
};

/* pf_isspace - Postfix's ISSPACE(): isspace() of the C locale, ASCII only */
static bool pf_isspace(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* edit_name_end - postconf -e's name delimiters, which differ from pf_isspace() */
static bool edit_name_end(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '=';
}

static bool valid_name(const char *name)
{
        if (!name || name[0] == '\0')
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_'))
                        return false;
        return true;
}

static int slot_cmp(const void *a, const void *b)
{
        const struct slot *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        if (c != 0)
                return c;
        return (x->order > y->order) - (x->order < y->order);
}

/* prepare_slots - validate and trim the edits, sort them by name, keep the last of each name */
static int prepare_slots(const struct postfix_conf_edit *edits, size_t n_edits, struct slot **ret,
                         size_t *ret_n)
{
        struct slot *slots;
        size_t n = 0;

        *ret = NULL;
        *ret_n = 0;
        for (size_t i = 0; i < n_edits; i++)
                if (!valid_name(edits[i].name) || !edits[i].value || strchr(edits[i].value, '\n'))
                        return -EINVAL;
        if (n_edits == 0)
                return 0;
        slots = calloc(n_edits, sizeof *slots);
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < n_edits; i++) {
                const char *v = edits[i].value;
                size_t vlen;

                /* split_nameval() trims the value postconf -e is given */
                while (pf_isspace(*v))
                        v++;
                vlen = strlen(v);
                while (vlen > 0 && pf_isspace(v[vlen - 1]))
                        vlen--;
                slots[i] = (struct slot){.name = edits[i].name,
                                         .name_len = strlen(edits[i].name),
                                         .value = v,
                                         .value_len = vlen,
                                         .order = i};
        }
        qsort(slots, n_edits, sizeof *slots, slot_cmp);
        for (size_t i = 0; i < n_edits; i++) {
                if (i + 1 < n_edits && strcmp(slots[i].name, slots[i + 1].name) == 0)
                        continue; /* a later edit of the same name follows */
                slots[n++] = slots[i];
        }
        *ret = slots;
        *ret_n = n;
        return 0;
}

/* key_cmp - order of (key, key_len) against a name; the same order as strcmp() on names */
static int key_cmp(const char *key, size_t key_len, const struct slot *s)
{
        size_t n = key_len < s->name_len ? key_len : s->name_len;
        int c = memcmp(key, s->name, n);

        if (c != 0)
                return c;
        return (key_len > s->name_len) - (key_len < s->name_len);
}

static struct slot *find_slot(struct slot *slots, size_t n, const char *key, size_t key_len)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = key_cmp(key, key_len, &slots[mid]);

                if (c == 0)
                        return &slots[mid];
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

static int out_put(struct out *o, const char *p, size_t n)
{
        if (n == 0)
                return 0;
        if (n > POSTFIX_CONF_MAX_BYTES - o->len)
                return -EFBIG;
        if (o->data)
                memcpy(o->data + o->len, p, n);
        o->len += n;
        return 0;
}

/* out_line - copy a physical line, giving an unterminated last line its newline */
static int out_line(struct out *o, const char *line, size_t n, bool terminated)
{
        int r = out_put(o, line, n);

        if (r == 0 && !terminated)
                r = out_put(o, "\n", 1);
        return r;
}

/* out_setting - the line postconf -e writes: "name = value\n" */
static int out_setting(struct out *o, const struct slot *s)
{
        int r;

        r = out_put(o, s->name, s->name_len);
        if (r == 0)
                r = out_put(o, " = ", 3);
        if (r == 0)
                r = out_put(o, s->value, s->value_len);
        if (r == 0)
                r = out_put(o, "\n", 1);
        return r;
}

/* edit_pass - produce (or, with o->data == NULL, measure) the edited text */
static int edit_pass(const char *text, size_t len, struct slot *slots, size_t n_slots,
                     struct out *o)
{
        bool interesting = false; /* the current parameter is being replaced */
        size_t pos = 0;
        int r = 0;

        for (size_t i = 0; i < n_slots; i++)
                slots[i].found = false;
        while (pos < len && r == 0) {
                const char *line = text + pos;
                const char *nl = memchr(line, '\n', len - pos);
                size_t line_len = nl ? (size_t)(nl - line) + 1 : len - pos;
                size_t sp = 0;

                while (sp < line_len && pf_isspace(line[sp]))
                        sp++;
                if (sp == line_len || line[sp] == '#') {
                        r = out_line(o, line, line_len, nl != NULL);
                } else if (sp > 0) {
                        if (!interesting)
                                r = out_line(o, line, line_len, nl != NULL);
                } else {
                        size_t key_len = 0;
                        struct slot *s;

                        while (key_len < line_len && !edit_name_end(line[key_len]))
                                key_len++;
                        s = find_slot(slots, n_slots, line, key_len);
                        interesting = s != NULL;
                        if (s) {
                                s->found = true;
                                r = out_setting(o, s);
                        } else {
                                r = out_line(o, line, line_len, nl != NULL);
                        }
                }
                pos += line_len;
        }
        for (size_t i = 0; i < n_slots && r == 0; i++)
                if (!slots[i].found)
                        r = out_setting(o, &slots[i]);
        return r;
}

int postfix_conf_edit(const char *text, size_t len, const struct postfix_conf_edit *edits,
                      size_t n_edits, char **ret, size_t *ret_len)
{
        struct slot *slots = NULL;
        struct out o = {0};
        size_t n_slots = 0, want;
        int r;

        assert(text || len == 0);
        assert(edits || n_edits == 0);
        assert(ret && ret_len);

        r = prepare_slots(edits, n_edits, &slots, &n_slots);
        if (r < 0)
                return r;
        if (len > POSTFIX_CONF_MAX_BYTES) {
                r = -EFBIG;
                goto out;
        }
        if (len > 0 && memchr(text, '\0', len)) {
                r = -EINVAL;
                goto out;
        }
        r = edit_pass(text, len, slots, n_slots, &o);
        if (r < 0)
                goto out;
        want = o.len;
        o.data = malloc(want + 1);
        if (!o.data) {
                r = -ENOMEM;
                goto out;
        }
        o.len = 0;
        r = edit_pass(text, len, slots, n_slots, &o);
        assert(r == 0 && o.len == want);
        (void)r; /* checked by the assert only: the first pass succeeded with the same input */
        o.data[o.len] = '\0';
        *ret = o.data;
        *ret_len = o.len;
        o.data = NULL;
        r = 0;
out:
        free(o.data);
        free(slots);
        return r;
}

/* next_logical_line - readlline(): the next logical line into buf (room for len bytes), its
 * length, 0 at the end. Comment and blank lines vanish, also between continuation lines. */
static size_t next_logical_line(const char *text, size_t len, size_t *pos, char *buf)
{
        size_t n = 0;

        while (*pos < len) {
                const char *p = text + *pos;
                const char *nl = memchr(p, '\n', len - *pos);
                size_t seg = nl ? (size_t)(nl - p) : len - *pos;
                size_t start = n, i;

                memcpy(buf + n, p, seg);
                n += seg;
                *pos += seg + (nl ? 1 : 0);
                i = start;
                while (i < n && pf_isspace(buf[i]))
                        i++;
                if (i == n || buf[i] == '#')
                        n = start;
                if (!nl)
                        break;
                if (n > 0 && (*pos >= len || (text[*pos] != '#' && !pf_isspace(text[*pos]))))
                        break;
        }
        return n;
}

char *postfix_conf_lookup(const char *text, size_t len, const char *name)
{
        size_t name_len, pos = 0, n;
        char *line, *found = NULL;

        assert(text || len == 0);
        if (!valid_name(name)) {
                errno = EINVAL;
                return NULL;
        }
        if (len > POSTFIX_CONF_MAX_BYTES) {
                errno = EFBIG;
                return NULL;
        }
        if (len > 0 && memchr(text, '\0', len)) {
                errno = EINVAL;
                return NULL;
        }
        name_len = strlen(name);
        line = malloc(len + 1);
        if (!line) {
                errno = ENOMEM;
                return NULL;
        }
        while ((n = next_logical_line(text, len, &pos, line)) > 0) {
                size_t i = 0, end;

                /* split_nameval(); a logical line starting with white space is ignored */
                if (pf_isspace(line[0]))
                        continue;
                while (i < n && !pf_isspace(line[i]) && line[i] != '=')
                        i++;
                if (i != name_len || memcmp(line, name, name_len) != 0)
                        continue;
                while (i < n && pf_isspace(line[i]))
                        i++;
                if (i == n || line[i] != '=')
                        continue; /* "missing '=' after attribute name" */
                i++;
                while (i < n && pf_isspace(line[i]))
                        i++;
                end = n;
                while (end > i && pf_isspace(line[end - 1]))
                        end--;
                free(found);
                found = strndup(line + i, end - i);
                if (!found) {
                        free(line);
                        errno = ENOMEM;
                        return NULL;
                }
        }
        free(line);
        if (!found)
                errno = ENOENT;
        return found;
}
