/* pm-split.c
 * packetmancer-split: cuts a capture into N shards by conversation, so that
 * N tshark runs can analyse it in parallel and their JSON documents can be
 * merged (packetmancer-merge) into the report of the whole capture.
 *
 *   packetmancer-split -n N -o DIR [--format pcap|pcapng] [--keep-partial]
 *                      [--stats] INPUT
 *
 * writes DIR/shard-000.cap ... DIR/shard-(N-1).cap and, beside each,
 * DIR/shard-NNN.frames: the original 1-based frame number of every record
 * of that shard, in order, as little-endian uint32. A report on a shard
 * can so point at the frames of the original capture.
 *
 * Reading and writing go through Wireshark's wiretap library, so every
 * format tshark reads is accepted (pcap, pcapng, gzip-compressed, ...).
 * Records keep their order, time stamps, bytes and interface; every record
 * goes to exactly one shard, and the shards together are the whole file.
 *
 * Which shard: a symmetric hash of the conversation, parsed from the raw
 * bytes of the packet (docs/PARALLEL.md has the rule and the reasons):
 *   - TCP and UDP over IPv4/IPv6: the unordered pair of (address, port);
 *   - but when either port is 53 (DNS), or the packet is an IP fragment:
 *     the unordered address pair alone, so that a DNS client/server pair
 *     (PacketMancer counts DNS per host pair, over UDP and TCP) and all
 *     fragments of one datagram stay together;
 *   - anything else (not IP, IP without TCP/UDP, a link type not parsed
 *     here, a header cut short by the snapshot length): shard 0.
 * Link types parsed: Ethernet (with any number of 802.1Q/802.1ad tags),
 * Linux cooked SLL and SLL2, raw IP, BSD null/loopback and OpenBSD loop.
 * The hash is fixed (FNV-1a 64 of a canonical key, then the SplitMix64
 * finaliser; no seed), so a split is reproducible on every machine.
 *
 * Exit status: 0 done; 1 usage; 2 the input cannot be opened or is not a
 * capture file; 3 the input is damaged or truncated part-way (the shards
 * are removed, or kept with --keep-partial: then they hold exactly the
 * records before the damage); 4 an output cannot be written.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <wiretap/wtap.h>
#include <wsutil/buffer.h>
#include <wsutil/privileges.h>
#include <wsutil/wslog.h>

#include "pm_version.h"

#define ME "packetmancer-split"

enum {
    EXIT_USAGE = 1,
    EXIT_INPUT = 2,
    EXIT_DAMAGED = 3,
    EXIT_OUTPUT = 4,
};

/* At most this many shards: each needs two open files, and the default
 * limit of open files is 1024. More shards than cores buys nothing. */
#define MAX_SHARDS 256

/* ------------------------------------------------------------ the hash */

/* FNV-1a, 64-bit: simple, fixed, documented, no seed. */
#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME  0x100000001b3ULL

static uint64_t fnv1a64(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV64_PRIME;
    }
    return h;
}

/* SplitMix64's finaliser: FNV-1a's low bits depend mostly on the last
 * bytes hashed (here a port), and the shard is taken modulo N, so every
 * bit of the result is mixed into every other before that. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* One end of a conversation as hashed: the address (4 or 16 bytes), then
 * the port in network byte order (0 for address-only keys). */
typedef struct {
    uint8_t b[18];
} endpoint;

/* The key of a packet, as parsed. */
typedef struct {
    int found;          /* 0: not IP with TCP/UDP, so shard 0 */
    int version;        /* 4 or 6 */
    int addr_only;      /* DNS or fragment: ports left out */
    const uint8_t *src, *dst;   /* addresses inside the packet */
    uint16_t sport, dport;
} flow_key;

/* The documented hash of a key. The two ends are put in a canonical order
 * (byte-wise smaller first), so both directions give the same value:
 *   h = mix64(FNV-1a-64(tag, lo_end, hi_end))
 * tag = the IP version (4 or 6), plus 0x80 for an address-only key; an end
 * = address bytes then 2 port bytes, big-endian (0 when address-only). */
