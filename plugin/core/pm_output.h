/* pm_output.h
 * An output file that is never left half written: written to a temporary
 * file in the same folder, flushed to disk, and renamed over its path only
 * once complete. Used by the plugin's JSON output file and by
 * packetmancer-merge, so that a failed run never replaces a good document
 * with a partial one.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_OUTPUT_H
#define PM_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

typedef struct pm_output {
    FILE *f;            /* write here */
    char *tmp;          /* the temporary file; NULL for standard output */
    char *path;
} pm_output;

/* Opens a temporary file beside path (NULL: standard output, written
 * directly). False, with errno set, when it cannot be created. */
bool pm_output_open(pm_output *o, const char *path);

/* Completes the output: with ok (everything was written), flushes, syncs
 * and renames the temporary file over the path; without ok, or when any
 * of that fails, removes it and leaves the path as it was. Returns
 * whether the path now holds the complete output (errno set when a call
 * failed). Standard output is only flushed. */
bool pm_output_close(pm_output *o, bool ok);

#endif
