/* SPDX-License-Identifier: MIT */
/*
 * curl_library - dlopen libcurl on first use and resolve the functions http.c calls.
 *
 * The handle is never closed: libcurl keeps global state (OpenSSL, its connection caches)
 * for the life of the process.
 */
#include "curl_library.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static struct curl_library library;
static const struct curl_library *loaded;
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/* resolve - store the address of name in handle into the function pointer at slot (POSIX
 * makes dlsym's result convertible to a function pointer; memcpy spares the cast ISO C leaves
 * undefined). False, with load_error set, when the symbol is absent. */
static bool resolve(void *handle, const char *name, void *slot, size_t slot_size)
{
        void *address = dlsym(handle, name);

        if (!address || slot_size != sizeof address) {
                (void)snprintf(load_error, sizeof load_error, "%s: symbol %s not found",
                               CURL_LIBRARY_SONAME, name);
                return false;
        }
        memcpy(slot, &address, sizeof address);
        return true;
}

#define RESOLVE(handle, field, name) resolve(handle, name, &library.field, sizeof library.field)

static void load(void)
{
        void *handle = dlopen(CURL_LIBRARY_SONAME, RTLD_NOW | RTLD_LOCAL);
        const char *why;

        if (!handle) {
                why = dlerror();
                (void)snprintf(load_error, sizeof load_error, "cannot load libcurl: %s",
                               why ? why : CURL_LIBRARY_SONAME);
                return;
        }
        if (!RESOLVE(handle, global_init, "curl_global_init") ||
            !RESOLVE(handle, easy_init, "curl_easy_init") ||
            !RESOLVE(handle, easy_cleanup, "curl_easy_cleanup") ||
            !RESOLVE(handle, easy_reset, "curl_easy_reset") ||
            !RESOLVE(handle, easy_setopt, "curl_easy_setopt") ||
            !RESOLVE(handle, easy_perform, "curl_easy_perform") ||
            !RESOLVE(handle, easy_getinfo, "curl_easy_getinfo") ||
            !RESOLVE(handle, easy_strerror, "curl_easy_strerror") ||
            !RESOLVE(handle, slist_append, "curl_slist_append") ||
            !RESOLVE(handle, slist_free_all, "curl_slist_free_all")) {
                (void)dlclose(handle);
                return;
        }
        loaded = &library;
}

const struct curl_library *curl_library_load(void)
{
        (void)pthread_once(&load_once, load);
        return loaded;
}

const char *curl_library_error(void)
{
        return load_error;
}
