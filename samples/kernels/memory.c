/*
 * Memory work: own memcpy/memmove/memset incl. overlapping moves, the x86
 * string instructions (rep movs/stos, repe cmps, repne scas, lods) with both
 * values of DF, a quicksort over a struct array, an open-addressing hash table,
 * a linked list with merge sort, unaligned and page-crossing accesses, and the
 * atomic read-modify-write instructions. Ends with a checksum.
 */
#include "rt.h"
#include "report.h"

static uint32_t lcg_state = 12345;
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 8;
}

static uint32_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t h = FNV_INIT;
    while (n--) { h ^= *b++; h *= 16777619u; }
    return h;
}

/* ---- own copies, word at a time when aligned -------------------------- */

static void *my_memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d ^ (uintptr_t)s) & 3) == 0) {
        while (n && ((uintptr_t)d & 3)) { *d++ = *s++; n--; }
        uint32_t *dw = (uint32_t *)d;
        const uint32_t *sw = (const uint32_t *)s;
        for (; n >= 4; n -= 4) *dw++ = *sw++;
        d = (uint8_t *)dw;
        s = (const uint8_t *)sw;
    }
    while (n--) *d++ = *s++;
    return dst;
}

static void *my_memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d <= s || d >= s + n) return my_memcpy(dst, src, n);
    d += n;
    s += n;
    if ((((uintptr_t)d ^ (uintptr_t)s) & 3) == 0) {
        while (n && ((uintptr_t)d & 3)) { *--d = *--s; n--; }
        uint32_t *dw = (uint32_t *)d;
        const uint32_t *sw = (const uint32_t *)s;
        for (; n >= 4; n -= 4) *--dw = *--sw;
        d = (uint8_t *)dw;
        s = (const uint8_t *)sw;
    }
    while (n--) *--d = *--s;
    return dst;
}

static void *my_memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    uint32_t w = (uint8_t)c * 0x01010101u;
    while (n && ((uintptr_t)d & 3)) { *d++ = (uint8_t)c; n--; }
    uint32_t *dw = (uint32_t *)d;
    for (; n >= 4; n -= 4) *dw++ = w;
    d = (uint8_t *)dw;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}

static uint8_t buf_a[512] __attribute__((aligned(16)));
static uint8_t buf_b[512] __attribute__((aligned(16)));

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + i * 7u + (i >> 3));
}

static void copies(void)
{
    say("== memcpy / memmove / memset ==\n");
    uint32_t checks = 0, bad = 0;
    static const uint32_t offs[] = { 0, 1, 2, 3, 4, 5, 7, 8, 13, 31, 64, 65 };
    static const uint32_t lens[] = { 0, 1, 2, 3, 4, 5, 8, 15, 16, 17, 63, 100, 200 };
    for (unsigned i = 0; i < ARRAY_SIZE(offs); i++) {
        for (unsigned j = 0; j < ARRAY_SIZE(offs); j++) {
            for (unsigned k = 0; k < ARRAY_SIZE(lens); k++) {
                uint32_t so = offs[i], dof = offs[j], n = lens[k];
                /* memmove inside one buffer: overlapping in either direction */
                fill_pattern(buf_a, sizeof buf_a, so * 31 + dof);
                for (uint32_t t = 0; t < n; t++) buf_b[t] = buf_a[100 + so + t];
                my_memmove(buf_a + 100 + dof, buf_a + 100 + so, n);
                checks++;
                if (memcmp(buf_a + 100 + dof, buf_b, n) != 0) bad++;
                /* memcpy between buffers */
                fill_pattern(buf_a, sizeof buf_a, n);
                my_memset(buf_b, 0xEE, sizeof buf_b);
                my_memcpy(buf_b + dof, buf_a + so, n);
                checks++;
                if (memcmp(buf_b + dof, buf_a + so, n) != 0 || (dof > 0 && buf_b[dof - 1] != 0xEE) ||
                    buf_b[dof + n] != 0xEE)
                    bad++;
                /* memset */
                my_memset(buf_b + so, (int)(n + dof), n);
                checks++;
                for (uint32_t t = 0; t < n; t++) {
                    if (buf_b[so + t] != (uint8_t)(n + dof)) { bad++; break; }
                }
            }
        }
    }
    say("copy checks: %u, failures: %u\n", checks, bad);
    fill_pattern(buf_a, sizeof buf_a, 99);
    my_memmove(buf_a + 3, buf_a, 300);
    my_memmove(buf_a + 100, buf_a + 201, 250);
    say("after two overlapping moves: hash %08x\n", hash_bytes(buf_a, sizeof buf_a));
}

