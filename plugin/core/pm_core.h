/* pm_core.h
 * PacketMancer core: the conversation table and its per-direction counters.
 *
 * Nothing in plugin/core/ knows about epan. The Wireshark glue turns each
 * dissected frame into one small pm_packet record (addresses, TCP flags and
 * the analysis events Wireshark flagged on it) and hands it to a pm_table.
 * Everything downstream (scores, reports, JSON) reads the table. This keeps
 * the logic that users' scripts depend on testable with CUnit alone.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_CORE_H
#define PM_CORE_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A frame that is not a TCP segment of any conversation still counts
 * towards the capture summary (packets, bytes, duration). */
#define PM_STREAM_NONE UINT32_MAX

/* What Wireshark's TCP analysis said about one segment, reduced to the
 * events SCORING.md counts. Built by pm_events_from_analysis(). */
enum {
    PM_EV_RETRANSMISSION = 1u << 0, /* retransmission or fast retransmission, not spurious */
    PM_EV_SPURIOUS       = 1u << 1, /* spurious retransmission (weight 0) */
    PM_EV_OUT_OF_ORDER   = 1u << 2,
    PM_EV_ZERO_WINDOW    = 1u << 3,
    PM_EV_DUP_ACK        = 1u << 4, /* the 3rd duplicate ACK of a run */
    PM_EV_LOST_SEGMENT   = 1u << 5, /* previous segment not captured */
    PM_EV_RESET          = 1u << 6, /* RST flag */
    PM_EV_ZW_PROBE       = 1u << 7, /* zero-window probe */
};
#define PM_EV_COUNT 8

/* TCP header flags the core needs to pick the client side. */
enum {
    PM_TCP_SYN = 1u << 0,
    PM_TCP_ACK = 1u << 1,
    PM_TCP_RST = 1u << 2,
};

/* The raw facts one packet carries, as the glue reads them from
 * tcp.analysis.* fields; kept as plain values so the counting rules of
 * SCORING.md live in one tested function. */
typedef struct pm_analysis_flags {
    bool retransmission;
    bool fast_retransmission;
    bool spurious_retransmission;
    bool out_of_order;
    bool zero_window;
    bool lost_segment;
    bool zero_window_probe;
    uint32_t duplicate_ack_num; /* 0 when the segment is not a duplicate ACK */
    uint8_t tcp_flags;          /* PM_TCP_* */
} pm_analysis_flags;

uint16_t pm_events_from_analysis(const pm_analysis_flags *f);

typedef struct pm_endpoint {
    uint8_t family;   /* 4 or 6 */
    uint8_t addr[16]; /* IPv4 uses the first 4 bytes */
    uint16_t port;
} pm_endpoint;

/* One frame as the glue hands it over. */
typedef struct pm_packet {
    uint32_t frame;     /* frame number, for evidence */
    uint32_t stream;    /* tcp.stream, or PM_STREAM_NONE */
    uint32_t length;    /* frame length on the wire */
    int64_t ts_us;      /* absolute time, microseconds since the epoch */
    uint16_t events;    /* PM_EV_* */
    uint8_t tcp_flags;  /* PM_TCP_* */
    float ack_rtt_ms;   /* tcp.analysis.ack_rtt: this ACK timed the other
                           direction's data; < 0 when absent */
    float initial_rtt_ms; /* tcp.analysis.initial_rtt; < 0 when absent */
    /* Capture artefacts. fingerprint: a hash of IP ID, TCP seq, ack, flags,
     * window and payload length (0: unknown, no duplicate check). */
    uint64_t fingerprint;
    uint32_t dup_ack_num;   /* tcp.analysis.duplicate_ack_num, 0 when none */
    bool ack_lost;          /* tcp.analysis.ack_lost_segment: ACKed data never seen */
    bool copy;              /* already known to be a capture duplicate */
    bool truncated;         /* captured shorter than on the wire (snaplen) */
    pm_endpoint src;
    pm_endpoint dst;
    const struct pm_dns_msg *dns; /* the frame's DNS message, or NULL */
} pm_packet;

enum { PM_C2S = 0, PM_S2C = 1 };

