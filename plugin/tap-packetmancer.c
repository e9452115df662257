/* tap-packetmancer.c
 * The three PacketMancer outputs, each a listener on the "packetmancer"
 * tap with its own conversation table (unless, unfiltered on the first
 * pass, it can read the dissector's), so a tap's display filter changes
 * only what that output sees:
 *
 *   -z packetmancer,report[,FILTER]   the human report      (stat_tap_ui)
 *   -z packetmancer,json[,FILTER]     the schema v1 JSON    (stat_tap_ui)
 *   -z packetmancer,tree[,FILTER]     a stats tree, also in the GUI's
 *                                     Statistics menu        (stats_tree)
 *
 * tshark matches -z arguments by prefix, so every init callback checks
 * what follows its own name, and a catch-all "packetmancer" entry refuses
 * anything that is not one of the three.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_glue.h"
#include "pm_output.h"
#include "pm_report.h"

#include <epan/epan.h>
#include <epan/stat_tap_ui.h>
#include <epan/stats_tree.h>
#include <epan/stats_tree_priv.h> /* st->filter: epan tells an init callback nothing else */
#include <epan/tap.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h> /* isatty */

#include "pm_version.h"

#define PM_TAP_USAGE "-z packetmancer,report|json|tree[,display filter]"


/* ------------------------------------------------------- command line */

/* tshark's own arguments, read once from /proc/self/cmdline. epan tells a
 * plugin neither the capture file's name nor the -z string a stats tree
 * was started with, so this is the only source of both; elsewhere (the
 * GUI, other systems) the list is empty and both checks step aside. */
static GPtrArray *
cmdline(void)
{
    static GPtrArray *args;
    gchar *buf = NULL;
    gsize len = 0;

    if (args)
        return args;
    args = g_ptr_array_new();
    if (g_file_get_contents("/proc/self/cmdline", &buf, &len, NULL)) {
        for (gsize i = 0; i < len; i += strlen(buf + i) + 1)
            g_ptr_array_add(args, buf + i); /* buf stays alive with args */
    }
    return args;
}

const char *
pm_capture_file(void)
{
    GPtrArray *args = cmdline();
    const char *name = NULL;

    for (guint i = 1; i < args->len; i++) {
        const char *a = g_ptr_array_index(args, i);
        const char *next = i + 1 < args->len ? g_ptr_array_index(args, i + 1) : NULL;
        size_t alen = strlen(a);

        if (g_str_has_prefix(a, "--read-file="))
            name = a + strlen("--read-file=");
        else if (strcmp(a, "--read-file") == 0 ||
                 (a[0] == '-' && a[1] != '-' && alen >= 2 && a[alen - 1] == 'r'))
            name = next ? next : name;  /* "-r FILE", "-qr FILE" */
        else if (a[0] == '-' && a[1] == 'r' && alen > 2)
            name = a + 2;               /* "-rFILE" */
    }
    return name;
}

/* Every "-z packetmancer,tree..." on the command line must be the tree
 * itself or the tree with a filter: tshark would run "packetmancer,treex"
 * as a tree without telling. */
static gboolean
tree_args_valid(void)
{
    GPtrArray *args = cmdline();

    for (guint i = 1; i + 1 < args->len; i++) {
        const char *a = g_ptr_array_index(args, i);
        const char *z = g_ptr_array_index(args, i + 1);

        if (strcmp(a, "-z") == 0 && g_str_has_prefix(z, "packetmancer,tree") &&
            z[strlen("packetmancer,tree")] != '\0' && z[strlen("packetmancer,tree")] != ',') {
            fprintf(stderr, "tshark: unknown PacketMancer output \"-z %s\"; use " PM_TAP_USAGE "\n", z);
            return FALSE;
        }
    }
    return TRUE;
}

/* ---------------------------------------------------- report and JSON */

typedef enum { OUT_REPORT, OUT_JSON } out_kind;