static uint64_t key_hash(const flow_key *k)
{
    size_t alen = k->version == 4 ? 4 : 16;
    endpoint a, b;
    memcpy(a.b, k->src, alen);
    memcpy(b.b, k->dst, alen);
    uint16_t pa = k->addr_only ? 0 : k->sport;
    uint16_t pb = k->addr_only ? 0 : k->dport;
    a.b[alen] = (uint8_t)(pa >> 8);
    a.b[alen + 1] = (uint8_t)pa;
    b.b[alen] = (uint8_t)(pb >> 8);
    b.b[alen + 1] = (uint8_t)pb;
    const endpoint *lo = &a, *hi = &b;
    if (memcmp(a.b, b.b, alen + 2) > 0) {
        lo = &b;
        hi = &a;
    }
    uint8_t tag = (uint8_t)(k->version | (k->addr_only ? 0x80 : 0));
    uint64_t h = fnv1a64(FNV64_OFFSET, &tag, 1);
    h = fnv1a64(h, lo->b, alen + 2);
    h = fnv1a64(h, hi->b, alen + 2);
    return mix64(h);
}

/* ------------------------------------------------------------ parsing */

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define DNS_PORT 53

/* The ports of a TCP/UDP header at p (len bytes captured). */
static void take_ports(flow_key *k, int proto, const uint8_t *p, size_t len)
{
    if (proto != IPPROTO_TCP_ && proto != IPPROTO_UDP_)
        return;
    if (k->addr_only) {
        /* A fragment: its address pair is its key, ports or not. */
        k->found = 1;
        return;
    }
    if (len < 4)
        return;     /* ports cut off by the snapshot length: shard 0 */
    k->sport = be16(p);
    k->dport = be16(p + 2);
    if (k->sport == DNS_PORT || k->dport == DNS_PORT)
        k->addr_only = 1;
    k->found = 1;
}

static void parse_ipv4(flow_key *k, const uint8_t *p, size_t len)
{
    if (len < 20 || (p[0] >> 4) != 4)
        return;
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    if (ihl < 20 || len < ihl)
        return;
    k->version = 4;
    k->src = p + 12;
    k->dst = p + 16;
    /* More-fragments flag or a non-zero offset: one piece of a datagram.
     * The first piece has the ports, the others have not, so all pieces
     * are keyed by the address pair alone. */
    if (be16(p + 6) & 0x3fff) {
        k->addr_only = 1;
        if (p[9] != IPPROTO_TCP_ && p[9] != IPPROTO_UDP_)
            return;
    }
    take_ports(k, p[9], p + ihl, len - ihl);
}

static void parse_ipv6(flow_key *k, const uint8_t *p, size_t len)
{
    if (len < 40 || (p[0] >> 4) != 6)
        return;
    k->version = 6;
    k->src = p + 8;
    k->dst = p + 24;
    int next = p[6];
    size_t off = 40;
    /* Walk the extension headers that may come before TCP/UDP. A bounded
     * number of them, so a crafted chain cannot loop for long. */
    for (int hops = 0; hops < 16; hops++) {
        switch (next) {
        case 0:     /* hop-by-hop options */
        case 43:    /* routing */
        case 60:    /* destination options */
            if (len < off + 8)
                return;
            next = p[off];
            off += ((size_t)p[off + 1] + 1) * 8;
            break;
        case 51:    /* authentication header: length in 4-byte units, minus 2 */
            if (len < off + 8)
                return;
            next = p[off];
            off += ((size_t)p[off + 1] + 2) * 4;
            break;
        case 44:    /* fragment header: keyed by the address pair */
            if (len < off + 8)
                return;
            k->addr_only = 1;
            next = p[off];
            off += 8;
            break;
        default:
            if (off > len)
                return;
            take_ports(k, next, p + off, len - off);
            return;
        }
    }
}

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd

/* An ethertype and what follows it; VLAN tags (802.1Q, 802.1ad and the
 * older QinQ values) are skipped, as many as there are. */
static void parse_ethertype(flow_key *k, uint16_t type, const uint8_t *p, size_t len)
{
    while (type == 0x8100 || type == 0x88a8 || type == 0x9100 ||
           type == 0x9200 || type == 0x9300) {
        if (len < 4)
            return;
        type = be16(p + 2);
        p += 4;
        len -= 4;
    }
    if (type == ETHERTYPE_IPV4)
        parse_ipv4(k, p, len);
    else if (type == ETHERTYPE_IPV6)
        parse_ipv6(k, p, len);
}

