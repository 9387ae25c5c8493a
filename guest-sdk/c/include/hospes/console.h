/*
 * The PV console (HVM_PARAM_CONSOLE_PFN/EVTCHN): printf writes here when the
 * toolstack gave the domain a console ring, and through console_io (the
 * hypervisor's emergency console) otherwise.
 */
#ifndef HOSPES_CONSOLE_H
#define HOSPES_CONSOLE_H

#include "types.h"

int cons_init(void);
int cons_available(void);
/* Writes all of s into the ring, waiting for dom0 to make room. */
void cons_write(const char *s, int len);
/* Reads up to len bytes of input; returns how many (0 if none). */
int cons_read(char *buf, int len);
/* Writes through console_io regardless of the ring. */
void xen_console_write(const char *s, int len);

#endif