typedef struct pm_tap {
    out_kind kind;
    gboolean filtered;       /* a tap filter: only some records come */
    /* Records so far came from first passes only and there is no filter:
     * exactly what the dissector's table holds, so table stays empty and
     * the dissector's is read (one table, not two: half the memory and
     * per-packet work; on 2,000,000 packets, 27,000 conversations with
     * RTT sketches, ~120 MB). Later passes (tshark -2, Wireshark's retaps)
     * may see fewer frames (tshark -2 -R), so they fill table. */
    gboolean shared;
    pm_table *table;
    pm_dns_table *dns;
} pm_tap;

static void
tap_reset(void *tapdata)
{
    pm_tap *tap = tapdata;

    pm_table_reset(tap->table);
    pm_dns_table_reset(tap->dns);
    tap->shared = !tap->filtered;
}

static tap_packet_status
tap_packet(void *tapdata, packet_info *pinfo _U_, epan_dissect_t *edt _U_,
           const void *data, tap_flags_t flags _U_)
{
    pm_tap *tap = tapdata;
    const pm_tap_record *tr = data;
    const pm_packet *rec = &tr->pkt;

    /* The record, not PINFO_FD_VISITED, says whether it is a first pass's:
     * epan marks every frame visited before its taps run. */
    if (tap->shared && (!tr->in_file_table || !pm_glue_file_table())) {
        /* Never the case within one pass after a first-pass record: a
         * retap starts with tap_reset(). */
        tap->shared = FALSE;
        pm_table_reset(tap->table);
    }
    if (!tap->shared)
        pm_table_add(tap->table, rec, NULL);
    if (rec->dns)
        pm_dns_add(tap->dns, rec->dns, NULL, NULL, 0);
    return TAP_PACKET_DONT_REDRAW;
}

/* Writes the JSON document to path without ever leaving a partial file
 * there (pm_output). The document is streamed, never held whole in
 * memory. */
static gboolean
write_atomically(const char *path, const pm_model *m, const pm_render_opts *o)
{
    pm_output out;
    gboolean ok = pm_output_open(&out, path);
    gboolean rendered = TRUE;

    if (ok) {
        rendered = pm_render_json_file(m, o, out.f);
        ok = pm_output_close(&out, rendered);
    }
    if (!rendered)
        fprintf(stderr, "packetmancer: internal error while writing JSON; no document written\n");
    else if (!ok)
        fprintf(stderr, "packetmancer: cannot write the JSON document to %s: %s\n", path,
                g_strerror(errno));
    return ok;
}

static void
tap_draw(void *tapdata)
{
    pm_tap *tap = tapdata;
    /* Only what an output lists is selected and sorted: the report's top
     * N, the JSON's json_top (0: every conversation). */
    size_t keep = tap->kind == OUT_JSON ? pm_pref.json_top : MAX(pm_pref.top, 1);
    const pm_table *t = tap->shared && pm_glue_file_table() ? pm_glue_file_table() : tap->table;
    pm_model *m = pm_model_build_top(t, &pm_pref.score, keep);
    pm_dns_params dp;
    pm_render_opts o = {
        .file = pm_capture_file(),
        .top = pm_pref.top,
        .lang = (pm_lang)pm_pref.lang,
        .wireshark_version = epan_get_version(),
        .plugin_version = PM_VERSION,
        .params = &pm_pref.score,
        .no_tcp_health = pm_pref.tcp_health == PM_OFF,
        .json_top = pm_pref.json_top,
        .state = pm_pref.json_state == PM_ON,
        .has_dup_window = TRUE,
        .dup_window_ms = pm_pref.dup_window_ms,
    };

    if (pm_pref.dns_health == PM_ON) {
        pm_glue_dns_params(&dp);
        pm_model_add_dns_top(m, tap->dns, &dp, keep);
    }
    if (tap->kind == OUT_JSON) {
        if (pm_pref.json_output && pm_pref.json_output[0])
            write_atomically(pm_pref.json_output, m, &o);
        else if (!pm_render_json_file(m, &o, stdout))
            fprintf(stderr, "packetmancer: internal error or write error while writing JSON; "
                    "the document on standard output is incomplete\n");
    } else {
        GString *out = g_string_new(NULL);

        o.color = isatty(fileno(stdout));
        pm_render_report(m, &o, out);
        fwrite(out->str, 1, out->len, stdout);
        g_string_free(out, TRUE);
    }
    fflush(stdout);
    pm_model_free(m);
}