/* ---- the string instructions ---------------------------------------------- */

static void show_regs(const char *what, const void *base_s, const void *base_d, uint32_t esi, uint32_t edi,
                      uint32_t ecx)
{
    if (base_s) {
        say("%-28s esi%+d edi%+d ecx=%u\n", what, (int32_t)(esi - (uint32_t)(uintptr_t)base_s),
            (int32_t)(edi - (uint32_t)(uintptr_t)base_d), ecx);
    } else {
        say("%-28s edi%+d ecx=%u\n", what, (int32_t)(edi - (uint32_t)(uintptr_t)base_d), ecx);
    }
}

static void string_insns(void)
{
    say("== string instructions ==\n");
    uint32_t esi, edi, ecx;

    /* rep movsb forward over an overlap (dst = src + 3): a pattern repeats, as on hardware */
    fill_pattern(buf_a, 64, 1);
    __asm__ volatile("cld\n\trep movsb" : "=S"(esi), "=D"(edi), "=c"(ecx)
                     : "S"(buf_a), "D"(buf_a + 3), "c"(40u) : "memory");
    show_regs("rep movsb fwd overlap", buf_a, buf_a + 3, esi, edi, ecx);
    say("  %08x %08x %08x %08x\n", ((uint32_t *)buf_a)[0], ((uint32_t *)buf_a)[1], ((uint32_t *)buf_a)[9],
        ((uint32_t *)buf_a)[10]);

    /* rep movsb backward (DF=1): a correct memmove to a higher address */
    fill_pattern(buf_a, 64, 1);
    __asm__ volatile("std\n\trep movsb\n\tcld" : "=S"(esi), "=D"(edi), "=c"(ecx)
                     : "S"(buf_a + 39), "D"(buf_a + 42), "c"(40u) : "memory");
    show_regs("std rep movsb bwd", buf_a + 39, buf_a + 42, esi, edi, ecx);
    say("  hash %08x\n", hash_bytes(buf_a, 64));

    /* rep movsw / movsl in both directions */
    fill_pattern(buf_a, 256, 2);
    my_memset(buf_b, 0, 256);
    __asm__ volatile("cld\n\trep movsw" : "=S"(esi), "=D"(edi), "=c"(ecx)
                     : "S"(buf_a + 1), "D"(buf_b + 3), "c"(50u) : "memory");
    show_regs("rep movsw fwd unaligned", buf_a + 1, buf_b + 3, esi, edi, ecx);
    __asm__ volatile("std\n\trep movsl\n\tcld" : "=S"(esi), "=D"(edi), "=c"(ecx)
                     : "S"(buf_a + 196), "D"(buf_b + 200), "c"(20u) : "memory");
    show_regs("std rep movsl bwd", buf_a + 196, buf_b + 200, esi, edi, ecx);
    __asm__ volatile("std\n\trep movsw\n\tcld" : "=S"(esi), "=D"(edi), "=c"(ecx)
                     : "S"(buf_a + 250), "D"(buf_b + 240), "c"(5u) : "memory");
    show_regs("std rep movsw bwd", buf_a + 250, buf_b + 240, esi, edi, ecx);
    __asm__ volatile("cld\n\trep movsl" : "=S"(esi), "=D"(edi), "=c"(ecx)
                     : "S"(buf_a + 100), "D"(buf_a + 104), "c"(8u) : "memory");
    show_regs("rep movsl fwd overlap", buf_a + 100, buf_a + 104, esi, edi, ecx);
    say("  hashes %08x %08x\n", hash_bytes(buf_a, 256), hash_bytes(buf_b, 256));

    /* rep with ECX = 0 does nothing and leaves flags alone */
    uint32_t f;
    __asm__ volatile("cmpl %%ecx, %%ecx\n\tcld\n\trep movsb\n\tpushfl\n\tpopl %3"
                     : "=S"(esi), "=D"(edi), "=c"(ecx), "=r"(f) : "S"(buf_a), "D"(buf_b), "c"(0u) : "memory", "cc");
    show_regs("rep movsb ecx=0", buf_a, buf_b, esi, edi, ecx);
    say("  flags %s\n", fl(f, F_ALL));

    /* rep stosl / stosb / stosw in both directions */
    my_memset(buf_b, 0, 256);
    __asm__ volatile("cld\n\trep stosl" : "=D"(edi), "=c"(ecx) : "D"(buf_b + 2), "c"(10u), "a"(0xA1B2C3D4u) : "memory");
    show_regs("rep stosl fwd", NULL, buf_b + 2, 0, edi, ecx);
    __asm__ volatile("std\n\trep stosl\n\tcld" : "=D"(edi), "=c"(ecx) : "D"(buf_b + 120), "c"(10u), "a"(0x01020304u) : "memory");
    show_regs("std rep stosl bwd", NULL, buf_b + 120, 0, edi, ecx);
    __asm__ volatile("std\n\trep stosb\n\tcld" : "=D"(edi), "=c"(ecx) : "D"(buf_b + 200), "c"(7u), "a"(0x55u) : "memory");
    show_regs("std rep stosb bwd", NULL, buf_b + 200, 0, edi, ecx);
    __asm__ volatile("cld\n\trep stosw" : "=D"(edi), "=c"(ecx) : "D"(buf_b + 211), "c"(9u), "a"(0xBEEFu) : "memory");
    show_regs("rep stosw fwd", NULL, buf_b + 211, 0, edi, ecx);
    say("  hash %08x\n", hash_bytes(buf_b, 256));

    /* repe cmpsb: find the first difference, forwards and backwards */
    fill_pattern(buf_a, 128, 5);
    my_memcpy(buf_b, buf_a, 128);
    buf_b[37] ^= 0x40;
    buf_b[90] ^= 0x01;
    __asm__ volatile("cld\n\trepe cmpsb\n\tpushfl\n\tpopl %3"
                     : "=S"(esi), "=D"(edi), "=c"(ecx), "=r"(f) : "S"(buf_a), "D"(buf_b), "c"(128u) : "memory", "cc");
    show_regs("repe cmpsb fwd", buf_a, buf_b, esi, edi, ecx);
    say("  flags %s\n", fl(f, F_ALL));
    __asm__ volatile("std\n\trepe cmpsb\n\tcld\n\tpushfl\n\tpopl %3"
                     : "=S"(esi), "=D"(edi), "=c"(ecx), "=r"(f) : "S"(buf_a + 127), "D"(buf_b + 127), "c"(128u) : "memory", "cc");
    show_regs("std repe cmpsb bwd", buf_a + 127, buf_b + 127, esi, edi, ecx);
    say("  flags %s\n", fl(f, F_ALL));
    __asm__ volatile("cld\n\trepe cmpsl\n\tpushfl\n\tpopl %3"
                     : "=S"(esi), "=D"(edi), "=c"(ecx), "=r"(f) : "S"(buf_a), "D"(buf_b), "c"(8u) : "memory", "cc");
    show_regs("repe cmpsl equal run", buf_a, buf_b, esi, edi, ecx);
    say("  flags %s\n", fl(f, F_ALL));
    __asm__ volatile("cld\n\trepne cmpsb\n\tpushfl\n\tpopl %3"
                     : "=S"(esi), "=D"(edi), "=c"(ecx), "=r"(f) : "S"(buf_a + 1), "D"(buf_b), "c"(100u) : "memory", "cc");
    show_regs("repne cmpsb", buf_a + 1, buf_b, esi, edi, ecx);
    say("  flags %s\n", fl(f, F_ALL));

    /* repne scasb: strlen forwards, last occurrence backwards, and a miss */
    static const char text[] = "memory: the string instructions at work";
    __asm__ volatile("cld\n\trepne scasb\n\tpushfl\n\tpopl %2"
                     : "=D"(edi), "=c"(ecx), "=r"(f) : "D"(text), "c"(0xFFFFFFFFu), "a"(0) : "memory", "cc");
    show_regs("repne scasb strlen", NULL, text, 0, edi, ecx);
    say("  strlen %u flags %s\n", ~ecx - 1, fl(f, F_ALL));
    __asm__ volatile("std\n\trepne scasb\n\tcld\n\tpushfl\n\tpopl %2"
                     : "=D"(edi), "=c"(ecx), "=r"(f) : "D"(text + sizeof text - 2), "c"(sizeof text - 1), "a"('s')
                     : "memory", "cc");
    show_regs("std repne scasb last 's'", NULL, text, 0, edi, ecx);
    say("  found at %d flags %s\n", (int32_t)(edi + 1 - (uint32_t)(uintptr_t)text), fl(f, F_ALL));
    __asm__ volatile("cld\n\trepne scasb\n\tpushfl\n\tpopl %2"
                     : "=D"(edi), "=c"(ecx), "=r"(f) : "D"(text), "c"(sizeof text - 1), "a"('#') : "memory", "cc");
    show_regs("repne scasb miss", NULL, text, 0, edi, ecx);
    say("  flags %s\n", fl(f, F_ALL));
    __asm__ volatile("cld\n\trepe scasw\n\tpushfl\n\tpopl %2"
                     : "=D"(edi), "=c"(ecx), "=r"(f) : "D"(buf_b + 212), "c"(20u), "a"(0xEFBEu) : "memory", "cc");
    show_regs("repe scasw", NULL, buf_b + 212, 0, edi, ecx);
    say("  flags %s\n", fl(f, F_ALL));

    /* lods in both directions */
    uint32_t sum = 0, al;
    const uint8_t *p = (const uint8_t *)text;
    for (int i = 0; i < 10; i++) {
        __asm__ volatile("cld\n\tlodsb" : "=a"(al), "+S"(p) : "a"(0xFFFFFF00u) : "memory");
        sum = sum * 31 + al;
    }
    say("lodsb x10: esi%+d\n", (int32_t)((uintptr_t)p - (uintptr_t)text));
    p = (const uint8_t *)text + 32;
    for (int i = 0; i < 5; i++) {
        __asm__ volatile("std\n\tlodsl\n\tcld" : "=a"(al), "+S"(p) : : "memory");
        sum = sum * 31 + al;
    }
    say("std lodsl x5 from +32: esi%+d sum %08x\n", (int32_t)((uintptr_t)p - (uintptr_t)text), sum);
}

