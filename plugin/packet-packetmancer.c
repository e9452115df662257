/* packet-packetmancer.c
 * The PacketMancer postdissector: registration, preferences, per-packet
 * fields, and the hand-over of each frame to the core and the taps.
 *
 * Where a packet enters: dissect_packetmancer(). On the first pass it
 * reads the tcp.analysis.* fields Wireshark computed for the frame, turns
 * them into one pm_packet record, feeds this file's conversation table
 * (for the per-packet "score so far") and keeps a small per-frame snapshot.
 * On later passes (tshark -2, the GUI re-dissecting a clicked packet, a
 * retap) TCP's fields are not guaranteed any more, so it rebuilds the same
 * record from the snapshot. On every pass the record is queued on the
 * "packetmancer" tap (as a pm_tap_record, which says whether this table
 * already holds it): an output fed on the first pass without a filter
 * reads this table, any other keeps one of its own.
 *
 * What the fields say: on the first pass, the conversation's verdict so
 * far (a single pass cannot know the future); on later passes, when the
 * whole file has been read, its final verdict. packetmancer.final tells
 * which. Expert info marks the packet where a conversation first became
 * MEDIUM and where it became HIGH, with the same text on every pass.
 *
 * Cost: reading fields needs a protocol tree for every packet (+30% of
 * dissection in tshark). The fields are only asked for ("primed") when a
 * PacketMancer tap is listening, when running in the GUI, or when the
 * user sets packetmancer.analyze to "always"; otherwise the plugin
 * costs nothing.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_glue.h"
#include "pm_dns.h"
#include "pm_names.h"
#include "pm_report.h"

#include <epan/conversation.h>
#include <epan/dissectors/packet-tcp.h>
#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/proto_data.h>
#include <epan/tap.h>

#include <stdio.h>
#include <string.h>

pm_prefs pm_pref;
int pm_tap_id = -1;

static int proto_packetmancer = -1;
static dissector_handle_t pm_handle;

static int hf_pm_stream = -1;
static int hf_pm_flow = -1;
static int hf_pm_direction = -1;
static int hf_pm_score = -1;
static int hf_pm_level = -1;
static int hf_pm_severity = -1;
static int hf_pm_reason = -1;
static int hf_pm_event = -1;
static int hf_pm_final = -1;
static int hf_pm_filter = -1;
static int hf_pm_first_frame = -1;
static int hf_pm_last_frame = -1;
static int hf_pm_evidence = -1;
static int hf_pm_handshake = -1;
static int hf_pm_initial_rtt = -1;
static int hf_pm_duration = -1;
/* packetmancer.c2s.* and packetmancer.s2c.*: a summary item, then the
 * counters in pm_dir_counters order, then the RTT of that direction's data
 * (p50, p95, p99, max in ms, samples). Ids are set at registration. */
#define PM_DIR_COUNTERS 10
#define PM_DIR_FIELDS (1 + PM_DIR_COUNTERS + 5)
static int hf_pm_dir[2][PM_DIR_FIELDS];
static gint ett_pm = -1;
static gint ett_pm_dir = -1;
static gint ett_pm_evidence = -1;
static expert_field ei_pm_medium = EI_INIT;
static expert_field ei_pm_high = EI_INIT;

/* Foreign fields, resolved by name in the handoff and primed while
 * analysing: TCP's analysis, which only Wireshark knows. Header values
 * (flags, numbers, IP ID) are read from the packet's bytes instead, see
 * find_layers(); tcp.stream, the iRTT and the ACK's RTT are asked of TCP
 * itself, see tcp_stream_of() and ack_rtt_of() (tcp.stream's name is still
 * resolved: a Wireshark without it numbers no streams). */
enum {
    F_TCP_STREAM, F_FLAGS, F_RETX, F_FAST_RETX, F_SPURIOUS, F_OOO,
    F_ZERO_WINDOW, F_LOST, F_DUP_ACK_NUM, F_ZW_PROBE,
    F_ACK_LOST,
    F_DNS_RESPONSE, F_DNS_RCODE, F_DNS_TIME, F_DNS_RESPONSE_TO, F_DNS_QRY_NAME, F_DNS_RETX,
    F_COUNT
};
static const char *const foreign_names[F_COUNT] = {
    "tcp.stream", "tcp.analysis.flags",
    "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission", "tcp.analysis.out_of_order",
    "tcp.analysis.zero_window", "tcp.analysis.lost_segment",
    "tcp.analysis.duplicate_ack_num", "tcp.analysis.zero_window_probe",
    "tcp.analysis.ack_lost_segment",
    "dns.flags.response", "dns.flags.rcode", "dns.time", "dns.response_to", "dns.qry.name",
    "dns.retransmission",
};
static int foreign_hf[F_COUNT];

/* Protocols whose items are looked for at the top of the tree. */
enum { P_IP, P_IPV6, P_TCP, P_ICMP, P_ICMPV6, P_DNS, P_COUNT };
static const char *const proto_names[P_COUNT] = { "ip", "ipv6", "tcp", "icmp", "icmpv6", "dns" };
static int proto_ids[P_COUNT];
static gboolean foreign_ok;
static int tcp_tap_id;          /* TCP's tap ("tcp"), 0 when absent */

/* This file's conversation table, used only for the per-packet fields.
 * Built by the init routine when a file is opened (and on every
 * redissection), freed by the cleanup routine. */
static pm_table *file_table;
static pm_dns_table *file_dns;       /* the same, for DNS pairs */
static gboolean dns_ok;              /* this Wireshark has every DNS field */
static gboolean analyzing;      /* fields primed for this file */
static gboolean hinted;         /* the "fields are off" hint was printed */

/* What a later pass needs to re-tap a frame exactly as the first pass did
 * and to repeat its expert info: 12 bytes per frame, in blocks indexed by
 * frame number (frames are numbered 1, 2, ... as the first pass reads
 * them). The first version hung a 28-byte struct on each frame with
 * p_add_proto_data, 86 bytes a packet in all, measured: 16% on top of
 * tshark's own memory on a 10,000,000-packet conversation. */
typedef struct pm_frame {
    guint32 stream_1;       /* tcp.stream + 1; 0: no TCP record for this frame */
    float ack_rtt_ms;
    guint8 events;          /* PM_EV_* as counted (copies have none) */
    guint8 tcp_flags;
    guint8 dir : 1;
    guint8 copy : 1;        /* a capture duplicate */
    guint8 ack_lost : 1;
    guint8 has_irtt : 1;    /* the conversation had its iRTT by this frame */
    guint8 raised_to : 2;   /* PM_LEVEL_MEDIUM/HIGH if this frame raised the level */
} pm_frame;

G_STATIC_ASSERT(PM_EV_COUNT <= 8 && PM_LEVEL_HIGH <= 3);

#define PM_FRAME_BLOCK 65536u
static GPtrArray *frame_blocks;      /* of PM_FRAME_BLOCK pm_frame, zeroed */

static pm_frame *
frame_get(guint32 num, gboolean create)
{
    guint b = num / PM_FRAME_BLOCK;
    pm_frame *block;

    if (!frame_blocks)
        return NULL;
    if (b >= frame_blocks->len) {
        if (!create)
            return NULL;
        g_ptr_array_set_size(frame_blocks, b + 1);
    }
    block = g_ptr_array_index(frame_blocks, b);
    if (!block) {
        if (!create)
            return NULL;
        /* calloc: pages no frame touches are never made resident. */
        block = g_new0(pm_frame, PM_FRAME_BLOCK);
        g_ptr_array_index(frame_blocks, b) = block;
    }
    block += num % PM_FRAME_BLOCK;
    return create || block->stream_1 ? block : NULL;
}

/* Expert texts of the frames that raised a conversation's level (a few per
 * conversation), by frame number; file scope, emptied per file. */
static wmem_map_t *raise_texts;

#define TCP_FLAG_RST 0x004
#define TCP_FLAG_SYN 0x002
#define TCP_FLAG_ACK 0x010

static const value_string severity_vals[] = {
    { PM_LEVEL_OK, "OK" },
    { PM_LEVEL_LOW, "LOW" },
    { PM_LEVEL_MEDIUM, "MEDIUM" },
    { PM_LEVEL_HIGH, "HIGH" },
    { 0, NULL }
};

static const char *const event_names[PM_EV_COUNT] = {
    "retransmission", "spurious retransmission", "out of order", "zero window",
    "duplicate ACK event", "lost segment (not captured)", "reset", "zero window probe",
};

/* ------------------------------------------------------- field access */

static gboolean
field_present(proto_tree *tree, int hf)
{
    GPtrArray *a = hf > 0 ? proto_get_finfo_ptr_array(tree, hf) : NULL;

    return a && a->len > 0;
}

/* The last occurrence wins: with tunnels, the innermost TCP header is the
 * one pinfo's addresses describe. */