static void
tap_finish(void *tapdata)
{
    pm_tap *tap = tapdata;

    pm_table_free(tap->table);
    pm_dns_table_free(tap->dns);
    g_free(tap);
}

/* Parses "packetmancer,<name>[,filter]". Returns FALSE, with a message on
 * stderr, for anything else. */
static gboolean
parse_arg(const char *opt_arg, const char *prefix, const char **filter)
{
    size_t n = strlen(prefix);

    *filter = NULL;
    if (strncmp(opt_arg, prefix, n) != 0)
        return FALSE;
    if (opt_arg[n] == '\0')
        return TRUE;
    if (opt_arg[n] == ',') {
        *filter = opt_arg[n + 1] ? opt_arg + n + 1 : NULL;
        return TRUE;
    }
    return FALSE;
}

static PM_STAT_INIT_RET
start_output(const char *opt_arg, out_kind kind)
{
    const char *prefix = kind == OUT_JSON ? "packetmancer,json" : "packetmancer,report";
    const char *filter;
    pm_tap *tap;
    GString *err;

    if (!parse_arg(opt_arg, prefix, &filter)) {
        fprintf(stderr, "tshark: invalid \"-z %s\" argument; use " PM_TAP_USAGE "\n", opt_arg);
        PM_STAT_INIT_FAIL;
    }
    tap = g_new0(pm_tap, 1);
    tap->kind = kind;
    tap->filtered = filter != NULL;
    tap->shared = !tap->filtered;
    tap->table = pm_glue_table_new();
    tap->dns = pm_dns_table_new();
    err = register_tap_listener("packetmancer", tap, filter, TL_REQUIRES_NOTHING,
                                tap_reset, tap_packet, tap_draw, tap_finish);
    if (err) {
        fprintf(stderr, "tshark: couldn't register packetmancer tap: %s\n", err->str);
        g_string_free(err, TRUE);
        pm_table_free(tap->table);
        pm_dns_table_free(tap->dns);
        g_free(tap);
        PM_STAT_INIT_FAIL;
    }
    pm_tap_started();
    PM_STAT_INIT_OK;
}

static PM_STAT_INIT_RET
start_report(const char *opt_arg, void *userdata _U_)
{
#if PM_WS_AT_LEAST(4, 6)
    return start_output(opt_arg, OUT_REPORT);
#else
    start_output(opt_arg, OUT_REPORT);
#endif
}

static PM_STAT_INIT_RET
start_json(const char *opt_arg, void *userdata _U_)
{
#if PM_WS_AT_LEAST(4, 6)
    return start_output(opt_arg, OUT_JSON);
#else
    start_output(opt_arg, OUT_JSON);
#endif
}

/* Anything starting with "packetmancer" that no other entry claimed. */
static PM_STAT_INIT_RET
refuse_unknown(const char *opt_arg, void *userdata _U_)
{
    fprintf(stderr, "tshark: unknown PacketMancer output \"-z %s\"; use " PM_TAP_USAGE "\n",
            opt_arg);
    PM_STAT_INIT_FAIL;
}

/* ----------------------------------------------------------- stats tree */

