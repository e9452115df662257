/* pm_names.h
 * Suspicious DNS query names: punycode labels and DGA-like (random-looking)
 * registered names, for the DNS health detector.
 *
 * "Zero false positives" is the product's rule, so the DGA test is built to
 * stay silent on anything it cannot judge: it looks at one label only, the
 * one left of the public suffix (the name a malware's domain generation
 * algorithm has to register), and asks several independent signals to
 * agree before it says anything. pm_names.c documents every threshold and
 * README gives the measured rates (false positives on real popular names,
 * detection on generated ones).
 *
 * Pure functions of their arguments: no allocation, no global state, safe
 * from any thread.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_NAMES_H
#define PM_NAMES_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    PM_NAME_PUNYCODE = 1u << 0, /* a label starts with "xn--" */
    PM_NAME_DGA      = 1u << 1, /* the registered label looks machine-generated */
};

/* Enough for both reasons with their labels shown in full (labels are cut
 * to 40 characters in reasons); a smaller buffer gets a truncated,
 * still NUL-terminated reason. */
#define PM_NAME_WHY_LEN 256

/* Check one query name as it came from a packet: any bytes (NUL included),
 * any length, read only within name[0 .. len-1]. Case-insensitive; empty
 * labels and a trailing dot are ignored. Returns PM_NAME_* flags, 0 when
 * nothing is suspicious or name is NULL. When why is not NULL and why_len
 * is not 0, why receives a short English reason ("" when the result is 0),
 * several joined by "; ", always NUL-terminated. */
unsigned pm_name_check(const char *name, size_t len, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif /* PM_NAMES_H */
