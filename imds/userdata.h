/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"

/* Finding mailinit's configuration in EC2 user-data, in the formats cloud-init accepts:
 * a JSON object with a top-level "mailinit" object; a MIME multipart document (cloud-init's
 * format: base64, quoted-printable or plain parts, nested multiparts) with such a JSON part;
 * either of them gzip-compressed. Anything else (a shell script, #cloud-config, other JSON)
 * belongs to someone else. */

#define USERDATA_MAX        (1024 * 1024) /* after decompression */
#define USERDATA_REASON_MAX 128
#define USERDATA_MIME_DEPTH 4
#define USERDATA_MIME_PARTS 64

/* userdata_extract - look at len bytes of user-data (not NUL-terminated; may hold NULs).
 * Returns 1 with *ret_config set to the "mailinit" object (new reference);
 * 0 when the user-data is not for mailinit, with reason describing it in a few words
 * ("empty", "a shell script", "#cloud-config", "JSON without a \"mailinit\" key",
 * "MIME multipart without a mailinit JSON part", "unrecognised content");
 * -EBADMSG with err naming the problem (JSON syntax error with line and column, "mailinit"
 * not an object, corrupt gzip, MIME part that claims JSON but is not, bad base64);
 * -EFBIG when the user-data or its decompressed form exceeds USERDATA_MAX; -ENOMEM. */
int userdata_extract(const uint8_t *data, size_t len, json_t **ret_config, char *reason,
                     size_t reason_size, struct config_error *err);
