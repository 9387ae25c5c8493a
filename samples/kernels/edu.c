/*
 * A driver for QEMU's educational PCI device ("edu", 1234:11e8) that finds it the way an OS
 * does: by enumerating PCI bus 0 through configuration mechanism #1 (ports 0xCF8/0xCFC). It
 * sizes BAR0, enables memory decoding and bus mastering, then uses every part of the device:
 * the identification and liveness registers, the factorial unit (polled, then with its
 * interrupt), the interrupt raise/acknowledge registers on the INTx line the firmware
 * assigned (through the 8259A pair), and DMA both ways through the device's 4 KiB buffer.
 *
 * Hospes adds the device only through its device-model plugin seam (--device edu, from the
 * samples' jar); QEMU with -device edu must print the same. Nothing printed depends on where
 * the firmware put the device, its BAR or its IRQ, because SeaBIOS and Hospes choose alike
 * but not identically.
 */
#include "rt.h"
#include "sys.h"

#define EDU_VENDOR 0x1234u
#define EDU_DEVICE 0x11e8u

#define REG_ID        0x00
#define REG_LIVENESS  0x04
#define REG_FACTORIAL 0x08
#define REG_STATUS    0x20
#define REG_IRQ_STAT  0x24
#define REG_IRQ_RAISE 0x60
#define REG_IRQ_ACK   0x64
#define REG_DMA_SRC   0x80
#define REG_DMA_DST   0x88
#define REG_DMA_COUNT 0x90
#define REG_DMA_CMD   0x98

#define STATUS_COMPUTING 0x01u
#define STATUS_IRQ_FACT  0x80u
#define DMA_RUN    0x1u
#define DMA_TO_RAM 0x2u
#define DMA_IRQ    0x4u
#define DMA_BUFFER 0x40000u

#define VEC_BASE 0x20
/* Bound for every wait: QEMU runs its DMA 100 ms after the command, on its own clock. */
#define SPIN_LIMIT 100000000u

