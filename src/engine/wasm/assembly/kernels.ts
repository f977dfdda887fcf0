/**
 * WebAssembly SIMD kernels (AssemblyScript, compiled by ../build.mjs). Everything is float32 in
 * linear memory that the host lays out; functions take byte addresses. Every sum runs over its
 * reduction index in one fixed order that depends only on the shapes, so the same inputs give the
 * same bits whatever the blocking, the tile or the number of calls the host splits the work into.
 *
 * Layouts:
 * - packed A: micro-panels of 4 rows over the full depth k, [ceil(m/4)][k][4], `packedAStride(k)` bytes apart;
 * - packed B: panels of 8 columns over the full depth k, [ceil(n/8)][k][8], `packedBStride(k)` bytes apart;
 *   rows and columns past the matrix are zero.
 */

/** Rows of C per micro-kernel tile. */
const MR: i32 = 4;
/** Columns of C per micro-kernel tile (two f32x4 vectors). */
const NR: i32 = 8;
/** Depth of a cache block: one B panel block is KC x 8 floats (8 KiB, in L1), one A micro-panel block 4 KiB. */
const KC: i32 = 256;
/** Rows of C per cache block: the A block, MC x KC floats (128 KiB), stays in L2 while every B panel passes. */
const MC: i32 = 128;
/** One cache line between packed panels, so that panels are never a power of two bytes apart (cache-set conflicts). */
const PANEL_PAD: usize = 64;

/** First free byte after the module's own data; the host allocates from here. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** Bytes between consecutive micro-panels of packed A with depth k. */
export function packedAStride(k: i32): usize {
  return <usize>k * (MR * 4) + PANEL_PAD;
}

/** Bytes between consecutive panels of packed B with depth k. */
export function packedBStride(k: i32): usize {
  return <usize>k * (NR * 4) + PANEL_PAD;
}

/** Bytes of packed A for an m x k matrix. */
export function packedABytes(m: i32, k: i32): usize {
  return <usize>((m + MR - 1) / MR) * packedAStride(k);
}

/** Bytes of packed B for a k x n matrix. */
export function packedBBytes(k: i32, n: i32): usize {
  return <usize>((n + NR - 1) / NR) * packedBStride(k);
}

/** Packs A(i, p) = a[i sai + p sap] (element strides) into micro-panels of 4 rows. */
export function packA(m: i32, k: i32, a: usize, sai: i32, sap: i32, dst: usize): void {
  const stride = packedAStride(k);
  const step = <usize>sap << 2;
  for (let ir = 0; ir < m; ir += MR) {
    const panel = dst + <usize>(ir / MR) * stride;
    let p0 = 0;
    if (sap == 1 && ir + MR <= m) {
      // Rows are contiguous: transpose 4 x 4 blocks in registers.
      const rowStep = <usize>sai << 2;
      const r0 = a + ((<usize>ir * sai) << 2);
      for (; p0 + 4 <= k; p0 += 4) {
        const at = r0 + (<usize>p0 << 2);
        transposeStore(v128.load(at), v128.load(at + rowStep), v128.load(at + 2 * rowStep), v128.load(at + 3 * rowStep), panel + (<usize>p0 << 4), 16);
      }
    }
    for (let ii = 0; ii < MR; ii++) {
      const i = ir + ii;
      let out = panel + (<usize>p0 << 4) + (<usize>ii << 2);
      if (i < m) {
        let src = a + ((<usize>i * sai + <usize>p0 * sap) << 2);
        for (let p = p0; p < k; p++) {
          store<f32>(out, load<f32>(src));
          src += step;
          out += MR * 4;
        }
      } else {
        for (let p = p0; p < k; p++) {
          store<f32>(out, 0);
          out += MR * 4;
        }
      }
    }
  }
}