/* ---- quicksort over structs ------------------------------------------------ */

struct rec {
    uint32_t key;
    int16_t group;
    char name[6];
};

static struct rec recs[400];

static int rec_cmp(const struct rec *a, const struct rec *b)
{
    if (a->group != b->group) return a->group < b->group ? -1 : 1;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return strcmp(a->name, b->name);
}

static void swap_rec(struct rec *a, struct rec *b)
{
    struct rec t = *a;
    *a = *b;
    *b = t;
}

static void my_qsort(struct rec *v, int n, uint32_t *compares)
{
    while (n > 8) {
        /* median of three into v[0] */
        int m = n / 2;
        (*compares) += 3;
        if (rec_cmp(&v[m], &v[0]) < 0) swap_rec(&v[m], &v[0]);
        if (rec_cmp(&v[n - 1], &v[0]) < 0) swap_rec(&v[n - 1], &v[0]);
        if (rec_cmp(&v[n - 1], &v[m]) < 0) swap_rec(&v[n - 1], &v[m]);
        swap_rec(&v[0], &v[m]);
        int i = 1, j = n - 1;
        for (;;) {
            while (i <= j && ((*compares)++, rec_cmp(&v[i], &v[0]) < 0)) i++;
            while (j >= i && ((*compares)++, rec_cmp(&v[j], &v[0]) > 0)) j--;
            if (i >= j) break;
            swap_rec(&v[i++], &v[j--]);
        }
        swap_rec(&v[0], &v[j]);
        /* recurse into the smaller half, loop on the larger */
        if (j < n - 1 - j) {
            my_qsort(v, j, compares);
            v += j + 1;
            n -= j + 1;
        } else {
            my_qsort(v + j + 1, n - j - 1, compares);
            n = j;
        }
    }
    for (int i = 1; i < n; i++) {
        struct rec t = v[i];
        int j = i - 1;
        while (j >= 0 && ((*compares)++, rec_cmp(&v[j], &t) > 0)) { v[j + 1] = v[j]; j--; }
        v[j + 1] = t;
    }
}

