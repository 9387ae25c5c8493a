/*
 * Protected-mode segmentation: segment-register loads with every descriptor
 * check (#GP/#NP/#SS and their error codes), bases and limits on accesses
 * (expand-up and expand-down, byte and page granularity), FS/GS bases, an LDT,
 * LAR/LSL/VERR/VERW/ARPL, accessed bits, and far calls and returns.
 *
 * GDT entries 5-15 are free in the runtime's table; this kernel uses 6-15.
 *
 * The golden output comes from QEMU, whose TCG does not check segment limits or
 * types on data accesses, nor a null DS on use, and does not set the accessed
 * bit of a code descriptor loaded by a far call. Those checks (all SDM
 * behaviour) are therefore not printed here; the processor's unit tests
 * (SegmentationTest) pin them instead. Only the loads' own checks, bases, the
 * LDT and the LAR/LSL/VERR/VERW/ARPL results are compared.
 */
#include "rt.h"
#include "report.h"
#include "sys.h"

#define SEL(i) ((uint16_t)((i) << 3))
#define G_DATA_LIMITED 6   /* base 0x00200000, limit 0xFFF, byte granular, read/write */
#define G_DATA_RO      7   /* flat, read-only */
#define G_DATA_NP      8   /* flat read/write, not present */
#define G_CODE_XO      9   /* flat code, execute-only */
#define G_CODE_R       10  /* flat code, readable */
#define G_EXPDOWN      11  /* base 0x00200000, limit 0xFFF, expand-down, 32-bit */
#define G_DATA_DPL3    12  /* flat read/write, DPL 3 */
#define G_LDT          13  /* an LDT of four entries */
#define G_DATA_PAGES   14  /* base 0x00200000, limit 2 pages (G=1) */
#define G_CODE2        15  /* flat code, another selector for far calls */

#define AREA 0x00200000u

static uint64_t ldt[4] __attribute__((aligned(8)));

volatile uint32_t probe_resume;
static volatile uint32_t f_vec, f_err, f_count;
static int failures;

uint32_t load_ds(uint32_t sel);
uint32_t load_ss(uint32_t sel);
uint32_t load_fs_read(uint32_t sel, uint32_t off);
uint32_t load_es_write(uint32_t sel, uint32_t off);
uint32_t far_call_code2(void);

/* Each probe restores DS/ES/FS/SS to the flat kernel selectors before returning. */
__asm__(
    "        .text\n"
    "        .globl load_ds\n"
    "load_ds:\n"
    "        movl 4(%esp), %ecx\n"
    "        xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        movw %cx, %ds\n"
    "1:      movw $0x10, %cx\n"
    "        movw %cx, %ds\n"
    "        ret\n"
    "        .globl load_ss\n"
    "load_ss:\n"
    "        movl 4(%esp), %ecx\n"
    "        xorl %eax, %eax\n"
    "        movl $1f, probe_resume\n"
    "        movw %cx, %ss\n"
    "1:      movw $0x10, %cx\n"
    "        movw %cx, %ss\n"
    "        ret\n"
    "        .globl load_fs_read\n"
    "load_fs_read:\n"
    "        movl 4(%esp), %ecx\n"
    "        movl 8(%esp), %edx\n"
    "        movl $1f, probe_resume\n"
    "        movw %cx, %fs\n"
    "        movl %fs:(%edx), %eax\n"
    "1:      movw $0x10, %cx\n"
    "        movw %cx, %fs\n"
    "        ret\n"
    "        .globl load_es_write\n"
    "load_es_write:\n"
    "        movl 4(%esp), %ecx\n"
    "        movl 8(%esp), %edx\n"
    "        movl $1f, probe_resume\n"
    "        movw %cx, %es\n"
    "        movl $0x600d, %es:(%edx)\n"
    "        xorl %eax, %eax\n"
    "1:      movw $0x10, %cx\n"
    "        movw %cx, %es\n"
    "        ret\n"
    /* lcall to G_CODE2:code2_entry, which returns its CS with lret. */
    "        .globl far_call_code2\n"
    "far_call_code2:\n"
    "        lcall $0x78, $code2_entry\n"
    "        ret\n"
    "code2_entry:\n"
    "        movl %cs, %eax\n"
    "        lret\n");

#define FAULT_MARK 0xFA000000u

static void on_fault(struct rt_frame *f)
{
    if (probe_resume == 0) {
        fail("unexpected vector %u err %x at eip %08x", f->vector, f->error_code, f->eip);
    }
    f_vec = f->vector;
    f_err = f->error_code;
    f_count++;
    f->eip = probe_resume;
    f->eax = FAULT_MARK | f->vector;
    probe_resume = 0;
}

static const char *vname(uint32_t v)
{
    switch (v) {
    case 10: return "#TS";
    case 11: return "#NP";
    case 12: return "#SS";
    case 13: return "#GP";
    default: return "?";
    }
}

