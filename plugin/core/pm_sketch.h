/* pm_sketch.h
 * A bounded-memory, exactly mergeable quantile sketch for RTT samples
 * (one per conversation direction), in the manner of DDSketch: samples are
 * counted in logarithmic buckets, and a quantile is reported as the
 * representative value of the bucket that holds the sample of that rank.
 *
 * Buckets. gamma = 1.02: bucket i holds the values in (gamma^(i-1), gamma^i]
 * and reports v(i) = 2*gamma^i/(gamma+1) = gamma^i/1.01. This is DDSketch
 * with a = (gamma-1)/(gamma+1) = 1/101 (0.990%) rather than a = 1%: the
 * margin absorbs floating-point rounding. With a = 1% exactly, a sample of
 * exactly 1 ms would be reported as 0.99 ms, which is 1.0000000000000009%
 * off once computed in doubles. Each bucket spans 2%.
 * Examples (tests/unit/test_sketch.c pins them): 1 ms -> bucket 0, reported
 * 0.990099 ms; 100 ms -> bucket 233 (ln 100 / ln 1.02 = 232.55), reported
 * 1.02^233/1.01 = 99.889226 ms.
 *
 * Guarantee. A quantile q names the sample of 0-based rank
 *     r = floor(q * (n - 1))      (q * (n - 1) evaluated in double)
 * in the sorted samples, the "lower nearest rank": q = 0.5 of 1..10 is 5.
 * Let x be that sample. pm_sketch_quantile() returns:
 *   - x itself, exactly, when r = 0 (the min) or r = n - 1 (the max);
 *   - otherwise, if x >= PM_SKETCH_MIN_MS and x was not collapsed (below),
 *     a value v with |v - x| <= x/101 in exact arithmetic, and
 *     |v - x| < 0.01 * x as computed (rounding costs < 1e-12 * x);
 *   - if x < PM_SKETCH_MIN_MS (zero/underflow counter): the exact min,
 *     so |v - x| < PM_SKETCH_MIN_MS (1 microsecond) in absolute terms;
 *   - if x was collapsed: v(lo) of the lowest kept bucket lo, an upper
 *     bound: min <= x <= v * 1.01/1.02 (see pm_sketch_collapsed()).
 * Every reported value also lies within [min, max].
 *
 * Memory. A dense window of PM_SKETCH_BUCKETS = 512 counters covers the
 * buckets hi-511 .. hi, where hi is the highest bucket of any sample: a
 * ratio of 1.02^512 = 25,310 between the lowest and the highest value kept
 * to 1%, for example 0.1 ms to 2.5 s, or 2.4 ms to 60 s. One direction's
 * RTTs rarely span that: a LAN path (0.1 ms) with 200 ms delayed ACKs is a
 * factor of 2,000. 256 buckets (a factor of 159) would not hold that case;
 * 1024 would double the memory to cover what nearly never happens. A
 * sample below the window is "collapsed": counted in the lowest kept bucket
 * lo = hi - 511. So RTTs from 1 us to minutes never break anything: high
 * quantiles (p95, p99, max) keep the 1% guarantee, and only ranks among the
 * lowest samples, those more than 25,310 times smaller than the max, turn
 * into the upper bound above (one 5-minute sample puts the floor at 12 ms:
 * a 0.3 ms median then reads "at most 12 ms"). Values below PM_SKETCH_MIN_MS, including 0,
 * go to a separate zero/underflow counter and never collapse anything.
 *
 * Merging. The state is a function of the multiset of samples alone (the
 * proof is in pm_sketch.c), so pm_sketch_merge(a, b) leaves a equal,
 * bucket by bucket, to the sketch of a's and b's samples added in any
 * order; merging is commutative and associative.
 *
 * Cost. sizeof(pm_sketch) = 2,096 bytes, fixed: nothing is allocated, ever,
 * so a sketch can be embedded in a struct or allocated once (g_new). Adding
 * is O(1) amortised: a log(), and when the highest bucket rises by d,
 * min(d, 512) slot visits; it only rises, by at most 36,191 buckets over
 * the whole double range (-348 to 35,843), whatever the number of samples.
 * Quantiles cost one pass over the window (512 counters).
 *
 * Counters are 32-bit: Wireshark numbers frames with 32 bits, so one
 * capture cannot put 2^32 samples in one bucket. Merges across captures
 * could; a bucket then stays at UINT32_MAX (never wraps), count and
 * min/max stay exact, quantile ranks near that bucket become approximate,
 * and merge results may differ in pm_sketch_collapsed() only.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#ifndef PM_SKETCH_H
#define PM_SKETCH_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PM_SKETCH_GAMMA 1.02
/* Counters in the window; a power of two so that a bucket's slot is its
 * index modulo the window by a mask. */
