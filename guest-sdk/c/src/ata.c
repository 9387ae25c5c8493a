/*
 * ata: see <hospes/ata.h>. The protocols are ATA/ATAPI-6's PIO data-in (READ SECTORS,
 * IDENTIFY DEVICE), PIO data-out (WRITE SECTORS) and non-data (FLUSH CACHE) classes, polled:
 * the host waits for BSY clear, then reads Status once per DRQ block, since that read is what
 * the standard says ends the block's wait (Alternate Status would not clear the interrupt).
 */
#include <hospes/ata.h>
#include <hospes/guest.h>
#include "internal.h"

static const uint16_t bases[2] = { 0x1F0, 0x170 };
static const uint16_t ctrls[2] = { 0x3F6, 0x376 };

/* One sector through the 32-bit data port: 128 doublewords with one string instruction. */
static inline void insl(uint16_t port, void *buf, uint32_t n)
{
    __asm__ volatile("cld; rep insl" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}

static inline void outsl(uint16_t port, const void *buf, uint32_t n)
{
    __asm__ volatile("cld; rep outsl" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

/* Records a failure and returns rc. */
static int failed(struct ata_disk *d, uint8_t status, int rc)
{
    d->last_status = status;
    d->last_error = (status & ATA_ERR) ? inb(d->base + ATA_REG_ERROR) : 0;
    d->failures++;
    return rc;
}

/*
 * Reads Status until BSY is clear (at most ATA_POLL_LIMIT reads), then checks it: ERR or DF
 * set is -XEN_EIO, and with want_drq the drive must be asking for data. Returns the status
 * (>= 0) or the negative error.
 */
static int wait_ready(struct ata_disk *d, int want_drq)
{
    uint8_t s = 0;
    uint32_t i;
    for (i = 0; i < ATA_POLL_LIMIT; i++) {
        s = inb(d->base + ATA_REG_STATUS);
        d->polls++;
        if (!(s & ATA_BSY)) {
            break;
        }
    }
    if (i == ATA_POLL_LIMIT) {
        return failed(d, s, -XEN_ETIME);
    }
    if (s & (ATA_ERR | ATA_DF)) {
        return failed(d, s, -XEN_EIO);
    }
    if (want_drq && !(s & ATA_DRQ)) {
        return failed(d, s, -XEN_EIO);     /* the drive stopped asking for data */
    }
    return s;
}

static void select_device(struct ata_disk *d, uint8_t bits)
{
    outb(d->base + ATA_REG_DEVICE, (uint8_t)(0xA0 | (d->dev ? ATA_DEV_DEV1 : 0) | bits));
    /* The 400 ns the selected device may take to drive Status: four Alternate Status reads. */
    for (int i = 0; i < 4; i++) {
        (void)inb(d->ctrl);
    }
}

/* Copies an ATA string (two characters a word, the first in the high byte), trailing spaces cut. */
static void ata_string(char *dst, const uint16_t *w, int words)
{
    int n = 0;
    for (int i = 0; i < words; i++) {
        dst[n++] = (char)(w[i] >> 8);
        dst[n++] = (char)w[i];
    }
    while (n > 0 && dst[n - 1] == ' ') {
        n--;
    }
    dst[n] = 0;
}

int ata_open(struct ata_disk *d, int position)
{
    memset(d, 0, sizeof *d);
    if (position < 0 || position > 3) {
        return -XEN_EINVAL;
    }
    if (arch_pv) {
        return -XEN_ENOSYS;    /* ring 1 has no I/O privilege */
    }
    d->base = bases[position >> 1];
    d->ctrl = ctrls[position >> 1];
    d->dev = position & 1;
    /* A channel with no devices (or no controller) floats: every bit of Status reads 1. */
    if (inb(d->base + ATA_REG_STATUS) == 0xFF) {
        return -XEN_ENOENT;
    }
    outb(d->ctrl, ATA_CTL_NIEN);
    select_device(d, 0);
    /* With device 1 absent, device 0 answers for it and its Status reads 00h. */
    if (inb(d->ctrl) == 0) {
        return -XEN_ENOENT;
    }
    int s = wait_ready(d, 0);
    if (s < 0) {
        return s;
    }
    d->last_command = ATA_CMD_IDENTIFY;
    d->commands++;
    outb(d->base + ATA_REG_COMMAND, ATA_CMD_IDENTIFY);
    s = wait_ready(d, 1);
    if (s < 0) {
        /* A packet (ATAPI) device aborts IDENTIFY DEVICE: not a disk for this driver. */
        return (d->last_error & ATA_ABRT) ? -XEN_ENOENT : s;
    }
    static uint16_t id[256];
    insl(d->base + ATA_REG_DATA, id, ATA_SECTOR / 4);
    /* Word 255: signature A5h in the low byte, and all 512 bytes then sum to 0 mod 256. */
    if ((id[255] & 0xFF) == 0xA5) {
        uint8_t sum = 0;
        for (int i = 0; i < ATA_SECTOR; i++) {
            sum += ((const uint8_t *)id)[i];
        }
        if (sum != 0) {
            return failed(d, (uint8_t)s, -XEN_EIO);
        }
    }
    if ((id[0] & 0x8000) || !(id[49] & 0x0200)) {
        return -XEN_ENOENT;    /* not an ATA device, or one without LBA */
    }
    d->lba48 = (id[83] & 0xC400) == 0x4400;
    if (d->lba48) {
        d->sectors = (uint64_t)id[100] | (uint64_t)id[101] << 16 | (uint64_t)id[102] << 32
                   | (uint64_t)id[103] << 48;
    } else {
        d->sectors = (uint32_t)id[60] | (uint32_t)id[61] << 16;
    }
    ata_string(d->serial, &id[10], 10);
    ata_string(d->model, &id[27], 20);
    return 0;
}

/* Writes the task file for a transfer of count (1-256) sectors at lba and issues the command. */
static void issue(struct ata_disk *d, uint8_t cmd28, uint8_t cmd48, uint64_t lba, uint32_t count)
{
    int ext = lba + count > 0x0FFFFFFFu;
    uint16_t b = d->base;
    if (ext) {
        select_device(d, ATA_DEV_LBA);
        /* The 48-bit registers are FIFOs of two: the high bytes first. */
        outb(b + ATA_REG_COUNT, (uint8_t)(count >> 8));
        outb(b + ATA_REG_LBA_LOW, (uint8_t)(lba >> 24));
        outb(b + ATA_REG_LBA_MID, (uint8_t)(lba >> 32));
        outb(b + ATA_REG_LBA_HIGH, (uint8_t)(lba >> 40));
    } else {
        select_device(d, (uint8_t)(ATA_DEV_LBA | ((lba >> 24) & 0x0F)));
    }
    outb(b + ATA_REG_COUNT, (uint8_t)count);     /* 256 is written as 0 */
    outb(b + ATA_REG_LBA_LOW, (uint8_t)lba);
    outb(b + ATA_REG_LBA_MID, (uint8_t)(lba >> 8));
    outb(b + ATA_REG_LBA_HIGH, (uint8_t)(lba >> 16));
    d->last_command = ext ? cmd48 : cmd28;
    d->commands++;
    outb(b + ATA_REG_COMMAND, d->last_command);
}

static int transfer(struct ata_disk *d, int write, uint64_t lba, uint8_t *buf, uint32_t n)
{
    if (n == 0) {
        return 0;
    }
    if (lba >= d->sectors || n > d->sectors - lba) {
        return -XEN_EINVAL;
    }
    if (!d->lba48 && lba + n > 0x0FFFFFFFu) {
        return -XEN_EINVAL;
    }
    while (n > 0) {
        uint32_t count = n > 256 ? 256 : n;
        int s = wait_ready(d, 0);
        if (s < 0) {
            return s;
        }
        if (write) {
            issue(d, ATA_CMD_WRITE_SECTORS, ATA_CMD_WRITE_SECTORS_EXT, lba, count);
        } else {
            issue(d, ATA_CMD_READ_SECTORS, ATA_CMD_READ_SECTORS_EXT, lba, count);
        }
        for (uint32_t i = 0; i < count; i++) {
            /* Each DRQ block is one sector (READ/WRITE SECTORS, not MULTIPLE). */
            s = wait_ready(d, 1);
            if (s < 0) {
                return s;
            }
            if (write) {
                outsl(d->base + ATA_REG_DATA, buf, ATA_SECTOR / 4);
                d->sectors_written++;
            } else {
                insl(d->base + ATA_REG_DATA, buf, ATA_SECTOR / 4);
                d->sectors_read++;
            }
            buf += ATA_SECTOR;
        }
        /* After the last block: the command's own end, with ERR or DF if the write failed. */
        s = wait_ready(d, 0);
        if (s < 0) {
            return s;
        }
        if (s & ATA_DRQ) {
            return failed(d, (uint8_t)s, -XEN_EIO);   /* it wants more than we were told */
        }
        lba += count;
        n -= count;
    }
    return 0;
}

int ata_read(struct ata_disk *d, uint64_t lba, void *buf, uint32_t nsectors)
{
    return transfer(d, 0, lba, buf, nsectors);
}

int ata_write(struct ata_disk *d, uint64_t lba, const void *buf, uint32_t nsectors)
{
    return transfer(d, 1, lba, (uint8_t *)buf, nsectors);
}

int ata_flush(struct ata_disk *d)
{
    int s = wait_ready(d, 0);
    if (s < 0) {
        return s;
    }
    select_device(d, 0);
    d->last_command = d->lba48 ? ATA_CMD_FLUSH_CACHE_EXT : ATA_CMD_FLUSH_CACHE;
    d->commands++;
    outb(d->base + ATA_REG_COMMAND, d->last_command);
    s = wait_ready(d, 0);
    return s < 0 ? s : 0;
}