static void sorting(void)
{
    say("== quicksort of %u records ==\n", (unsigned)ARRAY_SIZE(recs));
    lcg_state = 2024;
    for (unsigned i = 0; i < ARRAY_SIZE(recs); i++) {
        recs[i].key = lcg() % 1000;
        recs[i].group = (int16_t)((int32_t)(lcg() % 7) - 3);
        for (int c = 0; c < 5; c++) recs[i].name[c] = (char)('a' + lcg() % 26);
        recs[i].name[5] = '\0';
    }
    uint32_t compares = 0;
    my_qsort(recs, (int)ARRAY_SIZE(recs), &compares);
    int ordered = 1;
    for (unsigned i = 1; i < ARRAY_SIZE(recs); i++) {
        if (rec_cmp(&recs[i - 1], &recs[i]) > 0) ordered = 0;
    }
    say("sorted: %s, comparisons %u\n", ordered ? "yes" : "NO", compares);
    for (unsigned i = 0; i < ARRAY_SIZE(recs); i += 57) {
        say("  [%3u] group %2d key %3u %s\n", i, recs[i].group, recs[i].key, recs[i].name);
    }
    say("  hash %08x\n", hash_bytes(recs, sizeof recs));
}

/* ---- open-addressing hash table with tombstones ---------------------------- */

