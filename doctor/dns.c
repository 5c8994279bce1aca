/* SPDX-License-Identifier: MIT */
/*
 * dns - TXT, CNAME and MX lookups through libresolv, with a private resolver state per query
 * (res_ninit/res_nclose: thread-safe, no global _res).
 *
 * MAILINIT_DNS_SERVER=IPv4[:PORT] replaces the name servers of /etc/resolv.conf with one
 * address and port, written into the state's nsaddr_list: glibc uses an entry whose family
 * is set in preference to the IPv6 copies of resolv.conf's servers. Tests point it at a DNS
 * stand-in on a loopback port; an operator can ask one particular server.
 * Answers are parsed with ns_initparse/ns_parserr; only records of the asked type in the
 * answer section count (a CNAME chain followed by the server shows up as extra records).
 */
#include "dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

#define DNS_ANSWER_MAX 65536

/* server_override - MAILINIT_DNS_SERVER into st, when set */
static int server_override(res_state st, char *why, size_t why_size)
{
        const char *e = getenv("MAILINIT_DNS_SERVER");
        char host[64];
        const char *colon;
        uint64_t port = 53;
        struct in_addr addr;
        size_t len;

        if (!e || !*e)
                return 0;
        colon = strchr(e, ':');
        len = colon ? (size_t)(colon - e) : strlen(e);
        if (len >= sizeof host ||
            (colon && (parse_uint64(colon + 1, &port) < 0 || port == 0 || port > 65535))) {
                (void)snprintf(why, why_size, "MAILINIT_DNS_SERVER='%s' is not IPv4[:PORT]", e);
                return -EINVAL;
        }
        memcpy(host, e, len);
        host[len] = '\0';
        if (inet_pton(AF_INET, host, &addr) != 1) {
                (void)snprintf(why, why_size, "MAILINIT_DNS_SERVER='%s' is not IPv4[:PORT]", e);
                return -EINVAL;
        }
        st->nscount = 1;
        memset(&st->nsaddr_list[0], 0, sizeof st->nsaddr_list[0]);
        st->nsaddr_list[0].sin_family = AF_INET;
        st->nsaddr_list[0].sin_addr = addr;
        st->nsaddr_list[0].sin_port = htons((uint16_t)port);
        return 0;
}

/* query - res_nquery into answer; returns its length or -errno with why */
static int query(const char *name, int type, unsigned char *answer, size_t size, char *why,
                 size_t why_size)
{
        struct __res_state st;
        int n, r;

        if (!name || !*name || strlen(name) >= DNS_NAME_MAX) {
                (void)snprintf(why, why_size, "'%s' is not a domain name", name ? name : "");
                return -EINVAL;
        }
        memset(&st, 0, sizeof st);
        if (res_ninit(&st) < 0) {
                (void)snprintf(why, why_size, "cannot set up the resolver (/etc/resolv.conf)");
                return -EIO;
        }
        r = server_override(&st, why, why_size);
        if (r < 0) {
                res_nclose(&st);
                return r;
        }
        n = res_nquery(&st, name, ns_c_in, type, answer, (int)size);
        if (n < 0) {
                switch (st.res_h_errno) {
                case HOST_NOT_FOUND:
                        (void)snprintf(why, why_size, "%s does not exist (NXDOMAIN)", name);
                        r = -ENOENT;
                        break;
                case NO_DATA:
                        (void)snprintf(why, why_size, "%s has no record of that type", name);
                        r = -ENODATA;
                        break;
                case TRY_AGAIN:
                        (void)snprintf(
                                why, why_size,
                                "no answer for %s (server failure or no name server answered)",
                                name);
                        r = -EAGAIN;
                        break;
                default:
                        (void)snprintf(why, why_size, "the lookup of %s failed (%s)", name,
                                       hstrerror(st.res_h_errno));
                        r = -EIO;
                        break;
                }
                res_nclose(&st);
                return r;
        }
        res_nclose(&st);
        return n;
}

/* txt_join - the character-strings of one TXT rdata joined; NULL when malformed */
static char *txt_join(const unsigned char *rdata, size_t len)
{
        char *out = malloc(len + 1);
        size_t i = 0, o = 0;

        if (!out)
                return NULL;
        while (i < len) {
                size_t n = rdata[i++];

                if (n > len - i) {
                        free(out);
                        return NULL;
                }
                for (size_t k = 0; k < n; k++)
                        out[o++] = (char)(rdata[i + k] ? rdata[i + k] : '?');
                i += n;
        }
        out[o] = '\0';
        return out;
}

