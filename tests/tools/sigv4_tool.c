/* SPDX-License-Identifier: MIT */
/*
 * sigv4_tool - test-only driver of common/sigv4.c for the botocore cross-check. Reads one JSON
 * object on stdin:
 *   {"method": "POST", "path": "/", "query": "a=1" | null, "headers": [["Host", "h"], ...],
 *    "body": "text (UTF-8)", "access_key_id": "...", "secret_access_key": "...",
 *    "session_token": "..." | null, "region": "...", "service": "...", "now": <epoch seconds>}
 * and prints "Authorization: ...", "X-Amz-Date: ..." and, when the signer asks for it,
 * "X-Amz-Security-Token: ...". With --debug the canonical request and the string to sign go
 * to stderr. Exit 0, 1 when signing fails, 2 for bad input. Holds test keys only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sigv4.h"

#define TOOL_HEADERS_MAX 64

static const char *str_or_null(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);

        return json_is_string(v) ? json_string_value(v) : NULL;
}

int main(int argc, char **argv)
{
        struct sigv4_header headers[TOOL_HEADERS_MAX];
        struct sigv4_request req = {0};
        struct sigv4_params p = {0};
        struct sigv4_result res = {0};
        json_error_t jerr;
        json_t *in, *hs, *body, *now;
        bool debug = argc > 1 && strcmp(argv[1], "--debug") == 0;
        size_t i;
        int r;

        in = json_loadf(stdin, 0, &jerr);
        if (!in) {
                fprintf(stderr, "sigv4_tool: bad JSON on stdin: %s (line %d)\n", jerr.text,
                        jerr.line);
                return 2;
        }
        hs = json_object_get(in, "headers");
        body = json_object_get(in, "body");
        now = json_object_get(in, "now");
        if (!json_is_array(hs) || json_array_size(hs) > TOOL_HEADERS_MAX || !json_is_integer(now)) {
                fprintf(stderr, "sigv4_tool: need \"headers\" (at most %d) and \"now\"\n",
                        TOOL_HEADERS_MAX);
                json_decref(in);
                return 2;
        }
        for (i = 0; i < json_array_size(hs); i++) {
                json_t *h = json_array_get(hs, i);

                if (!json_is_array(h) || json_array_size(h) != 2 ||
                    !json_is_string(json_array_get(h, 0)) ||
                    !json_is_string(json_array_get(h, 1))) {
                        fprintf(stderr, "sigv4_tool: header %zu is not [name, value]\n", i);
                        json_decref(in);
                        return 2;
                }
                headers[i] = (struct sigv4_header){json_string_value(json_array_get(h, 0)),
                                                   json_string_value(json_array_get(h, 1))};
        }
        req = (struct sigv4_request){
                .method = str_or_null(in, "method"),
                .path = str_or_null(in, "path"),
                .query = str_or_null(in, "query"),
                .headers = headers,
                .n_headers = i,
                .payload = json_is_string(body) ? json_string_value(body) : NULL,
                .payload_len = json_is_string(body) ? json_string_length(body) : 0,
        };
        p = (struct sigv4_params){
                .access_key_id = str_or_null(in, "access_key_id"),
                .secret_access_key = str_or_null(in, "secret_access_key"),
                .session_token = str_or_null(in, "session_token"),
                .region = str_or_null(in, "region"),
                .service = str_or_null(in, "service"),
                .now = (time_t)json_integer_value(now),
        };

        r = sigv4_sign(&req, &p, &res);
        if (r < 0) {
                fprintf(stderr, "sigv4_tool: sigv4_sign: %s\n", strerror(-r));
                json_decref(in);
                return 1;
        }
        if (debug)
                fprintf(stderr, "--- canonical request\n%s\n--- string to sign\n%s\n",
                        res.canonical_request, res.string_to_sign);
        printf("Authorization: %s\nX-Amz-Date: %s\n", res.authorization, res.amz_date);
        if (res.add_security_token)
                printf("X-Amz-Security-Token: %s\n", p.session_token);
        sigv4_result_done(&res);
        json_decref(in);
        return fflush(stdout) == 0 ? 0 : 1;
}