static gboolean
field_last_uint(proto_tree *tree, int hf, guint32 *out)
{
    GPtrArray *a = hf > 0 ? proto_get_finfo_ptr_array(tree, hf) : NULL;
    field_info *fi;

    if (!a || a->len == 0)
        return FALSE;
    fi = (field_info *)g_ptr_array_index(a, a->len - 1);
    /* Read a value only as the type it was registered with: fvalue
     * accessors abort the whole program on a mismatch. */
    switch (fi->hfinfo->type) {
    case FT_UINT8: case FT_UINT16: case FT_UINT24: case FT_UINT32: case FT_FRAMENUM:
        *out = fvalue_get_uinteger(PM_FVALUE(fi));
        return TRUE;
    case FT_BOOLEAN:
        *out = fvalue_get_uinteger64(PM_FVALUE(fi)) != 0;
        return TRUE;
    default:
        return FALSE;
    }
}

/* A relative-time field (ack_rtt, initial_rtt) in milliseconds, or -1. */
static float
field_last_ms(proto_tree *tree, int hf)
{
    GPtrArray *a = hf > 0 ? proto_get_finfo_ptr_array(tree, hf) : NULL;
    const nstime_t *t;
    field_info *fi;

    if (!a || a->len == 0)
        return -1.0f;
    fi = (field_info *)g_ptr_array_index(a, a->len - 1);
    if (fi->hfinfo->type != FT_RELATIVE_TIME)
        return -1.0f;
    t = fvalue_get_time(PM_FVALUE(fi));
    return t ? (float)(nstime_to_msec(t)) : -1.0f;
}

static gboolean
endpoint_from(const address *addr, guint32 port, pm_endpoint *e)
{
    memset(e, 0, sizeof *e);
    if (addr->type == AT_IPv4 && addr->len == 4) {
        e->family = 4;
        memcpy(e->addr, addr->data, 4);
    } else if (addr->type == AT_IPv6 && addr->len == 16) {
        e->family = 6;
        memcpy(e->addr, addr->data, 16);
    } else {
        return FALSE;
    }
    e->port = (guint16)port;
    return TRUE;
}


/* Microseconds since the epoch, saturated: a crafted pcapng can carry a
 * time stamp of 2^62 s, whose microseconds do not fit in 64 bits. */
static gint64
ts_us_of(const nstime_t *t)
{
    if (t->secs > G_MAXINT64 / 1000000 - 1)
        return G_MAXINT64;
    if (t->secs < G_MININT64 / 1000000 + 1)
        return G_MININT64;
    return (gint64)t->secs * 1000000 + t->nsecs / 1000;
}

static void
record_common(packet_info *pinfo, pm_packet *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->ack_rtt_ms = rec->initial_rtt_ms = -1.0f;
    rec->frame = pinfo->num;
    rec->stream = PM_STREAM_NONE;
    rec->length = pinfo->fd->pkt_len;
    rec->truncated = pinfo->fd->cap_len < pinfo->fd->pkt_len;
    rec->ts_us = ts_us_of(&pinfo->abs_ts);
}

/* The frame's protocol items at the top of the tree. Those exist whenever
 * a tree does (the tree is never faked at its root), so finding them costs
 * a walk over a handful of siblings. Priming ip.id, tcp.seq, tcp.ack,
 * tcp.window_size_value, tcp.len and tcp.flags instead made IP and TCP
 * build six more items per packet: about 16,600 instructions a packet,
 * measured with callgrind, more than tshark's whole TCP analysis adds. */
typedef struct pm_layers {
    field_info *tcp;      /* the innermost TCP header: the one pinfo describes */
    field_info *ip;       /* the IPv4/IPv6 header that carried it, or NULL */
    gboolean icmp;        /* an ICMP message (headers it quotes are not traffic) */
    gboolean dns;         /* unicast DNS, not mDNS or LLMNR */
} pm_layers;

static void
find_layers(proto_tree *tree, pm_layers *l)
{
    field_info *ip = NULL;

    memset(l, 0, sizeof *l);
    for (proto_node *n = tree ? tree->first_child : NULL; n; n = n->next) {
        field_info *fi = PNODE_FINFO(n);
        int id;

        if (!fi || !fi->hfinfo)
            continue;
        id = fi->hfinfo->id;
        if (id == proto_ids[P_IP] || id == proto_ids[P_IPV6]) {
            ip = fi;
        } else if (id == proto_ids[P_TCP]) {
            l->tcp = fi;
            l->ip = ip;
        } else if (id == proto_ids[P_ICMP] || id == proto_ids[P_ICMPV6]) {
            l->icmp = TRUE;
        } else if (id == proto_ids[P_DNS]) {
            l->dns = TRUE;
        }
    }
}

static guint64
fnv_bytes(guint64 h, guint32 v, int n)
{
    for (int b = 0; b < n; b++)
        h = (h ^ ((v >> (8 * b)) & 0xff)) * 1099511628211ull;
    return h;
}

/* The TCP header's flags and the frame's fingerprint, read from the bytes
 * under the innermost "tcp" item (field_info.start is an offset in
 * field_info.ds_tvb). The fingerprint is what makes a frame the same frame
 * to a capture: IPv4 ID, raw sequence and acknowledgment numbers, flags,
 * window and payload length (FNV-1a; never 0, which means "unknown" and
 * is what a header outside the captured bytes gets). Payload length is
 * what tcp.len says: the IP datagram's end (its total or payload length,
 * but not past the frame's reported end) minus the TCP header's end, or the
 * end of the data when IP does not say (segmentation offload, jumbograms,
 * reassembled fragments). All of it is in the header's first 16 bytes,
 * which is also what TCP needs to number a segment: a frame cut after
 * them by the snap length still has its flags and fingerprint. */
static tvbuff_t *
tcp_header_tvb(const pm_layers *l)
{
    tvbuff_t *t = l->tcp ? l->tcp->ds_tvb : NULL;

    return t && l->tcp->start >= 0 && tvb_bytes_exist(t, l->tcp->start, 16) ? t : NULL;
}

static void
tcp_header_facts(const pm_layers *l, guint32 *flags, guint64 *fp)
{
    tvbuff_t *t;
    gint o, end;
    guint32 v[5];
    guint64 h = 14695981039346656037ull;

    *flags = 0;
    *fp = 0;
    if (!(t = tcp_header_tvb(l)))
        return;
    o = l->tcp->start;
    *flags = tvb_get_ntohs(t, o + 12) & 0x0fff;
    v[0] = 0xffffffffu;                  /* IPv6 has no IP ID */
    v[1] = tvb_get_ntohl(t, o + 4);
    v[2] = tvb_get_ntohl(t, o + 8);
    v[3] = tvb_get_ntohs(t, o + 14);
    end = (gint)tvb_reported_length(t);
    if (l->ip && l->ip->ds_tvb && l->ip->start >= 0 && tvb_bytes_exist(l->ip->ds_tvb, l->ip->start, 20)) {
        tvbuff_t *it = l->ip->ds_tvb;
        gint i = l->ip->start;
        guint version = tvb_get_ntohs(it, i) >> 12;
        guint16 length = tvb_get_ntohs(it, i + (version == 4 ? 2 : 4));

        if (version == 4)
            v[0] = tvb_get_ntohs(it, i + 4);
        /* Only a header in the same bytes as TCP's gives its end, and
         * never past the frame's (IP cut by the sender: Wireshark's
         * tcp.len stops there too). */
        if (it == t && i < o && length != 0) {
            if (version == 4)
                end = MIN(end, i + length);
            else if (version == 6)
                end = MIN(end, i + 40 + length);
        }
    }
    o += (tvb_get_ntohs(t, o + 12) >> 12) * 4;
    v[4] = end > o ? (guint32)(end - o) : 0;
    for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
        h = fnv_bytes(h, v[i], 4);
    h = fnv_bytes(h, *flags, 2);
    *fp = h ? h : 1;
}

/* TCP's own state for the frame's conversation: the conversation TCP
 * itself found or made for these addresses and ports at this frame. */
static const struct tcp_analysis *
tcp_conversation(packet_info *pinfo)
{
    conversation_t *conv = find_conversation_pinfo(pinfo, 0);

    return conv ? (const struct tcp_analysis *)conversation_get_proto_data(conv, proto_ids[P_TCP])
                : NULL;
}

/* The frame's tcp.stream without asking for the field: priming tcp.stream
 * made TCP build a real item for it on every segment, ~1,300 instructions
 * a packet (callgrind), 1.5% of tshark's whole work. TCP hands the same
 * number to its tap listeners (tcp_info_t.th_stream) for every segment it
 * gets past the options of; the innermost header is queued last. A segment
 * whose options are cut by the snap length throws before that, yet TCP
 * has already numbered it, so such a frame, or one read while no tap
 * listens, asks TCP's conversation for the number. TCP numbers a segment
 * once it has read the first 16 bytes of its header (ports to window),
 * even one it then rejects (a bogus data offset); with fewer it throws
 * before, and the frame is no segment here either. *tcpd is the
 * conversation's state when it was asked for, else NULL. */