/* Node layout:
 *   Conversations by level      HIGH / MEDIUM / LOW / OK (counts now)
 *   TCP events                  one child per event kind (ticks)
 *   Conversations (score)       one child per flow; count = its score;
 *                               below it "tcp.stream eq N" (packets, first
 *                               and last frame as Min/Max) and its events
 *                               (first/last frame, the first few by name)
 *   Conversations (packets)     per flow: packets, split C->S / S->C
 *   Conversations (bytes)       per flow: bytes, split C->S / S->C
 * Levels change as packets arrive, so level nodes are set, not ticked.
 * Each tree keeps its own state in st_tables, keyed by the stats_tree.
 * Like the report and the JSON, a lone unfiltered tree reads the
 * dissector's table on the first pass instead of filling its own (see
 * pm_st_state.shared); its per-conversation marks are the tree_* fields,
 * which only one tree can own, hence "lone".
 * Only the first tree_conversations conversations (and as many DNS pairs)
 * get nodes of their own: the tree holds every node until it is closed,
 * about 2 KB per conversation, and a million of them help nobody; each
 * new node is appended by walking its siblings (stats_tree.c), so many
 * are slow too. The others count in every total and under st_unnamed. */
static const char st_levels[] = "Conversations by level";
static const char st_events[] = "TCP events";
static const char st_convs[] = "Conversations (score)";
static const char st_by_packets[] = "Conversations (packets)";
static const char st_handshakes[] = "Handshakes";
static const char st_dns_levels[] = "DNS pairs by level";
static const char st_dns_msgs[] = "DNS messages";
static const char st_dns_pairs[] = "DNS pairs (score)";
static const char *const st_hs_names[4] = {
    "mid_stream (no SYN seen)", "complete", "refused (RST to SYN)", "no_answer",
};
static const char st_by_bytes[] = "Conversations (bytes)";
static const char st_unnamed[] = "Conversations not listed by name (tree_conversations)";
static const char st_dns_unnamed[] = "DNS pairs not listed by name (tree_conversations)";
/* tree_node of a conversation, user_node of a DNS pair, that has no nodes
 * of its own. */
#define ST_UNNAMED INT32_MIN

static const char *const st_event_names[PM_EV_COUNT] = {
    "Retransmissions", "Spurious retransmissions", "Out of order",
    "Zero window", "Duplicate ACK events (3rd dup ACK)", "Lost segments (not captured)",
    "Resets", "Zero-window probes",
};

typedef struct pm_st_state {
    pm_table *table;
    gboolean filtered;              /* a tree filter: only some records come */
    /* As pm_tap.shared: records so far came from first passes, unfiltered,
     * and this is the only tree, so table stays empty and the dissector's
     * table is read. Cleared for good (until a retap) on the first record
     * that breaks any of that. */
    gboolean shared;
    pm_dns_table *dns;
    guint64 dns_per_level[4];
    int node_dns_levels, node_dns_msgs, node_dns_pairs;
    guint32 last_frame;
    guint64 per_level[4];
    int node_levels, node_events, node_convs, node_packets, node_bytes, node_hs;
    guint64 per_hs[4];
    guint64 named, unnamed;         /* conversations with / without nodes */
    /* pm_conv* -> its node names ("flow\0tcp.stream eq N"), made once: the
     * tree finds nodes by name, and formatting the flow per packet cost
     * more than the lookups. Only named conversations are here. */
    GHashTable *names;
    guint64 dns_named, dns_unnamed; /* the same for DNS pairs */
} pm_st_state;

/* Whether a conversation or pair seen for the first time gets nodes of its
 * own, counting it either way. */
static gboolean
st_name_new(stats_tree *st, const char *node, guint64 *named, guint64 *unnamed)
{
    if (pm_pref.tree_conversations && *named >= pm_pref.tree_conversations) {
        ++*unnamed;
        set_stat_node(st, node, 0, TRUE, (gint)MIN(*unnamed, G_MAXINT));
        return FALSE;
    }
    ++*named;
    return TRUE;
}

static GHashTable *st_tables; /* stats_tree* -> pm_st_state* */

