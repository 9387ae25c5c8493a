/* Says so, then spins forever with interrupts off: a domain that only ends when destroyed. */
#include "rt.h"

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    printf("spin: spinning forever\n");
    volatile uint32_t n = 0;
    for (;;) n++;
}