static void report(const char *what, uint32_t r, uint32_t want_vec, uint32_t want_err)
{
    if ((r & 0xFF000000u) == FAULT_MARK) {
        say("%-44s %s(%x)\n", what, vname(r & 0xFF), f_err);
        if ((r & 0xFF) != want_vec || f_err != want_err) failures++;
    } else {
        say("%-44s ok\n", what);
        if (want_vec != 0) failures++;
    }
}

static void check(const char *what, int ok)
{
    say("%-60s %s\n", what, ok ? "yes" : "NO");
    if (!ok) failures++;
}

static uint32_t lsl(uint32_t sel, int *zf)
{
    uint32_t v = 0xDEAD;
    uint8_t z;
    __asm__ volatile("lsl %2, %0; setz %1" : "+r"(v), "=q"(z) : "r"(sel));
    *zf = z;
    return v;
}

static uint32_t lar(uint32_t sel, int *zf)
{
    uint32_t v = 0xDEAD;
    uint8_t z;
    __asm__ volatile("lar %2, %0; setz %1" : "+r"(v), "=q"(z) : "r"(sel));
    *zf = z;
    return v;
}

static int verr(uint16_t sel)
{
    uint8_t z;
    __asm__ volatile("verr %1; setz %0" : "=q"(z) : "r"(sel));
    return z;
}

