/* SPDX-License-Identifier: MIT */
/*
 * address - syntax of relayhost, domain names, mail addresses, networks and listen
 * addresses, as the configuration writes them (Postfix notation). Pure functions: they
 * never resolve names and never log.
 */
#include "address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "parse.h"

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool domain_is_valid(const char *s)
{
        size_t total = strlen(s), label = 0;
        char prev = '.';

        if (total == 0 || total > HOST_NAME_MAX_LEN)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p == '.') {
                        if (label == 0 || prev == '-')
                                return false;
                        label = 0;
                } else if (is_alnum(*p) || *p == '_' || *p == '-') {
                        if (label == 0 && *p == '-')
                                return false;
                        if (++label > 63)
                                return false;
                } else {
                        return false;
                }
                prev = *p;
        }
        return label > 0 && prev != '-';
}

static int parse_port(const char *s, uint16_t *ret)
{
        uint64_t v;

        if (parse_uint64(s, &v) < 0 || v == 0 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t)v;
        return 0;
}

int relayhost_parse(const char *s, struct relayhost *ret)
{
        struct relayhost rh = {.port = 25, .mx_lookup = true};
        const char *host, *host_end, *rest;
        unsigned char tmp[16];

        if (!s || !*s)
                return -EINVAL;
        if (s[0] == '[') {
                host = s + 1;
                host_end = strchr(host, ']');
                if (!host_end)
                        return -EINVAL;
                rest = host_end + 1;
                rh.mx_lookup = false;
        } else {
                host = s;
                host_end = strchr(s, ':');
                if (!host_end)
                        host_end = s + strlen(s);
                rest = host_end;
        }
        if (host_end == host || (size_t)(host_end - host) > HOST_NAME_MAX_LEN + 5)
                return -EINVAL;
        if (!rh.mx_lookup && (size_t)(host_end - host) > 5 && strncasecmp(host, "ipv6:", 5) == 0) {
                host += 5;
                memcpy(rh.host, host, (size_t)(host_end - host));
                rh.host[host_end - host] = '\0';
                if (inet_pton(AF_INET6, rh.host, tmp) != 1)
                        return -EINVAL;
                rh.is_ip_literal = true;
        } else {
                if ((size_t)(host_end - host) > HOST_NAME_MAX_LEN)
                        return -EINVAL;
                memcpy(rh.host, host, (size_t)(host_end - host));
                rh.host[host_end - host] = '\0';
                if (inet_pton(AF_INET, rh.host, tmp) == 1)
                        rh.is_ip_literal = true;
                else if (!domain_is_valid(rh.host))
                        return -EINVAL;
        }
        if (*rest == ':') {
                if (parse_port(rest + 1, &rh.port) < 0)
                        return -EINVAL;
        } else if (*rest) {
                return -EINVAL;
        }
        *ret = rh;
        return 0;
}

bool relayhost_is_loopback(const struct relayhost *rh)
{
        struct in_addr a4;
        struct in6_addr a6;

        if (strcasecmp(rh->host, "localhost") == 0)
                return true;
        if (inet_pton(AF_INET, rh->host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, rh->host, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6);
        return false;
}

static bool is_atext(char c)
{
        return is_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* local_part_is_valid - RFC 5321 dot-string or quoted-string, len bytes */
static bool local_part_is_valid(const char *s, size_t len)
{
        if (len == 0 || len > 64)
                return false;
        if (s[0] == '"') {
                if (len < 2 || s[len - 1] != '"')
                        return false;
                for (size_t i = 1; i + 1 < len; i++) {
                        unsigned char c = (unsigned char)s[i];

                        if (c == '\\') {
                                if (++i + 1 >= len)
                                        return false;
                                continue;
                        }
                        if (c == '"' || c < 32 || c == 127)
                                return false;
                }
                return true;
        }
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '.') {
                        if (i == 0 || i + 1 == len || s[i + 1] == '.')
                                return false;
                } else if (!is_atext(s[i])) {
                        return false;
                }
        }
        return true;
}

bool mail_address_is_valid(const char *s, bool allow_bare_local)
{
        const char *at = strrchr(s, '@');

        if (!at)
                return allow_bare_local && local_part_is_valid(s, strlen(s));
        return local_part_is_valid(s, (size_t)(at - s)) && domain_is_valid(at + 1);
}

int network_parse(const char *s, size_t len, struct network *ret)
{
        char text[INET6_ADDRSTRLEN + 8];
        struct network n = {0};
        const char *slash, *addr;
        size_t addr_len;
        unsigned max_prefix;

        if (len == 0 || len >= sizeof text)
                return -EINVAL;
        memcpy(text, s, len);
        text[len] = '\0';
        slash = strchr(text, '/');
        addr = text;
        addr_len = slash ? (size_t)(slash - text) : len;
        if (addr[0] == '[') {
                if (addr_len < 3 || addr[addr_len - 1] != ']')
                        return -EINVAL;
                /* cppcheck-suppress unreadVariable ; read through addr, which points into text */
                text[addr_len - 1] = '\0';
                addr++;
                if (inet_pton(AF_INET6, addr, n.addr) != 1)
                        return -EINVAL;
                n.family = AF_INET6;
                max_prefix = 128;
        } else {
                /* cppcheck-suppress unreadVariable ; read through addr, which points into text */
                text[addr_len] = '\0';
                if (inet_pton(AF_INET, addr, n.addr) != 1)
                        return -EINVAL;
                n.family = AF_INET;
                max_prefix = 32;
        }
        n.prefix_len = max_prefix;
        if (slash) {
                uint64_t v;

                if (parse_uint64(slash + 1, &v) < 0 || v > max_prefix)
                        return -EINVAL;
                n.prefix_len = (unsigned)v;
        }
        *ret = n;
        return 0;
}

int listen_address_parse(const char *s, size_t len, struct listen_address *ret)
{
        char text[INET6_ADDRSTRLEN + 16];
        struct listen_address la = {0};
        char *port_sep;
        uint16_t port;

        if (len == 0 || len >= sizeof text)
                return -EINVAL;
        memcpy(text, s, len);
        text[len] = '\0';
        port_sep = strrchr(text, ':');
        if (!port_sep || parse_port(port_sep + 1, &port) < 0)
                return -EINVAL;
        *port_sep = '\0';
        if (text[0] == '[') {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&la.sa;
                size_t n = strlen(text);

                if (n < 3 || text[n - 1] != ']')
                        return -EINVAL;
                text[n - 1] = '\0';
                if (inet_pton(AF_INET6, text + 1, &sin6->sin6_addr) != 1)
                        return -EINVAL;
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons(port);
                la.sa_len = sizeof *sin6;
        } else {
                struct sockaddr_in *sin = (struct sockaddr_in *)&la.sa;

                if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
                        return -EINVAL;
                sin->sin_family = AF_INET;
                sin->sin_port = htons(port);
                la.sa_len = sizeof *sin;
        }
        *ret = la;
        return 0;
}

bool systemd_unit_name_is_valid(const char *s, size_t len)
{
        static const char *const suffixes[] = {".service", ".socket", ".target",
                                               ".timer",   ".path",   ".mount"};
        bool suffix_ok = false;

        if (len == 0 || len > 255)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!is_alnum(s[i]) && !strchr(":_.@-\\", s[i]))
                        return false;
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
                size_t n = strlen(suffixes[i]);

                if (len > n && memcmp(s + len - n, suffixes[i], n) == 0)
                        suffix_ok = true;
        }
        return suffix_ok;
}
