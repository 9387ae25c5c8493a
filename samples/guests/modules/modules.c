/* Lists the boot modules the hvm_start_info names: size, command line, first bytes. */
#include <hospes/guest.h>

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
} __attribute__((packed));

int main(const struct hvm_start_info *si)
{
    guest_require_xen("modules");
    printf("modules: %u\n", si->nr_modules);
    const struct hvm_modlist_entry *m = (const void *)(uintptr_t)si->modlist_paddr;
    for (uint32_t i = 0; i < si->nr_modules; i++) {
        const char *data = (const char *)(uintptr_t)m[i].paddr;
        const char *cmd = m[i].cmdline_paddr ? (const char *)(uintptr_t)m[i].cmdline_paddr : "";
        char head[9];
        uint32_t n = m[i].size < 8 ? (uint32_t)m[i].size : 8;
        memcpy(head, data, n);
        head[n] = 0;
        printf("module %u: %u bytes, page-aligned %s, cmdline '%s', starts '%s'\n", i,
               (uint32_t)m[i].size, (m[i].paddr & 0xfff) == 0 ? "yes" : "no", cmd, head);
    }
    return 0;
}
