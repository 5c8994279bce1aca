/* SPDX-License-Identifier: MIT */
/*
 * write_postfix - Postfix as an SES relay, as the operator's manual does it by hand:
 *   relayhost = [email-smtp.REGION.amazonaws.com]:587
 *   smtp_sasl_auth_enable = yes
 *   smtp_sasl_password_maps = TYPE:/etc/postfix/sasl_passwd
 *   smtp_sasl_security_options = noanonymous
 *   smtp_tls_security_level = encrypt, smtp_tls_CAfile = the CA bundle
 *   mydomain, myorigin, myhostname, inet_interfaces, mynetworks
 * plus sasl_passwd ("[host]:port user:password", 0600) and its table built by postmap.
 *
 * main.cf is edited by our own postconf -e editor (postfix_conf.c) rather than by running
 * postconf: the edit is a pure function we test byte for byte against postconf, it works on
 * a root that is not the running system, and it lets us stage main.cf with the other files.
 * Order matters for speed: postconf and postmap sleep about 2 s when main.cf is younger than a
 * second, so the table is built before main.cf changes, and main.cf is not rewritten when
 * its text is unchanged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "buf.h"
#include "fileio.h"
#include "parse.h"
#include "postfix_conf.h"
#include "postfix_tools.h"
#include "secret_mask.h"
#include "writers.h"

#define MAIN_CF_MAX (4 * 1024 * 1024)

/* inet_interfaces_for - "loopback-only" when every listen address is loopback, else the
 * addresses (Postfix takes the ports from master.cf) */
