/*
 * Memory: 4 KiB pages from the RAM above the image (per the start info's
 * memory map; in pv, the RAM past the boot structures, which the runtime maps
 * through the PV MMU), and a small first-fit heap on top of them.
 */
#ifndef HOSPES_MM_H
#define HOSPES_MM_H

#include "types.h"

#define PAGE_SIZE 4096

/* n contiguous zeroed pages, or NULL when RAM runs out. */
void *page_alloc(unsigned n);
/* Pages still free. */
unsigned pages_free(void);

void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void free(void *p);

#endif