static void
st_init(stats_tree *st)
{
    pm_st_state *s;

    if (!tree_args_valid())
        exit(1);
    s = g_new0(pm_st_state, 1);
    /* tshark hands "packetmancer,tree," an empty filter, which filters
     * nothing; whitespace alone is counted as a filter, only costing the
     * shared table. */
    s->filtered = st->filter && st->filter[0];
    s->shared = !s->filtered;

    if (!st_tables)
        st_tables = g_hash_table_new(g_direct_hash, g_direct_equal);
    s->table = pm_glue_table_new();
    s->names = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    s->node_levels = stats_tree_create_node(st, st_levels, 0, STAT_DT_INT, TRUE);
    for (int l = PM_LEVEL_HIGH; l >= PM_LEVEL_OK; l--)
        stats_tree_create_node(st, pm_level_name((pm_level)l, PM_LANG_EN), s->node_levels,
                               STAT_DT_INT, FALSE);
    s->node_events = stats_tree_create_node(st, st_events, 0, STAT_DT_INT, TRUE);
    for (int i = 0; i < PM_EV_COUNT; i++)
        stats_tree_create_node(st, st_event_names[i], s->node_events, STAT_DT_INT, FALSE);
    s->node_hs = stats_tree_create_node(st, st_handshakes, 0, STAT_DT_INT, TRUE);
    for (int h = 0; h < 4; h++)
        stats_tree_create_node(st, st_hs_names[h], s->node_hs, STAT_DT_INT, FALSE);
    s->node_convs = stats_tree_create_node(st, st_convs, 0, STAT_DT_INT, TRUE);
    s->node_packets = stats_tree_create_node(st, st_by_packets, 0, STAT_DT_INT, TRUE);
    s->node_bytes = stats_tree_create_node(st, st_by_bytes, 0, STAT_DT_INT, TRUE);
    s->dns = pm_dns_table_new();
    if (pm_pref.dns_health == PM_ON) {
        s->node_dns_levels = stats_tree_create_node(st, st_dns_levels, 0, STAT_DT_INT, TRUE);
        for (int l = PM_LEVEL_HIGH; l >= PM_LEVEL_OK; l--)
            stats_tree_create_node(st, pm_level_name((pm_level)l, PM_LANG_EN), s->node_dns_levels,
                                   STAT_DT_INT, FALSE);
        s->node_dns_msgs = stats_tree_create_node(st, st_dns_msgs, 0, STAT_DT_INT, TRUE);
        s->node_dns_pairs = stats_tree_create_node(st, st_dns_pairs, 0, STAT_DT_INT, TRUE);
    }
    g_hash_table_insert(st_tables, st, s);
    pm_tap_started();
}

static void
st_cleanup(stats_tree *st)
{
    pm_st_state *s = st_tables ? g_hash_table_lookup(st_tables, st) : NULL;

    if (!s)
        return;
    g_hash_table_remove(st_tables, st);
    g_hash_table_destroy(s->names);
    pm_table_free(s->table);
    pm_dns_table_free(s->dns);
    g_free(s);
}

/* tree_value of a conversation: (score << 2) | level, +1 once shown. */
#define ST_SHOWN(u) ((u) != 0)
#define ST_LEVEL(u) (((u) - 1) & 3)
#define ST_SCORE(u) (((u) - 1) >> 2)
#define ST_OK_0 ((0u << 2 | (guint32)PM_LEVEL_OK) + 1)   /* shown: score 0, level OK */

/* Counts that move between buckets as packets arrive (a conversation's
 * level, its handshake outcome): one item leaves bucket `from` (-1 when it
 * is new) for bucket `to`; every bucket's node and the parent's total are
 * set again. The four buckets are named by names[]. */
static const char *const st_level_names[4] = { "OK", "LOW", "MEDIUM", "HIGH" };

static void
st_move(stats_tree *st, guint64 counts[4], const char *const names[4], int node,
        const char *parent, size_t total, int from, int to)
{
    if (from >= 0)
        counts[from]--;
    counts[to]++;
    for (int i = 0; i < 4; i++)
        set_stat_node(st, names[i], node, FALSE, (gint)MIN(counts[i], G_MAXINT));
    set_stat_node(st, parent, 0, TRUE, (gint)MIN(total, G_MAXINT));
}

