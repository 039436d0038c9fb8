/*
 * Forced-include header (-include) for building llama.cpp (llama-cpp-python) with GCC.
 *
 * Why: GCC before 13 declares the _tile_loadconfig intrinsic as inline assembly whose memory
 * operand is 8 bytes ("m" (*(const void **)cfg)), so the optimiser believes `ldtilecfg` reads
 * only the first 8 bytes of the 64-byte tile configuration and deletes the stores that fill
 * the rest (rows and column widths). On a CPU with AMX (Intel Sapphire Rapids and later) the
 * instruction then loads stack garbage and the process dies with a general-protection fault in
 * ggml's AMX matrix multiply (llama.cpp issue 20824). GCC 13 fixed its header.
 *
 * What: after <immintrin.h>, _tile_loadconfig is redefined to inline assembly whose operand
 * covers all 64 bytes, so every store to the configuration is kept. It applies only where the
 * bug can bite: GCC (not clang), x86-64, compiling with AMX enabled (__AMX_TILE__, which
 * -march=native defines on AMX machines). Elsewhere (ARM64, x86-64 without AMX) it expands to
 * the marker alone.
 *
 * ggml and llama.cpp define _GNU_SOURCE and _XOPEN_SOURCE on the command line, so including
 * <immintrin.h> (which pulls in <stdlib.h>) before their own headers changes no feature macro.
 */
#ifndef TCCC_AMX_TILECONFIG_FIX_H
#define TCCC_AMX_TILECONFIG_FIX_H

/* Provenance: lets `tccc doctor` and the test suite tell that the installed llama.cpp was built
 * with this recipe (the string is kept in the shared library by the `used` attribute). */
__attribute__((used)) static const char tccc_llama_build_recipe[] =
    "tccc-llama-build-recipe: amx-tileconfig-fix 1";

#if defined(__x86_64__) && defined(__AMX_TILE__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

typedef struct tccc_tile_config_bytes {
    unsigned char bytes[64];
} tccc_tile_config_bytes;

static inline __attribute__((__always_inline__)) void tccc_tile_loadconfig(const void *config) {
    __asm__ volatile("ldtilecfg\t%X0" ::"m"(*(const tccc_tile_config_bytes *)config));
}

#define _tile_loadconfig(config) tccc_tile_loadconfig(config)
#endif

#endif /* TCCC_AMX_TILECONFIG_FIX_H */
