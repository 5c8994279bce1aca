/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define TCP_CONNECT_IP_MAX 64

/* tcp_connect_host - resolve host (a name or an IP literal) and connect to each address in
 * turn until one accepts within timeout_ms (per address). Returns a connected socket
 * (non-blocking, close-on-exec; the caller closes it) with the address that accepted in ip
 * (may be NULL); or -EHOSTUNREACH when the name does not resolve ("host lookup for HOST
 * failed: ..."), else -ETIMEDOUT when some address did not answer in time (a filter on the
 * way: more telling than a refusal elsewhere), else the last address's error, with why
 * ("connect to host[ip]:port: Connection refused"). getaddrinfo() has no deadline of its
 * own: resolv.conf's timeout bounds it. */
int tcp_connect_host(const char *host, unsigned port, uint64_t timeout_ms, char *ip, size_t ip_size,
                     char *why, size_t why_size);