/* DNS: pairs by level (set, like the TCP levels; user_value of a pair =
 * (score << 2 | level) + 1 once shown), messages by outcome (ticks), and
 * each pair's score. */
static void
st_dns(stats_tree *st, pm_st_state *s, const pm_dns_msg *m)
{
    static const char *const rc[PM_RC_COUNT] = {
        "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "other rcode",
    };
    unsigned flags = 0;
    pm_dns_pair *p = pm_dns_add(s->dns, m, &flags, NULL, 0);
    pm_dns_params dp;
    pm_dns_verdict v;
    guint32 score;

    pm_glue_dns_params(&dp);
    v = pm_dns_score(&dp, p);
    score = MIN(v.score, G_MAXUINT32 >> 3);
    tick_stat_node(st, st_dns_msgs, 0, TRUE);
    if (!m->response)
        tick_stat_node(st, m->retransmission ? "retransmitted queries" : "queries", s->node_dns_msgs, FALSE);
    else if (m->retransmission)
        tick_stat_node(st, "duplicate responses", s->node_dns_msgs, FALSE);
    else
        tick_stat_node(st, rc[m->rcode == 0 ? PM_RC_NOERROR : m->rcode == 3 ? PM_RC_NXDOMAIN :
                              m->rcode == 2 ? PM_RC_SERVFAIL : m->rcode == 5 ? PM_RC_REFUSED : PM_RC_OTHER],
                       s->node_dns_msgs, FALSE);
    if (flags)
        tick_stat_node(st, "suspicious query names", s->node_dns_msgs, FALSE);
    if (!ST_SHOWN(p->user_value) && !st_name_new(st, st_dns_unnamed, &s->dns_named, &s->dns_unnamed))
        p->user_node = ST_UNNAMED;
    if (!ST_SHOWN(p->user_value) || ST_LEVEL(p->user_value) != (guint32)v.level ||
        ST_SCORE(p->user_value) != score) {
        char name[PM_DNS_PAIR_STRLEN];

        st_move(st, s->dns_per_level, st_level_names, s->node_dns_levels, st_dns_levels,
                pm_dns_count(s->dns), ST_SHOWN(p->user_value) ? (int)ST_LEVEL(p->user_value) : -1,
                v.level);
        if (p->user_node != ST_UNNAMED) {
            pm_dns_pair_name(p, name, sizeof name);
            set_stat_node(st, name, s->node_dns_pairs, FALSE, (gint)MIN(score, G_MAXINT));
        }
        set_stat_node(st, st_dns_pairs, 0, TRUE, (gint)MIN(pm_dns_count(s->dns), G_MAXINT));
        p->user_value = ((score << 2) | (guint32)v.level) + 1;
    }
}

/* Forgets the TCP half of what the tree counted: its own table, the
 * buckets and the names, which are keyed by conversations of whichever
 * table was read. */
static void
st_forget_tcp(pm_st_state *s)
{
    pm_table_reset(s->table);
    memset(s->per_level, 0, sizeof s->per_level);
    memset(s->per_hs, 0, sizeof s->per_hs);
    s->named = s->unnamed = 0;
    g_hash_table_remove_all(s->names);
}

/* Moves c to its level's bucket and shows its score (under flow, its name
 * when it is listed, else NULL) where either changed. Returns its
 * handshake outcome. */
