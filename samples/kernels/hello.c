/* The bundled sample guest: what `hospes demo` boots. */
#include "rt.h"

static int is_prime(uint32_t n)
{
    if (n < 2) return 0;
    for (uint32_t d = 2; d * d <= n; d++) {
        if (n % d == 0) return 0;
    }
    return 1;
}

int kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    printf("\n");
    printf("  +--------------------------------------+\n");
    printf("  |      Hello from a Hospes guest!      |\n");
    printf("  +--------------------------------------+\n");
    printf("\n");

    int ok = magic == MULTIBOOT_BOOTLOADER_MAGIC;
    printf("  multiboot magic ..... 0x%08x (%s)\n", magic, ok ? "ok" : "WRONG");
    if (!ok) return 1;

    if (mbi->flags & MULTIBOOT_INFO_MEMORY) {
        /* Rounded, so that loaders which reserve a little differently agree. */
        printf("  lower memory ........ about %u KiB\n", (mbi->mem_lower + 32) / 64 * 64);
        printf("  RAM ................. about %u MiB\n", (mbi->mem_upper + 1024 + 512) / 1024);
    } else {
        printf("  memory info ......... not provided by the loader\n");
    }

    uint32_t n = OPAQUE(1000u), sum = 0;
    for (uint32_t i = 1; i <= n; i++) sum += i;
    printf("  1 + 2 + ... + %u .. %u\n", n, sum);

    uint32_t a = 0, b = 1;
    for (int i = 0; i < OPAQUE(40); i++) {
        uint32_t t = a + b;
        a = b;
        b = t;
    }
    printf("  fibonacci(40) ....... %u\n", a);

    uint64_t fact = 1;
    for (uint32_t i = 2; i <= OPAQUE(20u); i++) fact *= i;
    printf("  20! ................. %llu\n", fact);

    printf("  first primes ........");
    uint32_t shown = 0;
    for (uint32_t p = 2; shown < OPAQUE(12u); p++) {
        if (is_prime(p)) {
            printf(" %u", p);
            shown++;
        }
    }
    printf("\n");
    uint32_t m31 = OPAQUE(0x7FFFFFFFu);
    printf("  2^31 - 1 = %u is %s\n", m31, is_prime(m31) ? "prime" : "composite");

    printf("\n  Goodbye: writing 0x%x to port 0xf4 to power off.\n", EXIT_SUCCESS_VALUE);
    return 0;
}
