/* pm_report.h
 * The finished analysis (pm_model) and the two text outputs drawn from it:
 * the human report and the schema "v1" JSON document.
 *
 * A model is built once from a table when a report is drawn; the report
 * and the JSON read the same rows, so they cannot disagree.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_REPORT_H
#define PM_REPORT_H

#include <stdio.h>

#include "pm_core.h"
#include "pm_dns.h"
#include "pm_score.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PM_SCHEMA "v1"

typedef struct pm_row {
    const pm_conv *conv;
    pm_totals totals;
    pm_verdict verdict;
    char flow[PM_FLOW_STRLEN];
} pm_row;

#define PM_DNS_PAIR_STRLEN 104

typedef struct pm_dns_row {
    const pm_dns_pair *pair;
    pm_dns_verdict verdict;
    char name[PM_DNS_PAIR_STRLEN];
} pm_dns_row;

typedef struct pm_model {
    pm_summary summary;
    size_t n;
    size_t listed;            /* rows kept in each order: all, or the top asked for */
    pm_row *rows;             /* the first `listed` by severity (SCORING.md order) */
    pm_row **by_packets;      /* the first `listed` by packets, most first */
    pm_row **by_bytes;        /* the first `listed` by bytes, most first */
    pm_row *volume_rows[2];   /* storage of the two above when not all are listed */
    uint64_t per_level[4];    /* conversations per pm_level */
    /* Capture quality, over every conversation. */
    uint64_t capture_duplicates, tcp_frames, capture_gaps;
    /* DNS health, when the detector ran (pm_model_add_dns). */
    bool has_dns;
    size_t dns_n;
    size_t dns_listed;        /* rows kept in dns_rows */
    pm_dns_row *dns_rows;     /* sorted by severity: score down, then name */
    uint64_t dns_per_level[4];
    pm_dns_params dns_params;
} pm_model;

pm_model *pm_model_build(const pm_table *t, const pm_score_params *p);
/* The same, listing only the first `keep` conversations of each order
 * (0: all). Every conversation is still scored and counted per level; only
 * the listed ones are selected (O(n log keep)) and sorted, so a report of
 * the top 5 of a million conversations neither sorts nor holds a million
 * rows. */
pm_model *pm_model_build_top(const pm_table *t, const pm_score_params *p, size_t keep);
void pm_model_free(pm_model *m);
/* Scores and sorts the DNS pairs of d into m (the DNS section appears in
 * the outputs from then on); _top lists only the first `keep` (0: all). */
void pm_model_add_dns(pm_model *m, const pm_dns_table *d, const pm_dns_params *p);
void pm_model_add_dns_top(pm_model *m, const pm_dns_table *d, const pm_dns_params *p, size_t keep);

typedef struct pm_render_opts {
    const char *file;   /* capture file name as given, or NULL if unknown */
    unsigned top;       /* conversations listed in each part of the report */
    pm_lang lang;
    bool color;         /* ANSI colours (only for a terminal) */
    /* How the report was made, for the JSON summary (NULL: unknown). */
    const char *wireshark_version;
    const char *plugin_version;
    const pm_score_params *params;  /* NULL: the contract's defaults */
    bool no_tcp_health;             /* the TCP detector was turned off */
    /* JSON only. json_top: the limit the model was built with (0: none),
     * recorded in the settings. state: add each conversation's and pair's
     * raw state (counters, sketches, evidence) so that partial documents,
     * from shards of one capture, merge exactly (packetmancer-merge). */
    unsigned json_top;
    bool state;
    /* JSON only: the capture-duplicate window the table was fed with, in
     * the settings when has_dup_window (it changes what is counted, so
     * parts made with different windows must not merge). */
    bool has_dup_window;
    unsigned dup_window_ms;
} pm_render_opts;

void pm_render_report(const pm_model *m, const pm_render_opts *o, GString *out);

/* Appends the JSON document (pretty-printed, newline-terminated). Returns
 * false if the writer reported an internal inconsistency. */
bool pm_render_json(const pm_model *m, const pm_render_opts *o, GString *out);
/* The same, written to f as it is made: a document for a million
 * conversations never has to fit in memory. False also on a write error. */
bool pm_render_json_file(const pm_model *m, const pm_render_opts *o, FILE *f);

/* One line on the capture itself ("capture duplicated every packet:
 * counts corrected; ..."), in the report's language. */
void pm_capture_verdict(const pm_model *m, pm_lang lang, GString *out);

/* The display filter that shows a conversation in Wireshark, or with
 * events=true only its packets that carry a counted event. */
#define PM_FILTER_STRLEN 96
void pm_conv_filter(const pm_conv *c, bool events, char *buf, size_t len);

/* A copy of s that is safe to print on a terminal: each control character
 * (C0, DEL, C1: what escape sequences are made of), bidirectional control
 * (U+061C, U+200E/F, U+202A-E, U+2066-9) and line/paragraph separator
 * (U+2028/9) becomes '?', and each byte that is not valid UTF-8 becomes
 * U+FFFD. Free with g_free. */
char *pm_sanitize_terminal(const char *s);

#ifdef __cplusplus
}
#endif

#endif /* PM_REPORT_H */
