/* SPDX-License-Identifier: MIT */
/*
 * pm-gen: a fast, deterministic generator of large synthetic TCP captures
 * for PacketMancer's benchmarks (classic pcap, Ethernet, microseconds).
 *
 *   pm-gen [--shape mix|synflood|single] [--packets N] [--conversations C]
 *          [--loss RATE] [--ipv6 FRACTION] [--seed S] [--snaplen BYTES]
 *          [--port P] -o FILE
 *
 * The capture point is next to the clients, so what Wireshark's TCP
 * analysis sees is what a client-side capture of a lossy path shows:
 *
 *  - a client data segment lost after the capture point is seen twice: the
 *    original and, a retransmission timeout later, the copy;
 *  - a server segment lost before the capture point is never seen: the
 *    next one is "previous segment not captured", the client answers every
 *    segment after the hole with a duplicate ACK, and the server's copy
 *    arrives one RTT after the second duplicate ACK (a fast
 *    retransmission) or, for a hole that does not get two duplicate ACKs or
 *    is not the first of its burst, after a 200 ms timeout.
 *
 * Shapes:
 *  mix       C concurrent conversations (handshake with MSS, 1-8
 *            request/response exchanges, delayed ACKs, FIN close); when one
 *            ends a new one starts in its slot, so about C stay open. Stops
 *            after N packets (conversations still open are cut, as in a
 *            real capture).
 *  synflood  C distinct conversations (default 1,000,000), each a SYN;
 *            a third get a SYN-ACK, a third a RST-ACK, a third nothing.
 *  single    one conversation of N packets: back-to-back bulk transfers
 *            (sequence numbers wrap past 4 GiB on big N).
 *
 * Everything comes from one seeded xorshift generator and the output is
 * byte-identical for the same arguments. A summary line with exact counts
 * (conversations, data segments, retransmissions written...) goes to
 * stderr so tests can compare tshark's view with what was meant.
 *
 * --snaplen truncates every packet's captured bytes (the IP and TCP lengths
 * keep the real sizes), which keeps 10-million-packet files small; TCP
 * sequence analysis is unaffected, reassembly of truncated data is not
 * possible. The default (0) writes whole packets.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ random */

/* xorshift64*: tiny, fast and identical everywhere (rand() is not). */
static uint64_t rng_state;

static uint64_t rnd64(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [lo, hi]. The modulo bias is irrelevant at these ranges. */
static uint32_t rnd_range(uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(rnd64() % ((uint64_t)hi - lo + 1));
}

/* Uniform in [0, 1). */
static double rnd_unit(void)
{
    return (double)(rnd64() >> 11) * (1.0 / 9007199254740992.0);
}

/* ------------------------------------------------------------ output */

enum { ETH_LEN = 14, IP4_LEN = 20, IP6_LEN = 40, TCP_LEN = 20, MSS_OPT = 4,
       MSS = 1448, MAX_FRAME = ETH_LEN + IP6_LEN + TCP_LEN + MSS_OPT + MSS };

/* TCP flag bits. */
enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10 };

/* ------------------------------------------------------------ counters */

/* What was written, exactly: the test compares these with tshark. */
static struct {
    uint64_t conversations, conversations_v6;
    uint64_t data_segments;      /* original data segments generated, both directions */
    uint64_t lost;               /* of which lost (server side: never written) */
    uint64_t data_written;       /* original data segments written */
    uint64_t retransmissions;    /* copies written */
    uint64_t fast_retransmissions;
    uint64_t dup_acks;
} st;

static FILE *out;
static uint32_t snaplen;      /* 0: whole packets */
static uint64_t n_written;    /* packets written so far */
static uint64_t bytes_written;

/* Payload bytes: a fixed pseudo-random pattern, so heuristic dissectors
 * reject it quickly and consistently, with 16-bit prefix sums for a cheap
 * TCP checksum of any payload length. */
static uint8_t payload[MSS];
static uint32_t payload_sum[MSS / 2 + 1]; /* sum of the first 2k bytes as words */