typedef struct pm_dir_counters {
    uint64_t packets;
    uint64_t bytes;
    uint32_t retransmissions;
    uint32_t spurious_retransmissions;
    uint32_t out_of_order;
    uint32_t zero_window_events;
    uint32_t duplicate_ack_events;
    uint32_t lost_segments;
    uint32_t resets;
    uint32_t zero_window_probes;
    uint32_t capture_duplicates;  /* copies made by the capture, not counted above */
    uint32_t acked_unseen;        /* ACKs for data the capture never saw */
} pm_dir_counters;

/* How the connection started, as far as the capture shows. */
typedef enum pm_handshake {
    PM_HS_MID_STREAM = 0, /* no SYN seen: the capture started later */
    PM_HS_COMPLETE,       /* SYN answered: SYN-ACK, or any server packet
                             but a RST when the capture missed the SYN-ACK */
    PM_HS_REFUSED,        /* SYN answered first by a RST */
    PM_HS_NO_ANSWER,      /* SYN, and (so far) not a packet back */
} pm_handshake;

struct pm_sketch;
struct pm_rtt_small;

/* Frames kept as evidence per event kind: the first few, enough to jump
 * to the problem in Wireshark. */
#define PM_EVIDENCE_FRAMES 3

/* One TCP conversation (one tcp.stream). Fixed size: memory per
 * conversation does not grow with its packets. */
typedef struct pm_conv {
    /* Laid out by how often a packet touches a field, not by meaning, in
     * 64-byte lines (the table aligns records to them): every packet
     * touches the first three lines, one with an RTT sample the fourth,
     * and the rest only events and the outputs. The record is rarely in
     * the cache when its packet comes; in its first layout a packet
     * touched five or six of its lines, and reading it was one of the
     * plugin's three hottest spots (perf). */
    pm_endpoint client;       /* 20 bytes */
    uint32_t first_frame;
    const void *user_ptr;     /* the dissector: TCP's own state of the conversation */
    int64_t last_ts_us;
    int64_t first_ts_us;
    uint32_t last_frame;
    float initial_rtt_ms;     /* < 0 until Wireshark reports one */
    uint16_t last_events;     /* events counted for the last packet added */
    uint16_t syns;            /* SYNs without ACK (the first and its retries) */
    uint8_t hs_seen;          /* PM_HS_SEEN_* bits */
    bool client_from_syn;     /* client chosen by a SYN, not by the first packet */
    uint8_t dup_run[2];       /* real duplicate ACKs in each direction's current run */
    /* lines 2 and 3 */
    pm_dir_counters dir[2];   /* PM_C2S, PM_S2C */
    bool last_was_copy;       /* whether the last packet was a capture duplicate */
    bool last_may_raise;      /* ... and whether it changed anything that can
                               * raise the score or level (see pm_table_add) */
    /* Free for the owner of the table (the dissector keeps the highest
     * level it announced in user_value); the core never reads them. */
    uint8_t user_extra;
    /* Free for the owner as well, kept apart for a stats tree: a tree may
     * read the dissector's table instead of its own (tap-packetmancer.c),
     * and user_* there are the dissector's. The core never reads them. */
    uint8_t tree_extra;
    uint32_t user_value;
    uint32_t tree_value;
    uint32_t stream;
    /* line 4. RTT samples of each direction's data, kept as small as they
     * allow: the first sample waits in rtt_first (bit d of rtt_one set);
     * from the second, up to PM_RTT_SMALL distinct sketch buckets are
     * counted in a 168-byte list (rtt_small); past that the 2 KiB sketch
     * (rtt) takes over. Each form gives exactly the sketch of the same
     * samples. A SYN flood's answered SYNs give one sample each, and a
     * million sketches would be 2 GB; most conversations' RTTs fall in a
     * few 2%-wide buckets. Read them through pm_conv_sketch(). */
    struct pm_sketch *rtt[2];
    struct pm_rtt_small *rtt_small[2];
    float rtt_first[2];
    int32_t user_node;
    int32_t tree_node;
    uint8_t rtt_one;
    uint8_t evidence_n[PM_EV_COUNT];  /* frames kept per event kind */
    uint32_t evidence[PM_EV_COUNT][PM_EVIDENCE_FRAMES]; /* by PM_EV_* bit index */
    pm_endpoint server;
    uint8_t pad_to_lines_[16];
} pm_conv;

