/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include <curl/curl.h>

/* libcurl, loaded on first use. mailinit is one binary for firstboot, the relay, sendmail and
 * the setgid postdrop; only the first two speak HTTP. Linking libcurl would load it and its
 * ~25 dependencies (GnuTLS, Kerberos, LDAP, libssh2, ...) into every sendmail run from cron
 * and into the setgid helper. Instead http.c calls it through this table, filled by dlopen
 * of the SONAME the build was made against. The packages depend on libcurl explicitly. */

#define CURL_LIBRARY_SONAME "libcurl.so.4"

/* One pointer per function http.c uses, typed from <curl/curl.h> so calls stay checked. */
struct curl_library {
        __typeof__(curl_global_init) *global_init;
        __typeof__(curl_easy_init) *easy_init;
        __typeof__(curl_easy_cleanup) *easy_cleanup;
        __typeof__(curl_easy_reset) *easy_reset;
        __typeof__(curl_easy_setopt) *easy_setopt;
        __typeof__(curl_easy_perform) *easy_perform;
        __typeof__(curl_easy_getinfo) *easy_getinfo;
        __typeof__(curl_easy_strerror) *easy_strerror;
        __typeof__(curl_slist_append) *slist_append;
        __typeof__(curl_slist_free_all) *slist_free_all;
};

/* curl_library_load - load libcurl once per process (thread-safe) and return its table, or
 * NULL when the library or one of its functions cannot be found; then curl_library_error()
 * says why. Later calls return the same result without retrying. */
const struct curl_library *curl_library_load(void);

/* curl_library_error - the loader's message for the last failure ("" when none). Static. */
const char *curl_library_error(void);
