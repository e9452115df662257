/* unset_preload.c
 * Preloaded after gcc's libasan into tshark when it loads a sanitizer build
 * of the plugin (tests/fuzz.py, tests/sanitize.sh): takes LD_PRELOAD out of
 * tshark's environment once the process has started, so that the programs
 * tshark runs (extcap helpers such as androiddump, for -G plugins) do not
 * get the ASan runtime too. With it, androiddump hangs for ever in a futex
 * at start-up, and so does tshark waiting for it.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include <stdlib.h>

__attribute__((constructor)) static void
pm_unset_preload(void)
{
    /* The dynamic loader has read LD_PRELOAD already; only children see
     * the change. */
    unsetenv("LD_PRELOAD");
}