#define HT_SLOTS 1024u
#define HT_EMPTY 0u
#define HT_DEAD  1u
static uint32_t ht_keys[HT_SLOTS];
static uint32_t ht_vals[HT_SLOTS];
static uint32_t ht_probes;

static uint32_t ht_hash(uint32_t k)
{
    k ^= k >> 16;
    k *= 0x45D9F3Bu;
    k ^= k >> 16;
    return k & (HT_SLOTS - 1);
}

static int ht_put(uint32_t k, uint32_t v)
{
    uint32_t i = ht_hash(k), tomb = HT_SLOTS;
    for (uint32_t n = 0; n < HT_SLOTS; n++, i = (i + 1) & (HT_SLOTS - 1)) {
        ht_probes++;
        if (ht_keys[i] == k) { ht_vals[i] = v; return 0; }
        if (ht_keys[i] == HT_DEAD && tomb == HT_SLOTS) tomb = i;
        if (ht_keys[i] == HT_EMPTY) {
            if (tomb != HT_SLOTS) i = tomb;
            ht_keys[i] = k;
            ht_vals[i] = v;
            return 1;
        }
    }
    if (tomb != HT_SLOTS) { ht_keys[tomb] = k; ht_vals[tomb] = v; return 1; }
    return -1;
}

static uint32_t *ht_find(uint32_t k)
{
    uint32_t i = ht_hash(k);
    for (uint32_t n = 0; n < HT_SLOTS; n++, i = (i + 1) & (HT_SLOTS - 1)) {
        ht_probes++;
        if (ht_keys[i] == k) return &ht_vals[i];
        if (ht_keys[i] == HT_EMPTY) return NULL;
    }
    return NULL;
}

static int ht_del(uint32_t k)
{
    uint32_t *v = ht_find(k);
    if (!v) return 0;
    ht_keys[v - ht_vals] = HT_DEAD;
    return 1;
}

static void hashing(void)
{
    say("== hash table ==\n");
    static uint32_t keys[700];
    lcg_state = 77;
    uint32_t inserted = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
        keys[i] = (lcg() % 5000) + 2;   /* duplicates on purpose */
        inserted += ht_put(keys[i], i) == 1;
    }
    uint32_t found = 0, mism = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
        uint32_t *v = ht_find(keys[i]);
        if (v) {
            found++;
            if (keys[*v] != keys[i]) mism++;
        }
    }
    uint32_t deleted = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(keys); i += 3) deleted += ht_del(keys[i]);
    uint32_t still = 0, reinserted = 0;
    for (uint32_t k = 2; k < 5002; k++) still += ht_find(k) != NULL;
    for (uint32_t k = 6000; k < 6200; k++) reinserted += ht_put(k, k) == 1;
    say("inserted %u distinct of %u, found %u (mismatched %u), deleted %u, remaining %u, added %u\n", inserted,
        (unsigned)ARRAY_SIZE(keys), found, mism, deleted, still, reinserted);
    say("probes %u, table hash %08x\n", ht_probes, hash_bytes(ht_keys, sizeof ht_keys));
}