static gboolean
tcp_stream_of(packet_info *pinfo, const pm_layers *l, guint32 *stream,
              const struct tcp_analysis **tcpd, gboolean *tapped)
{
    const tcp_info_t *th = NULL, *d;

    *tcpd = NULL;
    *tapped = FALSE;
    for (int i = 0; tcp_tap_id > 0 && (d = (const tcp_info_t *)fetch_tapped_data(tcp_tap_id, i)); i++)
        th = d;
    if (th && th->th_sport == pinfo->srcport && th->th_dport == pinfo->destport) {
        *stream = th->th_stream;
        *tapped = TRUE;
        return TRUE;
    }
    if (!tcp_header_tvb(l) || !(*tcpd = tcp_conversation(pinfo)))
        return FALSE;
    *stream = (*tcpd)->stream;
    return TRUE;
}

/* Whether TCP has shown its SEQ/ACK analysis for this frame, and so left
 * this frame's acknowledgment record in tcpd->ta: TCP clears that pointer
 * when it finds the conversation and sets it (or not) right before it adds
 * the analysis items, which it reaches once the whole header, options
 * included, is captured and its data offset is at least 5 words (a SYN-ACK
 * cut inside its options by the snap length shows no ACK RTT: checked on
 * tshark 4.0 with cuts at every 2 bytes). It queues its tap data after
 * that, so a frame it tapped got there. */
static gboolean
tcp_analysis_shown(const pm_layers *l, gboolean tapped)
{
    tvbuff_t *t;
    guint hlen;

    if (tapped)
        return TRUE;
    if (!(t = tcp_header_tvb(l)))
        return FALSE;
    hlen = (tvb_get_ntohs(t, l->tcp->start + 12) >> 12) * 4u;
    return hlen >= 20 && tvb_bytes_exist(t, l->tcp->start, (gint)hlen);
}

/* tcp.analysis.ack_rtt without asking for the field: primed, it cost ~600
 * instructions a packet (a real item on every ACK of data, and its
 * lookup). TCP shows the time of the frame's acknowledgment record when
 * the record names the frame it acknowledges and the time is not zero. */
static float
ack_rtt_of(const struct tcp_analysis *tcpd)
{
    const struct tcp_acked *ta = tcpd ? tcpd->ta : NULL;

    if (!ta || !ta->frame_acked || nstime_is_zero(&ta->ts))
        return -1.0f;
    return (float)nstime_to_msec(&ta->ts);
}

/* First pass: the frame's TCP facts from the primed fields and the
 * header's bytes. Returns FALSE when the frame is not a segment of a TCP
 * conversation. *tcpd: see tcp_stream_of(); *shown: see
 * tcp_analysis_shown(). */
static gboolean
record_from_tree(proto_tree *tree, packet_info *pinfo, const pm_layers *l, pm_packet *rec,
                 const struct tcp_analysis **tcpd, gboolean *shown)
{
    pm_analysis_flags f;
    guint32 stream, flags = 0;
    gboolean tapped;

    /* A TCP header quoted inside an ICMP error is not a segment of the
     * conversation; counting it would invent packets and events. */
    *tcpd = NULL;
    if (!tree || !l->tcp || l->icmp)
        return FALSE;
    if (!endpoint_from(&pinfo->src, pinfo->srcport, &rec->src) ||
        !endpoint_from(&pinfo->dst, pinfo->destport, &rec->dst))
        return FALSE;
    if (!tcp_stream_of(pinfo, l, &stream, tcpd, &tapped))
        return FALSE;
    *shown = tcp_analysis_shown(l, tapped);

    memset(&f, 0, sizeof f);
    tcp_header_facts(l, &flags, &rec->fingerprint);
    if (flags & TCP_FLAG_SYN) f.tcp_flags |= PM_TCP_SYN;
    if (flags & TCP_FLAG_ACK) f.tcp_flags |= PM_TCP_ACK;
    if (flags & TCP_FLAG_RST) f.tcp_flags |= PM_TCP_RST;
    /* TCP adds its analysis flags item, and every event and the
     * duplicate-ACK number under it, only to a segment with a flag set:
     * most segments have none, and each field asked for costs a hash
     * lookup (~100 instructions), so one answers for nine. */
    if (field_present(tree, foreign_hf[F_FLAGS])) {
        f.retransmission = field_present(tree, foreign_hf[F_RETX]);
        f.fast_retransmission = field_present(tree, foreign_hf[F_FAST_RETX]);
        f.spurious_retransmission = field_present(tree, foreign_hf[F_SPURIOUS]);
        f.out_of_order = field_present(tree, foreign_hf[F_OOO]);
        f.zero_window = field_present(tree, foreign_hf[F_ZERO_WINDOW]);
        f.lost_segment = field_present(tree, foreign_hf[F_LOST]);
        f.zero_window_probe = field_present(tree, foreign_hf[F_ZW_PROBE]);
        field_last_uint(tree, foreign_hf[F_DUP_ACK_NUM], &f.duplicate_ack_num);
        rec->ack_lost = field_present(tree, foreign_hf[F_ACK_LOST]);
    }

    rec->stream = stream;
    rec->tcp_flags = f.tcp_flags;
    rec->events = pm_events_from_analysis(&f);
    rec->dup_ack_num = f.duplicate_ack_num;
    return TRUE;
}

/* ------------------------------------------------------------ the tree */

static void
add_reason(const char *text, void *user)
{
    proto_item *pi = proto_tree_add_string((proto_tree *)user, hf_pm_reason, NULL, 0, 0, text);

    proto_item_set_generated(pi);
}

static void
add_dir_counters(proto_tree *tree, tvbuff_t *tvb, int dir, const pm_conv *c)
{
    const pm_dir_counters *d = &c->dir[dir];
    const guint64 v[PM_DIR_COUNTERS] = {
        d->packets, d->bytes, d->retransmissions, d->spurious_retransmissions,
        d->out_of_order, d->zero_window_events, d->duplicate_ack_events,
        d->lost_segments, d->resets, d->zero_window_probes,
    };
    proto_item *ti, *pi;
    proto_tree *st;
    pm_rtt_stats r;

    ti = proto_tree_add_none_format(tree, hf_pm_dir[dir][0], tvb, 0, 0,
            "%s: %" G_GUINT64_FORMAT " packets, %u retransmissions, %u zero windows",
            dir == PM_C2S ? "Client to server" : "Server to client",
            d->packets, d->retransmissions, d->zero_window_events);
    proto_item_set_generated(ti);
    st = proto_item_add_subtree(ti, ett_pm_dir);
    for (int i = 1; i <= PM_DIR_COUNTERS; i++) {
        pi = proto_tree_add_uint64(st, hf_pm_dir[dir][i], tvb, 0, 0, v[i - 1]);
        proto_item_set_generated(pi);
    }
    if (pm_conv_rtt(c, dir, &r)) {
        const double ms[4] = { r.p50_ms, r.p95_ms, r.p99_ms, r.max_ms };

        for (int i = 0; i < 4; i++) {
            pi = proto_tree_add_double_format_value(st, hf_pm_dir[dir][1 + PM_DIR_COUNTERS + i], tvb,
                                                    0, 0, ms[i], "%.3f", ms[i]);
            proto_item_set_generated(pi);
        }
        pi = proto_tree_add_uint64(st, hf_pm_dir[dir][PM_DIR_FIELDS - 1], tvb, 0, 0, r.samples);
        proto_item_set_generated(pi);
    }
}

static void
add_evidence(proto_tree *tree, tvbuff_t *tvb, const pm_conv *c)
{
    char filter[PM_FILTER_STRLEN];
    gboolean any = FALSE;
    proto_item *ti, *pi;
    proto_tree *st;

    for (int i = 0; i < PM_EV_COUNT; i++)
        any = any || c->evidence_n[i] > 0;
    pm_conv_filter(c, any, filter, sizeof filter);
    ti = proto_tree_add_string(tree, hf_pm_filter, tvb, 0, 0, filter);
    proto_item_set_generated(ti);
    st = proto_item_add_subtree(ti, ett_pm_evidence);
    pi = proto_tree_add_uint(st, hf_pm_first_frame, tvb, 0, 0, c->first_frame);
    proto_item_set_generated(pi);
    pi = proto_tree_add_uint(st, hf_pm_last_frame, tvb, 0, 0, c->last_frame);
    proto_item_set_generated(pi);
    for (int i = 0; i < PM_EV_COUNT; i++) {
        for (int j = 0; j < c->evidence_n[i]; j++) {
            pi = proto_tree_add_uint_format_value(st, hf_pm_evidence, tvb, 0, 0, c->evidence[i][j],
                                                  "%u (%s)", c->evidence[i][j], event_names[i]);
            proto_item_set_generated(pi);
        }
    }
}

