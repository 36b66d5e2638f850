#include <zlib.h>

/// inflateInit2 for gzip streams (window bits 15 + 16): the macro is not visible to Swift.
static inline int tally_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 16);
}
