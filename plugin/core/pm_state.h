/* pm_state.h
 * The raw state of an analysis, carried in the JSON document (preference
 * packetmancer.json_state) so that documents made from shards of one
 * capture merge into the document of the whole capture: packetmancer-merge.
 *
 * Writing: pm_report.c calls the pm_state_json_* functions for each
 * conversation, DNS pair and the summary when pm_render_opts.state is set.
 * Reading: pm_state_load() takes one document back into a conversation
 * table and a DNS table, translating frame numbers through a shard's map;
 * several documents loaded into the same tables, then pm_table_renumber(),
 * give the tables a single run on the whole capture would have built.
 * docs/MERGE.md describes the format.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_STATE_H
#define PM_STATE_H

#include "pm_json.h"

#include "pm_core.h"
#include "pm_dns.h"
#include "pm_score.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the "state" objects; a reader refuses any other. */
#define PM_STATE_VERSION 1

/* Each writes a member "state" (an object) into the object being written. */
void pm_state_json_conv(pm_json *d, const pm_conv *c);
void pm_state_json_dns_pair(pm_json *d, const pm_dns_pair *p);
void pm_state_json_summary(pm_json *d, const pm_summary *s);

/* What a document says about how it was made: everything two documents
 * must agree on to be merged, and the rest. */
typedef struct pm_state_doc {
    char *schema;
    char *file;                  /* NULL when the document had null */
    char *wireshark_version;     /* NULL when null */
    char *plugin_version;        /* NULL when null */
    pm_lang lang;
    pm_score_params score;
    pm_dns_params dns;           /* the defaults when DNS health was off */
    bool tcp_health, dns_health; /* the "detectors" */
    unsigned json_top;
    /* The capture-duplicate window; documents made before it was written
     * have none. */
    bool has_dup_window;
    unsigned dup_window_ms;
    pm_summary summary;
    size_t conversations, dns_pairs;   /* how many it carried */
} pm_state_doc;

/* Loads one document. buf holds len bytes followed by a NUL and is
 * modified. Each conversation is added to t under a new stream number
 * (*next_stream, counted up: numbers of different shards collide, and
 * pm_table_renumber() gives the final ones); each DNS pair is added to d,
 * merged with the same pair if d has it (pm_dns_import); the summary is
 * merged into t's. With map (map_len entries), frame k of the document is
 * frame map[k-1] of the whole capture.
 * Returns false with a message in *err (free with g_free) when buf is not
 * a complete PacketMancer document with state, or a frame is beyond the
 * map; t and d may then hold part of the document. doc is filled in
 * either way as far as it was read; free its strings with
 * pm_state_doc_clear(). */
bool pm_state_load(char *buf, size_t len, const uint32_t *map, size_t map_len,
                   pm_table *t, pm_dns_table *d, uint32_t *next_stream,
                   pm_state_doc *doc, char **err);
void pm_state_doc_clear(pm_state_doc *doc);

/* NULL when a and b may be merged, else the name of the first setting in
 * which they differ ("schema", "plugin_version", "detectors",
 * "weight_retransmission", "dns_min_queries", "dup_window_ms", ...).
 * Language, file and json_top may differ. */
const char *pm_state_doc_mismatch(const pm_state_doc *a, const pm_state_doc *b);

/* ------------------------------------------------ table import APIs */

/* pm_table.c. Adds a copy of c (its sketches copied too) under
 * c->stream; NULL when the table already has that stream. */
pm_conv *pm_table_import(pm_table *t, const pm_conv *c);
/* Adds s to t's summary: counts summed, the earliest first and the latest
 * last time stamp. */
void pm_table_merge_summary(pm_table *t, const pm_summary *s);
/* Numbers the conversations as Wireshark numbers tcp.stream: by first
 * frame, from 0 (ties keep their order). Returns how many conversations
 * share their first frame with the one before: 0 for documents of one
 * capture with their frame maps. */
size_t pm_table_renumber(pm_table *t);

/* pm_dns.c. Adds a copy of p, or merges it into the same pair of t:
 * counts added, latency sketches merged exactly, top names merged as
 * Space-Saving summaries, unanswered names the latest by frame. A pair
 * normally lives in one shard; when it does not, the top and unanswered
 * names are approximate (docs/MERGE.md), every count is exact. */
pm_dns_pair *pm_dns_import(pm_dns_table *t, const pm_dns_pair *p);

#ifdef __cplusplus
}
#endif

#endif /* PM_STATE_H */