/* The only function that writes tree items. c is the conversation as it
 * stands: so far on the first pass, final afterwards. */
static proto_item *
write_tree(proto_tree *tree, tvbuff_t *tvb, const pm_frame *fr, const pm_conv *c, gboolean final)
{
    pm_totals t;
    pm_verdict v;
    const char *level;
    char flow[PM_FLOW_STRLEN];
    proto_item *ti, *pi;
    proto_tree *st;

    pm_conv_totals(c, &pm_pref.score, &t);
    v = pm_score(&pm_pref.score, &t);
    level = pm_level_name(v.level, PM_LANG_EN);
    pm_conv_flow(c, flow, sizeof flow);

    ti = proto_tree_add_item(tree, proto_packetmancer, tvb, 0, 0, ENC_NA);
    proto_item_append_text(ti, ": %s, score %u%s, %s", level, v.score,
                           final ? "" : " so far", flow);
    st = proto_item_add_subtree(ti, ett_pm);

    pi = proto_tree_add_uint(st, hf_pm_stream, tvb, 0, 0, fr->stream_1 - 1);
    proto_item_set_generated(pi);
    pi = proto_tree_add_string(st, hf_pm_flow, tvb, 0, 0, flow);
    proto_item_set_generated(pi);
    pi = proto_tree_add_string(st, hf_pm_direction, tvb, 0, 0, fr->dir == PM_C2S ? "c2s" : "s2c");
    proto_item_set_generated(pi);
    pi = proto_tree_add_boolean(st, hf_pm_final, tvb, 0, 0, final);
    proto_item_set_generated(pi);
    pi = proto_tree_add_uint(st, hf_pm_score, tvb, 0, 0, v.score);
    proto_item_set_generated(pi);
    pi = proto_tree_add_string(st, hf_pm_level, tvb, 0, 0, level);
    proto_item_set_generated(pi);
    pi = proto_tree_add_uint(st, hf_pm_severity, tvb, 0, 0, v.level);
    proto_item_set_generated(pi);
    pm_reasons(&v, &t, PM_LANG_EN, add_reason, st);
    for (int i = 0; i < PM_EV_COUNT; i++) {
        if (fr->events & (1u << i)) {
            pi = proto_tree_add_string(st, hf_pm_event, tvb, 0, 0, event_names[i]);
            proto_item_set_generated(pi);
        }
    }
    pi = proto_tree_add_string(st, hf_pm_handshake, tvb, 0, 0, pm_handshake_name(t.handshake));
    proto_item_set_generated(pi);
    if (c->initial_rtt_ms >= 0) {
        /* Carried as float (4 bytes per frame): show what it means. */
        pi = proto_tree_add_double_format_value(st, hf_pm_initial_rtt, tvb, 0, 0, c->initial_rtt_ms,
                                                "%.3f", c->initial_rtt_ms);
        proto_item_set_generated(pi);
    }
    pi = proto_tree_add_uint64(st, hf_pm_duration, tvb, 0, 0, pm_conv_duration_ms(c));
    proto_item_set_generated(pi);
    add_dir_counters(st, tvb, PM_C2S, c);
    add_dir_counters(st, tvb, PM_S2C, c);
    add_evidence(st, tvb, c);
    return ti;
}

/* --------------------------------------------------------- dissection */

/* First pass: did this packet raise its conversation to MEDIUM or HIGH for
 * the first time? The dissector's own table keeps the highest level
 * reached in user_value. If so, keep the expert text for later passes. */
static guint8
note_raise(pm_conv *c, guint32 frame)
{
    pm_totals t;
    pm_verdict v;
    char flow[PM_FLOW_STRLEN], reasons[256];

    pm_conv_totals(c, &pm_pref.score, &t);
    v = pm_score(&pm_pref.score, &t);
    if (v.level < PM_LEVEL_MEDIUM || (guint32)v.level <= c->user_value)
        return 0;
    c->user_value = v.level;
    pm_conv_flow(c, flow, sizeof flow);
    pm_reasons_join(&v, &t, PM_LANG_EN, reasons, sizeof reasons);
    wmem_map_insert(raise_texts, GUINT_TO_POINTER(frame),
                    wmem_strdup_printf(wmem_file_scope(), "Conversation %s reached %s (score %u)%s%s",
                                       flow, pm_level_name(v.level, PM_LANG_EN), v.score,
                                       reasons[0] ? ": " : "", reasons));
    return (guint8)v.level;
}

static void
add_expert(packet_info *pinfo, proto_item *ti, const pm_frame *fr)
{
    const char *text = wmem_map_lookup(raise_texts, GUINT_TO_POINTER(pinfo->num));

    if (text)
        expert_add_info_format(pinfo, ti, fr->raised_to == PM_LEVEL_HIGH ? &ei_pm_high : &ei_pm_medium,
                               "%s", text);
}

/* ---------------------------------------------------------------- DNS */

pm_table *
pm_glue_table_new(void)
{
    pm_table *t = pm_table_new();

    pm_table_set_dup_window(t, (gint64)pm_pref.dup_window_ms * 1000);
    return t;
}

void
pm_glue_dns_params(pm_dns_params *out)
{
    *out = pm_pref.dns;
}

static int hf_pm_dns_pair = -1;
static int hf_pm_dns_score = -1;
static int hf_pm_dns_level = -1;
static int hf_pm_dns_severity = -1;
static int hf_pm_dns_reason = -1;
static int hf_pm_dns_outcome = -1;
static int hf_pm_dns_latency = -1;
static int hf_pm_dns_suspicious = -1;
static int hf_pm_dns_final = -1;
static gint ett_pm_dns = -1;

/* A DNS message as a later pass needs it (file scope, with its name). */
typedef struct pm_dns_frame {
    pm_dns_msg msg;
    const char *why;     /* suspicious-name reason, or NULL */
} pm_dns_frame;

/* First pass: the DNS message of this frame from the primed fields, in the
 * packet's pool. FALSE when the frame carries none. */
static gboolean
dns_from_tree(proto_tree *tree, packet_info *pinfo, const pm_layers *l, pm_dns_msg *m)
{
    guint32 response = 0, rcode = 0, to = 0;
    GPtrArray *a;

    /* mDNS and LLMNR reuse the dns.* fields under protocols of their own;
     * only unicast DNS is a resolver's health. The protocol item is found
     * by the walk over the tree's top, before any field lookup. */
    if (!l->dns)
        return FALSE;
    if (!tree || !field_last_uint(tree, foreign_hf[F_DNS_RESPONSE], &response))
        return FALSE;
    if (l->icmp)
        return FALSE;   /* a DNS message quoted in an ICMP error */
    memset(m, 0, sizeof *m);
    if (!endpoint_from(&pinfo->src, pinfo->srcport, &m->src) ||
        !endpoint_from(&pinfo->dst, pinfo->destport, &m->dst))
        return FALSE;
    m->frame = pinfo->num;
    m->ts_us = ts_us_of(&pinfo->abs_ts);
    m->response = response != 0;
    m->tcp = l->tcp != NULL;
    m->retransmission = field_present(tree, foreign_hf[F_DNS_RETX]);
    field_last_uint(tree, foreign_hf[F_DNS_RCODE], &rcode);
    m->rcode = (guint8)MIN(rcode, 255);
    field_last_uint(tree, foreign_hf[F_DNS_RESPONSE_TO], &to);
    m->response_to = to;
    m->time_ms = field_last_ms(tree, foreign_hf[F_DNS_TIME]);
    a = foreign_hf[F_DNS_QRY_NAME] > 0 ? proto_get_finfo_ptr_array(tree, foreign_hf[F_DNS_QRY_NAME]) : NULL;
    if (a && a->len > 0 &&
        ((field_info *)g_ptr_array_index(a, 0))->hfinfo->type == FT_STRING) {
        /* The first question: a query has one in practice. */
        const char *name = fvalue_get_string(PM_FVALUE((field_info *)g_ptr_array_index(a, 0)));

        if (name) {
            m->name = wmem_strdup(pinfo->pool, name);
            m->name_len = strlen(m->name);
        }
    }
    return TRUE;
}

static const char *
dns_outcome(const pm_dns_msg *m)
{
    static const char *const rc[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                      "REFUSED" };

    if (!m->response)
        return m->retransmission ? "retransmitted query" : "query";
    if (m->retransmission)
        return "duplicate response";
    return m->rcode < G_N_ELEMENTS(rc) ? rc[m->rcode] : "other rcode";
}

static void
add_dns_reason(const char *text, void *user)
{
    proto_item *pi = proto_tree_add_string((proto_tree *)user, hf_pm_dns_reason, NULL, 0, 0, text);

    proto_item_set_generated(pi);
}

