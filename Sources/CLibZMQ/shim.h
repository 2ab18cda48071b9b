#ifndef SWITCHBOARD_CLIBZMQ_SHIM_H
#define SWITCHBOARD_CLIBZMQ_SHIM_H
#include <zmq.h>
#endif
