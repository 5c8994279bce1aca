/* SPDX-License-Identifier: MIT */
/*
 * sources - the configuration of one first boot, from every source the SPEC names.
 *
 * Order of application does not matter (settings_set keeps the higher source), but the
 * order of reading does: mailinit.conf first, because it may allow IMDSv1; then IMDS (one
 * client, one token, one deadline for the whole metadata phase); then the merge.
 * Defaults derived from metadata (region, myhostname) and from the environment
 * (AWS_DEFAULT_REGION, then AWS_REGION) sit between the built-in defaults and the file.
 */
#include "sources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "http.h"
#include "parse.h"
#include "userdata.h"

#define MAILINIT_CONF "/etc/mailinit/mailinit.conf"

static int fail(struct sources *s, enum sources_failure failure, int error)
{
        s->failure = failure;
        s->error = error;
        return error;
}

/* load_file - mailinit.conf; the default path may be missing, an explicit one may not */
static int load_file(struct sources *s, const char *root, const char *config_path)
{
        struct config_file *f = NULL;
        char *io_path;
        const char *label = config_path ? config_path : MAILINIT_CONF;
        int r;

        io_path = config_path ? strdup(config_path) : path_under_root(root, MAILINIT_CONF);
        if (!io_path)
                return -ENOMEM;
        r = config_read_file(io_path, label, &f, &s->message);
        free(io_path);
        if (r == -ENOENT && !config_path)
                return 0;
        if (r < 0)
                return fail(s, SOURCES_CONFIG, r == -ENOENT ? -ENOENT : -EINVAL);
        r = settings_apply_file(s->settings, f, &s->message);
        if (r >= 0) {
                /* IMDS is read before the merge is final: take this one key early (its
                 * value is checked with the rest in settings_finalize). */
                const char *v1 = config_file_get(f, "imds_v1_fallback");

                if (v1)
                        (void)parse_bool(v1, &s->allow_imds_v1);
        }
        config_file_free(f);
        return r < 0 ? fail(s, SOURCES_CONFIG, r == -ENOMEM ? r : -EINVAL) : 0;
}

static int apply_environment_region(struct sources *s)
{
        static const char *const vars[] = {"AWS_DEFAULT_REGION", "AWS_REGION"}; /* later wins */

        for (size_t i = 0; i < 2; i++) {
                const char *v = getenv(vars[i]);
                int r;

                if (!v || !*v)
                        continue;
                r = settings_set(s->settings, "region", v, SETTING_SOURCE_ENVIRONMENT, vars[i],
                                 &s->message);
                if (r < 0)
                        return fail(s, SOURCES_CONFIG, -EINVAL);
        }
        return 0;
}

static int apply_metadata(struct sources *s)
{
        const struct instance_metadata *md = &s->md;
        int r;

        r = settings_set(s->settings, "region", md->region, SETTING_SOURCE_METADATA,
                         "instance metadata", &s->message);
        if (r >= 0)
                r = settings_set(s->settings, "myhostname", md->local_hostname,
                                 SETTING_SOURCE_METADATA, "instance metadata", &s->message);
        if (r < 0)
                return fail(s, SOURCES_METADATA, -EBADMSG);
        for (size_t i = 0; i < md->n_tags; i++) {
                char origin[160];

                (void)snprintf(origin, sizeof origin, "tag mailinit:%s", md->tags[i].key);
                r = settings_set(s->settings, md->tags[i].key, md->tags[i].value,
                                 SETTING_SOURCE_TAG, origin, &s->message);
                if (r < 0)
                        return fail(s, SOURCES_CONFIG, -EINVAL);
        }
        return 0;
}