static void
write_dns_tree(proto_tree *tree, tvbuff_t *tvb, const pm_dns_frame *df, const pm_dns_pair *p,
               gboolean final)
{
    pm_dns_params params;
    pm_dns_verdict v;
    char name[PM_DNS_PAIR_STRLEN];
    const char *level;
    proto_item *ti, *pi;
    proto_tree *st;

    pm_glue_dns_params(&params);
    v = pm_dns_score(&params, p);
    level = pm_level_name(v.level, PM_LANG_EN);
    pm_dns_pair_name(p, name, sizeof name);
    ti = proto_tree_add_item(tree, proto_packetmancer, tvb, 0, 0, ENC_NA);
    proto_item_append_text(ti, " DNS: %s, score %u%s, %s", level, v.score, final ? "" : " so far", name);
    st = proto_item_add_subtree(ti, ett_pm_dns);
    pi = proto_tree_add_string(st, hf_pm_dns_pair, tvb, 0, 0, name);
    proto_item_set_generated(pi);
    pi = proto_tree_add_boolean(st, hf_pm_dns_final, tvb, 0, 0, final);
    proto_item_set_generated(pi);
    pi = proto_tree_add_uint(st, hf_pm_dns_score, tvb, 0, 0, v.score);
    proto_item_set_generated(pi);
    pi = proto_tree_add_string(st, hf_pm_dns_level, tvb, 0, 0, level);
    proto_item_set_generated(pi);
    pi = proto_tree_add_uint(st, hf_pm_dns_severity, tvb, 0, 0, v.level);
    proto_item_set_generated(pi);
    pm_dns_reasons(&v, p, PM_LANG_EN, add_dns_reason, st);
    pi = proto_tree_add_string(st, hf_pm_dns_outcome, tvb, 0, 0, dns_outcome(&df->msg));
    proto_item_set_generated(pi);
    if (df->msg.response && df->msg.time_ms >= 0) {
        pi = proto_tree_add_double_format_value(st, hf_pm_dns_latency, tvb, 0, 0, df->msg.time_ms,
                                                "%.3f", df->msg.time_ms);
        proto_item_set_generated(pi);
    }
    if (df->why) {
        pi = proto_tree_add_string(st, hf_pm_dns_suspicious, tvb, 0, 0, df->why);
        proto_item_set_generated(pi);
    }
}

/* The DNS half of the dispatcher: like the TCP half, read on the first
 * pass, remembered for later ones; the message rides on the tap record. */
static void
dissect_dns_part(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, const pm_layers *l,
                 gboolean shown, pm_packet *rec)
{
    pm_dns_frame *df = NULL;
    const pm_dns_pair *p = NULL;
    gboolean final = PINFO_FD_VISITED(pinfo);

    if (!final) {
        pm_dns_msg m;
        char why[PM_NAME_WHY_LEN];
        unsigned flags = 0;

        if (pm_pref.dns_health != PM_ON || !dns_ok || !dns_from_tree(tree, pinfo, l, &m))
            return;
        df = wmem_new0(wmem_file_scope(), pm_dns_frame);
        df->msg = m;
        if (m.name)
            df->msg.name = wmem_strdup(wmem_file_scope(), m.name);
        p = pm_dns_add(file_dns, &df->msg, &flags, why, sizeof why);
        if (flags)
            df->why = wmem_strdup(wmem_file_scope(), why);
        p_add_proto_data(wmem_file_scope(), pinfo, proto_packetmancer, 1, df);
    } else if ((df = (pm_dns_frame *)p_get_proto_data(wmem_file_scope(), pinfo, proto_packetmancer, 1))) {
        const pm_dns_msg *m = &df->msg;

        p = pm_dns_lookup(file_dns, m->response ? &m->dst : &m->src, m->response ? &m->src : &m->dst);
    }
    if (!df || !p)
        return;
    rec->dns = &df->msg;
    if (tree && shown)
        write_dns_tree(tree, tvb, df, p, final);
}

/* Tells a user who filters on packetmancer.* in tshark without asking for
 * the analysis why nothing matches, once. */
static void
hint_if_fields_wanted(proto_tree *tree)
{
    const int fields[] = { proto_packetmancer, hf_pm_stream, hf_pm_score, hf_pm_level,
                           hf_pm_severity, hf_pm_reason, hf_pm_event, hf_pm_flow,
                           hf_pm_dns_score, hf_pm_dns_level, hf_pm_dns_pair };

    if (hinted || !tree)
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
        if (proto_registrar_get_nth(fields[i])->ref_type != HF_REF_TYPE_NONE) {
            fprintf(stderr, "packetmancer: per-packet fields are computed only with "
                            "-o packetmancer.analyze:always or a -z packetmancer,... report\n");
            hinted = TRUE;
            return;
        }
    }
}

static int
dissect_packetmancer(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    pm_tap_record *tr;
    pm_packet *rec;
    pm_frame *fr;
    pm_conv *c = NULL;
    pm_layers layers;
    gboolean final = FALSE, shown;

    if (!analyzing) {
        hint_if_fields_wanted(tree);
        return 0;
    }

    tr = wmem_new(pinfo->pool, pm_tap_record);
    rec = &tr->pkt;
    record_common(pinfo, rec);
    tr->in_file_table = !PINFO_FD_VISITED(pinfo);
    tr->dir = PM_C2S;
    fr = PINFO_FD_VISITED(pinfo) ? frame_get(pinfo->num, FALSE) : NULL;
    /* Later passes replay the first one's verdict and need no layers. */
    find_layers(PINFO_FD_VISITED(pinfo) ? NULL : tree, &layers);

    if (!PINFO_FD_VISITED(pinfo)) {
        const struct tcp_analysis *tcpd;
        gboolean ta_shown;

        if (pm_pref.tcp_health == PM_ON &&
            record_from_tree(tree, pinfo, &layers, rec, &tcpd, &ta_shown)) {
            int dir;

            /* TCP's own state of the conversation, found once and kept on
             * our conversation (stream numbers and TCP's states are one to
             * one and live as long as the file). */
            c = pm_table_lookup(file_table, rec->stream);
            if (!tcpd && c)
                tcpd = c->user_ptr;
            if (!tcpd)
                tcpd = tcp_conversation(pinfo);
            if (tcpd && tcpd->stream != rec->stream)
                tcpd = NULL;
            /* Wireshark's iRTT, one value per conversation once TCP has
             * measured it (not primed: tcp.analysis.initial_rtt is an item
             * on every later segment, ~1,500 instructions each); the
             * table's first one is carried on every record like the field
             * was. */
            if (c && c->initial_rtt_ms >= 0)
                rec->initial_rtt_ms = c->initial_rtt_ms;
            else if (tcpd && !nstime_is_zero(&tcpd->ts_first_rtt))
                rec->initial_rtt_ms = (float)nstime_to_msec(&tcpd->ts_first_rtt);
            if (ta_shown)
                rec->ack_rtt_ms = ack_rtt_of(tcpd);
            c = pm_table_add(file_table, rec, &dir);
            if (tcpd)
                c->user_ptr = tcpd;
            fr = frame_get(pinfo->num, TRUE);
            fr->stream_1 = rec->stream + 1;
            fr->tcp_flags = rec->tcp_flags;
            fr->dir = (guint8)dir;
            tr->dir = (guint8)dir;
            fr->ack_rtt_ms = rec->ack_rtt_ms;
            fr->has_irtt = rec->initial_rtt_ms >= 0;
            fr->raised_to = c->last_may_raise ? note_raise(c, pinfo->num) : 0;
            /* What the table counted, not what Wireshark flagged: copies
             * and the duplicate ACKs they shift are left out. Later passes
             * and the taps replay that verdict. */
            fr->events = (guint8)c->last_events;
            fr->copy = c->last_was_copy;
            fr->ack_lost = rec->ack_lost;
            rec->events = fr->events;
            rec->copy = fr->copy;
            rec->fingerprint = 0;
            rec->dup_ack_num = 0;
        } else {
            /* Not a TCP segment: only the summary counts it. */
            rec->stream = PM_STREAM_NONE;
            pm_table_add(file_table, rec, NULL);
        }
    } else if (fr) {
        c = pm_table_lookup(file_table, fr->stream_1 - 1);
        final = TRUE;
        if (!c || !endpoint_from(&pinfo->src, pinfo->srcport, &rec->src) ||
            !endpoint_from(&pinfo->dst, pinfo->destport, &rec->dst)) {
            fr = NULL;
        } else {
            rec->stream = fr->stream_1 - 1;
            rec->events = fr->events;
            rec->tcp_flags = fr->tcp_flags;
            rec->ack_rtt_ms = fr->ack_rtt_ms;
            /* Wireshark's iRTT is one value per conversation: the one the
             * table kept from the first pass. */
            rec->initial_rtt_ms = fr->has_irtt ? c->initial_rtt_ms : -1.0f;
            rec->copy = fr->copy;
            rec->ack_lost = fr->ack_lost;
        }
    }

    /* tshark -q -z packetmancer,... has a protocol tree only because we
     * asked for TCP's fields; nobody looks at our items. Building them
     * (percentiles, flow and filter strings) cost more than the analysis,
     * so they are made only for a visible tree (Wireshark, -V, -T json)
     * or when a filter, column or -e field references packetmancer.*. */
    shown = proto_field_is_referenced(tree, proto_packetmancer);
    if (fr && c) {
        proto_item *ti = NULL;

        if (shown)
            ti = write_tree(tree, tvb, fr, c, final);
        else if (fr->raised_to && tree)
            ti = proto_tree_add_item(tree, proto_packetmancer, tvb, 0, 0, ENC_NA);
        /* The expert entry is wanted even unseen: -z expert counts it. */
        if (fr->raised_to)
            add_expert(pinfo, ti, fr);
    }
    dissect_dns_part(tvb, pinfo, tree, &layers, shown, rec);
    /* Frames of no conversation are tapped too: the summary counts every
     * packet. */
    tap_queue_packet(pm_tap_id, pinfo, tr);
    return (fr || rec->dns) ? tvb_captured_length(tvb) : 0;
}

