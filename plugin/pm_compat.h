/* pm_compat.h
 * The few places where the Wireshark plugin API changed between 4.0
 * (Debian 12, the baseline) and later 4.x releases. Everything version
 * dependent is spelled here so the glue reads the same on every release.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_COMPAT_H
#define PM_COMPAT_H

#include <wireshark.h>

#define PM_WS_AT_LEAST(maj, min) \
    (WIRESHARK_VERSION_MAJOR > (maj) || \
     (WIRESHARK_VERSION_MAJOR == (maj) && WIRESHARK_VERSION_MINOR >= (min)))

/* field_info.value became a pointer after 4.0; _Generic picks the right
 * form without guessing at which release it changed. */
#define PM_FVALUE(fi) _Generic((fi)->value, fvalue_t *: (fi)->value, default: &(fi)->value)

/* stat_tap_ui init callbacks return bool from 4.6 on; before, a tap that
 * cannot start exits like tshark's own taps do. */
#if PM_WS_AT_LEAST(4, 6)
#define PM_STAT_INIT_RET bool
#define PM_STAT_INIT_OK return true
#define PM_STAT_INIT_FAIL return false
#else
#define PM_STAT_INIT_RET void
#define PM_STAT_INIT_OK return
#define PM_STAT_INIT_FAIL exit(1)
#endif

/* Stats-tree menu paths use "//" as separator from 4.4 on. */
#ifndef STATS_TREE_MENU_SEPARATOR
#define STATS_TREE_MENU_SEPARATOR "/"
#endif

#endif /* PM_COMPAT_H */
