/*
 * disk-bench: sequential and random reads and writes of 4 KiB and 64 KiB blocks, every block
 * checked, on one of two paths to the same workload:
 *  - xen: xvda through the SDK's blkfront and dom0's blkback (pvh, pvhvm, pv, and hvm when the
 *    toolstack offers a vbd);
 *  - ide: the emulated IDE disk hda through the SDK's ATA driver (<hospes/ata.h>): the bare
 *    PC's own controller in native, dom0's device model in hvm and hvm-shadow.
 * By default the path is xen when the domain is offered a vbd, else ide; the command line's
 * disk=xen or disk=ide chooses. The vbd is xvda when there is one, else the lowest-numbered
 * (a domain given only --disk disk.img,vdev=xvdc has xvdc alone). A block's contents are a function of its number and of
 * how many times it was written (its generation), so any read can be checked against a
 * checksum computed without the disk. Throughput is in virtual time (the clock the cost model
 * advances), so the figures are the same on every run.
 *
 *   ./hospes run --mode pvh --disk disk.img disk-bench.elf      (disk.img: 512 KiB or more)
 *   ./hospes run --mode hvm --disk disk.img,bus=ide disk-bench.elf
 */
#include <hospes/ata.h>
#include <hospes/blkfront.h>
#include <hospes/grant.h>
#include <hospes/guest.h>
#include <hospes/mm.h>
#include <hospes/time.h>
#include <hospes/xenstore.h>

#define XVDA 51712
#define REGION (512u << 10)
#define RANDOM_OPS 16

static struct blkfront bf;
static int vbd; /* the vbd's device number (xvda is 51712), 0 if the domain has none */
static struct ata_disk ata;
static int use_ata;
static uint8_t generation[REGION / 4096];
static uint8_t *buf;

static void fail(const char *what, int rc)
{
    printf("disk-bench: %s failed (%d)\n", what, rc);
    guest_shutdown(SHUTDOWN_crash);
}

/* Fills len bytes for block blk (of size len) at generation gen. */
static void pattern(uint8_t *p, uint32_t blk, uint32_t len, uint8_t gen)
{
    uint32_t x = blk * 2654435761u + gen * 40503u + len;
    for (uint32_t i = 0; i < len; i += 4) {
        x = x * 1664525u + 1013904223u;
        *(uint32_t *)(p + i) = x;
    }
}

/* A position-dependent sum of 32-bit words (a swapped or shifted word changes it). */
static uint32_t checksum(const uint8_t *p, uint32_t len)
{
    uint32_t h = 0;
    for (uint32_t i = 0; i < len; i += 4) {
        h = (h << 5 | h >> 27) ^ *(const uint32_t *)(p + i);
    }
    return h;
}

static uint32_t lcg = 12345;

static uint32_t next_random(uint32_t n)
{
    lcg = lcg * 1103515245u + 12345u;
    return (lcg >> 8) % n;
}

/* n / d by shift and subtract: the freestanding runtime has no 64-bit division helper. */
static uint64_t div64(uint64_t n, uint64_t d)
{
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = r << 1 | ((n >> i) & 1);
        if (r >= d) {
            r -= d;
            q |= 1ull << i;
        }
    }
    return q;
}

static void report(const char *what, uint32_t bs, uint32_t bytes, uint64_t t0, uint32_t sum)
{
    uint64_t ns = monotonic_ns() - t0;
    uint32_t kbps = ns ? (uint32_t)div64((uint64_t)bytes * 1000000000ull, ns * 1024) : 0;
    printf("disk-bench: %s %u KiB x %u: %u KiB/s (virtual), checksum %08x\n", what,
           bs / 1024, bytes / bs, kbps, sum);
}

/* Writes (or reads and checks) block blk of size bs; returns its checksum. */
static uint32_t block(int write, uint32_t blk, uint32_t bs)
{
    uint32_t first = blk * (bs / 4096);
    if (write) {
        for (uint32_t i = 0; i < bs / 4096; i++) {
            generation[first + i]++;
        }
        for (uint32_t i = 0; i < bs / 4096; i++) {
            pattern(buf + i * 4096, first + i, 4096, generation[first + i]);
        }
        uint64_t sector = (uint64_t)blk * (bs / 512);
        int rc = use_ata ? ata_write(&ata, sector, buf, bs / 512)
                         : blkfront_write(&bf, sector, buf, bs / 512);
        if (rc != 0) {
            fail("write", rc);
        }
        return checksum(buf, bs);
    }
    uint64_t sector = (uint64_t)blk * (bs / 512);
    int rc = use_ata ? ata_read(&ata, sector, buf, bs / 512)
                     : blkfront_read(&bf, sector, buf, bs / 512);
    if (rc != 0) {
        fail("read", rc);
    }
    uint32_t got = checksum(buf, bs);
    static uint8_t want[4096];
    for (uint32_t i = 0; i < bs / 4096; i++) {
        pattern(want, first + i, 4096, generation[first + i]);
        if (checksum(want, 4096) != checksum(buf + i * 4096, 4096)) {
            printf("disk-bench: block %u page %u does not read back\n", blk, i);
            guest_shutdown(SHUTDOWN_crash);
        }
    }
    return got;
}

