/* pm_table.c
 * The conversation table: one pm_conv per tcp.stream, fed one packet at a
 * time, plus the capture summary.
 *
 * Wireshark's tcp.stream already is the conversation identity (it splits
 * reused ports and merges what TCP analysis merges), so the table trusts it
 * and only decides which side is the client:
 *   - the sender of the first SYN without ACK, else
 *   - the source of the first packet seen (a capture started mid-stream).
 * A SYN that shows up after other packets of the stream moves the client
 * to its sender, swapping what was already counted, so the answer does
 * not depend on whether the capture caught the handshake first.
 *
 * Memory: conversations are allocated in blocks (see conv_alloc); a
 * stream-number index (conv_map) finds them and a GPtrArray keeps
 * first-seen order.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_core.h"
#include "pm_sketch.h"
#include "pm_state.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <arpa/inet.h>

#define PM_BLOCK 256
#define PM_SMALL_BLOCKS 8
#define PM_BIG_BLOCK ((size_t)2 << 20)

/* The frames most recently seen, to recognise capture duplicates: a FIFO
 * of PM_DUP_RECENT entries (24 bytes each, 1.5 MiB per table at most,
 * allocated as it fills), entry number seq at ring[seq % PM_DUP_RECENT],
 * indexed by a hash of (stream, direction, fingerprint) (2 MiB). Copies
 * made by a SPAN port or a merged capture sit next to their original; a
 * capture appended to itself (ftp-crack.pcap) puts them a whole file
 * apart, which this catches up to 65,536 frames. */
typedef struct dup_entry {
    uint64_t fingerprint;
    int64_t ts_us;
    uint32_t stream;
    uint8_t dir;
    bool used;
} dup_entry;

/* An index slot keeps the key's hash next to the entry's number, so that
 * a probe reads the ring only when the hashes agree (nearly only for a
 * real copy). The number also says whether the entry is still in the
 * ring, so an entry the ring overwrites needs no removal from the index:
 * its slot is free from then on. Removing it cost a second cache miss a
 * packet, at a random place in the index (perf). */
typedef struct dup_slot {
    uint32_t seq;            /* the entry's number (mod 2^32) */
    uint32_t hash;           /* dup_hash() | 1 of the entry; 0: empty */
} dup_slot;

/* The index is buckets of one cache line, so that looking a frame up and
 * remembering it touch one line of it (nearly always: a bucket holds 7
 * and averages 2 live entries). A full bucket spills into the next one;
 * spill_seq, the number of the last entry placed past it, tells a lookup
 * to go on to the next bucket only while that entry may still be live. */
#define DUP_WAYS 7
typedef struct dup_bucket {
    uint32_t spill_seq;
    uint32_t spilled;        /* 0 until something spilled past it */
    dup_slot slot[DUP_WAYS];
} dup_bucket;
#define DUP_BUCKETS 32768u
_Static_assert(sizeof(dup_bucket) == 64, "a bucket is one cache line");
_Static_assert((DUP_BUCKETS & (DUP_BUCKETS - 1)) == 0, "the bucket count must be a power of two");
_Static_assert((PM_DUP_RECENT & (PM_DUP_RECENT - 1)) == 0, "the ring size must be a power of two");
_Static_assert(DUP_BUCKETS * DUP_WAYS >= 3 * PM_DUP_RECENT, "the index must keep room to spare");

/* Stream number -> conversation. Every packet asks it once or twice.
 * tshark numbers a file's TCP streams 0, 1, 2, ... in order, so most
 * tables are an array indexed by the number: 8 bytes a stream, one read.
 * A number far past the table's count (a part of a merge, a filtered
 * tree's table) goes to open addressing with linear probing, at most half
 * full, where one slot holds both key and value (a GHashTable keeps them
 * in three arrays: three cache misses a lookup once a capture's
 * conversations outgrow the cache). */
typedef struct conv_slot {
    uint32_t stream;
    pm_conv *c;              /* NULL: empty */
} conv_slot;

typedef struct conv_map {
    pm_conv **dense;         /* streams below dense_len; NULL: absent */
    uint32_t dense_len;      /* 0 or a power of two */
    conv_slot *slots;        /* streams at or past dense_len */
    uint32_t mask;           /* slots - 1 (a power of two), 0 before the first */
    uint32_t count;          /* in slots */
} conv_map;

struct pm_table {
    conv_map by_stream;      /* stream number -> pm_conv* (borrowed) */
    GPtrArray *order;        /* pm_conv* in first-seen order (borrowed) */
    GPtrArray *blocks;       /* pm_conv arrays from lines_alloc0() (owned) */
    size_t used_in_block;    /* slots taken in the last block */
    size_t block_size;       /* slots in the last block */
    pm_summary summary;
    int64_t dup_window_us;
    /* The ring's index (a GHashTable did the same with three calls and
     * scattered arrays per packet). */
    dup_bucket *index;       /* DUP_BUCKETS, from lines_alloc0() */
    uint32_t home_mask;      /* DUP_BUCKETS - 1, narrower under test */
    dup_entry *ring;         /* PM_DUP_RECENT entries, oldest overwritten */
    uint32_t dup_seq;        /* number of the next entry (mod 2^32) */
};

