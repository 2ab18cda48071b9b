#ifndef SWITCHBOARD_CLIBZMQ_SHIM_H
#define SWITCHBOARD_CLIBZMQ_SHIM_H
#include <zmq.h>
#include <poll.h>
#include <signal.h>
#include <time.h>

/* ppoll(2) is a GNU extension Swift's Glibc module does not show; the Poller sleeps in it on the sockets'
   ZMQ_FDs when zmq_poll's whole milliseconds are too coarse. */
int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout, const sigset_t *sigmask);

static inline int switchboard_ppoll(struct pollfd *fds, nfds_t nfds, long long nanoseconds) {
    struct timespec timeout = { (time_t)(nanoseconds / 1000000000LL), (long)(nanoseconds % 1000000000LL) };
    return ppoll(fds, nfds, &timeout, 0);
}
#endif