/* IP by its version nibble (raw IP link types). */
static void parse_raw_ip(flow_key *k, const uint8_t *p, size_t len)
{
    if (len < 1)
        return;
    if ((p[0] >> 4) == 4)
        parse_ipv4(k, p, len);
    else if ((p[0] >> 4) == 6)
        parse_ipv6(k, p, len);
}

/* BSD loopback: a 4-byte address family in the byte order of the machine
 * that captured (so either), or in network order for OpenBSD's "loop".
 * AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD),
 * 28 (FreeBSD) or 30 (macOS). */
static void parse_null(flow_key *k, const uint8_t *p, size_t len, int network_order)
{
    if (len < 4)
        return;
    uint32_t a = be32(p), b = network_order ? a : le32(p);
    uint32_t fam[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (fam[i] == 2) {
            parse_ipv4(k, p + 4, len - 4);
            return;
        }
        if (fam[i] == 10 || fam[i] == 24 || fam[i] == 28 || fam[i] == 30) {
            parse_ipv6(k, p + 4, len - 4);
            return;
        }
    }
}

/* The shard of one packet of link type encap. */
static unsigned shard_of(int encap, const uint8_t *p, size_t len, unsigned nshards)
{
    flow_key k;
    memset(&k, 0, sizeof k);
    switch (encap) {
    case WTAP_ENCAP_ETHERNET:
        if (len >= 14)
            parse_ethertype(&k, be16(p + 12), p + 14, len - 14);
        break;
    case WTAP_ENCAP_SLL:        /* 16 bytes; protocol at 14 */
        if (len >= 16)
            parse_ethertype(&k, be16(p + 14), p + 16, len - 16);
        break;
    case WTAP_ENCAP_SLL2:       /* 20 bytes; protocol at 0 */
        if (len >= 20)
            parse_ethertype(&k, be16(p), p + 20, len - 20);
        break;
    case WTAP_ENCAP_RAW_IP:
    case WTAP_ENCAP_RAW_IP4:
    case WTAP_ENCAP_RAW_IP6:
        parse_raw_ip(&k, p, len);
        break;
    case WTAP_ENCAP_NULL:
        parse_null(&k, p, len, 0);
        break;
    case WTAP_ENCAP_LOOP:
        parse_null(&k, p, len, 1);
        break;
    default:
        break;
    }
    if (!k.found || nshards == 1)
        return 0;
    return (unsigned)(key_hash(&k) % nshards);
}

/* ------------------------------------------------------------ output */

typedef struct {
    char *cap_path;
    char *frames_path;
    wtap_dumper *dumper;
    FILE *frames;
    guint64 records;
    /* The .frames entries not yet written: fwrite per 4-byte entry costs
     * more than everything else per record, so they go out in blocks. */
    uint8_t pending[1 << 15];
    size_t npending;
} shard;

/* Writes out the buffered frame numbers of a shard; 0 on failure. */
static int flush_frames(shard *sh)
{
    if (sh->npending > 0 && fwrite(sh->pending, 1, sh->npending, sh->frames) != sh->npending)
        return 0;
    sh->npending = 0;
    return 1;
}

static void usage(FILE *to)
{
    fprintf(to,
        "Usage: " ME " -n N -o DIR [--format pcap|pcapng] [--keep-partial]\n"
        "                           [--stats] INPUT\n"
        "\n"
        "Splits a capture into N shards by conversation (both directions of a\n"
        "TCP/UDP conversation, and every DNS client/server pair, in one shard),\n"
        "for parallel analysis: DIR/shard-000.cap ... and, beside each,\n"
        "DIR/shard-NNN.frames, the original 1-based frame number of each of its\n"
        "records as little-endian uint32.\n"
        "\n"
        "Options:\n"
        "  -n, --shards N     number of shards, 1 to %d\n"
        "  -o, --output DIR   where the shards go; created if missing, must be\n"
        "                     empty\n"
        "  -F, --format FMT   pcap or pcapng (default: the input's format when\n"
        "                     it can be written, else pcapng)\n"
        "  --keep-partial     on a damaged input keep the shards (the records\n"
        "                     before the damage); the exit status is still 3\n"
        "  --stats            print records per shard and the speed on stderr\n"
        "  -V, --version      print the version\n"
        "  -h, --help         print this help\n"
        "\n"
        "Exit status: 0 done; 1 usage error; 2 the input cannot be opened or\n"
        "is not a capture file; 3 the input is damaged or truncated part-way;\n"
        "4 an output cannot be written.\n",
        MAX_SHARDS);
}

