/* pm_glue.h
 * What the Wireshark glue files share: the protocol and tap ids, the
 * preferences, and the hooks between the postdissector and the taps.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_GLUE_H
#define PM_GLUE_H

#include "pm_compat.h"
#include "pm_core.h"
#include "pm_dns.h"
#include "pm_score.h"

/* Values of the "analyze" preference. */
enum { PM_ANALYZE_AUTO = 0, PM_ANALYZE_ALWAYS = 1 };
/* On/off preferences are enums: bool preferences changed C type between
 * Wireshark releases, enums did not. */
enum { PM_ON = 0, PM_OFF = 1 };

typedef struct pm_prefs {
    pm_score_params score;
    guint top;
    gint lang;                /* pm_lang */
    gint analyze;             /* PM_ANALYZE_* */
    gint tcp_health;          /* PM_ON / PM_OFF */
    gint dns_health;          /* PM_ON / PM_OFF */
    pm_dns_params dns;
    const char *json_output;  /* JSON document to this file, not stdout */
    guint dup_window_ms;      /* capture duplicates: repeats within this */
    guint json_top;           /* conversations listed per JSON order (0: all) */
    gint json_state;          /* PM_ON: raw state for packetmancer-merge */
    guint tree_conversations; /* conversations the stats tree lists by name */
} pm_prefs;

extern pm_prefs pm_pref;

/* Registered by packet-packetmancer.c. Every tap record is a
 * pm_tap_record, whose first member is the pm_packet. */
extern int pm_tap_id;

typedef struct pm_tap_record {
    pm_packet pkt;
    /* The dissector added pkt to its table (pm_glue_file_table()) just
     * before tapping it: a first pass. PINFO_FD_VISITED cannot tell a tap
     * that: epan marks the frame visited at the end of its dissection,
     * before the tapped queue is pushed. */
    gboolean in_file_table;
    /* With in_file_table, for a TCP record: the direction that table
     * counted pkt in (PM_C2S / PM_S2C), as pm_table_add returned it. */
    guint8 dir;
} pm_tap_record;

/* tap-packetmancer.c: the -z packetmancer,report / ,json taps and the
 * stats tree. Called from proto_register_packetmancer(). */
void pm_register_taps(void);

/* A PacketMancer tap listener was registered: make sure the postdissector
 * reads TCP's analysis for this file. */
void pm_tap_started(void);

/* The capture file being read, as given on tshark's command line, or NULL
 * when it cannot be known (the GUI). */
const char *pm_capture_file(void);

/* The dissector's conversation table of this file, fed every frame on
 * the first pass (summary included), or NULL. A tap without a filter that
 * is fed on the first pass sees exactly those records, so it reads this
 * table instead of building a second, equal one; a stats tree doing so
 * marks its conversations' tree_* fields, which the dissector leaves alone. */
const pm_table *pm_glue_file_table(void);

/* A new conversation table with the preferences in force. */
pm_table *pm_glue_table_new(void);

/* The DNS scoring preferences in force. */
void pm_glue_dns_params(pm_dns_params *out);

void proto_register_packetmancer(void);
void proto_reg_handoff_packetmancer(void);

#endif /* PM_GLUE_H */
