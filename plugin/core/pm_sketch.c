/* pm_sketch.c
 * The RTT quantile sketch: log buckets in a window anchored at the highest
 * bucket seen, so that the sketch of a set of samples does not depend on
 * the order they came in, and two sketches merge exactly.
 *
 * Why merging is exact. Write idx(x) for the bucket of a sample x >=
 * PM_SKETCH_MIN_MS, and for a multiset M of samples define
 *     hi(M)  = max idx(x) over M,      lo(M) = hi(M) - 511,
 *     eff(x) = max(idx(x), lo(M))      (the bucket x is counted in),
 *     F(M)   = count, zero, min, max as usual; bucket[k] = #{x: eff(x) = k};
 *              collapsed = #{x: idx(x) < lo(M)}.
 * F(M) depends on M only. Claim: after any sequence of adds and merges,
 * the state is F of the samples put in. For pm_sketch_add, check the three
 * cases in the code: idx > hi moves hi up and re-counts every bucket below
 * the new lo into it, which is eff under the new lo; lo <= idx <= hi counts
 * idx; idx < lo counts lo and one more collapsed sample. For the merge of
 * F(A) and F(B), let H = max(hi(A), hi(B)) = hi(A u B) and L = H - 511.
 * Since L >= lo(A), for every x of A
 *     max(eff_A(x), L) = max(idx(x), lo(A), L) = max(idx(x), L) = eff(x),
 * so eff in the union follows from A's bucket alone, never from the index
 * that collapsing threw away; likewise for B. This is why the window is
 * anchored at the highest bucket: a union's window only ever starts higher
 * than its parts'. Collapsed samples of the union: those x of A with
 * eff_A(x) < L (then idx(x) < L), plus those with eff_A(x) = L and
 * idx(x) < L, which exist only when lo(A) = L and are then exactly A's
 * collapsed ones. The merge code adds precisely these. Counts, zero, min
 * and max are sums and extremes, so the merged state is F(A u B); any
 * order or grouping of merges and adds gives the same F of the same
 * multiset, hence commutativity and associativity.
 *
 * Saturation (a bucket at UINT32_MAX) keeps bucket counts order-free too,
 * because min(a + b, MAX) groups freely, but not the collapsed counter;
 * pm_sketch.h says why one capture never gets there.
 *
 * Copyright (c) 2026 The PacketMancer authors
 * SPDX-License-Identifier: MIT
 */

#include "pm_sketch.h"

#include <math.h>
#include <string.h>

#define N PM_SKETCH_BUCKETS

_Static_assert((N & (N - 1)) == 0, "PM_SKETCH_BUCKETS must be a power of two");
_Static_assert(sizeof(pm_sketch) == 2096, "pm_sketch.h states sizeof(pm_sketch) = 2,096");

/* ln(1.02), to the nearest double. */
static const double LN_GAMMA = 0.01980262729617973;

/* Slot of bucket i: i mod N, also for negative i (two's complement). */
static inline uint32_t
slot(int32_t i)
{
    return (uint32_t)i & (N - 1);
}