static int flush(void)
{
    return use_ata ? ata_flush(&ata) : blkfront_flush(&bf);
}

/*
 * The vbd to use: xvda if the domain has it, else the lowest device number under device/vbd;
 * 0 if there is none. Only xvda was looked for, so a domain whose one disk was xvdc fell back
 * to IDE, found no IDE disk and crashed (status 3).
 */
static int find_vbd(void)
{
    static char names[1024];
    if (!guest_has_xen() || !xs_available()) {
        return 0;
    }
    int n = xs_directory(XBT_NULL, "device/vbd", names, sizeof names);
    int best = 0;
    const char *p = names;
    for (int i = 0; i < n; i++) {
        int id = 0;
        for (const char *q = p; *q >= '0' && *q <= '9'; q++) {
            id = id * 10 + (*q - '0');
        }
        if (id == XVDA || (id > 0 && best != XVDA && (best == 0 || id < best))) {
            best = id;
        }
        p += strlen(p) + 1;
    }
    return best;
}

/* "xvdc" for a device number of Xen's xvd major (202, 16 minors a disk), else "vbd N". */
static const char *vbd_name(int devid)
{
    static char name[16];
    int disk = (devid - XVDA) / 16;
    if (devid >= XVDA && devid < XVDA + 26 * 16 && devid % 16 == 0) {
        snprintf(name, sizeof name, "xvd%c", 'a' + disk);
    } else {
        snprintf(name, sizeof name, "vbd %d", devid);
    }
    return name;
}

/* The path from the command line (disk=xen or disk=ide), else xen if a vbd is there. */
static int choose_ata(void)
{
    const char *c = guest_cmdline();
    for (const char *p = c; *p; p++) {
        if ((p == c || p[-1] == ' ') && !strncmp(p, "disk=", 5)) {
            if (!strncmp(p + 5, "ide", 3)) {
                return 1;
            }
            if (!strncmp(p + 5, "xen", 3)) {
                return 0;
            }
            fail("disk= (xen or ide)", 0);
        }
    }
    return vbd == 0;
}

static void open_xen(void)
{
    guest_require_xen("disk-bench (disk=xen)");
    if (!xs_available()) {
        fail("xenstore", 0);
    }
    struct grant_entry_v1 *table = page_alloc(1);
    long rc = gnttab_map_table_frame(0, virt_to_gfn(table));
    if (rc != 0) {
        fail("grant table", (int)rc);
    }
    rc = blkfront_init(&bf, vbd ? vbd : XVDA, table, 8);
    if (rc != 0) {
        fail("blkfront_init", (int)rc);
    }
    printf("disk-bench: %s %u sectors of %u bytes%s\n", vbd_name(vbd ? vbd : XVDA),
           (uint32_t)bf.sectors, bf.sector_size, bf.readonly ? ", read-only" : "");
    if (bf.sectors * 512 < REGION || bf.readonly) {
        fail("a writable disk of 512 KiB or more", 0);
    }
}

static void open_ide(void)
{
    int rc = ata_open(&ata, 0);
    if (rc != 0) {
        fail("ata_open hda", rc);
    }
    printf("disk-bench: hda %u sectors of 512 bytes (ide, %s)\n", (uint32_t)ata.sectors,
           ata.model);
    if (ata.sectors * 512 < REGION) {
        fail("a disk of 512 KiB or more", 0);
    }
}

int main(void)
{
    vbd = find_vbd();
    use_ata = choose_ata();
    if (use_ata) {
        open_ide();
    } else {
        open_xen();
    }
    long rc;
    buf = page_alloc(16);
    static const uint32_t sizes[2] = { 4096, 65536 };
    for (int s = 0; s < 2; s++) {
        uint32_t bs = sizes[s];
        uint32_t blocks = REGION / bs;
        uint32_t sum = 0;
        uint64_t t0 = monotonic_ns();
        for (uint32_t b = 0; b < blocks; b++) {
            sum += block(1, b, bs);
        }
        if ((rc = flush()) != 0) {
            fail("flush", (int)rc);
        }
        report("seq write", bs, REGION, t0, sum);
        t0 = monotonic_ns();
        sum = 0;
        for (uint32_t b = 0; b < blocks; b++) {
            sum += block(0, b, bs);
        }
        report("seq read", bs, REGION, t0, sum);
        t0 = monotonic_ns();
        sum = 0;
        for (int i = 0; i < RANDOM_OPS; i++) {
            sum += block(1, next_random(blocks), bs);
        }
        if ((rc = flush()) != 0) {
            fail("flush", (int)rc);
        }
        report("rand write", bs, RANDOM_OPS * bs, t0, sum);
        t0 = monotonic_ns();
        sum = 0;
        for (int i = 0; i < RANDOM_OPS; i++) {
            sum += block(0, next_random(blocks), bs);
        }
        report("rand read", bs, RANDOM_OPS * bs, t0, sum);
    }
    if (use_ata) {
        printf("disk-bench: ok, %u commands, %u status reads (ide)\n", ata.commands, ata.polls);
    } else {
        printf("disk-bench: ok, %u requests, %u events\n", bf.requests, bf.events);
        blkfront_close(&bf);
    }
    guest_shutdown(SHUTDOWN_poweroff);
}
