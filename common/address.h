/* SPDX-License-Identifier: MIT */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* Pure parsers and checks for the address-like values of the configuration. No DNS. */

#define HOST_NAME_MAX_LEN 253

/* A relayhost in Postfix syntax: "[host]:port" (no MX lookup), "host:port", "host",
 * "[ipv6:2001:db8::1]:587". */
struct relayhost {
        char host[HOST_NAME_MAX_LEN + 1]; /* without brackets and without "ipv6:" */
        uint16_t port;                    /* 25 when not given, as Postfix */
        bool mx_lookup;                   /* false when the host was in brackets */
        bool is_ip_literal;
};

/* relayhost_parse - 0, or -EINVAL for anything that is not a relayhost. */
int relayhost_parse(const char *s, struct relayhost *ret);

/* relayhost_is_loopback - true when host is 127.0.0.0/8, ::1 or "localhost". */
bool relayhost_is_loopback(const struct relayhost *rh);

/* domain_is_valid - RFC 1035 host name: labels of [A-Za-z0-9-] (and '_'), 1..63 bytes, not
 * starting or ending with '-', total at most 253; a trailing dot is refused. */
bool domain_is_valid(const char *s);

/* mail_address_is_valid - local@domain with a dot-atom or quoted local part, no spaces,
 * no angle brackets; or a bare local part when allow_bare_local. */
bool mail_address_is_valid(const char *s, bool allow_bare_local);

/* A network in mynetworks: "127.0.0.0/8", "10.1.2.3", "[::1]/128", "[fe80::]/10". */
struct network {
        int family; /* AF_INET or AF_INET6 */
        uint8_t addr[16];
        unsigned prefix_len;
};

/* network_parse - 0, or -EINVAL. len bytes of s are parsed (s need not be NUL-terminated). */
int network_parse(const char *s, size_t len, struct network *ret);

/* A listen address: "127.0.0.1:25", "[::1]:25". */
struct listen_address {
        struct sockaddr_storage sa;
        unsigned sa_len;
};

/* listen_address_parse - 0, or -EINVAL. len bytes of s are parsed. */
int listen_address_parse(const char *s, size_t len, struct listen_address *ret);

/* systemd_unit_name_is_valid - "name.service" style: [A-Za-z0-9:_.@-\\]+ with a known suffix. */
bool systemd_unit_name_is_valid(const char *s, size_t len);