/* ----------------------------------------------- per-file lifecycle */

const pm_table *
pm_glue_file_table(void)
{
    return analyzing ? file_table : NULL;
}

static gboolean
running_in_tshark(void)
{
    const char *prg = g_get_prgname();

    return prg && (strcmp(prg, "tshark") == 0 || g_str_has_suffix(prg, "/tshark"));
}

/* TCP queues its tap data (the stream number tcp_stream_of() reads) only
 * while some tap listener exists. A report brings one (pm_tap_started()
 * comes after its listener is registered); a run with only
 * packetmancer.* fields (analyze:always, or a Wireshark window with no
 * statistics open) may have none, and then every packet asked TCP's
 * conversation table instead: two hash lookups of the addresses and ports,
 * 860 to 1,070 instructions a packet more than with this listener
 * (callgrind, 150,000 packets), and their cache misses. While analysing
 * without a PacketMancer tap, this listener on TCP's tap keeps the taps
 * on; it does nothing else. */
static int keep_taps_token;
static gboolean keeping_taps;

static tap_packet_status
keep_taps_packet(void *tapdata _U_, packet_info *pinfo _U_, epan_dissect_t *edt _U_,
                 const void *data _U_, tap_flags_t flags _U_)
{
    return TAP_PACKET_DONT_REDRAW;
}

static void
keep_taps_on(void)
{
    GString *err;

    if (keeping_taps || tcp_tap_id <= 0)
        return;
    err = register_tap_listener("tcp", &keep_taps_token, NULL, TL_REQUIRES_NOTHING, NULL,
                                keep_taps_packet, NULL, NULL);
    if (err)
        g_string_free(err, TRUE);   /* then the slower path, as before */
    else
        keeping_taps = TRUE;
}

/* Asks libwireshark for TCP's analysis fields on the first pass. */
static void
start_analyzing(void)
{
    GArray *want;

    if (analyzing || !foreign_ok || !file_table ||
        !proto_is_protocol_enabled(find_protocol_by_id(proto_packetmancer)))
        return;
    /* With both detectors off nothing needs any field (nor a protocol
     * tree), but every frame still reaches the taps' summary. */
    if (pm_pref.tcp_health == PM_ON || pm_pref.dns_health == PM_ON) {
        want = g_array_sized_new(FALSE, FALSE, sizeof(int), F_COUNT);
        for (int i = 0; i < F_COUNT; i++) {
            gboolean dns = i >= F_DNS_RESPONSE;

            /* tcp.stream is asked of TCP directly, see tcp_stream_of(). */
            if (i == F_TCP_STREAM)
                continue;
            if (foreign_hf[i] >= 0 && (dns ? pm_pref.dns_health == PM_ON : pm_pref.tcp_health == PM_ON))
                g_array_append_val(want, foreign_hf[i]);
        }
        set_postdissector_wanted_hfids(pm_handle, want);
        /* A report's own listener, registered before it asks, already
         * keeps the taps on: a second one would only cost a call a packet. */
        if (pm_pref.tcp_health == PM_ON && !have_tap_listener(pm_tap_id))
            keep_taps_on();
    }
    analyzing = TRUE;
}

/* tshark opens the file (running this init routine) before it starts the
 * -z taps, so the taps call pm_tap_started() when they register; the GUI
 * may have taps before a file is opened, hence the check here too. */
static void
pm_init(void)
{
    file_table = pm_glue_table_new();
    file_dns = pm_dns_table_new();
    if (frame_blocks)
        g_ptr_array_free(frame_blocks, TRUE);
    frame_blocks = g_ptr_array_new_with_free_func(g_free);
    hinted = FALSE;
    if (pm_pref.analyze == PM_ANALYZE_ALWAYS || have_tap_listener(pm_tap_id) ||
        !running_in_tshark())
        start_analyzing();
}

void
pm_tap_started(void)
{
    start_analyzing();
}

static void
pm_cleanup(void)
{
    pm_table_free(file_table);
    file_table = NULL;
    pm_dns_table_free(file_dns);
    file_dns = NULL;
    if (frame_blocks)
        g_ptr_array_free(frame_blocks, TRUE);
    frame_blocks = NULL;
    analyzing = FALSE;
    set_postdissector_wanted_hfids(pm_handle, NULL);
    if (keeping_taps) {
        remove_tap_listener(&keep_taps_token);
        keeping_taps = FALSE;
    }
}

/* ------------------------------------------------------- registration */

typedef struct {
    const char *name, *title, *desc;
    guint *var;
} uint_pref;

