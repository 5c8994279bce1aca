/* SPDX-License-Identifier: MIT */
/*
 * postconf_edit_tool - test-only driver of firstboot/postfix_conf.c, for comparing it with the
 * real `postconf -e` (tests/integration/test_postfix_conf_vs_postconf.sh).
 *   postconf_edit_tool FILE [name=value ...]    the edited text of FILE on stdout
 *   postconf_edit_tool --lookup FILE name       the value of name in FILE and a newline
 * As with postconf, white space around the name and the '=' does not matter. Exit 0, 1 when
 * editing fails or (--lookup) the name is not defined, 2 for bad usage or an unreadable FILE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "postfix_conf.h"

static int lookup(const char *text, size_t len, const char *name)
{
        char *value = postfix_conf_lookup(text, len, name);

        if (!value) {
                fprintf(stderr, "postconf_edit_tool: %s: %s\n", name, strerror(errno));
                return 1;
        }
        printf("%s\n", value);
        free(value);
        return 0;
}

/* split_arg - "  name = value" into name and value, in place; NULL name without '=' */
static void split_arg(char *arg, struct postfix_conf_edit *e)
{
        char *eq = strchr(arg, '='), *end;

        e->name = NULL;
        e->value = NULL;
        if (!eq)
                return;
        *eq = '\0';
        arg += strspn(arg, " \t\r\v\f");
        end = arg + strlen(arg);
        while (end > arg && strchr(" \t\r\v\f", end[-1]))
                *--end = '\0';
        e->name = arg;
        e->value = eq + 1;
}

int main(int argc, char **argv)
{
        struct postfix_conf_edit *edits;
        char *text = NULL, *out = NULL;
        size_t len = 0, out_len = 0, n;
        int r, first = 1;

        if (argc >= 2 && strcmp(argv[1], "--lookup") == 0) {
                if (argc != 4) {
                        fprintf(stderr, "usage: postconf_edit_tool --lookup FILE name\n");
                        return 2;
                }
                first = 2;
        }
        if (argc < first + 1) {
                fprintf(stderr, "usage: postconf_edit_tool FILE [name=value ...]\n");
                return 2;
        }
        r = read_file_bounded(argv[first], POSTFIX_CONF_MAX_BYTES, &text, &len);
        if (r < 0) {
                fprintf(stderr, "postconf_edit_tool: %s: %s\n", argv[first], strerror(-r));
                return 2;
        }
        if (first == 2) {
                r = lookup(text, len, argv[3]);
                free(text);
                return r;
        }
        n = (size_t)(argc - 2);
        edits = calloc(n ? n : 1, sizeof *edits);
        if (!edits) {
                free(text);
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                split_arg(argv[i + 2], &edits[i]);
                if (!edits[i].name) {
                        fprintf(stderr, "postconf_edit_tool: missing '=' in \"%s\"\n", argv[i + 2]);
                        free(edits);
                        free(text);
                        return 2;
                }
        }
        r = postfix_conf_edit(text, len, edits, n, &out, &out_len);
        free(edits);
        free(text);
        if (r < 0) {
                fprintf(stderr, "postconf_edit_tool: %s\n", strerror(-r));
                return 1;
        }
        if (fwrite(out, 1, out_len, stdout) != out_len || fflush(stdout) != 0) {
                free(out);
                return 1;
        }
        free(out);
        return 0;
}