static int verw(uint16_t sel)
{
    uint8_t z;
    __asm__ volatile("verw %1; setz %0" : "=q"(z) : "r"(sel));
    return z;
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    say("segments: protected-mode segmentation test kernel\n");
    rt_on_trap(10, on_fault);
    rt_on_trap(11, on_fault);
    rt_on_trap(12, on_fault);
    rt_on_trap(13, on_fault);

    rt_tss_init();
    rt_gdt_set(G_DATA_LIMITED, AREA, 0xFFF, 0x92, 0x4);
    rt_gdt_set(G_DATA_RO, 0, 0xFFFFF, 0x90, 0xC);
    rt_gdt_set(G_DATA_NP, 0, 0xFFFFF, 0x12, 0xC);
    rt_gdt_set(G_CODE_XO, 0, 0xFFFFF, 0x98, 0xC);
    rt_gdt_set(G_CODE_R, 0, 0xFFFFF, 0x9A, 0xC);
    rt_gdt_set(G_EXPDOWN, AREA, 0xFFF, 0x96, 0x4);
    rt_gdt_set(G_DATA_DPL3, 0, 0xFFFFF, 0xF2, 0xC);
    rt_gdt_set(G_DATA_PAGES, AREA, 0x1, 0x92, 0xC);
    rt_gdt_set(G_CODE2, 0, 0xFFFFF, 0x9A, 0xC);
    ldt[1] = 0x00CF92000000FFFFull;        /* LDT selector 0x0C: flat data */
    ldt[2] = 0x0040920000000FFFull | ((uint64_t)(AREA >> 16 & 0xFF) << 32);  /* 0x14: the area, 4 KiB */
    rt_gdt_set(G_LDT, (uint32_t)(uintptr_t)ldt, sizeof ldt - 1, 0x82, 0x0);
    for (uint32_t i = 0; i < 0x3000; i += 4) *(volatile uint32_t *)(AREA + i) = 0xA0000000u + i;

    say("== loading DS ==\n");
    report("null selector", load_ds(0), 0, 0);
    report("null selector with RPL 3", load_ds(3), 0, 0);
    report("beyond the GDT limit (0x7ff8)", load_ds(0x7FF8), 13, 0x7FF8);
    report("not present", load_ds(SEL(G_DATA_NP)), 11, SEL(G_DATA_NP));
    report("a TSS (system descriptor)", load_ds(SEL(RT_TSS_INDEX)), 13, SEL(RT_TSS_INDEX));
    report("execute-only code", load_ds(SEL(G_CODE_XO)), 13, SEL(G_CODE_XO));
    report("readable code", load_ds(SEL(G_CODE_R)), 0, 0);
    report("read-only data", load_ds(SEL(G_DATA_RO)), 0, 0);
    report("DPL 0 data with RPL 3", load_ds(SEL(G_DATA_LIMITED) | 3), 13, SEL(G_DATA_LIMITED));
    report("DPL 3 data with RPL 3", load_ds(SEL(G_DATA_DPL3) | 3), 0, 0);

    say("== loading SS ==\n");
    report("null selector", load_ss(0), 13, 0);
    report("read-only data", load_ss(SEL(G_DATA_RO)), 13, SEL(G_DATA_RO));
    report("DPL 3 data at CPL 0", load_ss(SEL(G_DATA_DPL3) | 3), 13, SEL(G_DATA_DPL3));
    report("not present", load_ss(SEL(G_DATA_NP)), 12, SEL(G_DATA_NP));
    report("code segment", load_ss(SEL(G_CODE_R)), 13, SEL(G_CODE_R));
    report("flat data", load_ss(KERNEL_DS), 0, 0);

    say("== bases and limits ==\n");
    uint32_t v = load_fs_read(SEL(G_DATA_LIMITED), 0x10);
    check("FS base 0x200000: fs:0x10 reads the area", v == 0xA0000010);
    report("dword at the limit - 3 (0xffc)", load_fs_read(SEL(G_DATA_LIMITED), 0xFFC), 0, 0);
    report("write through flat data in ES", load_es_write(KERNEL_DS, AREA + 0x2000), 0, 0);
    check("it landed", *(volatile uint32_t *)(AREA + 0x2000) == 0x600d);
    v = load_fs_read(SEL(G_DATA_PAGES), 0x1FFC);
    check("page-granular limit: fs:0x1ffc reads the area", v == 0xA0001FFC);
    v = load_fs_read(SEL(G_EXPDOWN), 0x1000);
    check("expand-down: offset 0x1000 is inside", v == 0xA0001000);
    v = load_fs_read(SEL(G_EXPDOWN), 0xFFFFFFF0u);
    check("expand-down: offset 0xfffffff0 wraps to base - 16", v == *(volatile uint32_t *)(AREA - 16));

    say("== LDT ==\n");
    __asm__ volatile("lldt %0" : : "r"((uint16_t)SEL(G_LDT)));
    uint16_t ldtr;
    __asm__ volatile("sldt %0" : "=r"(ldtr));
    say("SLDT %x\n", ldtr);
    report("LDT selector 0x0c (flat data)", load_ds(0x0C), 0, 0);
    v = load_fs_read(0x14, 0x20);
    check("LDT selector 0x14 has the area's base", v == 0xA0000020);
    report("LDT selector 0x24 beyond the LDT limit", load_ds(0x24), 13, 0x24);
    report("LDT selector 0x04 (a null entry)", load_ds(0x04), 13, 0x04);

    say("== LAR, LSL, VERR, VERW, ARPL ==\n");
    int zf;
    uint32_t l = lsl(SEL(G_DATA_LIMITED), &zf);
    say("LSL byte-granular: %x zf %d\n", l, zf);
    l = lsl(SEL(G_DATA_PAGES), &zf);
    say("LSL page-granular: %x zf %d\n", l, zf);
    l = lsl(SEL(RT_TSS_INDEX), &zf);
    say("LSL of the TSS: %x zf %d\n", l, zf);
    l = lsl(0, &zf);
    say("LSL of null: zf %d\n", zf);
    uint32_t a = lar(SEL(G_CODE_R), &zf);
    say("LAR readable code: %08x zf %d\n", a, zf);
    a = lar(SEL(G_DATA_DPL3) | 3, &zf);
    say("LAR DPL 3 data: %08x zf %d\n", a, zf);
    a = lar(SEL(G_EXPDOWN), &zf);
    say("LAR expand-down data: %08x zf %d\n", a, zf);
    a = lar(SEL(G_LDT), &zf);
    say("LAR LDT descriptor: %08x zf %d\n", a, zf);
    say("VERR: code XO %d, code R %d, data RO %d, TSS %d\n", verr(SEL(G_CODE_XO)), verr(SEL(G_CODE_R)),
        verr(SEL(G_DATA_RO)), verr(SEL(RT_TSS_INDEX)));
    say("VERW: data RO %d, data RW %d, code R %d, not present %d\n", verw(SEL(G_DATA_RO)),
        verw(SEL(G_DATA_LIMITED)), verw(SEL(G_CODE_R)), verw(SEL(G_DATA_NP)));
    uint16_t dst = 0x0010;
    uint8_t z;
    __asm__ volatile("arpl %2, %0; setz %1" : "+r"(dst), "=q"(z) : "r"((uint16_t)0x0003));
    say("ARPL 0x10, 0x3: %x zf %d\n", dst, z);
    dst = 0x0013;
    __asm__ volatile("arpl %2, %0; setz %1" : "+r"(dst), "=q"(z) : "r"((uint16_t)0x0001));
    say("ARPL 0x13, 0x1: %x zf %d\n", dst, z);

    say("== accessed bits and far transfers ==\n");
    rt_gdt_set(G_DATA_RO, 0, 0xFFFFF, 0x90, 0xC);
    uint64_t before = rt_gdt_get(G_DATA_RO) >> 40 & 0xFF;
    load_ds(SEL(G_DATA_RO));
    uint64_t after = rt_gdt_get(G_DATA_RO) >> 40 & 0xFF;
    say("read-only data access byte before a load %02x, after %02x\n", (uint32_t)before, (uint32_t)after);
    uint32_t cs2 = far_call_code2();
    say("far call: CS in the callee %x\n", cs2 & 0xFFFF);
    uint16_t cs;
    __asm__ volatile("movw %%cs, %0" : "=r"(cs));
    check("back on CS 0x08 after LRET", cs == KERNEL_CS);

    say("%u faults taken\n", f_count);
    say("%s: %d failures\n", failures ? "FAILED" : "all ok", failures);
    printf("checksum %08x\n", say_hash);
    return failures ? 1 : 0;
}
