/* Does nothing and exits: used to measure an emulator's fixed start-up cost. */
#include "rt.h"

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    return 0;
}