/** Stores the transpose of the 4 x 4 block with rows a, b, c, d as 4 vectors, `step` bytes apart from dst. */
@inline
function transposeStore(a: v128, b: v128, c: v128, d: v128, dst: usize, step: usize): void {
  const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(c, d, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(c, d, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + step, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * step, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * step, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

/** Packs B(p, j) = b[p sbp + j sbj] (element strides) into panels of 8 columns. */
export function packB(k: i32, n: i32, b: usize, sbp: i32, sbj: i32, dst: usize): void {
  const stride = packedBStride(k);
  const full = n / NR;
  const panels = (n + NR - 1) / NR;
  if (sbj == 1) {
    // Rows are contiguous: copy 8-float slices, 8 rows at a time, so that each panel gets whole
    // cache lines per visit while the 8 source rows stay in L1 (measured best of 1 to 64 rows).
    const rowStep = <usize>sbp << 2;
    for (let p0 = 0; p0 < k; p0 += 8) {
      const p1 = min(k, p0 + 8);
      for (let jp = 0; jp < full; jp++) {
        let src = b + ((<usize>p0 * sbp + (<usize>jp << 3)) << 2);
        let out = dst + <usize>jp * stride + (<usize>p0 << 5);
        for (let p = p0; p < p1; p++) {
          v128.store(out, v128.load(src));
          v128.store(out, v128.load(src, 16), 16);
          src += rowStep;
          out += 32;
        }
      }
    }
  } else {
    // Columns are contiguous (B is a transposed matrix): transpose 4 x 4 blocks of two groups of 4
    // columns in registers; a depth that is not a multiple of 4 ends element by element.
    const colStep = <usize>sbj << 2;
    const step = <usize>sbp << 2;
    const k4 = sbp == 1 ? k & ~3 : 0;
    for (let jp = 0; jp < full; jp++) {
      const panel = dst + <usize>jp * stride;
      const c0 = b + ((<usize>jp * NR * sbj) << 2);
      const c4 = c0 + 4 * colStep;
      for (let p = 0; p < k4; p += 4) {
        const at = <usize>p << 2;
        const out = panel + (<usize>p << 5);
        transposeStore(v128.load(c0 + at), v128.load(c0 + colStep + at), v128.load(c0 + 2 * colStep + at), v128.load(c0 + 3 * colStep + at), out, 32);
        transposeStore(v128.load(c4 + at), v128.load(c4 + colStep + at), v128.load(c4 + 2 * colStep + at), v128.load(c4 + 3 * colStep + at), out + 16, 32);
      }
      for (let jj = 0; jj < NR; jj++) {
        let src = c0 + <usize>jj * colStep + <usize>k4 * step;
        let out = panel + (<usize>k4 << 5) + (<usize>jj << 2);
        for (let p = k4; p < k; p++) {
          store<f32>(out, load<f32>(src));
          src += step;
          out += NR * 4;
        }
      }
    }
  }
  if (full < panels) {
    const panel = dst + <usize>full * stride;
    for (let jj = 0; jj < NR; jj++) {
      const j = full * NR + jj;
      let out = panel + (<usize>jj << 2);
      for (let p = 0; p < k; p++) {
        store<f32>(out, j < n ? load<f32>(b + ((<usize>p * sbp + <usize>j * sbj) << 2)) : 0);
        out += NR * 4;
      }
    }
  }
}

// The micro-kernels keep a 4 x 8 tile of C in eight f32x4 registers and add one rank-1 update per
// step of the depth: c[i][:] += a[i] * b[:], a multiply and then an add (no fused multiply-add, so
// the rounding is the same on every machine). The first step is peeled: V8 then computes the
// addresses of the splat loads once, outside the loop, instead of once per step.

/** C tile (row stride ldc bytes) = (accumulate ? C tile : 0) + packed A micro-panel (kc steps) x packed B panel (kc steps). */
function microPacked(kc: i32, ap: usize, bp: usize, cp: usize, ldc: usize, accumulate: bool): void {
  const c1 = cp + ldc;
  const c2 = c1 + ldc;
  const c3 = c2 + ldc;
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  if (accumulate) {
    c00 = v128.load(cp);
    c01 = v128.load(cp, 16);
    c10 = v128.load(c1);
    c11 = v128.load(c1, 16);
    c20 = v128.load(c2);
    c21 = v128.load(c2, 16);
    c30 = v128.load(c3);
    c31 = v128.load(c3, 16);
  }
  {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16;
    bp += 32;
  }
  for (let p = 1; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16;
    bp += 32;
  }
  v128.store(cp, c00);
  v128.store(cp, c01, 16);
  v128.store(c1, c10);
  v128.store(c1, c11, 16);
  v128.store(c2, c20);
  v128.store(c2, c21, 16);
  v128.store(c3, c30);
  v128.store(c3, c31, 16);
}

/** As `microPacked`, but step p of B is the 8 floats at bb + offsets[p] (an i32 table of byte offsets). */
function microOffsets(kc: i32, ap: usize, bb: usize, offsets: usize, cp: usize, ldc: usize, accumulate: bool): void {
  const c1 = cp + ldc;
  const c2 = c1 + ldc;
  const c3 = c2 + ldc;
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  if (accumulate) {
    c00 = v128.load(cp);
    c01 = v128.load(cp, 16);
    c10 = v128.load(c1);
    c11 = v128.load(c1, 16);
    c20 = v128.load(c2);
    c21 = v128.load(c2, 16);
    c30 = v128.load(c3);
    c31 = v128.load(c3, 16);
  }
  {
    const bp = bb + <usize>load<i32>(offsets);
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16;
    offsets += 4;
  }
  for (let p = 1; p < kc; p++) {
    const bp = bb + <usize>load<i32>(offsets);
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16;
    offsets += 4;
  }
  v128.store(cp, c00);
  v128.store(cp, c01, 16);
  v128.store(c1, c10);
  v128.store(c1, c11, 16);
  v128.store(c2, c20);
  v128.store(c2, c21, 16);
  v128.store(c3, c30);
  v128.store(c3, c31, 16);
}

/** A 4 x 8 scratch tile for the edges of C: the same kernel runs on it, and only the valid part is copied back. */
let edgeTile: usize = 0;

function loadEdge(cp: usize, ldc: usize, mr: i32, nr: i32, accumulate: bool): void {
  if (!accumulate) {
    memory.fill(edgeTile, 0, MR * NR * 4);
    return;
  }
  for (let ii = 0; ii < MR; ii++)
    for (let jj = 0; jj < NR; jj++)
      store<f32>(edgeTile + (<usize>(ii * NR + jj) << 2), ii < mr && jj < nr ? load<f32>(cp + <usize>ii * ldc + (<usize>jj << 2)) : 0);
}

function storeEdge(cp: usize, ldc: usize, mr: i32, nr: i32): void {
  for (let ii = 0; ii < mr; ii++)
    for (let jj = 0; jj < nr; jj++) store<f32>(cp + <usize>ii * ldc + (<usize>jj << 2), load<f32>(edgeTile + (<usize>(ii * NR + jj) << 2)));
}

/**
 * C = (accumulate ? C : 0) + A B with A and B packed (`packA`, `packB`; micro-panels aStride and
 * bStride bytes apart, so that ap, bp may point into a deeper packing), C row-major with ldc floats
 * per row. Each element of C gets its k products added one by one in the order p = 0, 1, ..., k - 1.
 * scratch: 128 bytes for the edge tile.
 */
export function gemmPacked(m: i32, k: i32, n: i32, ap: usize, aStride: usize, bp: usize, bStride: usize, c: usize, ldc: i32, scratch: usize, accumulate: bool): void {
  edgeTile = scratch;
  const ldcb = <usize>ldc << 2;
  const panels = (n + NR - 1) / NR;
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    const add = accumulate || pc > 0;
    for (let ic = 0; ic < m; ic += MC) {
      const mc = min(MC, m - ic);
      for (let jp = 0; jp < panels; jp++) {
        const j = jp * NR;
        const nr = min(NR, n - j);
        const bpp = bp + <usize>jp * bStride + (<usize>pc << 5);
        for (let ir = ic; ir < ic + mc; ir += MR) {
          const mr = min(MR, m - ir);
          const app = ap + <usize>(ir / MR) * aStride + (<usize>pc << 4);
          const cp = c + <usize>ir * ldcb + (<usize>j << 2);
          if (mr == MR && nr == NR) microPacked(kc, app, bpp, cp, ldcb, add);
          else {
            loadEdge(cp, ldcb, mr, nr, add);
            microPacked(kc, app, bpp, edgeTile, NR * 4, true);
            storeEdge(cp, ldcb, mr, nr);
          }
        }
      }
    }
  }
}

/**
 * C = (accumulate ? C : 0) + A B with A packed (micro-panels aStride bytes apart) and B(p, j) the
 * float at bb + offsets[p] + 4 j (offsets: k i32 byte offsets, wrapping: a buffer before bb is reachable).
 * B is read in place (the convolutions' padded planes, from L2), so the loops keep one A micro-panel
 * in L1 and walk its tiles along the rows of C, which are then written in order.
 * Columns of an edge tile past n read up to 7 floats past the end of a B row: the host leaves that
 * memory readable, and those lanes are discarded. Same summation order as `gemmPacked`.
 */
export function gemmOffsets(m: i32, k: i32, n: i32, ap: usize, aStride: usize, bb: usize, offsets: usize, c: usize, ldc: i32, scratch: usize, accumulate: bool): void {
  edgeTile = scratch;
  const ldcb = <usize>ldc << 2;
  const panels = (n + NR - 1) / NR;
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    const add = accumulate || pc > 0;
    const op = offsets + (<usize>pc << 2);
    for (let ic = 0; ic < m; ic += MC) {
      const mc = min(MC, m - ic);
      for (let ir = ic; ir < ic + mc; ir += MR) {
        const mr = min(MR, m - ir);
        const app = ap + <usize>(ir / MR) * aStride + (<usize>pc << 4);
        for (let jp = 0; jp < panels; jp++) {
          const j = jp * NR;
          const nr = min(NR, n - j);
          const bj = bb + (<usize>j << 2);
          const cp = c + <usize>ir * ldcb + (<usize>j << 2);
          if (mr == MR && nr == NR) microOffsets(kc, app, bj, op, cp, ldcb, add);
          else {
            loadEdge(cp, ldcb, mr, nr, add);
            microOffsets(kc, app, bj, op, edgeTile, NR * 4, true);
            storeEdge(cp, ldcb, mr, nr);
          }
        }
      }
    }
  }
}

/** Bytes of scratch `gemm` needs for an m x k by k x n product. */
export function gemmScratchBytes(m: i32, k: i32, n: i32): usize {
  return 128 + packedABytes(m, k) + packedBBytes(k, n);
}

/** C += A B for strided A(i, p) = a[i sai + p sap], B(p, j) = b[p sbp + j sbj], row-major C: packs both, then `gemmPacked`. */
export function gemm(m: i32, k: i32, n: i32, a: usize, sai: i32, sap: i32, b: usize, sbp: i32, sbj: i32, c: usize, ldc: i32, scratch: usize): void {
  const ap = scratch + 128;
  const bp = ap + packedABytes(m, k);
  packA(m, k, a, sai, sap, ap);
  packB(k, n, b, sbp, sbj, bp);
  gemmPacked(m, k, n, ap, packedAStride(k), bp, packedBStride(k), c, ldc, scratch, true);
}

/** Horizontal sum of a vector in a fixed order: (l0 + l2) + (l1 + l3). */
@inline
function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/**
 * C[i, j] = sum_q A[i, q] B[j, q] (a matrix times a transposed one): A rows at a + i lda bytes, B rows
 * at bb + offsets[j]; q runs over len. Each of the four lanes sums every fourth q in order, then
 * `hsum`. A rows must be zero from len up to a multiple of 4; B lanes past len are masked off, so
 * what lies there only needs to be readable. C is m x n, row-major, ldc floats per row.
 */
export function gemmTransposed(m: i32, n: i32, len: i32, a: usize, lda: usize, bb: usize, offsets: usize, c: usize, ldc: i32): void {
  const vecs = len >> 2;
  const rest = len & 3;
  const mask = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(rest));
  for (let i = 0; i < m; i += 2) {
    const two = i + 1 < m;
    const a0 = a + <usize>i * lda;
    const a1 = two ? a0 + lda : a0;
    for (let j = 0; j < n; j += 4) {
      const o0 = <usize>load<i32>(offsets + (<usize>j << 2));
      const o1 = j + 1 < n ? <usize>load<i32>(offsets + (<usize>(j + 1) << 2)) : o0;
      const o2 = j + 2 < n ? <usize>load<i32>(offsets + (<usize>(j + 2) << 2)) : o0;
      const o3 = j + 3 < n ? <usize>load<i32>(offsets + (<usize>(j + 3) << 2)) : o0;
      let s00 = f32x4.splat(0);
      let s01 = f32x4.splat(0);
      let s02 = f32x4.splat(0);
      let s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0);
      let s11 = f32x4.splat(0);
      let s12 = f32x4.splat(0);
      let s13 = f32x4.splat(0);
      let pa0 = a0;
      let pa1 = a1;
      let pb = bb;
      for (let q = 0; q < vecs; q++) {
        const x0 = v128.load(pa0);
        const x1 = v128.load(pa1);
        let y = v128.load(pb + o0);
        s00 = f32x4.add(s00, f32x4.mul(x0, y));
        s10 = f32x4.add(s10, f32x4.mul(x1, y));
        y = v128.load(pb + o1);
        s01 = f32x4.add(s01, f32x4.mul(x0, y));
        s11 = f32x4.add(s11, f32x4.mul(x1, y));
        y = v128.load(pb + o2);
        s02 = f32x4.add(s02, f32x4.mul(x0, y));
        s12 = f32x4.add(s12, f32x4.mul(x1, y));
        y = v128.load(pb + o3);
        s03 = f32x4.add(s03, f32x4.mul(x0, y));
        s13 = f32x4.add(s13, f32x4.mul(x1, y));
        pa0 += 16;
        pa1 += 16;
        pb += 16;
      }
      if (rest) {
        const x0 = v128.load(pa0);
        const x1 = v128.load(pa1);
        let y = v128.and(v128.load(pb + o0), mask);
        s00 = f32x4.add(s00, f32x4.mul(x0, y));
        s10 = f32x4.add(s10, f32x4.mul(x1, y));
        y = v128.and(v128.load(pb + o1), mask);
        s01 = f32x4.add(s01, f32x4.mul(x0, y));
        s11 = f32x4.add(s11, f32x4.mul(x1, y));
        y = v128.and(v128.load(pb + o2), mask);
        s02 = f32x4.add(s02, f32x4.mul(x0, y));
        s12 = f32x4.add(s12, f32x4.mul(x1, y));
        y = v128.and(v128.load(pb + o3), mask);
        s03 = f32x4.add(s03, f32x4.mul(x0, y));
        s13 = f32x4.add(s13, f32x4.mul(x1, y));
      }
      const r0 = c + ((<usize>i * ldc + j) << 2);
      store<f32>(r0, hsum(s00));
      if (j + 1 < n) store<f32>(r0, hsum(s01), 4);
      if (j + 2 < n) store<f32>(r0, hsum(s02), 8);
      if (j + 3 < n) store<f32>(r0, hsum(s03), 12);
      if (two) {
        const r1 = r0 + (<usize>ldc << 2);
        store<f32>(r1, hsum(s10));
        if (j + 1 < n) store<f32>(r1, hsum(s11), 4);
        if (j + 2 < n) store<f32>(r1, hsum(s12), 8);
        if (j + 3 < n) store<f32>(r1, hsum(s13), 12);
      }
    }
  }
}

