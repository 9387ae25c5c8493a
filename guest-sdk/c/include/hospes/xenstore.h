/*
 * A xenstore client over the shared ring (HVM_PARAM_STORE_PFN/EVTCHN).
 * One request at a time; replies are awaited by blocking on the store's
 * event channel. Watch events that arrive meanwhile are queued for
 * xs_read_watch. Paths without a leading '/' are relative to
 * /local/domain/<own domid>. Functions return >= 0 on success or a negative
 * Xen errno (-XEN_ENOENT, -XEN_EACCES, -XEN_EAGAIN, ...). tx 0 = no transaction.
 */
#ifndef HOSPES_XENSTORE_H
#define HOSPES_XENSTORE_H

#include "xen.h"

typedef uint32_t xs_transaction_t;
#define XBT_NULL 0

/* 0 if the domain has a xenstore ring, else -XEN_ENOENT (the runtime calls it). */
int xs_init(void);
int xs_available(void);

/* Value into buf (NUL-terminated); returns its length. */
int xs_read(xs_transaction_t tx, const char *path, char *buf, int size);
int xs_write(xs_transaction_t tx, const char *path, const char *value);
int xs_mkdir(xs_transaction_t tx, const char *path);
int xs_rm(xs_transaction_t tx, const char *path);
/* Child names, each NUL-terminated, into buf; returns the number of names.
 * The empty path is -XEN_EINVAL, as from C xenstored: name the home directory
 * by its absolute path (xs_get_domain_path). */
int xs_directory(xs_transaction_t tx, const char *path, char *buf, int size);
/* Permissions as "n1", "r2", ... (first: owner and everyone's default). */
int xs_get_perms(xs_transaction_t tx, const char *path, char *buf, int size);
int xs_set_perms(xs_transaction_t tx, const char *path, const char *const *perms, int n);
int xs_get_domain_path(domid_t domid, char *buf, int size);

int xs_watch(const char *path, const char *token);
int xs_unwatch(const char *path, const char *token);
/* Waits for the next watch event; copies its path and token. */
int xs_read_watch(char *path, int psize, char *token, int tsize);
/* Non-zero if a watch event is queued. */
int xs_watch_pending(void);

int xs_transaction_start(xs_transaction_t *tx);
/* abort != 0 discards; returns 0, or -XEN_EAGAIN when another change conflicted. */
int xs_transaction_end(xs_transaction_t tx, int abort);

/* The raw request: reply payload into rsp (NUL-terminated), its length returned. */
int xs_talk(uint32_t type, xs_transaction_t tx, const char *req, int reqlen, char *rsp, int rsize);

/* Requests the program made so far (the PV runtime's start-up read of "domid" is not one). */
extern uint32_t xs_requests;

#endif
