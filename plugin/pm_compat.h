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
#include <ws_version.h>

/* An undefined macro is 0 in #if: without this check every version test
 * below would silently pick the 4.0 branch. */
#ifndef WIRESHARK_VERSION_MAJOR
#error "ws_version.h did not define WIRESHARK_VERSION_MAJOR"
#endif

#define PM_WS_AT_LEAST(maj, min) \
    (WIRESHARK_VERSION_MAJOR > (maj) || \
     (WIRESHARK_VERSION_MAJOR == (maj) && WIRESHARK_VERSION_MINOR >= (min)))

/* The optional plugin_describe() symbol (what -G plugins prints as the
 * plugin's type) and the header declaring its WS_PLUGIN_DESC_* flags exist
 * from 4.4 on; 4.0 has neither (4.2 unverified, see the notes §10). */
#define PM_HAVE_PLUGIN_DESCRIBE PM_WS_AT_LEAST(4, 4)

/* Boolean preferences take a bool * from 4.4 on and a gboolean * (4 bytes)
 * before. A mismatch is a memory bug, not a style issue, so a bool
 * preference must be declared with this type (4.2 unverified). The code
 * has none today: uint and enum preferences have one C type everywhere. */
#if PM_WS_AT_LEAST(4, 4)
typedef bool pm_pref_bool_t;
#else
typedef gboolean pm_pref_bool_t;
#endif

/* Not wrapped, because the code avoids them:
 *  - stats_tree_register() returns void in 4.0 and a stats_tree_cfg * from
 *    4.4 on; the result is ignored, so both compile.
 *    stats_tree_register_with_group() is gone in 4.4: do not use it.
 *  - value_string.h moved from epan/ to wsutil/ in 4.6, and val_to_str()
 *    gained a scope argument: include <epan/proto.h>/<epan/packet.h>
 *    (which bring in the right one) and use val_to_str_const()/VALS() only.
 *  - wmem_packet_scope() is gone in 4.6: use pinfo->pool.
 * tests/compile_newer.sh compiles the plugin against 4.4 and 4.6 headers
 * to catch anything new. */

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

/* Stats-tree menu paths use "//" as separator from 4.4 on, where
 * <epan/stats_tree.h> defines STATS_TREE_MENU_SEPARATOR itself. Testing the
 * version rather than #ifndef matters: this header is read before
 * stats_tree.h, so an #ifndef would define "/" first and stats_tree.h would
 * then redefine it (a warning that only -isystem hides). */
#if !PM_WS_AT_LEAST(4, 4)
#define STATS_TREE_MENU_SEPARATOR "/"
#endif

#endif /* PM_COMPAT_H */
