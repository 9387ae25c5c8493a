/*
 * ata: a PIO driver for an ATA disk on a PC's legacy IDE channels (the PIIX3's IDE function in
 * compatibility mode: primary at ports 0x1F0-0x1F7 and 0x3F6, secondary at 0x170-0x177 and
 * 0x376), after ATA/ATAPI-6 (T13/1410D). It is the emulated counterpart of blkfront: on the
 * bare PC (native) the ports are the machine's own, in an HVM domain each access is a VM exit
 * and an ioreq to dom0's device model. Register numbers and bits are in the header so a test
 * or a guest can drive the channel itself.
 *
 * The driver polls (it sets nIEN, so the drive raises no interrupt): READ SECTORS / WRITE
 * SECTORS (and their EXT forms past 2^28 sectors), a block of 512 bytes per DRQ moved with
 * 32-bit string I/O, FLUSH CACHE, IDENTIFY DEVICE at open. Every wait is bounded
 * (ATA_POLL_LIMIT status reads); a command that ends with ERR or DF set, or a drive that stops
 * asking for data, fails with -XEN_EIO and the registers kept in the struct. Ports need ring 0:
 * in a classic PV guest (ring 1) ata_open fails with -XEN_ENOSYS.
 */
#ifndef HOSPES_ATA_H
#define HOSPES_ATA_H

#include "types.h"

/* Command block registers (offsets from the channel's base) and the control block's port. */
#define ATA_REG_DATA 0
#define ATA_REG_ERROR 1
#define ATA_REG_COUNT 2
#define ATA_REG_LBA_LOW 3
#define ATA_REG_LBA_MID 4
#define ATA_REG_LBA_HIGH 5
#define ATA_REG_DEVICE 6
#define ATA_REG_STATUS 7          /* read: status (clears a pending interrupt) */
#define ATA_REG_COMMAND 7         /* write */

/* Status bits. */
#define ATA_BSY 0x80
#define ATA_DRDY 0x40
#define ATA_DF 0x20
#define ATA_DRQ 0x08
#define ATA_ERR 0x01
/* Error bits. */
#define ATA_ABRT 0x04
#define ATA_IDNF 0x10
#define ATA_UNC 0x40
/* Device register: LBA addressing, device 1; device control: interrupts off, soft reset. */
#define ATA_DEV_LBA 0x40
#define ATA_DEV_DEV1 0x10
#define ATA_CTL_NIEN 0x02
#define ATA_CTL_SRST 0x04

#define ATA_CMD_READ_SECTORS 0x20
#define ATA_CMD_READ_SECTORS_EXT 0x24
#define ATA_CMD_WRITE_SECTORS 0x30
#define ATA_CMD_WRITE_SECTORS_EXT 0x34
#define ATA_CMD_FLUSH_CACHE 0xE7
#define ATA_CMD_FLUSH_CACHE_EXT 0xEA
#define ATA_CMD_IDENTIFY 0xEC

#define ATA_SECTOR 512
/* Status reads a wait may take before the command counts as timed out (-XEN_ETIME). */
#define ATA_POLL_LIMIT 100000u

struct ata_disk {
    uint16_t base;          /* command block: 0x1F0 or 0x170 */
    uint16_t ctrl;          /* alternate status / device control: 0x3F6 or 0x376 */
    int dev;                /* 0 master, 1 slave */
    uint64_t sectors;       /* capacity, from IDENTIFY (words 60-61, or 100-103 with LBA48) */
    int lba48;              /* the 48-bit Address feature set (IDENTIFY word 83 bit 10) */
    char model[41];         /* IDENTIFY words 27-46, trailing spaces cut */
    char serial[21];        /* words 10-19 */
    /* The last failure: status and error registers as read, and what was being done. */
    uint8_t last_status, last_error;
    uint8_t last_command;
    /* Counters: commands issued, sectors moved, status reads, failures. */
    uint32_t commands, sectors_read, sectors_written, polls, failures;
};

/*
 * Finds and identifies the disk at position 0-3 (hda primary master, hdb primary slave, hdc
 * secondary master, hdd secondary slave). 0 on success; -XEN_ENOENT when the
 * channel floats or the device is absent or not an ATA disk; -XEN_ETIME when it stays busy;
 * -XEN_EIO when IDENTIFY fails or its data are damaged (checksum); -XEN_ENOSYS in ring 1.
 */
int ata_open(struct ata_disk *d, int position);
/* Whole sectors; 0, or -XEN_EINVAL (beyond the capacity: nothing is sent), -XEN_EIO, -XEN_ETIME. */
int ata_read(struct ata_disk *d, uint64_t lba, void *buf, uint32_t nsectors);
int ata_write(struct ata_disk *d, uint64_t lba, const void *buf, uint32_t nsectors);
/* FLUSH CACHE: the drive's write cache on the medium when it returns 0. */
int ata_flush(struct ata_disk *d);

#endif
