/*
 * echo: reads the PV console and writes back what it read, line by line
 * prefixed with "echo: ". A line "bye" powers the guest off.
 *
 *   ./hospes run --mode pvh samples/guests/build/echo.elf   (then type, or pipe lines in)
 *
 * Input reaches the ring's in[] from dom0's console backend (hospes run
 * forwards its stdin there), which signals the console port; the guest
 * blocks on that event between reads.
 */
#include <hospes/guest.h>

int main(const struct hvm_start_info *si)
{
    guest_require_xen("echo");
    (void)si;
    char line[128];
    int len = 0;
    printf("echo: type lines; 'bye' ends\n");
    for (;;) {
        char buf[64];
        int n;
        evtchn_wait_until((n = cons_read(buf, sizeof(buf))) != 0);
        for (int i = 0; i < n; i++) {
            char c = buf[i] == '\r' ? '\n' : buf[i];
            if (c != '\n' && len < (int)sizeof(line) - 1) {
                line[len++] = c;
                continue;
            }
            if (c != '\n') {
                continue; /* an overlong line is cut at the buffer's size */
            }
            line[len] = '\0';
            printf("echo: %s\n", line);
            if (strcmp(line, "bye") == 0) {
                return 0;
            }
            len = 0;
        }
    }
}