/* Whole-capture summary over every packet the table was fed. */
typedef struct pm_summary {
    uint64_t packets_total;
    uint64_t bytes_total;
    uint64_t truncated_frames;    /* frames cut by the snapshot length */
    int64_t first_ts_us;
    int64_t last_ts_us;
} pm_summary;

typedef struct pm_table pm_table;

pm_table *pm_table_new(void);
void pm_table_free(pm_table *t);
/* Forget every conversation and the summary (a new file, a retap). */
void pm_table_reset(pm_table *t);
/* Time window within which a frame repeating an earlier one (same
 * fingerprint, conversation and direction) is a capture duplicate;
 * 0 turns the check off. Default 10,000 us. */
void pm_table_set_dup_window(pm_table *t, int64_t us);
/* How many frames back a copy is still recognised (whole table). */
#define PM_DUP_RECENT 65536
/* For tests only: homes every key of t's duplicate index on one bucket in
 * eight, so that full buckets and spills are common. Results must not
 * change; only the walk gets longer. Call before the first packet. */
void pm_table_test_crowd_dup_index(pm_table *t);

/* Distinct RTT buckets a direction counts before it needs a full sketch. */
#define PM_RTT_SMALL 16

/* Account one packet. Returns its conversation (NULL for a non-TCP
 * packet) and, through dir_out when not NULL, the direction it was
 * counted in. Constant time; allocates only for a new conversation. */
pm_conv *pm_table_add(pm_table *t, const pm_packet *p, int *dir_out);

pm_conv *pm_table_lookup(const pm_table *t, uint32_t stream);
size_t pm_table_count(const pm_table *t);
/* Conversations in order of first appearance; valid until the next add
 * or reset. */
pm_conv *const *pm_table_convs(const pm_table *t);
const pm_summary *pm_table_summary(const pm_table *t);

/* Capture duration in whole milliseconds (0 with fewer than 2 packets). */
uint64_t pm_summary_duration_ms(const pm_summary *s);

/* Handshake outcome of a conversation, and its JSON name ("complete",
 * "refused", "no_answer", "mid_stream"). */
pm_handshake pm_conv_handshake(const pm_conv *c);
const char *pm_handshake_name(pm_handshake h);
/* RTT of one direction's data (ACKed by the other side), from its
 * sketch: quantiles within 1% (pm_sketch.h). False when no sample. */
typedef struct pm_rtt_stats {
    double p50_ms, p95_ms, p99_ms, max_ms;
    uint64_t samples;
} pm_rtt_stats;
bool pm_conv_rtt(const pm_conv *c, int dir, pm_rtt_stats *out);
/* The sketch of one direction's RTT samples: the conversation's own, or,
 * while it has a single sample, that sample in *scratch; NULL when it has
 * none. The result is the sketch that adding every sample would give. */
const struct pm_sketch *pm_conv_sketch(const pm_conv *c, int dir, struct pm_sketch *scratch);
/* RTT samples of a direction's data, whatever form holds them. */
uint64_t pm_conv_rtt_count(const pm_conv *c, int dir);
/* The slowest of them, exactly; NAN when there is none. */
double pm_conv_rtt_max(const pm_conv *c, int dir);

/* Conversation duration in milliseconds (first to last packet). */
uint64_t pm_conv_duration_ms(const pm_conv *c);

/* Name of event kind i (bit i of PM_EV_*) as a JSON counter name:
 * "retransmissions", "zero_window_events", ... */
const char *pm_event_counter_name(int i);

/* "10.0.0.1:40000" or "[2001:db8::1]:443". buf needs PM_ENDPOINT_STRLEN. */
#define PM_ENDPOINT_STRLEN 56
void pm_endpoint_format(const pm_endpoint *e, char *buf, size_t len);
/* "client <-> server/TCP". buf needs PM_FLOW_STRLEN. */
#define PM_FLOW_STRLEN (2 * PM_ENDPOINT_STRLEN + 16)
void pm_conv_flow(const pm_conv *c, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PM_CORE_H */
