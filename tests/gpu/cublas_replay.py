"""The cuBLAS calls of lib/backends/cuda/backend.cu's training half, replayed here on the CPU: each call's (op, m, n, k, ld)
exactly as backend.cu passes them, on flat row-major buffers read column-major as cuBLAS reads them, in float64,
against torch autograd. A wrong transpose or leading dimension shows as an O(1) error; the replay prints errors of
1e-15 when the layouts are right. Run it (torch on the CPU is enough) after changing a call in backend.cu, and change
it with the call: it is a copy of the calls' arguments, not of their code path.
Usage: python3 tests/gpu/cublas_replay.py"""
import numpy as np, torch
torch.manual_seed(0)

def gemm(opA, opB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
    """cuBLAS: C (m x n, col-major, ldc) = alpha op(A) op(B) + beta C on flat arrays"""
    def mat(buf, rows, cols, ld):  # col-major view (rows x cols) with leading dim ld
        return np.lib.stride_tricks.as_strided(buf, shape=(rows, cols), strides=(buf.itemsize, ld * buf.itemsize))
    a = mat(A, m, k, lda) if opA == 'N' else mat(A, k, m, lda).T
    b = mat(B, k, n, ldb) if opB == 'N' else mat(B, n, k, ldb).T
    c = mat(C, m, n, ldc)
    c[...] = alpha * (a @ b) + (beta * c if beta else 0)

def product_xyt(out, x, y, R, S, D, alpha):  # gemm(T, N, S, R, D, y, D, x, D, out, S)
    gemm('T', 'N', S, R, D, alpha, y, D, x, D, 0.0, out, S)
def product_xy(out, x, y, R, S, D, alpha):   # gemm(N, N, D, R, S, y, D, x, S, out, D)
    gemm('N', 'N', D, R, S, alpha, y, D, x, S, 0.0, out, D)
def product_xty(out, x, y, R, S, D, alpha):  # gemm(N, T, D, S, R, y, D, x, S, out, D)
    gemm('N', 'T', D, S, R, alpha, y, D, x, S, 0.0, out, D)

def to_heads(rows, n, H, D): return np.ascontiguousarray(rows.reshape(n, H, D).transpose(1, 0, 2)).ravel()
def to_rows(heads, n, H, D): return np.ascontiguousarray(heads.reshape(H, n, D).transpose(1, 0, 2)).ravel()

def causal_softmax(scores, rows, n):
    s = scores.reshape(rows, n); p = np.zeros_like(s)
    for r in range(rows):
        v = r % n + 1; e = np.exp(s[r, :v] - s[r, :v].max()); p[r, :v] = e / e.sum()
    return p.ravel()

def softmax_backward(p, dp, rows, n):
    P = p.reshape(rows, n); dP = dp.reshape(rows, n)
    delta = (P * dP).sum(1, keepdims=True)
    return (P * (dP - delta)).ravel()

# ---- attention: forward and backward as cuda_self_attention / cuda_attention_backward
Hq, Hkv, D, lens = 6, 2, 8, [5, 9]
T = sum(lens); group = Hq // Hkv
q = torch.randn(T, Hq, D, dtype=torch.float64, requires_grad=True)
k = torch.randn(T, Hkv, D, dtype=torch.float64, requires_grad=True)
v = torch.randn(T, Hkv, D, dtype=torch.float64, requires_grad=True)
dout = torch.randn(T, Hq, D, dtype=torch.float64)
outs = []; first = 0
for n in lens:
    qs, ks, vs = q[first:first+n], k[first:first+n], v[first:first+n]
    ks = ks.repeat_interleave(group, dim=1); vs = vs.repeat_interleave(group, dim=1)
    s = torch.einsum('ihd,jhd->hij', qs, ks) / D ** 0.5
    s = s.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float('-inf'))
    outs.append(torch.einsum('hij,jhd->ihd', torch.softmax(s, -1), vs)); first += n
ref = torch.cat(outs); ref.backward(dout)