static uint32_t
dup_hash(const dup_entry *e)
{
    uint64_t h = e->fingerprint ^ ((uint64_t)e->stream << 1) ^ e->dir;

    h *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32);
}

static bool
dup_same(const dup_entry *x, const dup_entry *y)
{
    return x->fingerprint == y->fingerprint && x->stream == y->stream && x->dir == y->dir;
}

static uint32_t
stream_home(uint32_t stream, uint32_t mask)
{
    return (uint32_t)(((uint64_t)stream * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static pm_conv *
map_get(const conv_map *m, uint32_t stream)
{
    if (stream < m->dense_len)
        return m->dense[stream];
    if (!m->slots)
        return NULL;
    for (uint32_t i = stream_home(stream, m->mask); m->slots[i].c; i = (i + 1) & m->mask) {
        if (m->slots[i].stream == stream)
            return m->slots[i].c;
    }
    return NULL;
}

static void
map_place(conv_slot *slots, uint32_t mask, uint32_t stream, pm_conv *c)
{
    uint32_t i = stream_home(stream, mask);

    while (slots[i].c)
        i = (i + 1) & mask;
    slots[i].stream = stream;
    slots[i].c = c;
}

/* Rebuilds the slots at size (a power of two, 0: none), moving the
 * streams now below dense_len into the array. */
static void
map_rehash(conv_map *m, uint32_t size)
{
    conv_slot *slots = size ? g_new0(conv_slot, size) : NULL;
    uint32_t count = 0;

    for (uint32_t i = 0; m->slots && i <= m->mask; i++) {
        const conv_slot *o = &m->slots[i];

        if (!o->c)
            continue;
        if (o->stream < m->dense_len) {
            m->dense[o->stream] = o->c;
        } else {
            map_place(slots, size - 1, o->stream, o->c);
            count++;
        }
    }
    g_free(m->slots);
    m->slots = slots;
    m->mask = size ? size - 1 : 0;
    m->count = count;
}

/* stream must not be in the map yet; total is the table's conversations,
 * this one included. The array grows to take a stream below 2 * total +
 * 64, so it holds at most 4 * total + 128 pointers. */
static void
map_put(conv_map *m, uint32_t stream, pm_conv *c, uint32_t total)
{
    if (stream >= m->dense_len && (uint64_t)stream < 2 * (uint64_t)total + 64) {
        uint32_t len = m->dense_len ? m->dense_len : 64;

        while (len <= stream)
            len *= 2;
        m->dense = g_renew(pm_conv *, m->dense, len);
        memset(m->dense + m->dense_len, 0, (len - m->dense_len) * sizeof *m->dense);
        m->dense_len = len;
        if (m->count)
            map_rehash(m, m->mask + 1);
    }
    if (stream < m->dense_len) {
        m->dense[stream] = c;
        return;
    }
    if (2 * ((uint64_t)m->count + 1) > (uint64_t)m->mask + 1)
        map_rehash(m, m->slots ? 2 * (m->mask + 1) : 64);
    map_place(m->slots, m->mask, stream, c);
    m->count++;
}

static void
map_clear(conv_map *m)
{
    g_free(m->dense);
    g_free(m->slots);
    memset(m, 0, sizeof *m);
}

/* Zeroed memory on a cache-line boundary, freed with free(). The ninth
 * round also put the duplicate index and the record blocks on 2 MiB
 * boundaries marked for transparent huge pages: the plugin's own share of
 * a run's time fell by a twelfth in perf, but end to end the report took
 * 2% more CPU time with them than without (eight paired runs on 2,000,000
 * packets, docs/PERFORMANCE.md, eleventh round), so no longer. */
static void *
lines_alloc0(size_t len)
{
    void *p;

    if (posix_memalign(&p, 64, len) != 0)
        g_error("packetmancer: out of memory (%zu bytes)", len);
    memset(p, 0, len);
    return p;
}

/* Whether entry number seq is still in the ring: one of the last
 * PM_DUP_RECENT numbered. (An entry dropped before that, by a later frame
 * with its key outside the window, has its slot emptied then.) */
static bool
dup_live(const pm_table *t, uint32_t seq)
{
    return (uint32_t)(t->dup_seq - seq - 1) < PM_DUP_RECENT;
}

/* The live slot of key's (fingerprint, stream, dir), whose dup_hash() | 1
 * is h, or NULL. */
static dup_slot *
dup_find(const pm_table *t, const dup_entry *key, uint32_t h)
{
    uint32_t b = (h >> 1) & t->home_mask;

    for (uint32_t n = 0; n < DUP_BUCKETS; n++, b = (b + 1) & (DUP_BUCKETS - 1)) {
        dup_bucket *k = &t->index[b];

        for (int w = 0; w < DUP_WAYS; w++) {
            if (k->slot[w].hash == h && dup_live(t, k->slot[w].seq)) {
                const dup_entry *e = &t->ring[k->slot[w].seq & (PM_DUP_RECENT - 1)];

                if (e->used && dup_same(e, key))
                    return &k->slot[w];
            }
        }
        if (!k->spilled || !dup_live(t, k->spill_seq))
            break;
    }
    return NULL;
}

/* Indexes entry number seq, whose dup_hash() | 1 is h, in the first free
 * slot from its home bucket on, marking the full buckets it passes.
 * Slots of entries the ring has dropped are emptied on the way, so that
 * none outlives 2^32 numbers and looks live again. At most PM_DUP_RECENT
 * slots are live, a small part of the index, so a free one comes soon;
 * the bound on the walk is only there to make that plain. */
static void
dup_index_add(pm_table *t, uint32_t seq, uint32_t h)
{
    uint32_t b = (h >> 1) & t->home_mask;

    for (uint32_t n = 0; n < DUP_BUCKETS; n++, b = (b + 1) & (DUP_BUCKETS - 1)) {
        dup_bucket *k = &t->index[b];
        dup_slot *free_slot = NULL;

        for (int w = 0; w < DUP_WAYS; w++) {
            if (k->slot[w].hash && !dup_live(t, k->slot[w].seq))
                k->slot[w].hash = 0;
            if (!k->slot[w].hash && !free_slot)
                free_slot = &k->slot[w];
        }
        if (free_slot) {
            free_slot->seq = seq;
            free_slot->hash = h;
            return;
        }
        k->spill_seq = seq;
        k->spilled = 1;
    }
}

void
pm_table_test_crowd_dup_index(pm_table *t)
{
    t->home_mask = (DUP_BUCKETS - 1) & ~7u;
}

void
pm_table_set_dup_window(pm_table *t, int64_t us)
{
    t->dup_window_us = us;
}

/* last - first in microseconds, 0 when last is not later. Both are
 * int64 time stamps from the capture, so their difference can exceed
 * INT64_MAX (a crafted file's stamps lie 2^63 us apart): done in uint64,
 * where it is exact, since the true value lies in [1, 2^64 - 1]. */
static uint64_t
span_us(int64_t first, int64_t last)
{
    return last > first ? (uint64_t)last - (uint64_t)first : 0;
}

/* Is p a copy of a recent frame of the same stream and direction, close
 * enough in time? Otherwise remember it. */
static bool
capture_duplicate(pm_table *t, const pm_packet *p, int dir)
{
    dup_entry key = { p->fingerprint, p->ts_us, p->stream, (uint8_t)dir, true };
    dup_slot *found;
    uint32_t h;

    if (!p->fingerprint || t->dup_window_us <= 0)
        return false;
    if (!t->ring) {
        t->ring = g_new0(dup_entry, PM_DUP_RECENT);
        t->index = lines_alloc0(DUP_BUCKETS * sizeof(dup_bucket));
    }
    h = dup_hash(&key) | 1;
    found = dup_find(t, &key, h);
    if (found) {
        dup_entry *hit = &t->ring[found->seq & (PM_DUP_RECENT - 1)];
        /* Time stamps come from the capture file and may be anything; the
         * gap is taken in unsigned arithmetic, which cannot overflow. */
        uint64_t gap = p->ts_us >= hit->ts_us ? span_us(hit->ts_us, p->ts_us)
                                              : span_us(p->ts_us, hit->ts_us);

        if (gap <= (uint64_t)t->dup_window_us)
            return true;
        found->hash = 0;
        hit->used = false;
    }
    t->ring[t->dup_seq & (PM_DUP_RECENT - 1)] = key;
    dup_index_add(t, t->dup_seq, h);
    t->dup_seq++;
    return false;
}

uint16_t
pm_events_from_analysis(const pm_analysis_flags *f)
{
    uint16_t ev = 0;

    /* Wireshark 4.0 also sets tcp.analysis.retransmission on a spurious
     * retransmission; SCORING.md counts such a packet only as spurious. */
    if (f->spurious_retransmission)
        ev |= PM_EV_SPURIOUS;
    else if (f->retransmission || f->fast_retransmission)
        ev |= PM_EV_RETRANSMISSION;
    if (f->out_of_order)
        ev |= PM_EV_OUT_OF_ORDER;
    if (f->zero_window)
        ev |= PM_EV_ZERO_WINDOW;
    /* One event per run of duplicate ACKs that reaches the classic
     * fast-retransmit trigger: only the third of the run counts. */
    if (f->duplicate_ack_num == 3)
        ev |= PM_EV_DUP_ACK;
    if (f->lost_segment)
        ev |= PM_EV_LOST_SEGMENT;
    if (f->tcp_flags & PM_TCP_RST)
        ev |= PM_EV_RESET;
    if (f->zero_window_probe)
        ev |= PM_EV_ZW_PROBE;
    return ev;
}

pm_table *
pm_table_new(void)
{
    pm_table *t = g_new0(pm_table, 1);

    t->order = g_ptr_array_new();
    t->blocks = g_ptr_array_new_with_free_func(free);
    t->dup_window_us = 10000;
    t->home_mask = DUP_BUCKETS - 1;
    return t;
}

static void
free_sketches(pm_table *t)
{
    for (guint i = 0; i < t->order->len; i++) {
        pm_conv *c = g_ptr_array_index(t->order, i);

        g_free(c->rtt[0]);
        g_free(c->rtt[1]);
        g_free(c->rtt_small[0]);
        g_free(c->rtt_small[1]);
    }
}

void
pm_table_reset(pm_table *t)
{
    free_sketches(t);
    map_clear(&t->by_stream);
    g_ptr_array_set_size(t->order, 0);
    g_ptr_array_set_size(t->blocks, 0);
    t->used_in_block = t->block_size = 0;
    memset(&t->summary, 0, sizeof t->summary);
    free(t->index);
    t->index = NULL;
    g_free(t->ring);
    t->ring = NULL;
    t->dup_seq = 0;
}

void
pm_table_free(pm_table *t)
{
    if (!t)
        return;
    free_sketches(t);
    free(t->index);
    g_free(t->ring);
    map_clear(&t->by_stream);
    g_ptr_array_free(t->order, TRUE);
    g_ptr_array_free(t->blocks, TRUE);
    g_free(t);
}

static bool
endpoint_equal(const pm_endpoint *a, const pm_endpoint *b)
{
    return a->family == b->family && a->port == b->port &&
           memcmp(a->addr, b->addr, sizeof a->addr) == 0;
}

/* pm_conv's layout counts on whole lines; blocks start on one, so every
 * record does. (With 4-byte pointers the offsets differ; the layout still
 * works, a little less well.) */
#if UINTPTR_MAX > 0xFFFFFFFFu
_Static_assert(sizeof(pm_conv) % 64 == 0, "a conversation is whole cache lines");
_Static_assert(offsetof(pm_conv, dir) == 64 && offsetof(pm_conv, rtt) == 192,
               "the fields every packet touches fill the first three lines");
#endif

/* A table's first PM_SMALL_BLOCKS blocks hold PM_BLOCK records each;
 * past those, a block holds 2 MiB (5,461 records), so that a small table
 * stays small and a big one takes few allocations. */
static pm_conv *
conv_alloc(pm_table *t)
{
    pm_conv *block;

    if (t->used_in_block == t->block_size) {
        bool big = t->blocks->len >= PM_SMALL_BLOCKS;

        t->block_size = big ? PM_BIG_BLOCK / sizeof(pm_conv) : PM_BLOCK;
        g_ptr_array_add(t->blocks, lines_alloc0(t->block_size * sizeof(pm_conv)));
        t->used_in_block = 0;
    }
    block = g_ptr_array_index(t->blocks, t->blocks->len - 1);
    return &block[t->used_in_block++];
}

const char *
pm_event_counter_name(int i)
{
    static const char *const names[PM_EV_COUNT] = {
        "retransmissions", "spurious_retransmissions", "out_of_order",
        "zero_window_events", "duplicate_ack_events", "lost_segments", "resets",
        "zero_window_probes",
    };

    return i >= 0 && i < PM_EV_COUNT ? names[i] : "?";
}

static void
keep_evidence(pm_conv *c, const pm_packet *p)
{
    for (int i = 0; i < PM_EV_COUNT; i++) {
        if ((p->events & (1u << i)) && c->evidence_n[i] < PM_EVIDENCE_FRAMES)
            c->evidence[i][c->evidence_n[i]++] = p->frame;
    }
}

/* A duplicate-ACK event is the third real duplicate ACK of a run.
 * Wireshark numbers every duplicate ACK of a run from 1, copies made by
 * the capture included, so with copies its #3 may be only the second real
 * one: count the real ones since the run's #1. On a capture without
 * copies this is exactly "duplicate_ack_num == 3". */
static uint16_t
dup_ack_event(pm_conv *c, int dir, const pm_packet *p, bool copy)
{
    uint8_t *run = &c->dup_run[dir];

    if (!p->dup_ack_num)               /* the record says only the event */
        return copy ? 0 : (p->events & PM_EV_DUP_ACK);
    if (p->dup_ack_num == 1)
        *run = 0;                      /* a run starts, maybe with a copy */
    if (copy)
        return 0;
    if (*run < UINT8_MAX)
        (*run)++;
    return *run == 3 ? PM_EV_DUP_ACK : 0;
}

static void
count(pm_dir_counters *d, const pm_packet *p)
{
    d->packets++;
    d->bytes += p->length;
    if (p->events & PM_EV_RETRANSMISSION) d->retransmissions++;
    if (p->events & PM_EV_SPURIOUS)       d->spurious_retransmissions++;
    if (p->events & PM_EV_OUT_OF_ORDER)   d->out_of_order++;
    if (p->events & PM_EV_ZERO_WINDOW)    d->zero_window_events++;
    if (p->events & PM_EV_DUP_ACK)        d->duplicate_ack_events++; /* see dup_ack_event() */
    if (p->events & PM_EV_LOST_SEGMENT)   d->lost_segments++;
    if (p->events & PM_EV_RESET)          d->resets++;
    if (p->events & PM_EV_ZW_PROBE)       d->zero_window_probes++;
}

enum { HS_SYN = 1, HS_SYNACK = 2 /* answered */, HS_REFUSED = 4 };

static void
track_handshake(pm_conv *c, const pm_packet *p, int dir)
{
    bool syn = p->tcp_flags & PM_TCP_SYN, ack = p->tcp_flags & PM_TCP_ACK;

    if (syn && !ack && dir == PM_C2S) {
        c->hs_seen |= HS_SYN;
        if (c->syns < UINT16_MAX)
            c->syns++;
    } else if (dir == PM_S2C && (c->hs_seen & (HS_SYNACK | HS_REFUSED)) == 0) {
        /* The server's first word: a RST refuses; anything else (the
         * SYN-ACK, or later packets when the capture missed it) answers. */
        c->hs_seen |= (p->tcp_flags & PM_TCP_RST) ? HS_REFUSED : HS_SYNACK;
    }
}

pm_handshake
pm_conv_handshake(const pm_conv *c)
{
    if (!(c->hs_seen & HS_SYN))
        return PM_HS_MID_STREAM;
    if (c->hs_seen & HS_REFUSED)
        return PM_HS_REFUSED;
    return (c->hs_seen & HS_SYNACK) ? PM_HS_COMPLETE : PM_HS_NO_ANSWER;
}

const char *
pm_handshake_name(pm_handshake h)
{
    static const char *const names[] = { "mid_stream", "complete", "refused", "no_answer" };

    return (unsigned)h < G_N_ELEMENTS(names) ? names[h] : "?";
}

uint64_t
pm_conv_duration_ms(const pm_conv *c)
{
    return span_us(c->first_ts_us, c->last_ts_us) / 1000;
}

/* A direction's RTT samples from the second until they span more than
 * PM_RTT_SMALL sketch buckets: the sketch's own counters (count, zero,
 * min, max) and its non-empty buckets, by increasing index. 168 bytes
 * instead of 2,096; the sketch they describe is rebuilt on demand by
 * pm_sketch_import(), exactly (a sketch is a function of its samples). */
struct pm_rtt_small {
    uint64_t count, zero;
    double min, max;
    uint32_t n;
    int32_t index[PM_RTT_SMALL];
    uint32_t count_of[PM_RTT_SMALL];
};

/* Adds a sample pm_sketch_add() would accept. False, changing nothing,
 * when it needs a bucket more than the list holds. */
static bool
small_add(struct pm_rtt_small *s, double ms)
{
    uint32_t k = 0;
    int32_t i;

    ms = fabs(ms);
    if (ms >= PM_SKETCH_MIN_MS) {
        i = pm_sketch_index(ms);
        while (k < s->n && s->index[k] < i)
            k++;
        if (k < s->n && s->index[k] == i) {
            if (s->count_of[k] != UINT32_MAX)
                s->count_of[k]++;
        } else if (s->n == PM_RTT_SMALL) {
            return false;
        } else {
            memmove(&s->index[k + 1], &s->index[k], (s->n - k) * sizeof s->index[0]);
            memmove(&s->count_of[k + 1], &s->count_of[k], (s->n - k) * sizeof s->count_of[0]);
            s->index[k] = i;
            s->count_of[k] = 1;
            s->n++;
        }
    } else {
        s->zero++;
    }
    s->count++;
    if (ms < s->min)
        s->min = ms;
    if (ms > s->max)
        s->max = ms;
    return true;
}

/* The list as the sketch holds it: buckets more than the sketch's window
 * below the highest are counted in its lowest bucket ("collapsed"), as
 * adding the samples one by one would have done. Fills index[]/count[]
 * and raw; returns how many buckets. */
static size_t
small_collapse(const struct pm_rtt_small *s, pm_sketch_raw *raw, int32_t index[PM_RTT_SMALL],
               uint32_t count[PM_RTT_SMALL])
{
    size_t n = 0;

    *raw = (pm_sketch_raw){ s->count, s->zero, 0, s->min, s->max, PM_SKETCH_NO_INDEX };
    if (s->n > 0) {
        int32_t lo;

        raw->hi = s->index[s->n - 1];
        lo = raw->hi - (PM_SKETCH_BUCKETS - 1);
        for (uint32_t k = 0; k < s->n; k++) {
            int32_t i = s->index[k] < lo ? lo : s->index[k];

            if (i != s->index[k])
                raw->collapsed += s->count_of[k];
            if (n > 0 && index[n - 1] == i) {
                /* lo, shared by the collapsed buckets: saturate as the
                 * sketch's own counters do. */
                uint64_t t = (uint64_t)count[n - 1] + s->count_of[k];

                count[n - 1] = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
            } else {
                index[n] = i;
                count[n++] = s->count_of[k];
            }
        }
    }
    return n;
}

static void
small_expand(const struct pm_rtt_small *s, struct pm_sketch *out)
{
    int32_t index[PM_RTT_SMALL];
    uint32_t count[PM_RTT_SMALL];
    pm_sketch_raw raw;
    size_t n = small_collapse(s, &raw, index, count);

    if (!pm_sketch_import(out, &raw, index, count, n)) {
        /* Cannot happen for a list small_add() made; an empty sketch is
         * better than a made-up one. */
        pm_sketch_init(out);
    }
}

const struct pm_sketch *
pm_conv_sketch(const pm_conv *c, int dir, struct pm_sketch *scratch)
{
    if (c->rtt[dir])
        return c->rtt[dir];
    if (c->rtt_small[dir]) {
        small_expand(c->rtt_small[dir], scratch);
        return scratch;
    }
    if (!(c->rtt_one & (1u << dir)))
        return NULL;
    pm_sketch_init(scratch);
    pm_sketch_add(scratch, c->rtt_first[dir]);
    return scratch;
}

double
pm_conv_rtt_max(const pm_conv *c, int dir)
{
    if (c->rtt[dir])
        return pm_sketch_max(c->rtt[dir]);
    if (c->rtt_small[dir])
        return c->rtt_small[dir]->max;
    return (c->rtt_one >> dir) & 1u ? fabs((double)c->rtt_first[dir]) : NAN;
}

uint64_t
pm_conv_rtt_count(const pm_conv *c, int dir)
{
    if (c->rtt[dir])
        return pm_sketch_count(c->rtt[dir]);
    if (c->rtt_small[dir])
        return c->rtt_small[dir]->count;
    return (c->rtt_one >> dir) & 1u;
}

bool
pm_conv_rtt(const pm_conv *c, int dir, pm_rtt_stats *out)
{
    struct pm_sketch scratch;
    const struct pm_sketch *k;

    memset(out, 0, sizeof *out);
    /* The report asks for three quantiles of every direction: read them
     * off the list rather than rebuild a 2 KiB sketch for each. */
    if (!c->rtt[dir] && c->rtt_small[dir]) {
        int32_t index[PM_RTT_SMALL];
        uint32_t count[PM_RTT_SMALL];
        pm_sketch_raw raw;
        size_t n = small_collapse(c->rtt_small[dir], &raw, index, count);

        out->samples = raw.count;
        out->p50_ms = pm_sketch_quantile_sparse(&raw, index, count, n, 0.50);
        out->p95_ms = pm_sketch_quantile_sparse(&raw, index, count, n, 0.95);
        out->p99_ms = pm_sketch_quantile_sparse(&raw, index, count, n, 0.99);
        out->max_ms = raw.max;
        return raw.count > 0;
    }
    k = pm_conv_sketch(c, dir, &scratch);
    if (!k || pm_sketch_count(k) == 0)
        return false;
    out->samples = pm_sketch_count(k);
    out->p50_ms = pm_sketch_quantile(k, 0.50);
    out->p95_ms = pm_sketch_quantile(k, 0.95);
    out->p99_ms = pm_sketch_quantile(k, 0.99);
    out->max_ms = pm_sketch_max(k);
    return true;
}

/* The owners' fields of a conversation new to this table, as unmarked:
 * what another table's owner put there (an import) means nothing here. */
static void
owner_marks_clear(pm_conv *c)
{
    c->user_node = -1;
    c->user_value = 0;
    c->user_extra = 0;
    c->user_ptr = NULL;
    c->tree_node = -1;
    c->tree_value = 0;
    c->tree_extra = 0;
}

/* An ACK's RTT times the data the other side sent: file it there. */
static void
add_rtt(pm_conv *c, int ack_dir, float ms)
{
    int d = ack_dir == PM_C2S ? PM_S2C : PM_C2S;
    struct pm_rtt_small *sm;

    if (c->rtt[d]) {
        pm_sketch_add(c->rtt[d], ms);
        return;
    }
    /* What the sketch would refuse is not kept either. */
    if (!(ms >= 0.0f) || isinf(ms))
        return;
    if (!c->rtt_small[d]) {
        if (!(c->rtt_one & (1u << d))) {
            c->rtt_first[d] = ms;
            c->rtt_one |= (uint8_t)(1u << d);
            return;
        }
        sm = c->rtt_small[d] = g_new0(struct pm_rtt_small, 1);
        sm->min = INFINITY;
        sm->max = -INFINITY;
        small_add(sm, c->rtt_first[d]);
        c->rtt_one &= (uint8_t)~(1u << d);
    }
    if (small_add(c->rtt_small[d], ms))
        return;
    /* More buckets than the list holds: the full sketch takes over. */
    c->rtt[d] = g_new(struct pm_sketch, 1);
    small_expand(c->rtt_small[d], c->rtt[d]);
    g_free(c->rtt_small[d]);
    c->rtt_small[d] = NULL;
    pm_sketch_add(c->rtt[d], ms);
}

static void
summary_add(pm_summary *s, const pm_packet *p)
{
    if (s->packets_total == 0 || p->ts_us < s->first_ts_us)
        s->first_ts_us = p->ts_us;
    if (s->packets_total == 0 || p->ts_us > s->last_ts_us)
        s->last_ts_us = p->ts_us;
    if (p->truncated)
        s->truncated_frames++;
    s->packets_total++;
    s->bytes_total += p->length;
}

pm_conv *
pm_table_add(pm_table *t, const pm_packet *p, int *dir_out)
{
    pm_conv *c;
    bool syn_only = (p->tcp_flags & PM_TCP_SYN) && !(p->tcp_flags & PM_TCP_ACK);
    int dir;

    summary_add(&t->summary, p);
    if (p->stream == PM_STREAM_NONE)
        return NULL;

    c = map_get(&t->by_stream, p->stream);
    if (!c) {
        c = conv_alloc(t);
        c->stream = p->stream;
        c->client = p->src;
        c->server = p->dst;
        c->client_from_syn = syn_only;
        c->first_frame = p->frame;
        c->first_ts_us = p->ts_us;
        c->initial_rtt_ms = -1.0f;
        owner_marks_clear(c);
        map_put(&t->by_stream, p->stream, c, t->order->len + 1);
        g_ptr_array_add(t->order, c);
    } else if (syn_only && !c->client_from_syn) {
        /* The handshake arrived after other packets: its sender is the
         * client, whoever spoke first. */
        if (!endpoint_equal(&p->src, &c->client)) {
            pm_dir_counters tmp = c->dir[PM_C2S];
            pm_endpoint e = c->client;
            struct pm_sketch *k = c->rtt[PM_C2S];

            c->dir[PM_C2S] = c->dir[PM_S2C];
            c->dir[PM_S2C] = tmp;
            c->rtt[PM_C2S] = c->rtt[PM_S2C];
            c->rtt[PM_S2C] = k;
            {
                struct pm_rtt_small *sm = c->rtt_small[PM_C2S];

                c->rtt_small[PM_C2S] = c->rtt_small[PM_S2C];
                c->rtt_small[PM_S2C] = sm;
            }
            {
                float f = c->rtt_first[PM_C2S];

                c->rtt_first[PM_C2S] = c->rtt_first[PM_S2C];
                c->rtt_first[PM_S2C] = f;
                c->rtt_one = (uint8_t)(((c->rtt_one & 1u) << 1) | ((c->rtt_one >> 1) & 1u));
            }
            c->client = c->server;
            c->server = e;
            c->hs_seen = 0; /* what was seen before was judged from the wrong side */
        }
        c->client_from_syn = true;
    }

    dir = endpoint_equal(&p->src, &c->client) ? PM_C2S : PM_S2C;
    if (dir_out)
        *dir_out = dir;
    if (p->copy || capture_duplicate(t, p, dir)) {
        /* A copy is not traffic: none of its flags, bytes or RTTs count. */
        c->dir[dir].capture_duplicates++;
        dup_ack_event(c, dir, p, true);
        c->last_events = 0;
        c->last_was_copy = true;
        c->last_may_raise = false;
        return c;
    }
    {
        pm_packet q = *p;

        q.events = (uint16_t)((p->events & ~PM_EV_DUP_ACK) | dup_ack_event(c, dir, p, false));
        count(&c->dir[dir], &q);
        if (p->ack_lost)
            c->dir[dir].acked_unseen++;
        c->last_events = q.events;
        c->last_was_copy = false;
        if (q.events)
            keep_evidence(c, &q);
    }
    {
        uint8_t hs = c->hs_seen;
        uint16_t syns = c->syns;

        track_handshake(c, p, dir);
        /* The score and level only fall as clean packets arrive (every
         * rate has the packet count below the line), so only events, a
         * change of handshake or an RTT sample can raise them: callers that
         * watch for a rise score only such packets. */
        c->last_may_raise = c->last_events != 0 || c->hs_seen != hs || c->syns != syns ||
                            p->ack_rtt_ms >= 0 || c->first_frame == p->frame;
    }
    if (p->ack_rtt_ms >= 0)
        add_rtt(c, dir, p->ack_rtt_ms);
    if (p->initial_rtt_ms >= 0 && c->initial_rtt_ms < 0)
        c->initial_rtt_ms = p->initial_rtt_ms;
    if (p->ts_us > c->last_ts_us)
        c->last_ts_us = p->ts_us;
    if (p->ts_us < c->first_ts_us)
        c->first_ts_us = p->ts_us;
    c->last_frame = p->frame;
    return c;
}

pm_conv *
pm_table_lookup(const pm_table *t, uint32_t stream)
{
    return map_get(&t->by_stream, stream);
}

size_t
pm_table_count(const pm_table *t)
{
    return t->order->len;
}

pm_conv *const *
pm_table_convs(const pm_table *t)
{
    return (pm_conv *const *)t->order->pdata;
}

const pm_summary *
pm_table_summary(const pm_table *t)
{
    return &t->summary;
}

uint64_t
pm_summary_duration_ms(const pm_summary *s)
{
    if (s->packets_total < 2)
        return 0;
    return span_us(s->first_ts_us, s->last_ts_us) / 1000;
}

void
pm_endpoint_format(const pm_endpoint *e, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN];

    if (e->family == 6) {
        inet_ntop(AF_INET6, e->addr, ip, sizeof ip);
        g_snprintf(buf, (gulong)len, "[%s]:%u", ip, e->port);
    } else {
        inet_ntop(AF_INET, e->addr, ip, sizeof ip);
        g_snprintf(buf, (gulong)len, "%s:%u", ip, e->port);
    }
}

void
pm_conv_flow(const pm_conv *c, char *buf, size_t len)
{
    char a[PM_ENDPOINT_STRLEN], b[PM_ENDPOINT_STRLEN];

    pm_endpoint_format(&c->client, a, sizeof a);
    pm_endpoint_format(&c->server, b, sizeof b);
    g_snprintf(buf, (gulong)len, "%s <-> %s/TCP", a, b);
}

/* ------------------------------------------------- import (pm_state.h) */

pm_conv *
pm_table_import(pm_table *t, const pm_conv *src)
{
    pm_conv *c;

    if (map_get(&t->by_stream, src->stream))
        return NULL;
    c = conv_alloc(t);
    *c = *src;
    /* The table owns its sketches: copies, never the caller's. */
    for (int d = 0; d < 2; d++)
    {
        c->rtt[d] = src->rtt[d] ? g_memdup2(src->rtt[d], sizeof(struct pm_sketch)) : NULL;
        c->rtt_small[d] = src->rtt_small[d] ? g_memdup2(src->rtt_small[d], sizeof(struct pm_rtt_small)) : NULL;
    }
    owner_marks_clear(c);
    map_put(&t->by_stream, c->stream, c, t->order->len + 1);
    g_ptr_array_add(t->order, c);
    return c;
}

void
pm_table_merge_summary(pm_table *t, const pm_summary *s)
{
    pm_summary *m = &t->summary;

    if (s->packets_total == 0) {
        /* An empty part has no time stamps to speak of. */
        m->truncated_frames += s->truncated_frames;
        m->bytes_total += s->bytes_total;
        return;
    }
    if (m->packets_total == 0 || s->first_ts_us < m->first_ts_us)
        m->first_ts_us = s->first_ts_us;
    if (m->packets_total == 0 || s->last_ts_us > m->last_ts_us)
        m->last_ts_us = s->last_ts_us;
    m->packets_total += s->packets_total;
    m->bytes_total += s->bytes_total;
    m->truncated_frames += s->truncated_frames;
}

static int
cmp_first_frame(gconstpointer a, gconstpointer b)
{
    const pm_conv *x = *(pm_conv *const *)a, *y = *(pm_conv *const *)b;

    return x->first_frame < y->first_frame ? -1 : x->first_frame > y->first_frame;
}

size_t
pm_table_renumber(pm_table *t)
{
    size_t ties = 0;

    /* Wireshark numbers tcp.stream in the order conversations first show
     * up, so a conversation's number in the whole capture is the rank of
     * its first frame. g_ptr_array_sort is stable (a merge sort): equal
     * first frames, which one numbering of frames never has, keep the
     * order they were imported in. */
    g_ptr_array_sort(t->order, cmp_first_frame);
    map_clear(&t->by_stream);
    for (guint i = 0; i < t->order->len; i++) {
        pm_conv *c = g_ptr_array_index(t->order, i);

        if (i > 0 && c->first_frame == ((pm_conv *)g_ptr_array_index(t->order, i - 1))->first_frame)
            ties++;
        c->stream = i;
        map_put(&t->by_stream, c->stream, c, i + 1);
    }
    return ties;
}
