/* SPDX-License-Identifier: MIT */
/*
 * local_settings - the configuration files read by the local commands that run as the
 * invoking user (sendmail, the queue commands), the same way for each.
 */
#include "local_settings.h"

#include <errno.h>
#include <stdlib.h>

#include "fileio.h"

#define MAILINIT_CONF "/etc/mailinit/mailinit.conf"
#define RELAY_CONF    "/etc/mailinit/relay.conf"

/* apply_conf - one configuration file into s; a missing file is fine */
static int apply_conf(struct settings *s, const char *root, const char *path,
                      struct config_error *err)
{
        struct config_file *f = NULL;
        char *io = path_under_root(root, path);
        int r;

        if (!io)
                return -ENOMEM;
        r = config_read_file(io, path, &f, err);
        free(io);
        if (r == -ENOENT && !f)
                return 0;
        if (r >= 0)
                r = settings_apply_file(s, f, err);
        config_file_free(f);
        return r;
}

int local_settings_load(struct settings *s, const char *root, struct config_error *err)
{
        int r;

        settings_allow_missing_region(s);
        r = apply_conf(s, root, MAILINIT_CONF, err);
        if (r >= 0)
                r = apply_conf(s, root, RELAY_CONF, err);
        if (r >= 0)
                r = settings_finalize(s, err);
        return r;
}