/* One error line about the input: "WHAT: wiretap's message (details)". */
static void input_error(const char *what, int err, gchar *err_info)
{
    fprintf(stderr, ME ": %s: %s", what, wtap_strerror(err));
    if (err_info != NULL && *err_info != '\0')
        fprintf(stderr, " (%s)", err_info);
    fputc('\n', stderr);
    g_free(err_info);
}

static void output_error(const char *path, int err, gchar *err_info)
{
    fprintf(stderr, ME ": cannot write %s: %s", path, wtap_strerror(err));
    if (err_info != NULL && *err_info != '\0')
        fprintf(stderr, " (%s)", err_info);
    fputc('\n', stderr);
    g_free(err_info);
}

/* Add the interface descriptions wiretap has read since the last call to
 * every shard, when the output format keeps them (pcapng). Every shard
 * gets every interface, so interface numbers stay the input's. */
static int add_new_idbs(wtap *wth, shard *shards, unsigned n, int keeps_idbs)
{
    wtap_block_t idb;
    while ((idb = wtap_get_next_interface_description(wth)) != NULL) {
        if (!keeps_idbs)
            continue;
        for (unsigned i = 0; i < n; i++) {
            int err = 0;
            gchar *err_info = NULL;
            if (!wtap_dump_add_idb(shards[i].dumper, idb, &err, &err_info)) {
                output_error(shards[i].cap_path, err, err_info);
                return 0;
            }
        }
    }
    return 1;
}

/* DIR must be a folder with nothing in it (created when missing): stale
 * shards of an earlier split with more shards would otherwise be mixed in
 * by anyone who globs shard-*. */
static int prepare_dir(const char *dir, int *created)
{
    struct stat st;
    *created = 0;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT && mkdir(dir, 0777) == 0) {
            *created = 1;
            return 1;
        }
        fprintf(stderr, ME ": cannot create the output folder %s: %s\n", dir, g_strerror(errno));
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, ME ": %s is not a folder\n", dir);
        return 0;
    }
    GError *gerr = NULL;
    GDir *d = g_dir_open(dir, 0, &gerr);
    if (d == NULL) {
        fprintf(stderr, ME ": cannot read the output folder %s: %s\n", dir, gerr->message);
        g_error_free(gerr);
        return 0;
    }
    const char *entry = g_dir_read_name(d);
    g_dir_close(d);
    if (entry != NULL) {
        fprintf(stderr, ME ": the output folder %s is not empty (it has %s); "
                "give an empty or new folder\n", dir, entry);
        return 0;
    }
    return 1;
}

