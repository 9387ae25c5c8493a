/*
 * xenstore-demo: the xenstore client of the Hospes guest SDK, step by step:
 * read what the toolstack wrote about us, write and read back, watch a
 * node, commit a transaction, and see a conflicting one fail with EAGAIN.
 */
#include <hospes/guest.h>

static void check(const char *what, int rc)
{
    if (rc < 0) {
        printf("xenstore-demo: %s failed: %d\n", what, rc);
        guest_shutdown(SHUTDOWN_crash);
    }
}

int main(const struct hvm_start_info *si)
{
    guest_require_xen("xenstore-demo");
    (void)si;
    char buf[256], path[128], token[64];
    if (!xs_available()) {
        printf("xenstore-demo: no xenstore ring (run with dom0 services)\n");
        return 1;
    }
    check("get_domain_path", xs_get_domain_path(guest_domid(), buf, sizeof(buf)));
    printf("domain path: %s\n", buf);
    check("read name", xs_read(XBT_NULL, "name", buf, sizeof(buf)));
    printf("name: %s\n", buf);
    check("read domid", xs_read(XBT_NULL, "domid", buf, sizeof(buf)));
    printf("domid: %s\n", buf);

    /* Write, read back. */
    check("write", xs_write(XBT_NULL, "data/greeting", "hello, xenstore"));
    check("read back", xs_read(XBT_NULL, "data/greeting", buf, sizeof(buf)));
    printf("read back: %s\n", buf);

    /* A watch fires once at once, then on every change. */
    check("write counter", xs_write(XBT_NULL, "data/counter", "0"));
    check("watch", xs_watch("data/counter", "ctr"));
    check("first event", xs_read_watch(path, sizeof(path), token, sizeof(token)));
    printf("watch fired at once: %s (token %s)\n", path, token);
    check("write counter", xs_write(XBT_NULL, "data/counter", "1"));
    check("event", xs_read_watch(path, sizeof(path), token, sizeof(token)));
    printf("watch fired on write: %s (token %s)\n", path, token);

    /* A transaction: read-modify-write, committed. */
    xs_transaction_t t;
    check("transaction start", xs_transaction_start(&t));
    check("tx read", xs_read(t, "data/counter", buf, sizeof(buf)));
    snprintf(buf, sizeof(buf), "%d", (int)strtol(buf, NULL, 10) + 1);
    check("tx write", xs_write(t, "data/counter", buf));
    check("transaction end", xs_transaction_end(t, 0));
    check("read", xs_read(XBT_NULL, "data/counter", buf, sizeof(buf)));
    printf("after transaction: counter = %s\n", buf);
    check("event", xs_read_watch(path, sizeof(path), token, sizeof(token)));

    /* A conflicting transaction: the node changes under it, commit says EAGAIN. */
    check("transaction start", xs_transaction_start(&t));
    check("tx read", xs_read(t, "data/counter", buf, sizeof(buf)));
    check("outside write", xs_write(XBT_NULL, "data/counter", "100"));
    check("event", xs_read_watch(path, sizeof(path), token, sizeof(token)));
    check("tx write", xs_write(t, "data/counter", "3"));
    int rc = xs_transaction_end(t, 0);
    printf("conflicting transaction: %s\n", rc == -XEN_EAGAIN ? "EAGAIN" : "not detected!");
    check("read", xs_read(XBT_NULL, "data/counter", buf, sizeof(buf)));
    printf("counter kept the outside write: %s\n", buf);

    /* Directory, permissions, errors. */
    int n = xs_directory(XBT_NULL, "data", buf, sizeof(buf));
    check("directory", n);
    printf("data/ has %d entries:", n);
    for (char *p = buf; n--; p += strlen(p) + 1) {
        printf(" %s", p);
    }
    printf("\n");
    n = xs_get_perms(XBT_NULL, "name", buf, sizeof(buf));
    check("get_perms", n);
    printf("perms of name: %s %s\n", buf, buf + strlen(buf) + 1);
    printf("write to name: %s\n", xs_write(XBT_NULL, "name", "x") == -XEN_EACCES ? "EACCES" : "allowed!");
    printf("write to /tool: %s\n", xs_write(XBT_NULL, "/tool/x", "1") == -XEN_EACCES ? "EACCES" : "allowed!");
    check("unwatch", xs_unwatch("data/counter", "ctr"));
    check("rm", xs_rm(XBT_NULL, "data/greeting"));
    printf("read after rm: %s\n", xs_read(XBT_NULL, "data/greeting", buf, sizeof(buf)) == -XEN_ENOENT ? "ENOENT" : "still there!");
    printf("xenstore-demo: done, %u requests\n", xs_requests);
    return 0;
}