/** sum_i x[i]^2 over count floats, squared and added in float64, in index order. */
export function sumSquares(x: usize, count: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < count; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    total += v * v;
  }
  return total;
}

/** Repeats a row of cols floats into rows rows (y = 1 b^T, the bias of a dense layer). */
export function repeatRow(dst: usize, rows: i32, cols: i32, row: usize): void {
  const bytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) memory.copy(dst + <usize>r * bytes, row, bytes);
}

// ---- Convolution helpers. One sample at a time: x is [C, H, W], y is [O, OH, OW]. ----

/**
 * Zero-padded copy of [C, H, W] planes into [C, HP, WP]: dst[c, y, x] = src[c, y - top, x - left]
 * where that is inside the source, else 0 (a negative top or left crops instead).
 */
export function padPlanes(src: usize, channels: i32, height: i32, width: i32, dst: usize, hp: i32, wp: i32, top: i32, left: i32): void {
  // Columns x0 <= x < x1 come from source columns x - left; the rest are zero.
  const x0 = min(wp, max(0, left));
  const x1 = max(x0, min(wp, width + left));
  for (let c = 0; c < channels; c++) {
    const plane = src + ((<usize>c * height * width) << 2);
    const out = dst + ((<usize>c * hp * wp) << 2);
    for (let y = 0; y < hp; y++) {
      const row = out + ((<usize>y * wp) << 2);
      const sy = y - top;
      if (sy < 0 || sy >= height) {
        memory.fill(row, 0, <usize>wp << 2);
        continue;
      }
      memory.fill(row, 0, <usize>x0 << 2);
      memory.copy(row + (<usize>x0 << 2), plane + ((<usize>sy * width + x0 - left) << 2), <usize>(x1 - x0) << 2);
      memory.fill(row + (<usize>x1 << 2), 0, <usize>(wp - x1) << 2);
    }
  }
}

