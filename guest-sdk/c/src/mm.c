/* Pages above the image, and a first-fit heap. */
#include <hospes/guest.h>

extern char _end[];
static uintptr_t next_page, ram_top;

void mm_init_range(uintptr_t first, uintptr_t top);

void mm_init(const struct hvm_start_info *si)
{
    next_page = ((uintptr_t)_end + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1);
    /*
     * The builder puts the start info, memory map and command lines in low memory, and the
     * boot modules page-aligned just above the image: keep clear of the modules.
     */
    const uint64_t *mod = (const uint64_t *)(uintptr_t)si->modlist_paddr;
    for (uint32_t i = 0; si->modlist_paddr && i < si->nr_modules; i++, mod += 4) {
        uint64_t end = mod[0] + mod[1];
        if (mod[0] >= next_page && end > next_page && end <= 0xfffff000ull) {
            next_page = ((uintptr_t)end + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1);
        }
    }
    uintptr_t top = next_page;
    const struct hvm_memmap_table_entry *m =
        (const struct hvm_memmap_table_entry *)(uintptr_t)si->memmap_paddr;
    for (uint32_t i = 0; si->memmap_paddr && i < si->memmap_entries; i++) {
        if (m[i].type == 1 && m[i].addr <= next_page && m[i].addr + m[i].size > top) {
            uint64_t end = m[i].addr + m[i].size;
            top = end > 0xfffff000ull ? 0xfffff000u : (uintptr_t)end;
        }
    }
    mm_init_range(next_page, top);
}

void mm_init_range(uintptr_t first, uintptr_t top)
{
    next_page = first;
    ram_top = top;
}

void *page_alloc(unsigned n)
{
    if (n == 0 || (ram_top - next_page) / PAGE_SIZE < n) {
        return NULL;
    }
    void *p = (void *)next_page;
    next_page += (uintptr_t)n * PAGE_SIZE;
    memset(p, 0, (size_t)n * PAGE_SIZE);
    return p;
}

unsigned pages_free(void)
{
    return (unsigned)((ram_top - next_page) / PAGE_SIZE);
}

struct block {
    size_t size;          /* usable bytes after the header */
    struct block *next;   /* free list link */
};

static struct block *free_list;

void *malloc(size_t n)
{
    if (n == 0) {
        n = 1;
    }
    n = (n + 7) & ~(size_t)7;
    for (struct block **pp = &free_list; *pp; pp = &(*pp)->next) {
        struct block *b = *pp;
        if (b->size >= n) {
            if (b->size >= n + sizeof(struct block) + 16) {
                struct block *rest = (struct block *)((char *)(b + 1) + n);
                rest->size = b->size - n - sizeof(struct block);
                rest->next = b->next;
                b->size = n;
                *pp = rest;
            } else {
                *pp = b->next;
            }
            return b + 1;
        }
    }
    unsigned pages = (unsigned)((n + sizeof(struct block) + PAGE_SIZE - 1) / PAGE_SIZE);
    struct block *b = page_alloc(pages);
    if (!b) {
        return NULL;
    }
    b->size = (size_t)pages * PAGE_SIZE - sizeof(struct block);
    if (b->size >= n + sizeof(struct block) + 16) {
        struct block *rest = (struct block *)((char *)(b + 1) + n);
        rest->size = b->size - n - sizeof(struct block);
        rest->next = free_list;
        free_list = rest;
        b->size = n;
    }
    return b + 1;
}

void *calloc(size_t n, size_t size)
{
    if (size && n > (size_t)-1 / size) {
        return NULL;
    }
    void *p = malloc(n * size);
    if (p) {
        memset(p, 0, n * size);
    }
    return p;
}

void free(void *p)
{
    if (p) {
        struct block *b = (struct block *)p - 1;
        b->next = free_list;
        free_list = b;
    }
}
