/* SPDX-License-Identifier: MIT */
#include "imds.h"
