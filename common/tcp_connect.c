/* SPDX-License-Identifier: MIT */
/*
 * tcp_connect - a TCP connection to the first address of a host that accepts in time, for
 * the relay's SMTP client and doctor's port probes.
 */
#include "tcp_connect.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backoff.h"
#include "fileio.h"

/* connect_one - a non-blocking connect to ai within timeout_ms: the socket, or -errno */
static int connect_one(const struct addrinfo *ai, uint64_t timeout_ms)
{
        int fd, r, soerr = 0;
        socklen_t len = sizeof soerr;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
                return -errno;
        r = connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : 0;
        if (r == -EINPROGRESS || r == -EINTR) {
                r = fd_wait(fd, POLLOUT, now_monotonic_usec() + timeout_ms * 1000ULL);
                if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
                        r = -errno;
                else if (r == 0 && soerr != 0)
                        r = -soerr;
        }
        if (r < 0) {
                (void)close(fd);
                return r;
        }
        return fd;
}

int tcp_connect_host(const char *host, unsigned port, uint64_t timeout_ms, char *ip, size_t ip_size,
                     char *why, size_t why_size)
{
        struct addrinfo hints = {
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_STREAM,
                .ai_flags = AI_NUMERICSERV,
        };
        struct addrinfo *list = NULL, *ai;
        char service[8];
        int r, last = -EHOSTUNREACH;

        (void)snprintf(service, sizeof service, "%u", port);
        r = getaddrinfo(host, service, &hints, &list);
        if (r != 0) {
                (void)snprintf(why, why_size, "host lookup for %s failed: %s", host,
                               r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
                return -EHOSTUNREACH;
        }
        for (ai = list; ai; ai = ai->ai_next) {
                char addr[NI_MAXHOST] = "?";

                (void)getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr, NULL, 0,
                                  NI_NUMERICHOST);
                r = connect_one(ai, timeout_ms);
                if (r >= 0) {
                        if (ip)
                                (void)snprintf(ip, ip_size, "%s", addr);
                        freeaddrinfo(list);
                        return r;
                }
                if (last != -ETIMEDOUT)
                        last = r;
                (void)snprintf(why, why_size, "connect to %s[%s]:%u: %s", host, addr, port,
                               r == -ETIMEDOUT ? "Connection timed out" : strerror(-r));
        }
        freeaddrinfo(list);
        return last;
}