static void die(const char *msg)
{
    fprintf(stderr, "pm-gen: %s\n", msg);
    exit(2);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void put_be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void write_file_header(void)
{
    uint8_t h[24];
    put_le32(h, 0xa1b2c3d4);          /* classic pcap, microseconds */
    h[4] = 2; h[5] = 0; h[6] = 4; h[7] = 0;
    put_le32(h + 8, 0);               /* thiszone */
    put_le32(h + 12, 0);              /* sigfigs */
    put_le32(h + 16, snaplen ? snaplen : 65535);
    put_le32(h + 20, 1);              /* LINKTYPE_ETHERNET */
    if (fwrite(h, 1, sizeof h, out) != sizeof h)
        die("cannot write the output file");
}

/* Ones' complement sum of a buffer as big-endian 16-bit words. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
    for (; n > 1; p += 2, n -= 2)
        acc += (uint32_t)p[0] << 8 | p[1];
    if (n)
        acc += (uint32_t)p[0] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* Sum of the first len payload bytes, from the prefix sums. */
static uint32_t payload_sum_len(uint32_t len)
{
    uint32_t acc = payload_sum[len / 2];
    if (len & 1)
        acc += (uint32_t)payload[len - 1] << 8;
    return acc;
}

/* One endpoint pair. Addresses are kept as bytes, ready to copy. */
struct flow {
    bool v6;
    uint8_t cli[16], srv[16];
    uint16_t cport, sport;
};

/* Writes one TCP packet. dir 0 is client to server. */
static void emit(const struct flow *f, int dir, uint64_t t_us, uint8_t flags,
                 uint32_t seq, uint32_t ack, uint32_t len, bool mss)
{
    static uint8_t frame[MAX_FRAME];
    uint32_t tcp_len = TCP_LEN + (mss ? MSS_OPT : 0);
    uint32_t ip_len = f->v6 ? IP6_LEN : IP4_LEN;
    uint32_t hdr = ETH_LEN + ip_len + tcp_len;
    uint32_t wire = hdr + len;
    const uint8_t *src = dir ? f->srv : f->cli, *dst = dir ? f->cli : f->srv;
    uint16_t sp = dir ? f->sport : f->cport, dp = dir ? f->cport : f->sport;
    uint8_t *p = frame;

    /* Ethernet: two fixed locally administered MACs, client and gateway. */
    static const uint8_t mac_cli[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    static const uint8_t mac_gw[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
    memcpy(p, dir ? mac_cli : mac_gw, 6);
    memcpy(p + 6, dir ? mac_gw : mac_cli, 6);
    put_be16(p + 12, f->v6 ? 0x86dd : 0x0800);
    p += ETH_LEN;

    uint32_t pseudo;
    if (f->v6) {
        p[0] = 0x60; p[1] = 0; p[2] = 0; p[3] = 0;
        put_be16(p + 4, tcp_len + len);
        p[6] = 6;                                /* next header: TCP */
        p[7] = dir ? 58 : 64;                    /* hop limit */
        memcpy(p + 8, src, 16);
        memcpy(p + 24, dst, 16);
        pseudo = sum16(p + 8, 32, 0) + 6 + tcp_len + len;
    } else {
        static uint16_t ip_id;
        p[0] = 0x45; p[1] = 0;
        put_be16(p + 2, IP4_LEN + tcp_len + len);
        put_be16(p + 4, ip_id++);
        p[6] = 0x40; p[7] = 0;                   /* don't fragment */
        p[8] = dir ? 58 : 64;                    /* TTL */
        p[9] = 6;
        p[10] = p[11] = 0;
        memcpy(p + 12, src, 4);
        memcpy(p + 16, dst, 4);
        put_be16(p + 10, fold(sum16(p, IP4_LEN, 0)));
        pseudo = sum16(p + 12, 8, 0) + 6 + tcp_len + len;
    }
    p += ip_len;

    put_be16(p, sp);
    put_be16(p + 2, dp);
    put_be32(p + 4, seq);
    put_be32(p + 8, (flags & F_ACK) ? ack : 0);
    p[12] = (uint8_t)((tcp_len / 4) << 4);
    p[13] = flags;
    put_be16(p + 14, 65535);                     /* window, no scaling */
    p[16] = p[17] = 0;                           /* checksum, below */
    p[18] = p[19] = 0;
    if (mss) {
        p[20] = 2; p[21] = 4;
        put_be16(p + 22, MSS);
    }
    /* Payloads always start on an even offset of the TCP segment (header
     * lengths are multiples of 4), so the prefix sums apply directly. */
    put_be16(p + 16, fold(sum16(p, tcp_len, pseudo) + payload_sum_len(len)));
    memcpy(p + tcp_len, payload, len);

    uint32_t cap = wire;
    if (snaplen && cap > snaplen)
        cap = snaplen;
    uint8_t rec[16];
    put_le32(rec, (uint32_t)(t_us / 1000000));
    put_le32(rec + 4, (uint32_t)(t_us % 1000000));
    put_le32(rec + 8, cap);
    put_le32(rec + 12, wire);
    if (fwrite(rec, 1, 16, out) != 16 || fwrite(frame, 1, cap, out) != cap)
        die("cannot write the output file (disk full?)");
    /* A conversation counts once its first SYN is written: one still
     * waiting to start when the capture ends is not in it. */
    if (flags == F_SYN) {
        st.conversations++;
        if (f->v6)
            st.conversations_v6++;
    }
    n_written++;
    bytes_written += 16 + cap;
}

/* ------------------------------------------------------------ flows */

static double ipv6_share;
static uint16_t server_port = 5001;

/* Conversation k gets its own client address (so no 5-tuple repeats for
 * 16 million conversations) and one of 64 servers. */
static void make_flow(struct flow *f, uint64_t k)
{
    memset(f, 0, sizeof *f);
    f->v6 = ipv6_share > 0 && rnd_unit() < ipv6_share;
    uint32_t srv = (uint32_t)(k % 64);
    if (f->v6) {
        static const uint8_t cpre[8] = {0xfd, 0x00, 0x0c, 0x11, 0, 0, 0, 0};
        static const uint8_t spre[8] = {0xfd, 0x00, 0x5e, 0x77, 0, 0, 0, 0};
        memcpy(f->cli, cpre, 8);
        put_be32(f->cli + 12, (uint32_t)k + 1);
        memcpy(f->srv, spre, 8);
        put_be16(f->srv + 14, srv + 1);
    } else {
        f->cli[0] = 10;
        f->cli[1] = (uint8_t)(k >> 16);
        f->cli[2] = (uint8_t)(k >> 8);
        f->cli[3] = (uint8_t)k;
        f->srv[0] = 192; f->srv[1] = 168; f->srv[2] = 200; f->srv[3] = (uint8_t)(srv + 1);
    }
    f->cport = (uint16_t)rnd_range(32768, 60999);
    f->sport = server_port;
}

/* ------------------------------------------------------------ mix/single */

/* A packet waiting in a conversation's queue. */
struct pkt {
    uint64_t t;
    uint32_t seq, ack, len;
    uint8_t dir, flags;
    bool mss;
    bool retrans;   /* counted as a retransmission when written */
    bool fast;
    bool dup;       /* a duplicate ACK */
};

/* A round queues at most a request and its copy, MAX_SEGS server segments
 * (each arrives once, original or copy) and one ACK per segment. */
enum { MAX_SEGS = 40, QCAP = 2 * MAX_SEGS + 8 };

struct conv {
    struct flow f;
    uint64_t t;            /* time of the last queued packet */
    uint32_t rtt;          /* microseconds, at the client */
    uint32_t gap;          /* server segment spacing */
    uint32_t cseq, sseq;   /* next sequence numbers */
    uint32_t last_ack;     /* the client's last acknowledgement number */
    int exchanges_left;
    int state;             /* 0: needs handshake, 1: exchanging, 2: closed */
    struct pkt q[QCAP];
    int qhead, qlen;
};

static bool single_shape;
static double loss;

static void push(struct conv *c, const struct pkt *p)
{
    if (c->qlen == QCAP)
        die("internal error: conversation queue overflow");
    c->q[c->qlen++] = *p;
    c->t = p->t;
    if (p->dir == 0 && (p->flags & F_ACK))
        c->last_ack = p->ack;
}

/* RTT with a deterministic jitter of up to +-10%. */
static uint32_t jitter(const struct conv *c)
{
    uint32_t j = c->rtt / 10;
    return c->rtt - j + rnd_range(0, 2 * j);
}

static void start_conv(struct conv *c, uint64_t k, uint64_t t)
{
    make_flow(&c->f, k);
    c->rtt = rnd_range(1000, 12000);
    c->gap = rnd_range(20, 120);
    c->cseq = (uint32_t)rnd64();
    c->sseq = (uint32_t)rnd64();
    c->exchanges_left = single_shape ? -1 : (int)rnd_range(1, 8);
    c->state = 0;
    c->t = t;
}

static void q_add(struct conv *c, uint64_t t, int dir, uint8_t flags, uint32_t seq,
                  uint32_t ack, uint32_t len)
{
    struct pkt p = {.t = t, .seq = seq, .ack = ack, .len = len, .dir = (uint8_t)dir, .flags = flags};
    push(c, &p);
}

/* An arrival of a server segment at the capture point. */
struct arrival {
    uint64_t t;
    int seg;
    bool retrans, fast;
    bool visible;  /* a later segment was seen before this copy */
};

static void insert_arrival(struct arrival *a, int *n, struct arrival x)
{
    int i = *n;
    while (i > 0 && a[i - 1].t > x.t) {
        a[i] = a[i - 1];
        i--;
    }
    a[i] = x;
    (*n)++;
}

/* Queues the handshake, one request/response exchange, or the close. */
static void next_round(struct conv *c)
{
    c->qhead = c->qlen = 0;
    uint64_t t = c->t;

    if (c->state == 0) {
        struct pkt syn = {.t = t, .seq = c->cseq, .flags = F_SYN, .mss = true};
        push(c, &syn);
        struct pkt sa = {.t = t + jitter(c), .dir = 1, .seq = c->sseq, .ack = c->cseq + 1,
                         .flags = F_SYN | F_ACK, .mss = true};
        push(c, &sa);
        c->cseq++; c->sseq++;
        q_add(c, c->t + 15, 0, F_ACK, c->cseq, c->sseq, 0);
        c->state = 1;
        return;
    }
    if (c->exchanges_left == 0) {
        /* Client closes; the server's FIN comes one RTT later. */
        q_add(c, t + rnd_range(100, 5000), 0, F_FIN | F_ACK, c->cseq, c->sseq, 0);
        c->cseq++;
        q_add(c, c->t + jitter(c), 1, F_FIN | F_ACK, c->sseq, c->cseq, 0);
        c->sseq++;
        q_add(c, c->t + 15, 0, F_ACK, c->cseq, c->sseq, 0);
        c->state = 2;
        return;
    }
    if (c->exchanges_left > 0)
        c->exchanges_left--;

    /* The request: one client segment, seen even when lost downstream;
     * the copy follows a 200 ms+ retransmission timeout. */
    uint64_t tr = t + (single_shape ? rnd_range(50, 200) : rnd_range(200, 20000));
    uint32_t rlen = rnd_range(40, 600);
    q_add(c, tr, 0, F_PSH | F_ACK, c->cseq, c->sseq, rlen);
    st.data_segments++;
    if (loss > 0 && rnd_unit() < loss) {
        st.lost++;
        tr += 200000 + c->rtt;
        struct pkt p = {.t = tr, .seq = c->cseq, .ack = c->sseq, .len = rlen,
                        .flags = F_PSH | F_ACK, .retrans = true};
        push(c, &p);
    }
    c->cseq += rlen;

    /* The response: n segments, the last one short. */
    int n = single_shape ? MAX_SEGS
                         : (rnd_unit() < 0.5 ? (int)rnd_range(1, 4) : (int)rnd_range(5, MAX_SEGS));
    uint32_t len[MAX_SEGS], seq[MAX_SEGS];
    bool lost[MAX_SEGS], have[MAX_SEGS];
    struct arrival arr[2 * MAX_SEGS];
    int na = 0;
    uint64_t t0 = tr + jitter(c) + rnd_range(20, 500); /* server think time */
    for (int i = 0; i < n; i++) {
        len[i] = (i == n - 1) ? rnd_range(1, MSS) : MSS;
        seq[i] = c->sseq;
        c->sseq += len[i];
        have[i] = false;
        st.data_segments++;
        lost[i] = loss > 0 && rnd_unit() < loss;
        if (lost[i])
            st.lost++;
        else
            arr[na++] = (struct arrival){.t = t0 + (uint64_t)i * c->gap, .seg = i};
    }

    /* The client side: in-order data is ACKed every second segment (and
     * the last one), out-of-order data at once with a duplicate ACK, a
     * filled hole at once. The first hole that gets two duplicate ACKs is
     * fast-retransmitted one RTT later; every other hole waits for a
     * timeout after the last arrival, so Wireshark sees a plain
     * retransmission (never "out of order": its copy comes > 200 ms after
     * the highest segment). */
    int next = 0;          /* lowest segment not yet received */
    int unacked = 0;       /* in-order segments since the last ACK */
    int dups = 0;          /* duplicate ACKs for the current hole */
    bool fast_used = false;
    int highest = -1;      /* highest segment seen so far */
    uint64_t last = t0;
    for (int k = 0; k < na || next < n; k++) {
        if (k == na) {
            /* Timeout: resend the lowest missing segment. When nothing
             * after it was seen (a lost tail), the copy is the first time
             * the capture sees that data: to Wireshark, and so here, it is
             * not a retransmission. */
            insert_arrival(arr, &na, (struct arrival){.t = last + 200000 + jitter(c), .seg = next,
                                                      .retrans = true, .visible = highest > next});
        }
        struct arrival a = arr[k];
        last = a.t;
        if (a.seg > highest)
            highest = a.seg;
        struct pkt sp = {.t = a.t, .dir = 1, .seq = seq[a.seg], .ack = c->cseq, .len = len[a.seg],
                         .flags = F_ACK | (a.seg == n - 1 ? F_PSH : 0),
                         .retrans = a.retrans && a.visible, .fast = a.fast};
        push(c, &sp);
        /* The client's ACK goes out at most 10 us later, before the next
         * arrival, so the ACK numbers stay in time order. */
        uint64_t tack = a.t + 10;
        if (k + 1 < na && arr[k + 1].t < tack)
            tack = a.t + (arr[k + 1].t - a.t) / 2;
        have[a.seg] = true;
        if (a.seg == next) {
            bool hole_filled = false;
            while (next < n && have[next]) {
                next++;
                unacked++;
            }
            hole_filled = a.retrans;
            dups = 0;
            if (hole_filled || unacked >= 2 || next == n) {
                uint32_t ackno = next < n ? seq[next] : c->sseq;
                q_add(c, tack, 0, F_ACK, c->cseq, ackno, 0);
                unacked = 0;
            }
        } else if (a.seg > next) {
            /* Only an ACK that repeats the previous one is a duplicate: the
             * first ACK after a hole usually acknowledges new data. */
            struct pkt d = {.t = tack, .seq = c->cseq, .ack = seq[next], .flags = F_ACK,
                            .dup = seq[next] == c->last_ack};
            push(c, &d);
            if (d.dup && ++dups == 2 && !fast_used) {
                fast_used = true;
                insert_arrival(arr, &na, (struct arrival){.t = tack + jitter(c), .seg = next,
                                                          .retrans = true, .fast = true,
                                                          .visible = true});
            }
        }
    }
}

/* A binary min-heap of conversation slots by the time of their next packet
 * (ties by slot number, for determinism). */
static struct conv *convs;
static uint32_t *heap;
static uint32_t heap_n;

static uint64_t head_t(uint32_t i) { return convs[i].q[convs[i].qhead].t; }

static bool before(uint32_t a, uint32_t b)
{
    uint64_t ta = head_t(a), tb = head_t(b);
    return ta < tb || (ta == tb && a < b);
}

static void sift_down(uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_n && before(heap[l], heap[m])) m = l;
        if (r < heap_n && before(heap[r], heap[m])) m = r;
        if (m == i)
            return;
        uint32_t tmp = heap[i]; heap[i] = heap[m]; heap[m] = tmp;
        i = m;
    }
}

static void gen_mix(uint64_t packets, uint32_t concurrent)
{
    convs = calloc(concurrent, sizeof *convs);
    heap = calloc(concurrent, sizeof *heap);
    if (!convs || !heap)
        die("out of memory");
    uint64_t k = 0;
    /* Start times are spread over the first second, as if the capture
     * began in the middle of busy traffic. */
    uint64_t t_base = 1700000000ULL * 1000000;
    for (uint32_t i = 0; i < concurrent; i++) {
        start_conv(&convs[i], k++, t_base + rnd_range(0, 1000000));
        next_round(&convs[i]);
        heap[i] = i;
    }
    heap_n = concurrent;
    for (uint32_t i = heap_n / 2 + 1; i-- > 0;)
        sift_down(i);

    while (n_written < packets) {
        uint32_t s = heap[0];
        struct conv *c = &convs[s];
        struct pkt *p = &c->q[c->qhead++];
        emit(&c->f, p->dir, p->t, p->flags, p->seq, p->ack, p->len, p->mss);
        if (p->retrans) {
            st.retransmissions++;
            if (p->fast)
                st.fast_retransmissions++;
        } else if (p->len) {
            st.data_written++;
        }
        if (p->dup)
            st.dup_acks++;
        if (c->qhead == c->qlen) {
            if (c->state == 2)
                start_conv(c, k++, c->t + rnd_range(100, 5000));
            next_round(c);
        }
        sift_down(0);
    }
}

/* ------------------------------------------------------------ synflood */

static void gen_synflood(uint64_t conversations)
{
    /* One SYN every 10 us; every answer comes exactly 1 ms later, so a FIFO
     * keeps the answers in time order. */
    enum { DELAY = 1000, STEP = 10 };
    size_t cap = DELAY / STEP + 2, head = 0, len = 0;
    struct pending { struct flow f; uint64_t t; uint32_t seq, ack; uint8_t flags; } *fifo;
    fifo = calloc(cap, sizeof *fifo);
    if (!fifo)
        die("out of memory");
    uint64_t t = 1700000000ULL * 1000000;
    for (uint64_t k = 0; k < conversations || len; k++, t += STEP) {
        while (len && (fifo[head].t <= t || k >= conversations)) {
            struct pending *p = &fifo[head];
            emit(&p->f, 1, p->t, p->flags, p->seq, p->ack, 0, p->flags & F_SYN);
            head = (head + 1) % cap;
            len--;
        }
        if (k >= conversations)
            continue;
        struct flow f;
        make_flow(&f, k);
        uint32_t isn = (uint32_t)rnd64();
        emit(&f, 0, t, F_SYN, isn, 0, 0, true);
        uint32_t kind = rnd_range(0, 2);
        if (kind < 2) {
            struct pending *p = &fifo[(head + len++) % cap];
            *p = (struct pending){.f = f, .t = t + DELAY, .ack = isn + 1,
                                  .seq = kind == 0 ? (uint32_t)rnd64() : 0,
                                  .flags = kind == 0 ? (F_SYN | F_ACK) : (F_RST | F_ACK)};
        }
    }
    free(fifo);
}

/* ------------------------------------------------------------ main */

static void usage(FILE *to)
{
    fputs("usage: pm-gen [--shape mix|synflood|single] [--packets N] [--conversations C]\n"
          "              [--loss RATE] [--ipv6 FRACTION] [--seed S] [--snaplen BYTES]\n"
          "              [--port P] -o FILE\n"
          "  mix (default): N packets (default 2000000) of about C concurrent\n"
          "      conversations (default 20000)\n"
          "  synflood: C distinct conversations (default 1000000), SYN + maybe SYN-ACK/RST\n"
          "  single: one conversation of N packets\n"
          "  --loss: probability that a data segment is lost and retransmitted (0..0.5)\n"
          "  --ipv6: share of conversations over IPv6 (0..1)\n"
          "  --snaplen: captured bytes per packet (0: all)\n", to);
}

static double parse_num(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "pm-gen: %s wants a number in [%g, %g], got '%s'\n", opt, lo, hi, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *shape = "mix", *path = NULL;
    double packets = -1, conversations = -1, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "pm-gen: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--shape")) shape = v;
        else if (!strcmp(a, "--packets")) packets = parse_num(a, v, 1, 4e9);
        else if (!strcmp(a, "--conversations")) conversations = parse_num(a, v, 1, 16e6);
        else if (!strcmp(a, "--loss")) loss = parse_num(a, v, 0, 0.5);
        else if (!strcmp(a, "--ipv6")) ipv6_share = parse_num(a, v, 0, 1);
        else if (!strcmp(a, "--seed")) seed = parse_num(a, v, 0, 1e15);
        else if (!strcmp(a, "--snaplen")) snaplen = (uint32_t)parse_num(a, v, 0, 65535);
        else if (!strcmp(a, "--port")) server_port = (uint16_t)parse_num(a, v, 1, 65535);
        else if (!strcmp(a, "-o")) path = v;
        else {
            fprintf(stderr, "pm-gen: unknown option: %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        fputs("pm-gen: no output file (-o FILE)\n", stderr);
        usage(stderr);
        return 2;
    }
    if (snaplen && snaplen < 64) {
        fputs("pm-gen: --snaplen below 64 would cut TCP headers\n", stderr);
        return 2;
    }
    if (strcmp(shape, "mix") && strcmp(shape, "synflood") && strcmp(shape, "single")) {
        fprintf(stderr, "pm-gen: unknown shape '%s' (mix, synflood or single)\n", shape);
        return 2;
    }

    /* A zero state would stay zero: mix the seed through splitmix64. */
    uint64_t z = (uint64_t)seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    rng_state = (z ^ (z >> 31)) | 1;
    for (int i = 0; i < MSS; i++)
        payload[i] = (uint8_t)(rnd64() >> 56);
    for (int i = 0; i < MSS / 2; i++)
        payload_sum[i + 1] = payload_sum[i] + ((uint32_t)payload[2 * i] << 8 | payload[2 * i + 1]);

    out = !strcmp(path, "-") ? stdout : fopen(path, "wb");
    if (!out) {
        fprintf(stderr, "pm-gen: cannot create %s: %s\n", path, strerror(errno));
        return 2;
    }
    static char buf[1 << 20];
    setvbuf(out, buf, _IOFBF, sizeof buf);
    write_file_header();

    if (!strcmp(shape, "synflood")) {
        gen_synflood(conversations > 0 ? (uint64_t)conversations : 1000000);
    } else if (!strcmp(shape, "single")) {
        single_shape = true;
        gen_mix(packets > 0 ? (uint64_t)packets : 10000000, 1);
    } else {
        gen_mix(packets > 0 ? (uint64_t)packets : 2000000,
                conversations > 0 ? (uint32_t)conversations : 20000);
    }
    if (fflush(out) || (out != stdout && fclose(out)))
        die("cannot write the output file (disk full?)");

    fprintf(stderr,
            "pm-gen: shape=%s packets=%" PRIu64 " bytes=%" PRIu64 " conversations=%" PRIu64
            " ipv6_conversations=%" PRIu64 " data_segments=%" PRIu64 " lost=%" PRIu64
            " data_written=%" PRIu64 " retransmissions=%" PRIu64 " fast_retransmissions=%" PRIu64 " dup_acks=%" PRIu64 "\n",
            shape, n_written, bytes_written + 24, st.conversations, st.conversations_v6,
            st.data_segments, st.lost, st.data_written, st.retransmissions, st.fast_retransmissions, st.dup_acks);
    return 0;
}
