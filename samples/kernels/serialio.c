/*
 * I/O-bound: prints "lines=N" lines (default 200) of 64 characters on COM1, then exits. Every
 * character is a status read and a data write, each an ioreq to the device model in dom0 under
 * the hypervisor, so the run's length depends on how soon dom0 gets the CPU (its weight and cap).
 */
#include "rt.h"
#include "marker.h"

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    char arg[12];
    uint32_t lines = 200;
    if (cmdline_value(mbi, "lines", arg, sizeof arg)) {
        lines = 0;
        for (const char *p = arg; *p >= '0' && *p <= '9'; p++) lines = lines * 10 + (uint32_t)(*p - '0');
    }
    uint32_t sum = 0;
    for (uint32_t i = 0; i < lines; i++) {
        /* 6 + 1 + 56 characters and the newline. */
        printf("%06u ", i);
        for (int k = 0; k < 56; k++) {
            char c = (char)('a' + (i + (uint32_t)k) % 26);
            sum += (uint8_t)c;
            printf("%c", c);
        }
        printf("\n");
    }
    printf("serialio: %u lines, checksum %u\n", lines, sum);
    return 0;
}