Q, K, V, DO = (x.detach().numpy().ravel().copy() for x in (q, k, v, dout))
out = np.zeros(T * Hq * D); dq = np.zeros(T * Hq * D); dk = np.zeros(T * Hkv * D); dv = np.zeros(T * Hkv * D)
first = 0; scale = 1 / D ** 0.5
for n in lens:
    qh = to_heads(Q[first*Hq*D:(first+n)*Hq*D], n, Hq, D); doh = to_heads(DO[first*Hq*D:(first+n)*Hq*D], n, Hq, D)
    kh = to_heads(K[first*Hkv*D:(first+n)*Hkv*D], n, Hkv, D); vh = to_heads(V[first*Hkv*D:(first+n)*Hkv*D], n, Hkv, D)
    oh = np.zeros(Hq*n*D); dqh = np.zeros(Hq*n*D); dkh = np.zeros(Hkv*n*D); dvh = np.zeros(Hkv*n*D)
    for g in range(Hkv):
        qg, kg = g*group*n*D, g*n*D
        scores = np.zeros(group*n*n)
        product_xyt(scores, qh[qg:], kh[kg:], group*n, n, D, scale)
        p = causal_softmax(scores, group*n, n)
        product_xy(oh[qg:], p, vh[kg:], group*n, n, D, 1.0)
        product_xty(dvh[kg:], p, doh[qg:], group*n, n, D, 1.0)
        product_xyt(scores, doh[qg:], vh[kg:], group*n, n, D, 1.0)
        ds = softmax_backward(p, scores, group*n, n)
        product_xy(dqh[qg:], ds, kh[kg:], group*n, n, D, scale)
        product_xty(dkh[kg:], ds, qh[qg:], group*n, n, D, scale)
    out[first*Hq*D:(first+n)*Hq*D] = to_rows(oh, n, Hq, D)
    dq[first*Hq*D:(first+n)*Hq*D] = to_rows(dqh, n, Hq, D)
    dk[first*Hkv*D:(first+n)*Hkv*D] = to_rows(dkh, n, Hkv, D)
    dv[first*Hkv*D:(first+n)*Hkv*D] = to_rows(dvh, n, Hkv, D)
    first += n
err = lambda a, b: np.abs(a - b.detach().numpy().ravel()).max()
errors = [err(out, ref), err(dq, q.grad), err(dk, k.grad), err(dv, v.grad)]
print("attention out %.1e dq %.1e dk %.1e dv %.1e" % tuple(errors))

# ---- matmul (forward cuda_matmul) and matmul_backward, lora and lora_backward, the head's backward
Tt, Kk, N, r, sc = 7, 10, 6, 3, 0.5
x = torch.randn(Tt, Kk, dtype=torch.float64, requires_grad=True)
w = torch.randn(N, Kk, dtype=torch.float64)
a = torch.randn(r, Kk, dtype=torch.float64, requires_grad=True); bm = torch.randn(N, r, dtype=torch.float64, requires_grad=True)
y = x @ w.T + sc * (x @ a.T) @ bm.T
dy = torch.randn(Tt, N, dtype=torch.float64); y.backward(dy)
X, W, A, B, DY = (t.detach().numpy().ravel().copy() for t in (x, w, a, bm, dy))
out = np.zeros(Tt*N); gemm('T', 'N', N, Tt, Kk, 1.0, W, Kk, X, Kk, 0.0, out, N)           # cuda_matmul
z = np.zeros(Tt*r); gemm('T', 'N', r, Tt, Kk, 1.0, A, Kk, X, Kk, 0.0, z, r)                 # lora A
yl = np.zeros(Tt*N); gemm('T', 'N', N, Tt, r, sc, B, r, z, r, 0.0, yl, N)                    # lora B
errors.append(np.abs(out + yl - y.detach().numpy().ravel()).max())
print("forward %.1e" % errors[-1])
din = np.zeros(Tt*Kk); gemm('N', 'N', Kk, Tt, N, 1.0, W, Kk, DY, N, 0.0, din, Kk)          # matmul_backward
db = np.zeros(N*r); gemm('N', 'T', r, N, Tt, sc, z, r, DY, N, 1.0, db, r)                   # lora dB
dz = np.zeros(Tt*r); gemm('N', 'N', r, Tt, N, sc, B, r, DY, N, 0.0, dz, r)                  # lora dz
da = np.zeros(r*Kk); gemm('N', 'T', Kk, r, Tt, 1.0, X, Kk, dz, r, 1.0, da, Kk)              # lora dA
din2 = np.zeros(Tt*Kk); gemm('N', 'N', Kk, Tt, r, 1.0, A, Kk, dz, r, 0.0, din2, Kk)         # lora din
errors += [err(din + din2, x.grad), err(da, a.grad), err(db, bm.grad)]
print("dx %.1e dA %.1e dB %.1e" % tuple(errors[-3:]))

# head backward: dh (T, C) = grad (T, n) @ rows (n, C): gemm(N, N, C, T, n, rows, C, grad, n, dh32, C)
C, V = 5, 11
h = torch.randn(Tt, C, dtype=torch.float64, requires_grad=True); head = torch.randn(V, C, dtype=torch.float64)
logits = h @ head.T; g = torch.randn(Tt, V, dtype=torch.float64); logits.backward(g)
H, HD, G = (t.detach().numpy().ravel().copy() for t in (h, head, g))
dh = np.zeros(Tt*C)
for v0, nn in ((0, 6), (6, 5)):  # two chunks, the second accumulating
    gemm('N', 'N', C, Tt, nn, 1.0, HD[v0*C:], C, np.ascontiguousarray(g.numpy()[:, v0:v0+nn]).ravel(), nn, 1.0 if v0 else 0.0, dh, C)
errors.append(err(dh, h.grad))
print("head dh %.1e" % errors[-1])
worst = max(errors)
print("cublas_replay: %s (worst %.1e)" % ("layouts agree with autograd" if worst < 1e-9 else "FAILED", worst))
raise SystemExit(0 if worst < 1e-9 else 1)
