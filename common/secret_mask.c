/* SPDX-License-Identifier: MIT */
/*
 * secret_mask - the single place that masks secrets in output.
 *
 * Modules that obtain a secret (SMTP password, secret access key, session token, IMDS
 * token) register it here as soon as they hold it. log.c and every printer of
 * configuration run their text through secret_mask_apply(). The table holds copies,
 * wiped by secret_mask_clear().
 *
 * SECURITY: the copies live only in this process's memory; the process is made
 * non-dumpable by whoever fetches secrets.
 */
#include "secret_mask.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <jansson.h>
#include <openssl/crypto.h>

#define SECRET_MASK_MAX     32
#define SECRET_MASK_MIN_LEN 4

static char *registered[SECRET_MASK_MAX];
static size_t n_registered;
/* The relay logs from several threads while it may register new credentials. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

void secret_wipe(void *p, size_t len)
{
        if (p && len > 0)
                OPENSSL_cleanse(p, len);
}

char *secret_free(char *s)
{
        if (s) {
                secret_wipe(s, strlen(s));
                free(s);
        }
        return NULL;
}

static int secret_mask_add_locked(const char *secret)
{
        if (!secret || strlen(secret) < SECRET_MASK_MIN_LEN)
                return 0;
        for (size_t i = 0; i < n_registered; i++)
                if (strcmp(registered[i], secret) == 0)
                        return 0;
        if (n_registered >= SECRET_MASK_MAX)
                return -ENOSPC;
        registered[n_registered] = strdup(secret);
        if (!registered[n_registered])
                return -ENOMEM;
        n_registered++;
        return 0;
}

static int secret_mask_contains_locked(const char *text)
{
        if (!text)
                return 0;
        for (size_t i = 0; i < n_registered; i++)
                if (strstr(text, registered[i]))
                        return 1;
        return 0;
}

/* find_first_secret - earliest occurrence of any registered secret in text, longest first */
static const char *find_first_secret(const char *text, size_t *ret_len)
{
        const char *best = NULL;
        size_t best_len = 0;

        for (size_t i = 0; i < n_registered; i++) {
                const char *p = strstr(text, registered[i]);
                size_t len = strlen(registered[i]);

                if (p && (!best || p < best || (p == best && len > best_len))) {
                        best = p;
                        best_len = len;
                }
        }
        *ret_len = best_len;
        return best;
}

/* masked_span - len grown over every registered secret that starts inside hit[0, len) and
 * ends after it: overlapping secrets are masked as one, so no part of either shows */
static size_t masked_span(const char *hit, size_t len)
{
        bool grown = true;

        while (grown) {
                grown = false;
                for (size_t i = 0; i < n_registered; i++) {
                        size_t n = strlen(registered[i]);

                        for (size_t at = 1; at < len; at++) {
                                if (at + n > len && strncmp(hit + at, registered[i], n) == 0) {
                                        len = at + n;
                                        grown = true;
                                }
                        }
                }
        }
        return len;
}

static char *secret_mask_apply_locked(const char *text)
{
        size_t out_cap, out_len = 0, mask_len = strlen(SECRET_MASK_TEXT);
        char *out;

        if (!text)
                return NULL;
        /* Every secret is at least SECRET_MASK_MIN_LEN long, so the output grows at most by
         * a factor of mask_len / SECRET_MASK_MIN_LEN. */
        out_cap = strlen(text) * (mask_len / SECRET_MASK_MIN_LEN + 1) + 1;
        out = malloc(out_cap);
        if (!out)
                return NULL;
        while (*text) {
                size_t len;
                const char *hit = find_first_secret(text, &len);

                if (!hit) {
                        size_t rest = strlen(text);

                        memcpy(out + out_len, text, rest);
                        out_len += rest;
                        break;
                }
                memcpy(out + out_len, text, (size_t)(hit - text));
                out_len += (size_t)(hit - text);
                memcpy(out + out_len, SECRET_MASK_TEXT, mask_len);
                out_len += mask_len;
                text = hit + masked_span(hit, len);
        }
        out[out_len] = '\0';
        return out;
}

static void secret_mask_clear_locked(void)
{
        for (size_t i = 0; i < n_registered; i++)
                registered[i] = secret_free(registered[i]);
        n_registered = 0;
}

int secret_mask_add(const char *secret)
{
        int r;

        pthread_mutex_lock(&table_lock);
        r = secret_mask_add_locked(secret);
        pthread_mutex_unlock(&table_lock);
        return r;
}

int secret_mask_contains(const char *text)
{
        int r;

        pthread_mutex_lock(&table_lock);
        r = secret_mask_contains_locked(text);
        pthread_mutex_unlock(&table_lock);
        return r;
}

char *secret_mask_apply(const char *text)
{
        char *r;

        pthread_mutex_lock(&table_lock);
        r = secret_mask_apply_locked(text);
        pthread_mutex_unlock(&table_lock);
        return r;
}

void secret_mask_clear(void)
{
        pthread_mutex_lock(&table_lock);
        secret_mask_clear_locked();
        pthread_mutex_unlock(&table_lock);
}

/* wiping_free - jansson's free: every JSON buffer is cleared before it is released */
static void wiping_free(void *p)
{
        if (p) {
                OPENSSL_cleanse(p, malloc_usable_size(p));
                free(p);
        }
}

int secret_hygiene_enable(void)
{
        static const struct rlimit no_core = {0, 0};

        json_set_alloc_funcs(malloc, wiping_free);
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return -errno;
        if (setrlimit(RLIMIT_CORE, &no_core) < 0)
                return -errno;
        return 0;
}