/* ---- linked list ----------------------------------------------------------- */

struct node {
    int32_t value;
    struct node *next;
};

static struct node pool[500];

static struct node *list_merge(struct node *a, struct node *b)
{
    struct node head = { 0, NULL }, *t = &head;
    while (a && b) {
        if (a->value <= b->value) { t->next = a; a = a->next; }
        else { t->next = b; b = b->next; }
        t = t->next;
    }
    t->next = a ? a : b;
    return head.next;
}

static struct node *list_sort(struct node *h)
{
    if (!h || !h->next) return h;
    struct node *slow = h, *fast = h->next;
    while (fast && fast->next) { slow = slow->next; fast = fast->next->next; }
    struct node *second = slow->next;
    slow->next = NULL;
    return list_merge(list_sort(h), list_sort(second));
}

static void lists(void)
{
    say("== linked list ==\n");
    lcg_state = 4242;
    struct node *head = NULL;
    for (unsigned i = 0; i < ARRAY_SIZE(pool); i++) {
        pool[i].value = (int32_t)(lcg() % 20001) - 10000;
        pool[i].next = head;
        head = &pool[i];
    }
    struct node *prev = NULL;
    while (head) { struct node *n = head->next; head->next = prev; prev = head; head = n; }
    head = prev;
    say("after reverse first values: %d %d %d\n", head->value, head->next->value, head->next->next->value);
    head = list_sort(head);
    int32_t sum = 0, last = -100000, ok = 1;
    uint32_t count = 0;
    for (struct node *n = head; n; n = n->next) {
        if (n->value < last) ok = 0;
        last = n->value;
        sum += n->value;
        count++;
    }
    say("sorted %u nodes (%s): min %d max %d sum %d\n", count, ok ? "in order" : "OUT OF ORDER", head->value,
        last, sum);
    /* unlink every node with an odd value */
    struct node **pp = &head;
    while (*pp) {
        if ((*pp)->value & 1) *pp = (*pp)->next;
        else pp = &(*pp)->next;
    }
    count = 0;
    for (struct node *n = head; n; n = n->next) count++;
    say("after removing odd values: %u nodes\n", count);
}

/* ---- unaligned and page-crossing accesses ---------------------------------- */

static uint8_t pages[8192] __attribute__((aligned(4096)));

static void unaligned(void)
{
    say("== unaligned accesses ==\n");
    for (uint32_t i = 0; i < 64; i++) buf_a[i] = (uint8_t)(i * 17 + 3);
    for (uint32_t off = 0; off < 8; off++) {
        uint32_t l, w, lo, hi;
        const uint8_t *p = buf_a + off;
        __asm__ volatile("movl (%2), %0\n\tmovzwl 1(%2), %1" : "=&r"(l), "=&r"(w) : "r"(p) : "memory");
        __asm__ volatile("movl 3(%2), %0\n\tmovl 7(%2), %1" : "=&r"(lo), "=&r"(hi) : "r"(p) : "memory");
        say("off %u: dword %08x word@+1 %04x qword@+3 %08x%08x\n", off, l, w, hi, lo);
    }
    my_memset(buf_b, 0, 64);
    for (uint32_t off = 0; off < 8; off++) {
        uint8_t *p = buf_b + off * 7;
        __asm__ volatile("movl %1, (%0)\n\tmovw %w2, 4(%0)" : : "r"(p), "r"(0x11223344u + off), "r"(0xA0B0u + off) : "memory");
    }
    say("unaligned stores hash %08x\n", hash_bytes(buf_b, 64));

    /* accesses that straddle a 4 KiB page boundary */
    for (uint32_t i = 0; i < 16; i++) pages[4088 + i] = (uint8_t)(0xF0 + i);
    for (uint32_t off = 4093; off <= 4096; off++) {
        uint32_t v;
        __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(pages + off) : "memory");
        say("dword at page offset %u: %08x\n", off, v);
    }
    __asm__ volatile("movl %1, (%0)" : : "r"(pages + 4094), "r"(0xDEADBEEFu) : "memory");
    __asm__ volatile("movw %w1, (%0)" : : "r"(pages + 4095), "r"(0x1234u) : "memory");
    say("after straddling stores: %02x %02x %02x %02x %02x\n", pages[4093], pages[4094], pages[4095], pages[4096],
        pages[4097]);
    struct __attribute__((packed)) pk { uint8_t a; uint32_t b; uint16_t c; uint64_t d; } pkd[3];
    for (int i = 0; i < 3; i++) {
        pkd[i].a = (uint8_t)OPAQUE(i);
        pkd[i].b = OPAQUE(0x01020304u * (uint32_t)(i + 1));
        pkd[i].c = (uint16_t)OPAQUE(0xFFFF - i);
        pkd[i].d = OPAQUE(0x0102030405060708ull << i);
    }
    say("packed structs (%u bytes) hash %08x, d[2] %016llx\n", (unsigned)sizeof pkd, hash_bytes(pkd, sizeof pkd),
        pkd[2].d);
}

