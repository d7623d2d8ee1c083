/* gemm_tiles.h: gemm.c's tiles of one vector width, 1 to ROWS (6 or 8) rows x 1 to VECTORS (2 or 3) vectors, made by
 * TILE (TILE_BODY over the width's VEC, VW, MASK_T, MASK, ZERO, LOADU, STOREU, MASKLOAD, MASKSTORE, SET1, FMA and
 * ADD), which gemm.c defines before each inclusion; they are undefined after it, for the next width. Part of gemm.c,
 * included by nothing else. */
#if VECTORS == 3
#define TILES(R) TILE(R, 1) TILE(R, 2) TILE(R, 3)
#else
#define TILES(R) TILE(R, 1) TILE(R, 2)
#endif
TILES(1) TILES(2) TILES(3) TILES(4) TILES(5) TILES(6)
#if ROWS == 8
TILES(7) TILES(8)
#endif
#undef TILES
#undef TILE
#undef ROWS
#undef VECTORS
#undef VEC
#undef VW
#undef MASK_T
#undef MASK
#undef ZERO
#undef LOADU
#undef STOREU
#undef MASKLOAD
#undef MASKSTORE
#undef SET1
#undef FMA
#undef ADD