/** Byte offsets of the taps f = c k k + i k + j into padded [C, HP, WP] planes: ((c HP + i) WP + j) 4. */
export function tapOffsets(channels: i32, kernel: i32, hp: i32, wp: i32, dst: usize): void {
  let f = 0;
  for (let c = 0; c < channels; c++)
    for (let i = 0; i < kernel; i++)
      for (let j = 0; j < kernel; j++) {
        store<i32>(dst + (<usize>f << 2), ((c * hp + i) * wp + j) << 2);
        f++;
      }
}

/** Byte offsets of the rows of a row-major matrix: offsets[r] = r ld 4. */
export function rowOffsets(rows: i32, ld: i32, dst: usize): void {
  for (let r = 0; r < rows; r++) store<i32>(dst + (<usize>r << 2), (r * ld) << 2);
}

/** im2col from padded planes: cols[f, oy OW + ox] = xp[c, oy s + i, ox s + j] for f = c k k + i k + j; ldCols floats per row of cols. */
export function im2colPadded(xp: usize, channels: i32, hp: i32, wp: i32, kernel: i32, stride: i32, outHeight: i32, outWidth: i32, cols: usize, ldCols: i32): void {
  let f = 0;
  const step = <usize>stride << 2;
  for (let c = 0; c < channels; c++)
    for (let i = 0; i < kernel; i++)
      for (let j = 0; j < kernel; j++) {
        const base = xp + ((<usize>(c * hp + i) * wp + j) << 2);
        let out = cols + ((<usize>f * ldCols) << 2);
        for (let oy = 0; oy < outHeight; oy++) {
          let src = base + ((<usize>oy * stride * wp) << 2);
          for (let ox = 0; ox < outWidth; ox++) {
            store<f32>(out, load<f32>(src));
            src += step;
            out += 4;
          }
        }
        f++;
      }
}