/* ---- atomic read-modify-write forms ------------------------------------------ */

static void atomics(void)
{
    say("== xchg / cmpxchg / xadd / cmpxchg8b ==\n");
    static uint32_t word __attribute__((aligned(4))) = 100;
    static uint64_t quad __attribute__((aligned(8))) = 0x1111111122222222ull;
    uint32_t r = 7, f;
    __asm__ volatile("xchgl %0, %1" : "+r"(r), "+m"(word));
    say("xchg: reg %u mem %u\n", r, word);
    uint32_t expect = 7, newv = 55;
    __asm__ volatile("lock cmpxchgl %3, %1\n\tpushfl\n\tpopl %2" : "+a"(expect), "+m"(word), "=r"(f) : "r"(newv) : "cc");
    say("cmpxchg hit: eax %u mem %u %s\n", expect, word, fl(f, F_ALL));
    expect = 7;
    __asm__ volatile("lock cmpxchgl %3, %1\n\tpushfl\n\tpopl %2" : "+a"(expect), "+m"(word), "=r"(f) : "r"(newv) : "cc");
    say("cmpxchg miss: eax %u mem %u %s\n", expect, word, fl(f, F_ALL));
    uint32_t add = 45;
    __asm__ volatile("lock xaddl %0, %1" : "+r"(add), "+m"(word) : : "cc");
    say("xadd: old %u mem %u\n", add, word);
    uint32_t lo = 0x22222222, hi = 0x11111111;
    __asm__ volatile("lock cmpxchg8b %2\n\tpushfl\n\tpopl %3"
                     : "+a"(lo), "+d"(hi), "+m"(quad), "=r"(f) : "b"(0xBBBBBBBBu), "c"(0xCCCCCCCCu) : "cc");
    say("cmpxchg8b hit: edx:eax %08x%08x mem %016llx %s\n", hi, lo, quad, fl(f, F_ZF));
    __asm__ volatile("lock cmpxchg8b %2\n\tpushfl\n\tpopl %3"
                     : "+a"(lo), "+d"(hi), "+m"(quad), "=r"(f) : "b"(1u), "c"(2u) : "cc");
    say("cmpxchg8b miss: edx:eax %08x%08x mem %016llx %s\n", hi, lo, quad, fl(f, F_ZF));
    uint32_t bits = 0;
    __asm__ volatile("lock btsl $5, %0\n\tlock btsl $31, %0\n\tlock btcl $5, %0\n\tlock orl $0x100, %0\n\tlock incl %0"
                     : "+m"(bits) : : "cc");
    say("locked bit ops: %08x\n", bits);
}

static uint32_t deep(uint32_t n, uint32_t acc)
{
    volatile uint32_t frame[4] = { n, acc, n ^ acc, n + acc };
    if (n == 0) return acc;
    return deep(n - 1, acc * 31 + frame[2]) + frame[3] % 7;
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    say("memory: memory and string-instruction test kernel\n");
    copies();
    string_insns();
    sorting();
    hashing();
    lists();
    unaligned();
    atomics();
    say("== recursion ==\ndeep(1000) = %08x\n", deep(OPAQUE(1000u), 1));
    printf("checksum %08x\n", say_hash);
    return 0;
}