static void remove_outputs(shard *shards, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (shards[i].cap_path)
            (void)unlink(shards[i].cap_path);
        if (shards[i].frames_path)
            (void)unlink(shards[i].frames_path);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"shards", required_argument, NULL, 'n'},
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'F'},
        {"keep-partial", no_argument, NULL, 'k'},
        {"stats", no_argument, NULL, 's'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long nshards = 0;
    const char *outdir = NULL, *format = NULL;
    int keep_partial = 0, stats = 0, opt;

    opterr = 0;     /* our own messages, one line each */
    while ((opt = getopt_long(argc, argv, ":n:o:F:Vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': {
            char *end;
            errno = 0;
            nshards = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end != '\0' || nshards < 1 || nshards > MAX_SHARDS) {
                fprintf(stderr, ME ": -n needs a number of shards from 1 to %d, not '%s'\n",
                        MAX_SHARDS, optarg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'o': outdir = optarg; break;
        case 'F': format = optarg; break;
        case 'k': keep_partial = 1; break;
        case 's': stats = 1; break;
        case 'V': printf(ME " %s\n", PM_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, ME ": option %s needs a value (see " ME " --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, ME ": unknown option %s (see " ME " --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (nshards == 0 || outdir == NULL) {
        fprintf(stderr, ME ": -n N and -o DIR are required (see " ME " --help)\n");
        return EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(stderr, ME ": %s (see " ME " --help)\n",
                optind == argc ? "missing the input capture" : "only one input capture is split at a time");
        return EXIT_USAGE;
    }
    if (format && strcmp(format, "pcap") != 0 && strcmp(format, "pcapng") != 0) {
        fprintf(stderr, ME ": --format must be pcap or pcapng, not '%s'\n", format);
        return EXIT_USAGE;
    }
    const char *input = argv[optind];

    /* Wireshark's logging set up as its own tools do: without it, wiretap
     * prints every debug message. Warnings and worse still show. */
    ws_log_init(ME, NULL);
    init_process_policies();
    wtap_init(FALSE);

    int err = 0;
    gchar *err_info = NULL;
    /* Sequential reading only: no random access, so no second handle. */
    wtap *wth = wtap_open_offline(input, WTAP_TYPE_AUTO, &err, &err_info, FALSE);
    if (wth == NULL) {
        gchar *what = g_strdup_printf("cannot open %s", input);
        input_error(what, err, err_info);
        g_free(what);
        return EXIT_INPUT;
    }

    /* The output type: the input's own when wiretap can write it with the
     * input's link type (pcap stays pcap), else pcapng, which takes every
     * link type and mixed ones. */
    int in_type = wtap_file_type_subtype(wth);
    int encap = wtap_file_encap(wth);
    int out_type;
    if (format) {
        out_type = strcmp(format, "pcap") == 0 ? wtap_pcap_file_type_subtype()
                                               : wtap_pcapng_file_type_subtype();
        if (!wtap_dump_can_write_encap(out_type, encap)) {
            fprintf(stderr, ME ": %s cannot be written as %s (link type %s); use --format pcapng\n",
                    input, format, encap == WTAP_ENCAP_PER_PACKET ? "per packet" : wtap_encap_description(encap));
            wtap_close(wth);
            return EXIT_USAGE;
        }
    } else if (wtap_dump_can_open(in_type) && wtap_dump_can_write_encap(in_type, encap)) {
        out_type = in_type;
    } else {
        out_type = wtap_pcapng_file_type_subtype();
    }
    int keeps_idbs = wtap_file_type_subtype_supports_block(out_type, WTAP_BLOCK_IF_ID_AND_INFO)
                     != BLOCK_NOT_SUPPORTED;

    int created_dir;
    if (!prepare_dir(outdir, &created_dir)) {
        wtap_close(wth);
        return EXIT_OUTPUT;
    }

    /* The section headers, name resolution and decryption secrets of the
     * input for every shard; interfaces are added as they are read. */
    wtap_dump_params params = WTAP_DUMP_PARAMS_INIT;
    wtap_dump_params_init_no_idbs(&params, wth);

    unsigned n = (unsigned)nshards;
    shard *shards = g_new0(shard, n);
    int status = 0;
    for (unsigned i = 0; i < n && status == 0; i++) {
        shards[i].cap_path = g_strdup_printf("%s/shard-%03u.cap", outdir, i);
        shards[i].frames_path = g_strdup_printf("%s/shard-%03u.frames", outdir, i);
        shards[i].dumper = wtap_dump_open(shards[i].cap_path, out_type, WTAP_UNCOMPRESSED,
                                          &params, &err, &err_info);
        if (shards[i].dumper == NULL) {
            output_error(shards[i].cap_path, err, err_info);
            status = EXIT_OUTPUT;
            break;
        }
        shards[i].frames = fopen(shards[i].frames_path, "wb");
        if (shards[i].frames == NULL) {
            fprintf(stderr, ME ": cannot write %s: %s\n", shards[i].frames_path, g_strerror(errno));
            status = EXIT_OUTPUT;
            break;
        }
    }
    if (status == 0 && !add_new_idbs(wth, shards, n, keeps_idbs))
        status = EXIT_OUTPUT;

    wtap_rec rec;
    Buffer buf;
    wtap_rec_init(&rec);
    ws_buffer_init(&buf, 65536);
    guint64 frame = 0;
    gint64 offset;
    double t0 = now_s();
    err = 0;
    err_info = NULL;
    while (status == 0 && wtap_read(wth, &rec, &buf, &err, &err_info, &offset)) {
        /* tshark numbers every record it reads as a frame, whatever its
         * type, so the frame number is the record's ordinal. */
        frame++;
        if (frame > G_MAXUINT32) {
            fprintf(stderr, ME ": %s has more than %u records, more than a frame number holds\n",
                    input, G_MAXUINT32);
            status = EXIT_INPUT;
            break;
        }
        if (!add_new_idbs(wth, shards, n, keeps_idbs)) {
            status = EXIT_OUTPUT;
            break;
        }
        const guint8 *data = ws_buffer_start_ptr(&buf);
        unsigned s = 0;
        if (rec.rec_type == REC_TYPE_PACKET) {
            s = shard_of(rec.rec_header.packet_header.pkt_encap, data,
                         rec.rec_header.packet_header.caplen, n);
        }
        int werr = 0;
        gchar *werr_info = NULL;
        if (!wtap_dump(shards[s].dumper, &rec, data, &werr, &werr_info)) {
            fprintf(stderr, ME ": frame %" G_GUINT64_FORMAT ": ", frame);
            output_error(shards[s].cap_path, werr, werr_info);
            status = EXIT_OUTPUT;
            break;
        }
        shard *sh = &shards[s];
        if (sh->npending + 4 > sizeof sh->pending && !flush_frames(sh)) {
            fprintf(stderr, ME ": cannot write %s: %s\n", sh->frames_path, g_strerror(errno));
            status = EXIT_OUTPUT;
            break;
        }
        uint8_t *le = sh->pending + sh->npending;   /* little-endian uint32 */
        le[0] = (uint8_t)frame;
        le[1] = (uint8_t)(frame >> 8);
        le[2] = (uint8_t)(frame >> 16);
        le[3] = (uint8_t)(frame >> 24);
        sh->npending += 4;
        shards[s].records++;
        wtap_rec_reset(&rec);
    }
    if (status == 0 && err != 0) {
        /* wtap_read stopped on an error, not at the end of the file. */
        gchar *what = g_strdup_printf("%s is damaged or truncated after %" G_GUINT64_FORMAT
                                      " records", input, frame);
        input_error(what, err, err_info);
        g_free(what);
        status = EXIT_DAMAGED;
    }
    double elapsed = now_s() - t0;

    /* Close everything, whatever happened; a failed close is a failed
     * write (the last buffered data did not reach the disk). */
    for (unsigned i = 0; i < n; i++) {
        if (shards[i].dumper) {
            int cerr = 0;
            gchar *cerr_info = NULL;
            if (!wtap_dump_close(shards[i].dumper, NULL, &cerr, &cerr_info)) {
                if (status == 0 || status == EXIT_DAMAGED) {
                    output_error(shards[i].cap_path, cerr, cerr_info);
                    status = EXIT_OUTPUT;
                } else {
                    g_free(cerr_info);
                }
            }
        }
        int frames_ok = 1;
        if (shards[i].frames) {
            /* Closed even when the flush failed, so no handle leaks. */
            frames_ok = flush_frames(&shards[i]);
            if (fclose(shards[i].frames) != 0)
                frames_ok = 0;
        }
        if (!frames_ok && (status == 0 || status == EXIT_DAMAGED)) {
            fprintf(stderr, ME ": cannot write %s: %s\n", shards[i].frames_path, g_strerror(errno));
            status = EXIT_OUTPUT;
        }
    }

    if (stats) {
        gint64 size = wtap_file_size(wth, &err);
        for (unsigned i = 0; i < n; i++)
            fprintf(stderr, "shard %03u: %" G_GUINT64_FORMAT " records\n", i, shards[i].records);
        fprintf(stderr, "%" G_GUINT64_FORMAT " records, %.1f MB read in %.2f s: %.1f MB/s\n",
                frame, size / 1e6, elapsed, elapsed > 0 ? size / 1e6 / elapsed : 0.0);
    }

    if (status != 0 && !(status == EXIT_DAMAGED && keep_partial)) {
        /* Nothing half-made stays behind: no shard that looks whole. */
        remove_outputs(shards, n);
        if (created_dir)
            (void)rmdir(outdir);
    }
    else if (status == EXIT_DAMAGED)
        fprintf(stderr, ME ": kept the shards of the %" G_GUINT64_FORMAT " records before the damage (--keep-partial)\n",
                frame);

    for (unsigned i = 0; i < n; i++) {
        g_free(shards[i].cap_path);
        g_free(shards[i].frames_path);
    }
    g_free(shards);
    wtap_rec_cleanup(&rec);
    ws_buffer_free(&buf);
    wtap_dump_params_cleanup(&params);
    wtap_close(wth);
    wtap_cleanup();
    return status;
}