/** col2im onto [C, H, W] (zeroed first): dx[c, oy s + i - pad, ox s + j - pad] += cols[f, oy OW + ox], f in order. */
export function col2im(cols: usize, channels: i32, height: i32, width: i32, kernel: i32, stride: i32, pad: i32, outHeight: i32, outWidth: i32, dx: usize): void {
  memory.fill(dx, 0, <usize>channels * height * width * 4);
  let src = cols;
  for (let c = 0; c < channels; c++) {
    const plane = dx + ((<usize>c * height * width) << 2);
    for (let i = 0; i < kernel; i++)
      for (let j = 0; j < kernel; j++)
        for (let oy = 0; oy < outHeight; oy++) {
          const iy = oy * stride + i - pad;
          if (iy < 0 || iy >= height) {
            src += <usize>outWidth << 2;
            continue;
          }
          const row = plane + ((<usize>iy * width) << 2);
          for (let ox = 0; ox < outWidth; ox++) {
            const ix = ox * stride + j - pad;
            if (ix >= 0 && ix < width) {
              const at = row + (<usize>ix << 2);
              store<f32>(at, load<f32>(at) + load<f32>(src));
            }
            src += 4;
          }
        }
  }
}

/** Copies a rows x cols block between row-major matrices with ldSrc and ldDst floats per row. */
export function copyRows(src: usize, ldSrc: i32, dst: usize, ldDst: i32, rows: i32, cols: i32): void {
  const bytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) memory.copy(dst + ((<usize>r * ldDst) << 2), src + ((<usize>r * ldSrc) << 2), bytes);
}