static pm_handshake
st_show_score(stats_tree *st, pm_st_state *s, pm_conv *c, const pm_table *table, const char *flow)
{
    pm_totals t;
    pm_verdict v;
    guint32 score;

    /* A conversation shown at score 0 and level OK stays there on a
     * packet that cannot raise it (pm_table_add's last_may_raise, for
     * this packet in either table): neither can fall. That is most
     * packets of a healthy capture, and scoring them bought nothing. */
    if (c->tree_value == ST_OK_0 && !c->last_may_raise)
        return pm_conv_handshake(c);
    pm_conv_totals(c, &pm_pref.score, &t);
    v = pm_score(&pm_pref.score, &t);
    score = MIN(v.score, G_MAXUINT32 >> 3);
    if (!ST_SHOWN(c->tree_value) || ST_LEVEL(c->tree_value) != (guint32)v.level ||
        ST_SCORE(c->tree_value) != score) {
        st_move(st, s->per_level, st_level_names, s->node_levels, st_levels,
                pm_table_count(table),
                ST_SHOWN(c->tree_value) ? (int)ST_LEVEL(c->tree_value) : -1, v.level);
        if (flow)
            c->tree_node = set_stat_node(st, flow, s->node_convs, TRUE, (gint)MIN(score, G_MAXINT));
        set_stat_node(st, st_convs, 0, TRUE, (gint)MIN(pm_table_count(table), G_MAXINT));
        c->tree_value = ((score << 2) | (guint32)v.level) + 1;
    }
    return t.handshake;
}

