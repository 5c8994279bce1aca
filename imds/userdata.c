/* SPDX-License-Identifier: MIT */
/* placeholder: replaced by the user-data parser */
#include "userdata.h"
#include <errno.h>
int userdata_extract(const uint8_t *data, size_t len, json_t **ret_config, char *reason, size_t reason_size, struct config_error *err)
{
(void)data;(void)len;(void)ret_config;(void)reason;(void)reason_size;(void)err;
return -ENOSYS;
}
