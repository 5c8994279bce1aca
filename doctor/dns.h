/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* DNS lookups with the system's resolver library (libresolv: res_nquery, ns_initparse,
 * ns_parserr), for the TXT and CNAME records of a sender domain. Name servers come from
 * /etc/resolv.conf, or from MAILINIT_DNS_SERVER=IPv4[:PORT] (tests, diagnosis). No search
 * list: names are absolute. Library code: no logging. */

#define DNS_TEXT_MAX    4096 /* one TXT record's strings, joined */
#define DNS_RECORDS_MAX 16
#define DNS_NAME_MAX    1025 /* NS_MAXDNAME */
#define DNS_ERROR_MAX   256

struct dns_txt {
        char *records[DNS_RECORDS_MAX]; /* each record's character-strings joined, NUL-free */
        size_t n;
};

/* dns_query_txt - the TXT records at name. Returns 0 (n may be 0: the name exists without
 * TXT records), -ENOENT when the name does not exist (NXDOMAIN), -EAGAIN for a server failure
 * or no answer in time, -EINVAL for a bad name or MAILINIT_DNS_SERVER, -EBADMSG for an answer
 * that does not parse, -ENOMEM; why says which. Release with dns_txt_done(). */
int dns_query_txt(const char *name, struct dns_txt *ret, char *why, size_t why_size);
void dns_txt_done(struct dns_txt *t);

/* dns_query_cname - the target of the CNAME record at name (without the trailing dot).
 * Returns 0, -ENODATA when name exists without a CNAME, -ENOENT (NXDOMAIN), or the errors
 * of dns_query_txt. */
int dns_query_cname(const char *name, char *target, size_t size, char *why, size_t why_size);

/* dns_query_mx - the exchange names of the MX records at name, space-separated in out.
 * Returns 0, -ENODATA, -ENOENT, or the errors of dns_query_txt. */
int dns_query_mx(const char *name, char *out, size_t size, char *why, size_t why_size);
