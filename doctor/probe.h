/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* A TCP connect test: does host:port accept a connection within timeout_ms? Nothing is sent;
 * the connection is closed at once. */

#define PROBE_IP_MAX 64

/* tcp_probe - resolve host (a name or an IP literal) and connect to each address in turn
 * until one accepts. Returns 0 with the address that accepted in ip (may be NULL); or
 * -EHOSTUNREACH when the name does not resolve, -ETIMEDOUT when no address answered in time
 * (SYN dropped), -ECONNREFUSED when refused (the last address's error wins otherwise), with
 * why ("connect to host[ip]:port: Connection refused"). */
int tcp_probe(const char *host, unsigned port, uint64_t timeout_ms, char *ip, size_t ip_size,
              char *why, size_t why_size);
