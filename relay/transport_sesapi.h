/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "delivery.h"

/* relay_transport = ses-api: delivery through the SES API v2 (SendEmail, raw content) signed
 * with the credential chain's credentials (the environment's, else the instance role's from
 * IMDS), shared by every delivery thread and refreshed before they expire. No SMTP
 * credentials, no secret. */

struct transport_sesapi;

/* transport_sesapi_new - for region (and the endpoint sesv2_endpoint() names); imds_allow_v1:
 * imds_v1_fallback for the role's credentials. Returns 0, or -EINVAL with why (an endpoint
 * that is not an http(s) URL), -ENOMEM, -EIO. */
int transport_sesapi_new(const char *region, bool imds_allow_v1, struct transport_sesapi **ret,
                         char *why, size_t why_size);

/* transport_sesapi_ops - the delivery transport (valid until transport_sesapi_free). */
const struct delivery_transport *transport_sesapi_ops(struct transport_sesapi *t);

/* transport_sesapi_endpoint - the endpoint URL, for log lines and DSNs. Borrowed. */
const char *transport_sesapi_endpoint(const struct transport_sesapi *t);

/* transport_sesapi_host - the endpoint's host name. Borrowed. */
const char *transport_sesapi_host(const struct transport_sesapi *t);

/* transport_sesapi_free - after delivery_free(). NULL-tolerant. */
struct transport_sesapi *transport_sesapi_free(struct transport_sesapi *t);
