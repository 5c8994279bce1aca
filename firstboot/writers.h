/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "settings.h"
#include "smtp_secret.h"

/* The configuration writers of firstboot (SPEC step 4). Both stage every file first and
 * rename them together, so a failure leaves the previous configuration as it was. In a dry
 * run they print what they would write (secrets masked) to dry_out and touch nothing. */

#define WRITER_ERROR_MAX 640

struct writer_context {
        const struct settings *settings;
        const struct smtp_credentials *creds;
        const char *root;        /* NULL or "/" for the real system */
        const char *instance_id; /* for the generated header */
        FILE *dry_out;           /* non-NULL: dry run */
};

/* write_postfix - main.cf edited like `postconf -e`, sasl_passwd (0600) and its lookup table
 * built by postmap for Postfix's default_database_type. Returns 0 or -errno: -ENOENT (Postfix
 * not installed: no main.cf, no postmap), -EACCES/-EROFS (cannot write), -ENOSPC, -EIO
 * (postmap failed), with why. */
int write_postfix(const struct writer_context *ctx, char *why, size_t why_size);

/* write_builtin - relay.conf (generated, 0644) and credentials_file (0600, owned by the relay
 * user when it exists). Returns 0 or -errno with why. */
int write_builtin(const struct writer_context *ctx, char *why, size_t why_size);

/* render_relay_conf - the text of relay.conf (caller frees), NULL on ENOMEM. Pure. */
char *render_relay_conf(const struct settings *s, const char *instance_id);

/* render_credentials - the text of the credentials file (caller frees with secret_free). */
char *render_credentials(const struct smtp_credentials *creds, const char *secret_id);

/* mkdir_parents - create path's parent directories (mode 0755) as needed. */
int mkdir_parents(const char *path);