static tap_packet_status
st_packet(stats_tree *st, packet_info *pinfo, epan_dissect_t *edt _U_, const void *data,
          tap_flags_t flags _U_)
{
    pm_st_state *s = st_tables ? g_hash_table_lookup(st_tables, st) : NULL;
    const pm_tap_record *tr = data;
    const pm_packet *rec = &tr->pkt;
    const pm_table *table;
    pm_conv *c;
    pm_handshake hs;
    const char *flow = NULL, *filter = NULL;
    int dir = PM_C2S, node;
    gboolean named;

    if (!s)
        return TAP_PACKET_DONT_REDRAW;
    /* A retap starts again from frame 1: the tree's nodes were zeroed by
     * the stats tree itself, our table must follow. */
    if (pinfo->num <= s->last_frame) {
        st_forget_tcp(s);
        pm_dns_table_reset(s->dns);
        memset(s->dns_per_level, 0, sizeof s->dns_per_level);
        s->dns_named = s->dns_unnamed = 0;
        s->shared = !s->filtered;
    }
    s->last_frame = pinfo->num;
    if (s->shared && (!tr->in_file_table || !pm_glue_file_table() ||
                      g_hash_table_size(st_tables) != 1)) {
        /* In practice only on a pass's first record, right after the
         * reset above; anything shown from the shared table is forgotten
         * with it (names are keyed by its conversations). */
        s->shared = FALSE;
        st_forget_tcp(s);
    }

    if (rec->dns && s->node_dns_pairs)
        st_dns(st, s, rec->dns);
    if (s->shared) {
        table = pm_glue_file_table();
        c = rec->stream == PM_STREAM_NONE ? NULL : pm_table_lookup(table, rec->stream);
        dir = tr->dir;
    } else {
        table = s->table;
        c = pm_table_add(s->table, rec, &dir);
    }
    if (!c)
        return TAP_PACKET_DONT_REDRAW;
    if (!ST_SHOWN(c->tree_value) && !st_name_new(st, st_unnamed, &s->named, &s->unnamed))
        c->tree_node = ST_UNNAMED;
    named = c->tree_node != ST_UNNAMED;

    /* The conversations view: packets and bytes per flow and direction.
     * (Tree counts are 32-bit: a flow past 2 GiB saturates here, not in
     * the report or the JSON.) */
    if (named) {
        char *names = g_hash_table_lookup(s->names, c);

        if (!names) {
            char f[PM_FLOW_STRLEN];

            pm_conv_flow(c, f, sizeof f);
            names = g_strdup_printf("%s%ctcp.stream eq %u", f, '\0', c->stream);
            g_hash_table_insert(s->names, c, names);
        }
        flow = names;
        filter = names + strlen(names) + 1;
        node = increase_stat_node(st, flow, s->node_packets, TRUE, 1);
        tick_stat_node(st, dir == PM_C2S ? "C->S" : "S->C", node, FALSE);
        node = increase_stat_node(st, flow, s->node_bytes, TRUE, (gint)MIN(rec->length, G_MAXINT));
        increase_stat_node(st, dir == PM_C2S ? "C->S" : "S->C", node, FALSE,
                           (gint)MIN(rec->length, G_MAXINT));
    }
    increase_stat_node(st, st_by_packets, 0, TRUE, 1);
    increase_stat_node(st, st_by_bytes, 0, TRUE, (gint)MIN(rec->length, G_MAXINT));

    hs = st_show_score(st, s, c, table, flow);
    /* Handshake outcomes move as packets arrive (a SYN is "no_answer"
     * until the SYN-ACK): kept like the levels, tree_extra = shown + 1. */
    if (c->tree_extra != (guint8)hs + 1) {
        st_move(st, s->per_hs, st_hs_names, s->node_hs, st_handshakes, pm_table_count(table),
                c->tree_extra - 1, hs);
        c->tree_extra = (guint8)hs + 1;
    }
    /* RTT of the data this packet acknowledges: Count/Average/Min/Max in
     * microseconds (tree values are integers). */
    if (named && rec->ack_rtt_ms >= 0)
        avg_stat_node_add_value_int(st, dir == PM_C2S ? "RTT of S->C data (us)" : "RTT of C->S data (us)",
                                    c->tree_node, FALSE, (gint)MIN(rec->ack_rtt_ms * 1000.0, G_MAXINT));

    /* Evidence under the conversation: a node named by its display filter
     * whose count is its packets and whose Min/Max are its first and last
     * frames; per event kind the same, plus the first few frames by name. */
    if (named)
        avg_stat_node_add_value_int(st, filter, c->tree_node, FALSE, (gint)pinfo->num);
    for (int i = 0; i < PM_EV_COUNT; i++) {
        if (rec->events & (1u << i)) {
            int ev_node;

            tick_stat_node(st, st_events, 0, TRUE);
            tick_stat_node(st, st_event_names[i], s->node_events, FALSE);
            if (!named)
                continue;
            ev_node = avg_stat_node_add_value_int(st, st_event_names[i], c->tree_node, TRUE,
                                                  (gint)pinfo->num);
            if (c->evidence_n[i] <= PM_EVIDENCE_FRAMES &&
                c->evidence[i][c->evidence_n[i] - 1] == pinfo->num) {
                char frame[32];

                g_snprintf(frame, sizeof frame, "frame %u", pinfo->num);
                tick_stat_node(st, frame, ev_node, FALSE);
            }
        }
    }
    return TAP_PACKET_REDRAW;
}

/* -------------------------------------------------------- registration */

void
pm_register_taps(void)
{
    static stat_tap_ui report_ui = {
        REGISTER_STAT_GROUP_GENERIC, "PacketMancer report", "packetmancer,report",
        start_report, 0, NULL
    };
    static stat_tap_ui json_ui = {
        REGISTER_STAT_GROUP_GENERIC, "PacketMancer JSON", "packetmancer,json",
        start_json, 0, NULL
    };
    static stat_tap_ui unknown_ui = {
        REGISTER_STAT_GROUP_GENERIC, "PacketMancer", "packetmancer",
        refuse_unknown, 0, NULL
    };

    register_stat_tap_ui(&report_ui, NULL);
    register_stat_tap_ui(&json_ui, NULL);
    register_stat_tap_ui(&unknown_ui, NULL);
    /* Registered from proto_register rather than from a tap-plugin
     * callback, which sharkd never runs; and as a plugin tree, the only kind
     * Wireshark's Qt GUI adds to its Statistics menu from a plugin. */
    stats_tree_register_plugin("packetmancer", "packetmancer",
                        "PacketMancer" STATS_TREE_MENU_SEPARATOR "TCP health", 0,
                        st_packet, st_init, st_cleanup);
}