static inline void
bucket_add(pm_sketch *s, int32_t i, uint64_t c)
{
    uint64_t t = (uint64_t)s->bucket[slot(i)] + c;

    s->bucket[slot(i)] = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

int32_t
pm_sketch_index(double ms)
{
    /* Also false for NaN; +inf would give an index past every double. */
    if (!(ms >= PM_SKETCH_MIN_MS) || isinf(ms))
        return PM_SKETCH_NO_INDEX;
    /* The smallest i with ms <= 1.02^i. Rounding in log() and the division
     * can move a value within ~1e-12 of a bucket edge to the next bucket;
     * its error is then 1/101 plus that, still under 1%. The result only
     * depends on ms, which is all that merging needs. Range: -348 for
     * 0.001 to 35843 for DBL_MAX. */
    return (int32_t)ceil(log(ms) / LN_GAMMA);
}

double
pm_sketch_bucket_value(int32_t index)
{
    /* 2 * gamma^i / (gamma + 1) with gamma = 1.02. */
    return pow(PM_SKETCH_GAMMA, index) / 1.01;
}

void
pm_sketch_init(pm_sketch *s)
{
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
    s->hi = PM_SKETCH_NO_INDEX;
}

/* Moves the window up so that its highest bucket is new_hi > s->hi,
 * counting every bucket that falls below the new lo into it. The slots
 * of the new buckets hi+1 .. new_hi are those of old_lo .. new_lo-1,
 * the very buckets being moved, so emptying these leaves the new buckets
 * at 0 (when the jump is N or more, every slot is emptied). */
static void
shift_up(pm_sketch *s, int32_t new_hi)
{
    int32_t old_lo = s->hi - (N - 1), new_lo = new_hi - (N - 1);
    /* Moved: old_lo .. end-1; at most N buckets, as old_lo..hi is all. */
    int32_t end = new_lo <= s->hi ? new_lo : s->hi + 1;
    uint64_t moved = 0;

    for (int32_t i = old_lo; i < end; i++) {
        moved += s->bucket[slot(i)];
        s->bucket[slot(i)] = 0;
    }
    s->hi = new_hi;
    /* old_lo always moves (new_lo > old_lo), and with it the samples
     * collapsed so far: every moved sample is below new_lo. */
    s->collapsed = moved;
    bucket_add(s, new_lo, moved);
}

bool
pm_sketch_add(pm_sketch *s, double ms)
{
    int32_t i, lo;

    if (!(ms >= 0.0) || isinf(ms))
        return false;
    ms = fabs(ms); /* -0.0 -> 0.0, so that min is the same bytes */
    s->count++;
    if (ms < s->min)
        s->min = ms;
    if (ms > s->max)
        s->max = ms;
    if (ms < PM_SKETCH_MIN_MS) {
        s->zero++;
        return true;
    }
    i = pm_sketch_index(ms);
    if (s->hi == PM_SKETCH_NO_INDEX) {
        s->hi = i;
    } else if (i > s->hi) {
        shift_up(s, i);
    } else {
        lo = s->hi - (N - 1);
        if (i < lo) {
            i = lo;
            s->collapsed++;
        }
    }
    if (s->bucket[slot(i)] != UINT32_MAX)
        s->bucket[slot(i)]++;
    return true;
}

void
pm_sketch_merge(pm_sketch *dst, const pm_sketch *src)
{
    pm_sketch copy;
    int32_t lo, src_lo;

    if (src == dst) {
        copy = *src;
        src = &copy;
    }
    dst->count += src->count;
    dst->zero += src->zero;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    if (src->hi == PM_SKETCH_NO_INDEX)
        return;
    if (dst->hi == PM_SKETCH_NO_INDEX) {
        dst->hi = src->hi;
        dst->collapsed = src->collapsed;
        memcpy(dst->bucket, src->bucket, sizeof dst->bucket);
        return;
    }
    if (src->hi > dst->hi)
        shift_up(dst, src->hi);
    lo = dst->hi - (N - 1);
    src_lo = src->hi - (N - 1); /* <= lo: dst->hi >= src->hi now */
    for (int32_t i = src_lo; i <= src->hi; i++) {
        uint32_t c = src->bucket[slot(i)];

        if (c == 0)
            continue;
        if (i < lo) {
            bucket_add(dst, lo, c);
            dst->collapsed += c;  /* includes src's collapsed, in src_lo */
        } else {
            bucket_add(dst, i, c);
        }
    }
    if (src_lo == lo)
        dst->collapsed += src->collapsed;
}

uint64_t
pm_sketch_count(const pm_sketch *s)
{
    return s->count;
}

double
pm_sketch_min(const pm_sketch *s)
{
    return s->count ? s->min : NAN;
}

double
pm_sketch_max(const pm_sketch *s)
{
    return s->count ? s->max : NAN;
}

uint64_t
pm_sketch_collapsed(const pm_sketch *s)
{
    return s->collapsed;
}

/* The value reported for a sample in bucket i (or collapsed into it): the
 * sample lies in [min, max], so clamping only brings v closer to it, and
 * turns the +inf of the highest buckets into max. */
static double
clamp_value(double min, double max, int32_t i)
{
    double v = pm_sketch_bucket_value(i);

    if (v < min)
        v = min;
    if (v > max)
        v = max;
    return v;
}

/* The rank a quantile asks for (lower nearest rank), and the answers that
 * need no bucket: NAN, the ends, and ranks among the samples under
 * PM_SKETCH_MIN_MS. True when *v is the answer; false when the bucket
 * holding *rank decides. Shared by the dense and the sparse quantile so
 * that both answer alike. */
static bool
quantile_rank(uint64_t n, uint64_t zero, bool no_bucket, double min, double max, double q,
              uint64_t *rank, double *v)
{
    double r;

    if (n == 0 || !(q >= 0.0 && q <= 1.0)) {
        *v = NAN;
        return true;
    }
    r = floor(q * (double)(n - 1));
    /* (double)(n - 1) rounds up past 2^53 samples; stay a real rank. */
    *rank = r >= (double)(n - 1) ? n - 1 : (uint64_t)r;
    if (*rank == 0) {
        *v = min;
        return true;
    }
    if (*rank == n - 1) {
        *v = max;
        return true;
    }
    /* Below PM_SKETCH_MIN_MS: min is one of those samples, and all of
     * them are within 1 microsecond of it. */
    if (*rank < zero || no_bucket) {
        *v = min;
        return true;
    }
    return false;
}

double
pm_sketch_quantile(const pm_sketch *s, double q)
{
    uint64_t n = s->count, rank, seen;
    double v;

    if (quantile_rank(n, s->zero, s->hi == PM_SKETCH_NO_INDEX, s->min, s->max, q, &rank, &v))
        return v;
    if (rank >= n / 2) {
        /* High quantiles (p95 is asked for on every packet while a
         * conversation is scored) are found from the top: the bucket i
         * holding rank is the lowest whose samples above it, T(i+1), are
         * fewer than n - rank. Same answer as the scan from the bottom,
         * in a few slots instead of up to 512. Saturated buckets can make
         * the counts disagree with n; then the bottom scan decides. */
        uint64_t above = 0, need = n - rank;

        for (int32_t i = s->hi; i > s->hi - N; i--) {
            uint64_t incl = above + s->bucket[slot(i)];

            if (incl >= need || i == s->hi - (N - 1)) {
                if (incl < need)
                    break;
                return clamp_value(s->min, s->max, i);
            }
            above = incl;
        }
    }
    seen = s->zero;
    for (int32_t i = s->hi - (N - 1); i <= s->hi; i++) {
        seen += s->bucket[slot(i)];
        if (seen > rank)
            return clamp_value(s->min, s->max, i);
    }
    return s->max; /* only with saturated buckets */
}

double
pm_sketch_quantile_sparse(const pm_sketch_raw *raw, const int32_t *index, const uint32_t *count,
                          size_t n, double q)
{
    uint64_t rank, seen;
    double v;

    if (quantile_rank(raw->count, raw->zero, n == 0, raw->min, raw->max, q, &rank, &v))
        return v;
    /* The same two scans as pm_sketch_quantile(): only empty buckets lie
     * between listed ones, and they change neither. */
    if (rank >= raw->count / 2) {
        uint64_t above = 0, need = raw->count - rank;

        for (size_t k = n; k-- > 0;) {
            above += count[k];
            if (above >= need)
                return clamp_value(raw->min, raw->max, index[k]);
        }
    }
    seen = raw->zero;
    for (size_t k = 0; k < n; k++) {
        seen += count[k];
        if (seen > rank)
            return clamp_value(raw->min, raw->max, index[k]);
    }
    return raw->max;
}

bool
pm_sketch_equal(const pm_sketch *a, const pm_sketch *b)
{
    return a->count == b->count && a->zero == b->zero &&
           a->collapsed == b->collapsed && a->hi == b->hi &&
           memcmp(&a->min, &b->min, sizeof a->min) == 0 &&
           memcmp(&a->max, &b->max, sizeof a->max) == 0 &&
           memcmp(a->bucket, b->bucket, sizeof a->bucket) == 0;
}

void
pm_sketch_export(const pm_sketch *s, pm_sketch_raw *raw)
{
    raw->count = s->count;
    raw->zero = s->zero;
    raw->collapsed = s->collapsed;
    raw->min = s->min;
    raw->max = s->max;
    raw->hi = s->hi;
}

size_t
pm_sketch_buckets(const pm_sketch *s, int32_t *index, uint32_t *count)
{
    size_t n = 0;

    if (s->hi == PM_SKETCH_NO_INDEX)
        return 0;
    for (int32_t i = s->hi - (N - 1); i <= s->hi; i++) {
        if (s->bucket[slot(i)]) {
            index[n] = i;
            count[n++] = s->bucket[slot(i)];
        }
    }
    return n;
}

/* The checks below are the invariants of a sketch made by pm_sketch_add
 * and pm_sketch_merge (see the proof at the top): what passes them is
 * F(M) of some multiset M, so merging it keeps the guarantees. */
static bool
import_check(const pm_sketch_raw *raw, const int32_t *index, const uint32_t *count, size_t n)
{
    uint64_t sum = 0;
    bool saturated = false;
    int32_t lo;

    if (raw->count == 0)
        return raw->zero == 0 && raw->collapsed == 0 && raw->hi == PM_SKETCH_NO_INDEX &&
               n == 0 && isinf(raw->min) && raw->min > 0 && isinf(raw->max) && raw->max < 0;
    if (!isfinite(raw->min) || !isfinite(raw->max) || !(raw->min >= 0.0) || raw->min > raw->max ||
        signbit(raw->min) || raw->zero > raw->count)
        return false;
    /* min is below the smallest bucket exactly when a sample is. */
    if ((raw->zero > 0) != (raw->min < PM_SKETCH_MIN_MS))
        return false;
    if (raw->hi == PM_SKETCH_NO_INDEX)
        return n == 0 && raw->zero == raw->count && raw->collapsed == 0 &&
               raw->max < PM_SKETCH_MIN_MS;
    /* The highest sample is max; its bucket is hi and never collapses. */
    if (n == 0 || n > N || index[n - 1] != raw->hi || pm_sketch_index(raw->max) != raw->hi)
        return false;
    lo = raw->hi - (N - 1);
    for (size_t k = 0; k < n; k++) {
        if (count[k] == 0 || index[k] < lo || (k > 0 && index[k] <= index[k - 1]))
            return false;
        saturated |= count[k] == UINT32_MAX;
        sum += count[k];               /* at most 512 * 2^32: no overflow */
    }
    if (saturated ? sum > raw->count - raw->zero : sum != raw->count - raw->zero)
        return false;
    if (raw->collapsed == 0) {
        /* Then min, when it has a bucket, is in the lowest one. */
        return raw->zero > 0 || pm_sketch_index(raw->min) == index[0];
    }
    /* Collapsed samples sit in bucket lo and are below it. */
    if (index[0] != lo || (!saturated && raw->collapsed > count[0]))
        return false;
    return raw->zero > 0 || pm_sketch_index(raw->min) < lo;
}

bool
pm_sketch_import(pm_sketch *s, const pm_sketch_raw *raw, const int32_t *index,
                 const uint32_t *count, size_t n)
{
    pm_sketch_init(s);
    if (!import_check(raw, index, count, n))
        return false;
    s->count = raw->count;
    s->zero = raw->zero;
    s->collapsed = raw->collapsed;
    s->min = raw->min;
    s->max = raw->max;
    s->hi = raw->hi;
    for (size_t k = 0; k < n; k++)
        s->bucket[slot(index[k])] = count[k];
    return true;
}
