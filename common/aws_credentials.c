/* SPDX-License-Identifier: MIT */
/* aws_credentials - release of credential strings, wiped first. */
#include "aws_credentials.h"

#include <stdlib.h>

#include "secret_mask.h"

void aws_credentials_done(struct aws_credentials *c)
{
        if (!c)
                return;
        c->access_key_id = secret_free(c->access_key_id);
        c->secret_access_key = secret_free(c->secret_access_key);
        c->session_token = secret_free(c->session_token);
        c->expiration = 0;
}
