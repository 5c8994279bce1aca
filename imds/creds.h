/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws_credentials.h"
#include "imds.h"

/* The AWS SDK credential chain, as far as an EC2 appliance needs it: AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) from the environment first, then the instance
 * role's temporary credentials from IMDS, cached and refreshed before they expire. */

#define CREDS_REFRESH_MARGIN_SEC 300 /* IMDS rotates at least 5 min before expiry */

struct creds_provider;

/* creds_provider_new - imds_options is copied (NULL: defaults); IMDS is contacted only
 * when the environment has no credentials. NULL on ENOMEM. */
struct creds_provider *creds_provider_new(const struct imds_options *imds_options);
struct creds_provider *creds_provider_free(struct creds_provider *p);

/* creds_provider_seed - hand over role credentials already read with the metadata (takes
 * ownership of *creds and clears it), so the first get() needs no IMDS request. */
void creds_provider_seed(struct creds_provider *p, const char *role, struct aws_credentials *creds);

/* creds_provider_get - current credentials (borrowed until the next call). Fetches or
 * refreshes when none are cached, when they expire within CREDS_REFRESH_MARGIN_SEC of now,
 * or when force_refresh is set (the service said they expired). Returns 0, or the errors
 * of imds_get (-ENOENT: no role attached) with why filled. */
int creds_provider_get(struct creds_provider *p, time_t now, bool force_refresh,
                       const struct aws_credentials **ret, char *why, size_t why_size);

/* creds_provider_principal - "environment credentials", "role NAME" or "no credentials",
 * for messages. Borrowed. */
const char *creds_provider_principal(const struct creds_provider *p);

/* creds_from_environment - the environment's credentials, if both key variables are set.
 * Returns 1 and fills *ret (release with aws_credentials_done), 0 when unset, -ENOMEM. */
int creds_from_environment(struct aws_credentials *ret);
