/* mma.h of the CUDA emulator (tests/emu): the warp matrix functions (nvcuda::wmma) lib/backends/cuda uses, 16 x 16 x 16
 * bf16 products summed in f32, for a host C++ compiler.
 *
 * A fragment is spread over the 32 lanes of a warp, 8 elements a lane, as on a GPU, but in the emulator's own
 * order: lane l holds elements 8l .. 8l + 7 of the tile in row-major order. CUDA leaves the order unspecified and
 * a GPU's differs from this one, so a kernel that assumes an order fails here or there; one that finds an element's
 * row by loading a fragment of row numbers works on both. Loads, stores and products are warp barriers: every lane
 * of the warp must come to the same one (emu.cc aborts otherwise), and a product passes its lanes' elements through
 * the warp's tiles (emu::warp_tiles) so that each lane sums its own 8 outputs. */
#ifndef TINA_EMU_MMA_H
#define TINA_EMU_MMA_H

#include <type_traits>

#include "cuda_runtime.h"

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void> struct fragment {
    static_assert(M == 16 && N == 16 && K == 16, "the emulator has 16 x 16 x 16 fragments only");
    enum { num_elements = 8 };
    T x[num_elements];
};

namespace detail {
/* the running lane's share of a 16 x 16 tile, elements 8l .. 8l + 7 in row-major order: row l / 2, columns from
 * 8 (l % 2). Found once a call: the lane's number is a call into the emulator, and asking it for each element was a
 * third of the emulated attention tests. */
struct Share {
    int row, column;
    Share() : row(emu::lane() / 2), column(emu::lane() % 2 * 8) {}
};
/* element (r, c) of a matrix at p, ldm elements between rows (row-major) or columns (column-major) */
template <class P> P at(const P *p, unsigned ldm, bool column_major, int r, int c) {
    return column_major ? p[(size_t)c * ldm + r] : p[(size_t)r * ldm + c];
}
} // namespace detail

template <class Use, class T, class Layout>
void load_matrix_sync(fragment<Use, 16, 16, 16, T, Layout> &f, const T *p, unsigned ldm) {
    __syncwarp();
    detail::Share my;
    for (int e = 0; e < 8; e++)
        f.x[e] = detail::at(p, ldm, std::is_same<Layout, col_major>::value, my.row, my.column + e);
}

inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float> &f, const float *p, unsigned ldm,
                             layout_t layout) {
    __syncwarp();
    detail::Share my;
    for (int e = 0; e < 8; e++) f.x[e] = detail::at(p, ldm, layout == mem_col_major, my.row, my.column + e);
}

inline void store_matrix_sync(float *p, const fragment<accumulator, 16, 16, 16, float> &f, unsigned ldm,
                              layout_t layout) {
    __syncwarp();
    detail::Share my;
    for (int e = 0; e < 8; e++) {
        int r = my.row, c = my.column + e;
        p[layout == mem_col_major ? (size_t)c * ldm + r : (size_t)r * ldm + c] = f.x[e];
    }
}

template <class Use, class T, class Layout>
void fill_fragment(fragment<Use, 16, 16, 16, T, Layout> &f, T value) {
    for (int e = 0; e < 8; e++) f.x[e] = value;
}

/* d = a @ b + c, a (16, 16) and b (16, 16) bf16, c and d f32 (d may be c) */
template <class LayoutA, class LayoutB>
void mma_sync(fragment<accumulator, 16, 16, 16, float> &d,
              const fragment<matrix_a, 16, 16, 16, __nv_bfloat16, LayoutA> &a,
              const fragment<matrix_b, 16, 16, 16, __nv_bfloat16, LayoutB> &b,
              const fragment<accumulator, 16, 16, 16, float> &c) {
    float *tile_a = emu::warp_tiles(), *tile_b = tile_a + 256, sums[8];
    __syncwarp(); /* the warp's last product has read the tiles */
    detail::Share my;
    for (int e = 0; e < 8; e++) {
        tile_a[my.row * 16 + my.column + e] = (float)a.x[e];
        tile_b[my.row * 16 + my.column + e] = (float)b.x[e];
    }
    __syncwarp();
    for (int e = 0; e < 8; e++) {
        float sum = c.x[e];
        for (int k = 0; k < 16; k++) sum += tile_a[my.row * 16 + k] * tile_b[k * 16 + my.column + e];
        sums[e] = sum;
    }
    for (int e = 0; e < 8; e++) d.x[e] = sums[e];
}

} // namespace wmma
} // namespace nvcuda

#endif
