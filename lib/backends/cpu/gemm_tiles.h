/* gemm_tiles.h: gemm.c's tiles of one vector width, ROWS x 1 to 3 vectors, made by TILE (TILE_BODY over the
 * width's VEC, VW, MASK_T, MASK, ZERO, LOADU, MASKLOAD, MASKSTORE, SET1, FMA and ADD), which gemm.c defines before
 * each inclusion; they are undefined after it, for the next width. Part of gemm.c, included by nothing else. */
#define TILES(R) TILE(R, 1) TILE(R, 2) TILE(R, 3)
TILES(1) TILES(2) TILES(3) TILES(4)
#if ROWS == 8
TILES(5) TILES(6) TILES(7) TILES(8)
#endif
#undef TILES
#undef TILE
#undef ROWS
#undef VEC
#undef VW
#undef MASK_T
#undef MASK
#undef ZERO
#undef LOADU
#undef MASKLOAD
#undef MASKSTORE
#undef SET1
#undef FMA
#undef ADD