void
proto_register_packetmancer(void)
{
    static hf_register_info hf[] = {
        { &hf_pm_stream, { "TCP stream", "packetmancer.stream", FT_UINT32, BASE_DEC,
          NULL, 0x0, "The tcp.stream this packet belongs to", HFILL } },
        { &hf_pm_flow, { "Flow", "packetmancer.flow", FT_STRING, BASE_NONE,
          NULL, 0x0, "Client <-> server of the conversation", HFILL } },
        { &hf_pm_direction, { "Direction", "packetmancer.direction", FT_STRING, BASE_NONE,
          NULL, 0x0, "c2s (client to server) or s2c", HFILL } },
        { &hf_pm_score, { "Score", "packetmancer.score", FT_UINT32, BASE_DEC,
          NULL, 0x0, "Conversation health score so far (0 = healthy)", HFILL } },
        { &hf_pm_level, { "Level", "packetmancer.level", FT_STRING, BASE_NONE,
          NULL, 0x0, "HIGH, MEDIUM, LOW or OK", HFILL } },
        { &hf_pm_severity, { "Severity", "packetmancer.severity", FT_UINT8, BASE_DEC,
          VALS(severity_vals), 0x0, "Level as a number: 0 OK, 1 LOW, 2 MEDIUM, 3 HIGH", HFILL } },
        { &hf_pm_reason, { "Reason", "packetmancer.reason", FT_STRING, BASE_NONE,
          NULL, 0x0, "Why the conversation has its level", HFILL } },
        { &hf_pm_event, { "Event", "packetmancer.event", FT_STRING, BASE_NONE,
          NULL, 0x0, "What this packet added to the conversation's counters", HFILL } },
        { &hf_pm_final, { "Final verdict", "packetmancer.final", FT_BOOLEAN, BASE_NONE,
          NULL, 0x0, "True when the values are the conversation's verdict for the whole file, "
          "false on the first pass (verdict so far)", HFILL } },
        { &hf_pm_filter, { "Filter", "packetmancer.filter", FT_STRING, BASE_NONE,
          NULL, 0x0, "Display filter that shows the conversation (and its events)", HFILL } },
        { &hf_pm_first_frame, { "First frame", "packetmancer.first_frame", FT_FRAMENUM, BASE_NONE,
          NULL, 0x0, "First frame of the conversation", HFILL } },
        { &hf_pm_last_frame, { "Last frame", "packetmancer.last_frame", FT_FRAMENUM, BASE_NONE,
          NULL, 0x0, "Last frame of the conversation (so far)", HFILL } },
        { &hf_pm_evidence, { "Event at frame", "packetmancer.evidence", FT_FRAMENUM, BASE_NONE,
          NULL, 0x0, "One of the first frames of each kind of event", HFILL } },
        { &hf_pm_handshake, { "Handshake", "packetmancer.handshake", FT_STRING, BASE_NONE,
          NULL, 0x0, "complete, refused (RST to SYN), no_answer or mid_stream (no SYN seen)", HFILL } },
        { &hf_pm_initial_rtt, { "Initial RTT (ms)", "packetmancer.initial_rtt_ms", FT_DOUBLE, BASE_NONE,
          NULL, 0x0, "Round-trip time of the handshake, as Wireshark measured it", HFILL } },
        { &hf_pm_duration, { "Duration (ms)", "packetmancer.duration_ms", FT_UINT64, BASE_DEC,
          NULL, 0x0, "First to last packet of the conversation", HFILL } },
    };
    static gint *ett[] = { &ett_pm, &ett_pm_dir, &ett_pm_evidence, &ett_pm_dns };
    static hf_register_info hf_dns[] = {
        { &hf_pm_dns_pair, { "DNS pair", "packetmancer.dns.pair", FT_STRING, BASE_NONE,
          NULL, 0x0, "Client <-> server of the DNS exchange", HFILL } },
        { &hf_pm_dns_final, { "Final verdict", "packetmancer.dns.final", FT_BOOLEAN, BASE_NONE,
          NULL, 0x0, "True when the values are the pair's verdict for the whole file", HFILL } },
        { &hf_pm_dns_score, { "Score", "packetmancer.dns.score", FT_UINT32, BASE_DEC,
          NULL, 0x0, "DNS health score of the pair (0 = healthy)", HFILL } },
        { &hf_pm_dns_level, { "Level", "packetmancer.dns.level", FT_STRING, BASE_NONE,
          NULL, 0x0, "HIGH, MEDIUM, LOW or OK", HFILL } },
        { &hf_pm_dns_severity, { "Severity", "packetmancer.dns.severity", FT_UINT8, BASE_DEC,
          VALS(severity_vals), 0x0, "Level as a number: 0 OK ... 3 HIGH", HFILL } },
        { &hf_pm_dns_reason, { "Reason", "packetmancer.dns.reason", FT_STRING, BASE_NONE,
          NULL, 0x0, "Why the pair has its level", HFILL } },
        { &hf_pm_dns_outcome, { "Outcome", "packetmancer.dns.outcome", FT_STRING, BASE_NONE,
          NULL, 0x0, "query, retransmitted query, the response's rcode, or duplicate response", HFILL } },
        { &hf_pm_dns_latency, { "Latency (ms)", "packetmancer.dns.latency_ms", FT_DOUBLE, BASE_NONE,
          NULL, 0x0, "Time from the query to this response (dns.time)", HFILL } },
        { &hf_pm_dns_suspicious, { "Suspicious name", "packetmancer.dns.suspicious", FT_STRING, BASE_NONE,
          NULL, 0x0, "Why the query name looks suspicious (punycode, DGA-like)", HFILL } },
    };
    static ei_register_info ei[] = {
        { &ei_pm_medium, { "packetmancer.raised.medium", PI_SEQUENCE, PI_NOTE,
          "Conversation reached MEDIUM", EXPFILL } },
        { &ei_pm_high, { "packetmancer.raised.high", PI_SEQUENCE, PI_WARN,
          "Conversation reached HIGH", EXPFILL } },
    };
    /* packetmancer.c2s.* / .s2c.*, named like the JSON counters. */
    static const char *const dir_fields[PM_DIR_FIELDS - 1][2] = {
        { "packets", "Packets" }, { "bytes", "Bytes" },
        { "retransmissions", "Retransmissions" },
        { "spurious_retransmissions", "Spurious retransmissions" },
        { "out_of_order", "Out of order" }, { "zero_window_events", "Zero-window events" },
        { "duplicate_ack_events", "Duplicate-ACK events" },
        { "lost_segments", "Lost segments (not captured)" }, { "resets", "Resets" },
        { "zero_window_probes", "Zero-window probes" },
        { "rtt_p50_ms", "RTT p50 (ms)" }, { "rtt_p95_ms", "RTT p95 (ms)" },
        { "rtt_p99_ms", "RTT p99 (ms)" }, { "rtt_max_ms", "RTT max (ms)" },
        { "rtt_samples", "RTT samples" },
    };
    static hf_register_info hf_dir[2 * PM_DIR_FIELDS];
    static const enum_val_t lang_vals[] = {
        { "en", "English", PM_LANG_EN },
        { "es", "Spanish (original wording)", PM_LANG_ES },
        { NULL, NULL, 0 }
    };
    static const enum_val_t on_off_vals[] = {
        { "on", "On", PM_ON },
        { "off", "Off", PM_OFF },
        { NULL, NULL, 0 }
    };
    static const enum_val_t analyze_vals[] = {
        { "auto", "When a PacketMancer report asks, and always in Wireshark", PM_ANALYZE_AUTO },
        { "always", "Always (needed for packetmancer.* filters and fields in tshark)", PM_ANALYZE_ALWAYS },
        { NULL, NULL, 0 }
    };
    pm_score_params *s = &pm_pref.score;
    const uint_pref uprefs[] = {
        { "top", "Conversations in the report",
          "How many conversations the -z packetmancer,report lists", &pm_pref.top },
        { "json_top", "Conversations in the JSON",
          "How many conversations (and DNS pairs) each list of the JSON document holds; "
          "0 lists them all. Totals and counts per level always cover every one. For huge "
          "captures: a million conversations make a JSON document of several GB", &pm_pref.json_top },
        { "tree_conversations", "Conversations named in the statistics tree",
          "The statistics tree has nodes for this many conversations (the first seen); the "
          "others are counted in every total but not listed by name. 0: no limit. Each listed "
          "conversation costs the tree about 2 KB, and adding one takes time proportional to "
          "those already listed (Wireshark's stats tree)", &pm_pref.tree_conversations },
        { "weight_retransmission", "Weight of a retransmission", "Score points per retransmission (per 1000 packets)", &s->w_retx },
        { "weight_zero_window", "Weight of a zero window", "Score points per zero-window event (per 1000 packets)", &s->w_zero_window },
        { "weight_dup_ack", "Weight of a duplicate-ACK event", "Score points per run of 3 duplicate ACKs (per 1000 packets)", &s->w_dup_ack },
        { "weight_out_of_order", "Weight of reordering", "Score points per percent of out-of-order packets", &s->w_out_of_order },
        { "high_score", "HIGH from score", "A score at or above this is HIGH", &s->high_score },
        { "high_retransmissions", "HIGH from retransmissions", "This many retransmissions make a conversation HIGH", &s->high_retx },
        { "high_zero_window", "HIGH from zero windows", "This many zero-window events make a conversation HIGH", &s->high_zero_window },
        { "medium_score", "MEDIUM from score", "A score at or above this is MEDIUM", &s->medium_score },
        { "medium_retransmissions", "MEDIUM from retransmissions", "This many retransmissions make a conversation MEDIUM", &s->medium_retx },
        { "medium_zero_window", "MEDIUM from zero windows", "This many zero-window events make a conversation MEDIUM", &s->medium_zero_window },
        { "medium_dup_ack", "MEDIUM from duplicate-ACK events", "This many duplicate-ACK events make a conversation MEDIUM", &s->medium_dup_ack },
        { "ooo_percent", "Reordering percentage", "Out-of-order share (percent) above which reordering is MEDIUM", &s->ooo_percent },
        { "ooo_min", "Reordering minimum", "Out-of-order packets needed before the percentage counts", &s->ooo_min },
        { "reason_dup_ack", "Duplicate-ACK reason from", "Duplicate-ACK events needed to name them as a reason", &s->reason_dup_ack },
        { "cap_retransmissions", "Cap: retransmissions for HIGH", "Without a zero window, HIGH needs at least this many retransmissions", &s->cap_retx },
        { "cap_score", "Cap: score", "Score of a HIGH conversation lowered to MEDIUM by the cap, at most", &s->cap_score },
        { "dup_window_ms", "Capture duplicates: time window (ms)",
          "A frame repeating an earlier one of its conversation and direction (IP ID, seq, ack, "
          "flags, window, length) within this many ms is a copy made by the capture and is not "
          "counted; 0 turns the check off", &pm_pref.dup_window_ms },
        { "weight_refused", "Weight of a refused connection", "Score points when the SYN was answered by a RST", &s->w_refused },
        { "weight_no_answer", "Weight of an unanswered SYN", "Score points when nothing answered the SYN", &s->w_no_answer },
        { "weight_slow_rtt", "Weight of a slow RTT", "Score points when a direction's RTT p95 is above the slow threshold", &s->w_slow_rtt },
        { "slow_rtt_ms", "Slow RTT threshold (ms)", "RTT p95 above this is slow", &s->slow_rtt_ms },
        { "slow_rtt_min_samples", "Slow RTT: samples needed", "RTT samples a direction needs before its p95 counts", &s->slow_rtt_min_samples },
        { "dns_min_queries", "DNS: queries needed for shares", "Unanswered and rcode shares count from this many queries (answers)", &pm_pref.dns.min_queries },
        { "dns_weight_unanswered", "DNS: weight of unanswered queries", "Score points for 100% unanswered queries", &pm_pref.dns.w_unanswered },
        { "dns_weight_servfail", "DNS: weight of SERVFAIL", "Score points for 100% SERVFAIL answers", &pm_pref.dns.w_servfail },
        { "dns_weight_refused", "DNS: weight of REFUSED", "Score points for 100% REFUSED answers", &pm_pref.dns.w_refused },
        { "dns_weight_nxdomain", "DNS: weight of NXDOMAIN", "Score points for 100% NXDOMAIN answers", &pm_pref.dns.w_nxdomain },
        { "dns_latency_threshold_ms", "DNS: slow answers threshold (ms)", "Answer latency p95 above this is slow", &pm_pref.dns.latency_ms },
        { "dns_latency_min_samples", "DNS: answers needed for latency", "Answers a pair needs before its latency p95 counts", &pm_pref.dns.latency_min_samples },
        { "dns_weight_slow", "DNS: weight of slow answers", "Score points when the latency p95 is above the threshold", &pm_pref.dns.w_slow },
        { "dns_weight_dga", "DNS: weight of a DGA-like name", "Score points per DGA-like query name (at most 4 count)", &pm_pref.dns.w_dga },
        { "dns_weight_punycode", "DNS: weight of a punycode name", "Score points per punycode query name (at most 2 count)", &pm_pref.dns.w_punycode },
        { "dns_high_score", "DNS: HIGH from score", "A DNS score at or above this is HIGH", &pm_pref.dns.high_score },
        { "dns_medium_score", "DNS: MEDIUM from score", "A DNS score at or above this is MEDIUM", &pm_pref.dns.medium_score },
        { "dns_high_unanswered_pct", "DNS: HIGH from unanswered %", "This share of unanswered queries is HIGH", &pm_pref.dns.high_unanswered_pct },
        { "dns_medium_unanswered_pct", "DNS: MEDIUM from unanswered %", "This share of unanswered queries is MEDIUM", &pm_pref.dns.medium_unanswered_pct },
        { "dns_high_servfail_pct", "DNS: HIGH from SERVFAIL %", "This share of SERVFAIL answers is HIGH", &pm_pref.dns.high_servfail_pct },
        { "dns_medium_servfail_pct", "DNS: MEDIUM from SERVFAIL %", "This share of SERVFAIL answers is MEDIUM", &pm_pref.dns.medium_servfail_pct },
    };
    module_t *m;

    pm_score_params_default(&pm_pref.score);
    pm_pref.top = 5;
    pm_pref.lang = PM_LANG_EN;
    pm_pref.analyze = PM_ANALYZE_AUTO;
    pm_pref.tcp_health = PM_ON;
    pm_pref.dup_window_ms = 10;
    pm_pref.dns_health = PM_ON;
    pm_dns_params_default(&pm_pref.dns);
    pm_pref.json_output = "";
    pm_pref.json_top = 0;
    pm_pref.json_state = PM_OFF;
    /* Wireshark's stats tree appends a node by walking its siblings, so
     * naming n conversations costs n^2/2 steps: 10,000 named took 33 of
     * the 77 s of -z packetmancer,tree on 2,000,000 packets (perf). */
    pm_pref.tree_conversations = 1000;

    proto_packetmancer = proto_register_protocol("PacketMancer", "PacketMancer", "packetmancer");
    proto_register_field_array(proto_packetmancer, hf, array_length(hf));
    for (int d = 0; d < 2; d++) {
        const char *dn = d == PM_C2S ? "c2s" : "s2c";
        const char *dt = d == PM_C2S ? "Client to server" : "Server to client";

        for (int i = 0; i < PM_DIR_FIELDS; i++) {
            hf_register_info *h = &hf_dir[d * PM_DIR_FIELDS + i];

            h->p_id = &hf_pm_dir[d][i];
            h->hfinfo.name = i ? g_strdup_printf("%s %s", dt, dir_fields[i - 1][1]) : dt;
            h->hfinfo.abbrev = i ? g_strdup_printf("packetmancer.%s.%s", dn, dir_fields[i - 1][0])
                                 : g_strdup_printf("packetmancer.%s", dn);
            h->hfinfo.type = i == 0 ? FT_NONE
                           : (i > PM_DIR_COUNTERS && i < PM_DIR_FIELDS - 1) ? FT_DOUBLE : FT_UINT64;
            h->hfinfo.display = (h->hfinfo.type == FT_UINT64) ? BASE_DEC : BASE_NONE;
            h->hfinfo.blurb = i == 0 ? "Counters of the conversation in this direction"
                            : i <= PM_DIR_COUNTERS ? "Conversation counter in this direction (so far on the first pass)"
                            : "Round-trip time of this direction's data, from the ACKs of the other side";
            HFILL_INIT(*h);
        }
    }
    proto_register_field_array(proto_packetmancer, hf_dir, array_length(hf_dir));
    proto_register_field_array(proto_packetmancer, hf_dns, array_length(hf_dns));
    proto_register_subtree_array(ett, array_length(ett));
    expert_register_field_array(expert_register_protocol(proto_packetmancer), ei, array_length(ei));
    raise_texts = wmem_map_new_autoreset(wmem_epan_scope(), wmem_file_scope(), g_direct_hash,
                                         g_direct_equal);

    m = prefs_register_protocol(proto_packetmancer, NULL);
    prefs_register_enum_preference(m, "analyze", "Analyse packets",
        "When to read TCP analysis for every packet. Reading it costs about 30% more "
        "dissection time, so tshark only does it when a PacketMancer report is requested, "
        "unless this is \"always\"", &pm_pref.analyze, analyze_vals, FALSE);
    prefs_register_enum_preference(m, "language", "Language",
        "Language of levels and reasons in reports", &pm_pref.lang, lang_vals, FALSE);
    prefs_register_enum_preference(m, "dns_health", "DNS health detector",
        "Score DNS client/server pairs from Wireshark's DNS dissector", &pm_pref.dns_health,
        on_off_vals, FALSE);
    prefs_register_enum_preference(m, "tcp_health", "TCP health detector",
        "Score TCP conversations from Wireshark's TCP analysis", &pm_pref.tcp_health,
        on_off_vals, FALSE);
    prefs_register_enum_preference(m, "json_state", "JSON: state for merging",
        "Add each conversation's and DNS pair's raw state (counters, RTT sketches, evidence "
        "frames) to the JSON document, so documents made from shards of one capture merge "
        "exactly with packetmancer-merge (packetmancer --jobs turns it on)", &pm_pref.json_state,
        on_off_vals, FALSE);
    prefs_register_string_preference(m, "json_output", "JSON output file",
        "Write the -z packetmancer,json document to this file instead of standard output. "
        "It is written to a temporary file in the same folder and renamed when complete, "
        "so the file is never left half-written", &pm_pref.json_output);
    for (size_t i = 0; i < G_N_ELEMENTS(uprefs); i++)
        prefs_register_uint_preference(m, uprefs[i].name, uprefs[i].title, uprefs[i].desc,
                                       10, uprefs[i].var);

    pm_handle = register_dissector("packetmancer", dissect_packetmancer, proto_packetmancer);
    register_postdissector(pm_handle);
    pm_tap_id = register_tap("packetmancer");
    register_init_routine(pm_init);
    register_cleanup_routine(pm_cleanup);
    pm_register_taps();
}