/**
 * Spreads g [planes, rows, cols] onto a zeroed [planes, ld] matrix: dst[t, r wp + q] = g[t, r, q] and
 * zero elsewhere (the columns q >= cols of each row of width wp, and the tail of each plane up to ld).
 */
export function spreadPlanes(g: usize, planes: i32, rows: i32, cols: i32, dst: usize, wp: i32, ld: i32): void {
  memory.fill(dst, 0, (<usize>planes * ld) << 2);
  for (let t = 0; t < planes; t++) copyRows(g + ((<usize>t * rows * cols) << 2), cols, dst + ((<usize>t * ld) << 2), wp, rows, cols);
}

/** The transposed, flipped weights of the input gradient: wf[c, (o k + i) k + j] = w[o, (c k + k-1-i) k + k-1-j]. */
export function flipWeights(w: usize, outChannels: i32, channels: i32, kernel: i32, dst: usize): void {
  const kk = kernel * kernel;
  const fanIn = channels * kk;
  for (let c = 0; c < channels; c++)
    for (let o = 0; o < outChannels; o++)
      for (let i = 0; i < kernel; i++)
        for (let j = 0; j < kernel; j++)
          store<f32>(
            dst + ((<usize>c * outChannels * kk + (o * kernel + i) * kernel + j) << 2),
            load<f32>(w + ((<usize>o * fanIn + c * kk + (kernel - 1 - i) * kernel + kernel - 1 - j) << 2)),
          );
}

