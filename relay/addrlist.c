/* SPDX-License-Identifier: MIT */
/*
 * addrlist - addresses out of an RFC 5322 address list (sendmail -t, command-line recipients,
 * -f). One pass over the text: comments are skipped (nested, with quoted-pairs), quoted
 * strings copied whole, white space and line breaks outside them dropped; ',' ends a member;
 * ':' outside an angle address opens a group (what came before it was its display name) and
 * ';' closes it; "<...>" replaces whatever the member collected so far (its display name) and
 * loses a source route ("@a,@b:"). SECURITY: fed with header text from any local user: bounded
 * by the caller's length and list->max, no recursion.
 */
#include "addrlist.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void addrlist_done(struct addrlist *list)
{
        for (size_t i = 0; i < list->n; i++)
                free(list->items[i]);
        free(list->items);
        list->items = NULL;
        list->n = 0;
}

/* addrlist_add - the member collected in cur, when it is not empty */
static int addrlist_add(struct addrlist *list, struct buf *cur, int *added)
{
        const char *a = cur->data ? cur->data : "";
        char **grown, *copy;

        /* a source route: "@a,@b:user@c" -> "user@c" (RFC 5321 C) */
        if (a[0] == '@' && strchr(a, ':'))
                a = strchr(a, ':') + 1;
        if (!*a) {
                buf_reset(cur);
                return 0;
        }
        if (list->max && list->n >= list->max)
                return -E2BIG;
        copy = strdup(a);
        if (!copy)
                return -ENOMEM;
        grown = realloc(list->items, (list->n + 1) * sizeof *grown);
        if (!grown) {
                free(copy);
                return -ENOMEM;
        }
        list->items = grown;
        list->items[list->n++] = copy;
        (*added)++;
        buf_reset(cur);
        return 0;
}

int addrlist_parse(const char *text, size_t len, struct addrlist *list)
{
        struct buf cur;
        bool in_angle = false;
        int added = 0, r = 0;
        size_t i = 0;

        buf_init(&cur, len + 1);
        while (i < len && r >= 0) {
                char c = text[i];

                if (c == '(') {
                        unsigned depth = 0;

                        for (; i < len; i++) {
                                if (text[i] == '\\' && i + 1 < len)
                                        i++;
                                else if (text[i] == '(')
                                        depth++;
                                else if (text[i] == ')' && --depth == 0)
                                        break;
                        }
                        if (i >= len) {
                                r = -EINVAL;
                                break;
                        }
                        i++;
                } else if (c == '"') {
                        size_t start = i++;

                        for (; i < len && text[i] != '"'; i++)
                                if (text[i] == '\\' && i + 1 < len)
                                        i++;
                        if (i >= len) {
                                r = -EINVAL;
                                break;
                        }
                        i++;
                        r = buf_append(&cur, text + start, i - start);
                } else if (c == '<') {
                        if (in_angle) {
                                r = -EINVAL;
                                break;
                        }
                        in_angle = true;
                        buf_reset(&cur); /* what came before was the display name */
                        i++;
                } else if (c == '>') {
                        if (!in_angle) {
                                r = -EINVAL;
                                break;
                        }
                        in_angle = false;
                        r = addrlist_add(list, &cur, &added);
                        i++;
                        /* anything up to the next ',' or ';' is ignored */
                        while (r >= 0 && i < len && text[i] != ',' && text[i] != ';') {
                                if (text[i] == '(' || text[i] == '"')
                                        break;
                                i++;
                        }
                } else if ((c == ',' || c == ';') && !in_angle) {
                        r = addrlist_add(list, &cur, &added);
                        i++;
                } else if (c == ':' && !in_angle) {
                        buf_reset(&cur); /* a group's display name */
                        i++;
                } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                        i++;
                } else {
                        r = buf_append(&cur, &c, 1);
                        i++;
                }
        }
        if (r >= 0 && in_angle)
                r = -EINVAL;
        if (r >= 0)
                r = addrlist_add(list, &cur, &added);
        buf_done(&cur);
        return r < 0 ? r : added;
}