static inline void outl_(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint32_t inl_(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static uint32_t cfg_read(int dev, int fn, int off)
{
    outl_(0xCF8, 0x80000000u | (uint32_t)dev << 11 | (uint32_t)fn << 8 | (uint32_t)(off & 0xFC));
    return inl_(0xCFC);
}

static void cfg_write(int dev, int fn, int off, uint32_t v)
{
    outl_(0xCF8, 0x80000000u | (uint32_t)dev << 11 | (uint32_t)fn << 8 | (uint32_t)(off & 0xFC));
    outl_(0xCFC, v);
}

static volatile uint32_t *mmio;

static uint32_t rd(uint32_t off) { return mmio[off / 4]; }
static void wr(uint32_t off, uint32_t v) { mmio[off / 4] = v; }

static volatile uint32_t irqs;
static volatile uint32_t irq_seen;
static int irq_line;
static int failures;

static void check(const char *what, int ok)
{
    printf("  %-52s %s\n", what, ok ? "yes" : "NO");
    if (!ok) failures++;
}

/* The interrupt handler a driver has: read the cause, acknowledge it, then EOI the PIC. */
static void on_edu(struct rt_frame *f)
{
    (void)f;
    uint32_t s = rd(REG_IRQ_STAT);
    irq_seen |= s;
    wr(REG_IRQ_ACK, s);
    irqs++;
    pic_eoi(irq_line);
}

static int wait_irqs(uint32_t target)
{
    for (uint32_t i = 0; i < SPIN_LIMIT; i++) {
        if (irqs >= target) return 1;
        __asm__ volatile("pause");
    }
    return 0;
}

static int wait_clear(uint32_t reg, uint32_t bit)
{
    for (uint32_t i = 0; i < SPIN_LIMIT; i++) {
        if (!(rd(reg) & bit)) return 1;
        __asm__ volatile("pause");
    }
    return 0;
}

static uint32_t factorial(uint32_t n)
{
    wr(REG_FACTORIAL, n);
    if (!wait_clear(REG_STATUS, STATUS_COMPUTING)) fail("edu: factorial of %u never finished\n", n);
    return rd(REG_FACTORIAL);
}

static void dma(uint32_t src, uint32_t dst, uint32_t count, uint32_t cmd)
{
    wr(REG_DMA_SRC, src);
    wr(REG_DMA_DST, dst);
    wr(REG_DMA_COUNT, count);
    wr(REG_DMA_CMD, cmd | DMA_RUN);
    if (!wait_clear(REG_DMA_CMD, DMA_RUN)) fail("edu: DMA never finished\n");
}

static uint8_t ram_in[4096] __attribute__((aligned(4096)));
static uint8_t ram_out[4096] __attribute__((aligned(4096)));

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    printf("edu: QEMU's educational PCI device, found by PCI enumeration\n");
    int dev = -1;
    for (int d = 0; d < 32 && dev < 0; d++) {
        uint32_t id = cfg_read(d, 0, 0x00);
        if ((id & 0xFFFF) == EDU_VENDOR && id >> 16 == EDU_DEVICE) dev = d;
    }
    if (dev < 0) {
        printf("  no 1234:11e8 on PCI bus 0\n");
        return 1;
    }
    uint32_t cls = cfg_read(dev, 0, 0x08);
    uint32_t sub = cfg_read(dev, 0, 0x2C);
    uint32_t intr = cfg_read(dev, 0, 0x3C);
    printf("  device ............ %04x:%04x revision 0x%02x class 0x%06x\n",
           EDU_VENDOR, EDU_DEVICE, cls & 0xFF, cls >> 8);
    printf("  subsystem ......... %04x:%04x\n", sub & 0xFFFF, sub >> 16);
    printf("  interrupt pin ..... INT%c#\n", 'A' + (int)((intr >> 8) & 0xFF) - 1);

    /* BAR0 sizing, with decoding off meanwhile, as an OS does it. */
    uint32_t cmd = cfg_read(dev, 0, 0x04) & 0xFFFF;
    cfg_write(dev, 0, 0x04, cmd & ~0x3u);
    uint32_t bar = cfg_read(dev, 0, 0x10);
    cfg_write(dev, 0, 0x10, 0xFFFFFFFFu);
    uint32_t mask = cfg_read(dev, 0, 0x10);
    cfg_write(dev, 0, 0x10, bar);
    uint32_t size = ~(mask & ~0xFu) + 1;
    printf("  BAR0 .............. %s, %s, %u KiB\n", bar & 1 ? "I/O" : "memory",
           (bar & 6) == 4 ? "64-bit" : "32-bit", size / 1024);
    printf("  BAR0 prefetchable . %s\n", bar & 8 ? "yes" : "no");
    check("BAR0 assigned by the firmware", (bar & ~0xFu) != 0);
    cfg_write(dev, 0, 0x04, cmd | 0x2 | 0x4);      /* memory space, bus master */
    mmio = (volatile uint32_t *)(uintptr_t)(bar & ~0xFu);
    irq_line = (int)(intr & 0xFF);

    uint32_t id = rd(REG_ID);
    if (id == 0xFFFFFFFFu) {
        /* A master abort: nothing decodes the BAR (Hospes's shadow paging forwards no MMIO). */
        printf("  BAR0 reads all ones: the registers are not reachable\n");
        return 1;
    }
    printf("  identification .... 0x%08x: version %u.%u\n", id, id >> 24, (id >> 16) & 0xFF);
    wr(REG_LIVENESS, 0x12345678u);
    printf("  liveness .......... wrote 0x12345678, read 0x%08x\n", rd(REG_LIVENESS));
    printf("  unused register ... 0x%08x\n", rd(0x10));

    static const uint32_t ns[] = {0, 1, 5, 10, 12, 13, 20, 34};
    for (unsigned i = 0; i < ARRAY_SIZE(ns); i++) {
        printf("  factorial ......... %u! mod 2^32 = %u\n", ns[i], factorial(ns[i]));
    }

    /* Interrupts on the line the firmware routed INTA# to, through the 8259A pair. */
    pic_init(VEC_BASE);
    rt_on_trap(VEC_BASE + irq_line, on_edu);
    pic_mask(irq_line, 0);
    sti();
    check("interrupt status is clear at first", rd(REG_IRQ_STAT) == 0);

    wr(REG_STATUS, STATUS_IRQ_FACT);
    printf("  status ............ 0x%02x after asking for the factorial interrupt\n", rd(REG_STATUS));
    uint32_t f7 = factorial(7);
    check("factorial done raises an interrupt", wait_irqs(1));
    printf("  interrupt ......... cause 0x%08x, 7! = %u\n", irq_seen, f7);
    check("the handler's acknowledge cleared the status", rd(REG_IRQ_STAT) == 0);
    wr(REG_STATUS, 0);
    irq_seen = 0;
    printf("  factorial ......... 3! = %u without the interrupt\n", factorial(3));

    wr(REG_IRQ_RAISE, 0x12340000u);
    check("a raise-register write interrupts", wait_irqs(2));
    printf("  interrupt ......... cause 0x%08x from the raise register\n", irq_seen);
    irq_seen = 0;

    /* DMA: RAM to the device's buffer, then part of it back with the completion interrupt. */
    for (int i = 0; i < 4096; i++) ram_in[i] = (uint8_t)(i * 7 + 3);
    memset(ram_out, 0, sizeof ram_out);
    /* Not all 4096 bytes: QEMU 7.2 refuses a transfer that ends at the buffer's last byte. */
    dma((uint32_t)(uintptr_t)ram_in, DMA_BUFFER, 3072, 0);
    printf("  DMA ............... 3072 bytes from RAM to the device\n");
    dma(DMA_BUFFER + 256, (uint32_t)(uintptr_t)ram_out, 1024, DMA_TO_RAM | DMA_IRQ);
    check("DMA completion interrupts", wait_irqs(3));
    printf("  interrupt ......... cause 0x%08x after the DMA\n", irq_seen);
    check("1024 bytes came back from buffer offset 256", memcmp(ram_out, ram_in + 256, 1024) == 0);
    check("nothing written past them", ram_out[1024] == 0 && ram_out[4095] == 0);
    uint32_t h = FNV_INIT;
    for (int i = 0; i < 1024; i += 4) h = fnv_u32(h, *(uint32_t *)&ram_out[i]);
    printf("  DMA ............... 1024 bytes back, FNV-1a 0x%08x\n", h);
    cli();
    printf("  interrupts ........ %u\n", irqs);
    printf("%s\n", failures ? "edu: FAILED" : "edu: all checks passed");
    return failures != 0;
}