void
proto_reg_handoff_packetmancer(void)
{
    foreign_ok = TRUE;
    dns_ok = TRUE;
    for (int i = 0; i < F_COUNT; i++) {
        foreign_hf[i] = proto_registrar_get_id_byname(foreign_names[i]);
        /* A missing RTT or probe field only loses those signals: not
         * worth refusing. */
        if (foreign_hf[i] < 0 && i < F_ZW_PROBE) {
            fprintf(stderr, "packetmancer: this Wireshark has no field %s; analysis disabled\n",
                    foreign_names[i]);
            foreign_ok = FALSE;
        }
        if (foreign_hf[i] < 0 && i >= F_DNS_RESPONSE) {
            fprintf(stderr, "packetmancer: this Wireshark has no field %s; DNS health disabled\n",
                    foreign_names[i]);
            dns_ok = FALSE;
        }
    }
    tcp_tap_id = find_tap_id("tcp");
    /* ICMP is only used to skip quoted headers and IP to find the IP ID:
     * without them those checks are skipped, nothing is refused. */
    for (int i = 0; i < P_COUNT; i++) {
        proto_ids[i] = proto_get_id_by_filter_name(proto_names[i]);
        if (proto_ids[i] < 0 && (i == P_TCP || i == P_DNS)) {
            fprintf(stderr, "packetmancer: this Wireshark has no protocol %s; %s disabled\n",
                    proto_names[i], i == P_TCP ? "analysis" : "DNS health");
            if (i == P_TCP)
                foreign_ok = FALSE;
            else
                dns_ok = FALSE;
        }
    }
}
