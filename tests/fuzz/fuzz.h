/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry point every fuzz_*.c defines; replay.c calls it without libFuzzer. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs above this are skipped: parsers have their own caps, tested elsewhere. */
#define FUZZ_INPUT_MAX (256 * 1024)
