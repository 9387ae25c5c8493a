/* The PV console ring; COM1 (on a PC start) or console_io as the fallback. */
#include "internal.h"

int early_console_read(char *buf, int len);

static struct xencons_interface *cons;
static evtchn_port_t cons_port;

static void cons_event(evtchn_port_t p, void *data)
{
    (void)p;
    (void)data;
}

int cons_init(void)
{
    void *ring;
    int rc = arch_console_ring(&ring, &cons_port);
    if (rc != 0) {
        return rc;
    }
    cons = ring;
    evtchn_set_handler(cons_port, cons_event, NULL);
    return 0;
}

int cons_available(void)
{
    return cons != NULL;
}

void xen_console_write(const char *s, int len)
{
    HYPERVISOR_console_io(CONSOLEIO_write, len, s);
}

void cons_write(const char *s, int len)
{
    int done = 0;
    while (done < len) {
        evtchn_wait_until(cons->out_prod - cons->out_cons < sizeof(cons->out));
        uint32_t prod = cons->out_prod;
        while (done < len && prod - cons->out_cons < sizeof(cons->out)) {
            cons->out[prod & (sizeof(cons->out) - 1)] = s[done++];
            prod++;
        }
        __asm__ volatile("" ::: "memory");
        cons->out_prod = prod;
        evtchn_send(cons_port);
    }
}

int cons_read(char *buf, int len)
{
    if (!cons) {
        return early_console_read(buf, len);
    }
    int n = 0;
    uint32_t c = cons->in_cons;
    while (n < len && c != cons->in_prod) {
        buf[n++] = cons->in[c & (sizeof(cons->in) - 1)];
        c++;
    }
    cons->in_cons = c;
    if (n) {
        evtchn_send(cons_port);
    }
    return n;
}

void console_write(const char *s, int len)
{
    if (cons) {
        cons_write(s, len);
    } else {
        early_console_write(s, len);
    }
}

int printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    console_write(buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1);
    return n;
}