// ---- Activations of the piecewise-linear kinds, bit for bit as src/engine/activations.ts. ----
// mode 0: linear, 1: relu (leaky_relu with slope 0 too), 2: leaky_relu with slope != 0. The JS
// closures compute in f64 and the caller rounds to f32: for linear and relu every result is an input
// or zero, exact in f32; leaky's slope y is computed here in f64 and rounded once, as there.

/** post[i] = phi(pre[i]) for count floats (pre and post may be the same address). */
export function activate(mode: i32, slope: f64, pre: usize, post: usize, count: i32): void {
  let i: i32 = 0;
  if (mode == 0) {
    memory.copy(post, pre, <usize>count << 2);
    return;
  }
  if (mode == 1) {
    // y < 0 ? 0 : y is pmax(y, 0): -0 and NaN pass through, as in the closure.
    const zero = f32x4.splat(0);
    for (; i + 4 <= count; i += 4) {
      const at = <usize>i << 2;
      v128.store(post + at, f32x4.pmax(v128.load(pre + at), zero));
    }
    for (; i < count; i++) {
      const y = load<f32>(pre + (<usize>i << 2));
      store<f32>(post + (<usize>i << 2), select<f32>(0, y, y < 0));
    }
    return;
  }
  for (; i < count; i++) {
    const y = load<f32>(pre + (<usize>i << 2));
    store<f32>(post + (<usize>i << 2), select<f32>(<f32>(slope * <f64>y), y, y < 0));
  }
}

/** dx[i] = f32(dx[i] phi'(y[i])) for count floats, phi' as the closures' dphi: 1 where y > 0, 0 (relu) or slope (leaky) where y <= 0, y itself where y is NaN. */
export function maskGradient(mode: i32, slope: f64, y: usize, dx: usize, count: i32): void {
  let i: i32 = 0;
  if (mode != 2) {
    // linear: dx where y is a number; relu: dx where y > 0, dx 0 where y <= 0. NaN y gives NaN.
    const zero = f32x4.splat(0);
    for (; i + 4 <= count; i += 4) {
      const at = <usize>i << 2;
      const yv = v128.load(y + at);
      const d = v128.load(dx + at);
      const pass = mode == 0 ? f32x4.eq(yv, yv) : f32x4.gt(yv, zero);
      const low = mode == 0 ? f32x4.splat(0) : f32x4.le(yv, zero);
      // pass: d; y <= 0 (relu): d 0, signed zero or NaN as the f64 product rounds; else y (NaN).
      v128.store(dx + at, v128.bitselect(d, v128.bitselect(f32x4.mul(d, zero), yv, low), pass));
    }
    for (; i < count; i++) {
      const yi = load<f32>(y + (<usize>i << 2));
      const d = load<f32>(dx + (<usize>i << 2));
      const pass = mode == 0 ? yi == yi : yi > 0;
      store<f32>(dx + (<usize>i << 2), pass ? d : mode != 0 && yi <= 0 ? d * 0 : yi);
    }
    return;
  }
  for (; i < count; i++) {
    const yi = load<f32>(y + (<usize>i << 2));
    const d = load<f32>(dx + (<usize>i << 2));
    const low = <f32>(<f64>d * slope);
    store<f32>(dx + (<usize>i << 2), select<f32>(d, select<f32>(low, yi, yi <= 0), yi > 0));
  }
}
