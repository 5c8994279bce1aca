/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "aws_credentials.h"
#include "config.h"
#include "imds.h"
#include "settings.h"

/* Gathering the configuration of one first boot: mailinit.conf, instance metadata, tags
 * and user-data, merged in the SPEC's order into one struct settings. */

enum sources_failure {
        SOURCES_OK,
        SOURCES_CONFIG,   /* a configuration error: file, tag or user-data key/value */
        SOURCES_USERDATA, /* user-data meant for mailinit but unreadable */
        SOURCES_METADATA, /* the metadata service failed; error holds -errno */
};

struct sources {
        struct settings *settings;
        struct instance_metadata md;
        bool metadata_disabled; /* AWS_EC2_METADATA_DISABLED */
        bool have_metadata;
        bool allow_imds_v1; /* imds_v1_fallback from mailinit.conf */
        bool have_role_credentials;
        struct aws_credentials role_credentials; /* may be handed to a creds_provider */
        time_t role_credentials_expiration;
        char userdata_summary[160];
        enum sources_failure failure;
        int error; /* -errno of the failure */
        struct config_error message;
};

/* sources_load - fill s. root resolves the default config path (NULL: "/"); config_path,
 * when set, is read as given and must exist. Returns 0, or -errno with s->failure and
 * s->message set. The caller owns s and releases it with sources_done(). Library code:
 * logs only the one line saying that user-data was ignored, at info level, via the
 * ignored_userdata callback's caller. */
int sources_load(struct sources *s, const char *root, const char *config_path);

/* sources_load_file - the first half of sources_load(): mailinit.conf (for imds_v1_fallback)
 * and the environment's region. Returns 0, or -errno with s->failure and s->message set; the
 * caller releases s with sources_done() in either case. For callers that read the instance
 * metadata on their own (doctor) and then call sources_finish(). */
int sources_load_file(struct sources *s, const char *root, const char *config_path);

/* sources_finish - the second half: merge md (taken over and cleared; NULL when the
 * metadata could not be read: the region may then stay unset) with its tags and user-data,
 * expand and check every value. Returns 0, or -errno with s->failure and s->message set. */
int sources_finish(struct sources *s, struct instance_metadata *md);

/* sources_done - release everything s holds (credentials wiped). */
void sources_done(struct sources *s);
