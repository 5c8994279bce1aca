/* SPDX-License-Identifier: MIT */
#pragma once

#include "config.h"
#include "settings.h"

/* local_settings_load - the settings a local command (sendmail, mailq/postqueue) needs:
 * /etc/mailinit/mailinit.conf, then /etc/mailinit/relay.conf, both under root (NULL or "/":
 * the real ones; a missing file is fine), then settings_finalize(); the AWS region may be
 * missing. Returns 0, -ENOMEM, or -errno with err describing a bad or unreadable file. */
int local_settings_load(struct settings *s, const char *root, struct config_error *err);