static int apply_userdata(struct sources *s)
{
        char reason[USERDATA_REASON_MAX] = "";
        json_t *config = NULL;
        int r;

        if (!s->md.user_data) {
                snprintf(s->userdata_summary, sizeof s->userdata_summary, "none");
                return 0;
        }
        r = userdata_extract(s->md.user_data, s->md.user_data_len, &config, reason, sizeof reason,
                             &s->message);
        if (r == -EFBIG) {
                config_error_set(&s->message, "user-data: larger than %d bytes", USERDATA_MAX);
                return fail(s, SOURCES_USERDATA, r);
        }
        if (r < 0)
                return fail(s, SOURCES_USERDATA, r);
        if (r == 0) {
                snprintf(s->userdata_summary, sizeof s->userdata_summary, "ignored (%s)", reason);
                return 0;
        }
        snprintf(s->userdata_summary, sizeof s->userdata_summary, "mailinit configuration (JSON)");
        r = settings_apply_json(s->settings, config, SETTING_SOURCE_USERDATA, "user-data",
                                &s->message);
        json_decref(config);
        return r < 0 ? fail(s, SOURCES_CONFIG, r == -ENOMEM ? r : -EINVAL) : 0;
}

static int load_metadata(struct sources *s)
{
        struct imds_options options = {
                .allow_v1 = s->allow_imds_v1,
        };
        struct imds_client *c;
        int r;

        c = imds_client_new(&options);
        if (!c) {
                if (errno == ENOMEM)
                        return -ENOMEM;
                config_error_set(&s->message, "%s", http_global_error());
                return fail(s, SOURCES_METADATA, -errno);
        }
        r = imds_read_instance(c, &s->md);
        if (r >= 0) {
                s->have_metadata = true;
                if (s->md.role_name) {
                        r = imds_get_role_credentials(c, s->md.role_name, &s->role_credentials);
                        if (r >= 0) {
                                s->have_role_credentials = true;
                                s->role_credentials_expiration = s->role_credentials.expiration;
                        }
                }
        }
        if (r < 0) {
                if (r == -EFBIG) {
                        config_error_set(&s->message, "user-data: larger than %d bytes",
                                         IMDS_USERDATA_MAX);
                        imds_client_free(c);
                        return fail(s, SOURCES_USERDATA, r);
                }
                config_error_set(&s->message, "%s", imds_error(c));
                imds_client_free(c);
                return fail(s, SOURCES_METADATA, r);
        }
        imds_client_free(c);
        return 0;
}

int sources_load_file(struct sources *s, const char *root, const char *config_path)
{
        int r;

        *s = (struct sources){0};
        s->settings = settings_new();
        if (!s->settings)
                return -ENOMEM;
        r = load_file(s, root, config_path);
        if (r < 0)
                return r;
        r = apply_environment_region(s);
        if (r < 0)
                return r;
        s->metadata_disabled = imds_disabled_by_environment();
        snprintf(s->userdata_summary, sizeof s->userdata_summary, "not read");
        return 0;
}

/* merge - apply what was read (metadata, tags, user-data), then expand and check */
static int merge(struct sources *s)
{
        int r;

        /* Without metadata the region may stay unknown: --dry-run still shows the rest, and
         * firstboot proper refuses to run without the instance id anyway. */
        if (!s->have_metadata) {
                settings_allow_missing_region(s->settings);
        } else {
                r = apply_metadata(s);
                if (r < 0)
                        return r;
                r = apply_userdata(s);
                if (r < 0)
                        return r;
        }
        r = settings_finalize(s->settings, &s->message);
        if (r < 0)
                return fail(s, SOURCES_CONFIG, r);
        return 0;
}

int sources_finish(struct sources *s, struct instance_metadata *md)
{
        if (md) {
                s->md = *md;
                *md = (struct instance_metadata){0};
                s->have_metadata = true;
        }
        return merge(s);
}

int sources_load(struct sources *s, const char *root, const char *config_path)
{
        int r;

        r = sources_load_file(s, root, config_path);
        if (r < 0)
                return r;
        if (!s->metadata_disabled) {
                r = load_metadata(s);
                if (r < 0)
                        return r;
        }
        return merge(s);
}

void sources_done(struct sources *s)
{
        settings_free(s->settings);
        instance_metadata_done(&s->md);
        aws_credentials_done(&s->role_credentials);
        *s = (struct sources){0};
}