#define PM_SKETCH_BUCKETS 512
/* Smallest value with a bucket (1 microsecond, in ms). Below it, RTTs are
 * timestamp noise: most captures have microsecond resolution. */
#define PM_SKETCH_MIN_MS 0.001
/* pm_sketch_index() of a value with no bucket; also "no bucket yet". */
#define PM_SKETCH_NO_INDEX INT32_MIN

/* Public so that it can be embedded; read it only through the functions.
 * No padding anywhere, and equal sketches have equal bytes. */
typedef struct pm_sketch {
    uint64_t count;       /* every accepted sample */
    uint64_t zero;        /* samples below PM_SKETCH_MIN_MS */
    uint64_t collapsed;   /* samples counted in bucket lo, below their own */
    double min;           /* exact; +inf when empty */
    double max;           /* exact; -inf when empty */
    int32_t hi;           /* highest bucket of any sample, or PM_SKETCH_NO_INDEX */
    uint32_t reserved;    /* always 0 */
    /* bucket i (hi-511 <= i <= hi) is counted in slot i mod 512; every
     * slot belongs to exactly one bucket of the window. */
    uint32_t bucket[PM_SKETCH_BUCKETS];
} pm_sketch;

/* An empty sketch. A zero-filled struct is not one: call this. */
void pm_sketch_init(pm_sketch *s);

/* Adds one RTT in milliseconds. NaN, infinities and negative values are
 * rejected (false, nothing counted); -0.0 counts as 0. Never allocates. */
bool pm_sketch_add(pm_sketch *s, double ms);

/* dst becomes the sketch of dst's and src's samples. src may be dst. */
void pm_sketch_merge(pm_sketch *dst, const pm_sketch *src);

uint64_t pm_sketch_count(const pm_sketch *s);

/* The sample of rank floor(q * (n - 1)), within the guarantee above.
 * NAN when the sketch is empty or q is not in [0, 1]. */
double pm_sketch_quantile(const pm_sketch *s, double q);

/* Exact; NAN when empty. */
double pm_sketch_min(const pm_sketch *s);
double pm_sketch_max(const pm_sketch *s);

/* How many samples were collapsed, i.e. counted below their own bucket.
 * With z samples under PM_SKETCH_MIN_MS, ranks z .. z + collapsed - 1 are
 * the ones reported as an upper bound; 0 means every quantile keeps the
 * 1% guarantee. */
uint64_t pm_sketch_collapsed(const pm_sketch *s);

/* Same samples, bucket by bucket (and same count, min, max). */
bool pm_sketch_equal(const pm_sketch *a, const pm_sketch *b);

/* The bucket arithmetic, for tests and documentation: the bucket of a
 * value (PM_SKETCH_NO_INDEX below PM_SKETCH_MIN_MS or when rejected), and
 * the value a bucket reports (gamma^i / 1.01; +inf past DBL_MAX). */
int32_t pm_sketch_index(double ms);
double pm_sketch_bucket_value(int32_t index);


/* Exact export and restore, for carrying a sketch in a document
 * (pm_state.c, packetmancer-merge). pm_sketch_raw is every field but the
 * window; the window travels as its non-empty buckets, by index. */
typedef struct pm_sketch_raw {
    uint64_t count, zero, collapsed;
    double min, max;      /* +inf / -inf when empty */
    int32_t hi;           /* PM_SKETCH_NO_INDEX when no bucket */
} pm_sketch_raw;

void pm_sketch_export(const pm_sketch *s, pm_sketch_raw *raw);
/* Writes the non-empty buckets, lowest index first, into index[] and
 * count[] (room for PM_SKETCH_BUCKETS each); returns how many. */
size_t pm_sketch_buckets(const pm_sketch *s, int32_t *index, uint32_t *count);
/* Rebuilds the sketch that pm_sketch_export/pm_sketch_buckets described,
 * bit for bit. Returns false, leaving s empty, when the description cannot
 * come from any sketch: buckets outside [hi-511, hi] or not increasing, an
 * empty bucket, counts that do not add up, min/max outside their buckets.
 * A document is outside input: nothing in it is trusted. */
bool pm_sketch_import(pm_sketch *s, const pm_sketch_raw *raw, const int32_t *index,
                      const uint32_t *count, size_t n);
/* pm_sketch_quantile() of the sketch pm_sketch_import() would build from
 * the same description, without building it (2 KiB and a pass over the
 * window): for a caller that keeps few buckets in that form. */
double pm_sketch_quantile_sparse(const pm_sketch_raw *raw, const int32_t *index,
                                 const uint32_t *count, size_t n, double q);

#ifdef __cplusplus
}
#endif

#endif /* PM_SKETCH_H */