static int inet_interfaces_for(const char *listen, struct buf *out)
{
        const char *state = listen, *item;
        bool all_loopback = true;
        size_t len;

        while ((item = list_next(&state, &len))) {
                struct listen_address la;

                if (listen_address_parse(item, len, &la) < 0)
                        return -EINVAL;
                if (la.sa.ss_family == AF_INET) {
                        const struct sockaddr_in *sin = (const struct sockaddr_in *)&la.sa;

                        if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
                                all_loopback = false;
                } else {
                        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&la.sa;

                        if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
                                all_loopback = false;
                }
        }
        if (all_loopback)
                return buf_append_str(out, "loopback-only");
        state = listen;
        while ((item = list_next(&state, &len))) {
                const char *colon = memrchr(item, ':', len);
                size_t host_len = colon ? (size_t)(colon - item) : len;

                if (out->len > 0 && buf_append_str(out, ", ") < 0)
                        return -ENOMEM;
                if (buf_append(out, item, host_len) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* read_main_cf - the current main.cf; Postfix must be installed */
static int read_main_cf(const char *io_path, char **ret, size_t *ret_len, char *why,
                        size_t why_size)
{
        int r = read_file_bounded(io_path, MAIN_CF_MAX, ret, ret_len);

        if (r == -ENOENT)
                snprintf(why, why_size, "%s does not exist: is Postfix installed?", io_path);
        else if (r < 0)
                snprintf(why, why_size, "cannot read %s: %s", io_path, strerror(-r));
        return r;
}

int write_postfix(const struct writer_context *ctx, char *why, size_t why_size)
{
        const struct settings *s = ctx->settings;
        const char *postfix_dir = settings_get(s, SETTING_POSTFIX_DIR);
        const char *relay_tls = settings_get(s, SETTING_RELAY_TLS);
        char *dir_io = NULL, *main_io = NULL, *sasl_io = NULL, *sasl_path = NULL, *maps = NULL;
        char *main_text = NULL, *new_main = NULL, *sasl_text = NULL, *table_tmp = NULL,
             *table_final = NULL;
        char db_type[64] = "hash";
        size_t main_len = 0, new_len = 0;
        struct buf interfaces;
        struct file_batch *batch = NULL;
        const char *sasl_tmp = NULL, *suffix;
        struct stat st;
        int r;

        buf_init(&interfaces, 4096);
        dir_io = path_under_root(ctx->root, postfix_dir);
        batch = file_batch_new();
        if (!dir_io || !batch || asprintf(&main_io, "%s/main.cf", dir_io) < 0 ||
            asprintf(&sasl_io, "%s/sasl_passwd", dir_io) < 0 ||
            asprintf(&sasl_path, "%s/sasl_passwd", postfix_dir) < 0) {
                r = -ENOMEM;
                goto out;
        }
        r = read_main_cf(main_io, &main_text, &main_len, why, why_size);
        if (r < 0)
                goto out;

        /* Postfix's default table type on this system: hash on Debian, lmdb on newer
         * Fedora-family systems. Asked before main.cf changes (see the top comment). */
        r = postfix_default_database_type(dir_io, db_type, sizeof db_type, why, why_size);
        if (r < 0)
                goto out;
        suffix = postfix_table_suffix(db_type);
        if (!suffix) {
                snprintf(
                        why, why_size,
                        "Postfix's default_database_type '%s' is not supported (use hash, btree, lmdb or cdb)",
                        db_type);
                r = -EINVAL;
                goto out;
        }
        if (asprintf(&maps, "%s:%s", db_type, sasl_path) < 0 ||
            asprintf(&sasl_text, "%s %s:%s\n", settings_get(s, SETTING_RELAYHOST),
                     ctx->creds->username, ctx->creds->password) < 0) {
                r = -ENOMEM;
                goto out;
        }
        r = inet_interfaces_for(settings_get(s, SETTING_LISTEN), &interfaces);
        if (r < 0)
                goto out;

        const char *tls_level = strcmp(relay_tls, "none") == 0 ? "none" : "encrypt";
        struct postfix_conf_edit edits[16];
        size_t n = 0;
        {

                edits[n++] =
                        (struct postfix_conf_edit){"relayhost", settings_get(s, SETTING_RELAYHOST)};
                edits[n++] = (struct postfix_conf_edit){"smtp_sasl_auth_enable", "yes"};
                edits[n++] = (struct postfix_conf_edit){"smtp_sasl_password_maps", maps};
                edits[n++] =
                        (struct postfix_conf_edit){"smtp_sasl_security_options", "noanonymous"};
                edits[n++] = (struct postfix_conf_edit){"smtp_tls_security_level", tls_level};
                edits[n++] = (struct postfix_conf_edit){
                        "smtp_tls_wrappermode", strcmp(relay_tls, "smtps") == 0 ? "yes" : "no"};
                edits[n++] = (struct postfix_conf_edit){"smtp_tls_CAfile",
                                                        settings_get(s, SETTING_TLS_CA_FILE)};
                if (*settings_get(s, SETTING_MYDOMAIN))
                        edits[n++] = (struct postfix_conf_edit){"mydomain",
                                                                settings_get(s, SETTING_MYDOMAIN)};
                if (*settings_get(s, SETTING_MYORIGIN))
                        edits[n++] = (struct postfix_conf_edit){"myorigin",
                                                                settings_get(s, SETTING_MYORIGIN)};
                if (*settings_get(s, SETTING_MYHOSTNAME))
                        edits[n++] = (struct postfix_conf_edit){
                                "myhostname", settings_get(s, SETTING_MYHOSTNAME)};
                edits[n++] = (struct postfix_conf_edit){"inet_interfaces", interfaces.data};
                edits[n++] = (struct postfix_conf_edit){"mynetworks",
                                                        settings_get(s, SETTING_MYNETWORKS)};
                r = postfix_conf_edit(main_text, main_len, edits, n, &new_main, &new_len);
                if (r < 0) {
                        snprintf(why, why_size, "cannot edit %s/main.cf: %s", postfix_dir,
                                 strerror(-r));
                        goto out;
                }
        }

        if (ctx->dry_out) {
                char *masked = secret_mask_apply(sasl_text);

                fprintf(ctx->dry_out, "# would write %s (mode 0600) and run postmap %s:\n%s",
                        sasl_path, maps, masked ? masked : "");
                fprintf(ctx->dry_out, "# would set in %s/main.cf%s:\n", postfix_dir,
                        new_len == main_len && memcmp(new_main, main_text, main_len) == 0
                                ? " (already set)"
                                : "");
                for (size_t i = 0; i < n; i++)
                        fprintf(ctx->dry_out, "%s = %s\n", edits[i].name, edits[i].value);
                free(masked);
                r = 0;
                goto out;
        }

        r = file_batch_stage(batch, sasl_io, sasl_text, strlen(sasl_text), 0600, &sasl_tmp);
        if (r < 0) {
                snprintf(why, why_size, "cannot write %s: %s", sasl_path, strerror(-r));
                goto out;
        }
        r = postfix_postmap(dir_io, db_type, sasl_tmp, why, why_size);
        if (r < 0) {
                if (asprintf(&table_tmp, "%s%s", sasl_tmp, suffix) >= 0) {
                        (void)unlink(table_tmp);
                }
                goto out;
        }
        if (asprintf(&table_tmp, "%s%s", sasl_tmp, suffix) < 0 ||
            asprintf(&table_final, "%s%s", sasl_io, suffix) < 0) {
                r = -ENOMEM;
                goto out;
        }
        /* postmap copies the source's group and other permissions: make sure, since the
         * table holds the password too. */
        if (stat(table_tmp, &st) == 0 && (st.st_mode & 077) != 0)
                (void)chmod(table_tmp, 0600);
        r = file_batch_adopt(batch, table_tmp, table_final);
        if (r < 0) {
                (void)unlink(table_tmp);
                snprintf(why, why_size, "postmap did not create %s%s: %s", sasl_path, suffix,
                         strerror(-r));
                goto out;
        }
        if (new_len != main_len || memcmp(new_main, main_text, main_len) != 0) {
                mode_t mode = stat(main_io, &st) == 0 ? st.st_mode & 07777 : 0644;

                r = file_batch_stage(batch, main_io, new_main, new_len, mode, NULL);
                if (r < 0) {
                        snprintf(why, why_size, "cannot write %s/main.cf: %s", postfix_dir,
                                 strerror(-r));
                        goto out;
                }
        }
        r = file_batch_commit(batch);
        if (r < 0)
                snprintf(why, why_size, "cannot replace the Postfix configuration in %s: %s",
                         postfix_dir, strerror(-r));
out:
        file_batch_free(batch);
        buf_done(&interfaces);
        free(dir_io);
        free(main_io);
        free(sasl_io);
        free(sasl_path);
        free(maps);
        free(main_text);
        free(new_main);
        secret_free(sasl_text);
        free(table_tmp);
        free(table_final);
        return r;
}
