/*
 * QEMU's fw_cfg device through its port interface (0x510 selector, 0x511
 * data): the signature, the traditional-interface bit of the ID, the CPU
 * counts, the RAM size, the file directory and etc/e820. Prints only what the
 * machine in the reference command line (-m 64, one CPU) must answer alike.
 */
#include "rt.h"
#include "report.h"

#define FW_SEL 0x510
#define FW_DATA 0x511

static void select_item(uint16_t key) { outw(FW_SEL, key); }

static void read_bytes(void *dst, uint32_t n)
{
    uint8_t *p = dst;
    for (uint32_t i = 0; i < n; i++) p[i] = inb(FW_DATA);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic; (void)mbi;
    say("fwcfg: QEMU's firmware configuration device\n");
    char sig[5] = {0};
    select_item(0x00);
    read_bytes(sig, 4);
    say("signature: %s\n", sig);
    uint32_t id;
    select_item(0x01);
    read_bytes(&id, 4);
    say("ID bit 0 (traditional interface): %u\n", id & 1);
    uint16_t ncpus, maxcpus;
    select_item(0x05);
    read_bytes(&ncpus, 2);
    select_item(0x0F);
    read_bytes(&maxcpus, 2);
    say("CPUs: %u, max CPUs: %u\n", ncpus, maxcpus);
    uint64_t ram;
    select_item(0x03);
    read_bytes(&ram, 8);
    say("RAM size: %u MiB (low bits 0x%x)\n", (uint32_t)(ram >> 20), (uint32_t)ram & 0xFFFFF);
    select_item(0x00);
    (void)inb(FW_DATA);
    select_item(0x00);
    say("selecting again rewinds: %c\n", inb(FW_DATA));
    select_item(0x00);
    read_bytes(sig, 4);
    say("past the end reads 0: %u\n", inb(FW_DATA));
    select_item(0x3FFF);
    say("a missing item reads 0: %u\n", inb(FW_DATA));

    uint8_t hdr[4];
    select_item(0x19);
    read_bytes(hdr, 4);
    uint32_t count = be32(hdr);
    say("file directory has entries: %s\n", count > 0 && count < 1000 ? "yes" : "no");
    int found = 0;
    uint32_t e820_size = 0;
    uint16_t e820_sel = 0;
    for (uint32_t i = 0; i < count && i < 1000; i++) {
        uint8_t e[64];
        read_bytes(e, 64);
        if (strcmp((const char *)e + 8, "etc/e820") == 0) {
            found = 1;
            e820_size = be32(e);
            e820_sel = be16(e + 4);
        }
    }
    say("etc/e820 listed: %s, selector at least 0x20: %s\n", found ? "yes" : "no",
        e820_sel >= 0x20 ? "yes" : "no");
    if (found) {
        say("etc/e820: %u entries\n", e820_size / 20);
        select_item(e820_sel);
        for (uint32_t i = 0; i < e820_size / 20 && i < 16; i++) {
            struct { uint64_t addr, len; uint32_t type; } __attribute__((packed)) ent;
            read_bytes(&ent, 20);
            say("  0x%08x +0x%08x type %u\n", (uint32_t)ent.addr, (uint32_t)ent.len, ent.type);
        }
    }
    return 0;
}