/* parse_answer - ns_initparse, then call each for every answer record of type */
static int for_each_record(const unsigned char *answer, int len, int type,
                           int (*each)(ns_msg *msg, ns_rr *rr, void *userdata), void *userdata,
                           char *why, size_t why_size)
{
        ns_msg msg;
        int count, found = 0;

        if (ns_initparse(answer, len, &msg) < 0) {
                (void)snprintf(why, why_size, "the DNS answer does not parse");
                return -EBADMSG;
        }
        count = ns_msg_count(msg, ns_s_an);
        for (int i = 0; i < count; i++) {
                ns_rr rr;
                int r;

                if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) {
                        (void)snprintf(why, why_size, "a DNS answer record does not parse");
                        return -EBADMSG;
                }
                if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in)
                        continue;
                r = each(&msg, &rr, userdata);
                if (r < 0) {
                        (void)snprintf(why, why_size, "a %s record does not parse",
                                       type == ns_t_txt ? "TXT" : "DNS");
                        return r;
                }
                found++;
        }
        return found;
}

static int add_txt(ns_msg *msg, ns_rr *rr, void *userdata)
{
        struct dns_txt *t = userdata;
        char *text;

        (void)msg;
        if (t->n >= DNS_RECORDS_MAX)
                return 0;
        if (ns_rr_rdlen(*rr) > DNS_TEXT_MAX)
                return -EBADMSG;
        text = txt_join(ns_rr_rdata(*rr), ns_rr_rdlen(*rr));
        if (!text)
                return -EBADMSG;
        t->records[t->n++] = text;
        return 0;
}

int dns_query_txt(const char *name, struct dns_txt *ret, char *why, size_t why_size)
{
        unsigned char *answer = malloc(DNS_ANSWER_MAX);
        struct dns_txt t = {0};
        int n, r;

        if (!answer)
                return -ENOMEM;
        n = query(name, ns_t_txt, answer, DNS_ANSWER_MAX, why, why_size);
        if (n == -ENODATA) {
                free(answer);
                *ret = t;
                return 0;
        }
        if (n < 0) {
                free(answer);
                return n;
        }
        r = for_each_record(answer, n, ns_t_txt, add_txt, &t, why, why_size);
        free(answer);
        if (r < 0) {
                dns_txt_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

void dns_txt_done(struct dns_txt *t)
{
        for (size_t i = 0; i < t->n; i++)
                free(t->records[i]);
        *t = (struct dns_txt){0};
}

struct names {
        char *out;
        size_t size;
        size_t len;
        size_t skip; /* bytes of rdata before the name: 2 for MX's preference */
};

/* add_name - a domain name in rdata, uncompressed, appended to out (space-separated) */
static int add_name(ns_msg *msg, ns_rr *rr, void *userdata)
{
        struct names *names = userdata;
        char name[DNS_NAME_MAX];
        size_t n;

        if (ns_rr_rdlen(*rr) <= names->skip ||
            ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), ns_rr_rdata(*rr) + names->skip,
                               name, sizeof name) < 0)
                return -EBADMSG;
        n = strlen(name);
        while (n > 0 && name[n - 1] == '.')
                name[--n] = '\0';
        if (names->len + n + 2 > names->size)
                return 0;
        (void)snprintf(names->out + names->len, names->size - names->len, "%s%s",
                       names->len ? " " : "", name);
        names->len = strlen(names->out);
        return 0;
}

static int query_names(const char *name, int type, size_t skip, char *out, size_t size, char *why,
                       size_t why_size)
{
        unsigned char *answer = malloc(DNS_ANSWER_MAX);
        struct names names = {out, size, 0, skip};
        int n, r;

        if (!answer)
                return -ENOMEM;
        out[0] = '\0';
        n = query(name, type, answer, DNS_ANSWER_MAX, why, why_size);
        if (n < 0) {
                free(answer);
                return n;
        }
        r = for_each_record(answer, n, type, add_name, &names, why, why_size);
        free(answer);
        if (r < 0)
                return r;
        if (r == 0) {
                (void)snprintf(why, why_size, "%s has no record of that type", name);
                return -ENODATA;
        }
        return 0;
}

int dns_query_cname(const char *name, char *target, size_t size, char *why, size_t why_size)
{
        return query_names(name, ns_t_cname, 0, target, size, why, why_size);
}

int dns_query_mx(const char *name, char *out, size_t size, char *why, size_t why_size)
{
        return query_names(name, ns_t_mx, 2, out, size, why, why_size);
}
