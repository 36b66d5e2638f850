// libzmq's C API, imported into Swift as the module CZeroMQ.
#include <zmq.h>
