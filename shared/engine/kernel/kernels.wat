;; ringmesh's quantized matrix-vector kernels (docs/engines.md, "The WASM kernel engine").
;; Assembled by scripts/build-kernels.ts into kernels-wasm.ts; a unit test checks that the two agree.
;;
;; out[r] = Σ_b sw[r·blocks + b] · xs[b] · Σ_i w[r, b, i] · xq[b, i]   for r < rows
;;
;; Weights are blocks of 32 with one f32 scale each (sw, [rows, blocks]); the activation is
;; quantized per block too (xq: 32 int16 per block holding int8 values, xs: one f32 per block), so
;; each block is an exact integer dot product (i32x4.dot_i16x8_s) and one float multiply-add.
;; The activation is stored widened to int16 so that only the weights need widening here.
(module
  (import "env" "memory" (memory 1 65536))

  ;; q8: w is int8 [rows, blocks, 32].
  (func (export "matvec_q8") (param $w i32) (param $sw i32) (param $xq i32) (param $xs i32) (param $out i32) (param $rows i32) (param $blocks i32)
    (local $r i32) (local $b i32) (local $xp i32) (local $xsp i32) (local $acc v128) (local $w0 v128) (local $w1 v128)
    (loop $row
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $b (i32.const 0))
      (local.set $xp (local.get $xq))
      (local.set $xsp (local.get $xs))
      (loop $block
        (local.set $w0 (v128.load (local.get $w)))
        (local.set $w1 (v128.load offset=16 (local.get $w)))
        (local.set $acc
          (f32x4.add (local.get $acc)
            (f32x4.mul
              (f32x4.convert_i32x4_s
                (i32x4.add
                  (i32x4.add
                    (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $w0)) (v128.load (local.get $xp)))
                    (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $w0)) (v128.load offset=16 (local.get $xp))))
                  (i32x4.add
                    (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $w1)) (v128.load offset=32 (local.get $xp)))
                    (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $w1)) (v128.load offset=48 (local.get $xp))))))
              (f32x4.splat (f32.mul (f32.load (local.get $sw)) (f32.load (local.get $xsp)))))))
        (local.set $w (i32.add (local.get $w) (i32.const 32)))
        (local.set $sw (i32.add (local.get $sw) (i32.const 4)))
        (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
        (local.set $xsp (i32.add (local.get $xsp) (i32.const 4)))
        (br_if $block (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 1))) (local.get $blocks))))
      (f32.store
        (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2)))
        (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
          (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
      (br_if $row (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows)))))

  ;; q4: w is [rows, blocks, 16] bytes, byte i of a block holding element 2i in its low nibble and
  ;; 2i+1 in its high nibble, each offset by 8. xq must then hold a block's even elements first
  ;; (x0, x2, …, x30) and its odd ones after (x1, x3, …, x31).
  (func (export "matvec_q4") (param $w i32) (param $sw i32) (param $xq i32) (param $xs i32) (param $out i32) (param $rows i32) (param $blocks i32)
    (local $r i32) (local $b i32) (local $xp i32) (local $xsp i32) (local $acc v128) (local $lo v128) (local $hi v128)
    (loop $row
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $b (i32.const 0))
      (local.set $xp (local.get $xq))
      (local.set $xsp (local.get $xs))
      (loop $block
        (local.set $hi (v128.load (local.get $w)))
        (local.set $lo (i8x16.sub (v128.and (local.get $hi) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
                                  (v128.const i8x16 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8)))
        (local.set $hi (i8x16.sub (i8x16.shr_u (local.get $hi) (i32.const 4))
                                  (v128.const i8x16 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8)))
        (local.set $acc
          (f32x4.add (local.get $acc)
            (f32x4.mul
              (f32x4.convert_i32x4_s
                (i32x4.add
                  (i32x4.add
                    (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $lo)) (v128.load (local.get $xp)))
                    (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $lo)) (v128.load offset=16 (local.get $xp))))
                  (i32x4.add
                    (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $hi)) (v128.load offset=32 (local.get $xp)))
                    (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $hi)) (v128.load offset=48 (local.get $xp))))))
              (f32x4.splat (f32.mul (f32.load (local.get $sw)) (f32.load (local.get $xsp)))))))
        (local.set $w (i32.add (local.get $w) (i32.const 16)))
        (local.set $sw (i32.add (local.get $sw) (i32.const 4)))
        (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
        (local.set $xsp (i32.add (local.get $xsp) (i32.const 4)))
        (br_if $block (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 1))) (local.get $blocks))))
      (f32.store
        (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2)))
        (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
          (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
      (br_if $row (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $rows)))))

  ;; Attention over one head's cached rows, in f32x4 (dim a multiple of 4; stride in floats).
  ;; qk: out[t] = Σ_i q[i] · k[t·stride + i], t < n: the scores of a query against n cached keys.
  (func (export "qk") (param $q i32) (param $k i32) (param $stride i32) (param $dim i32) (param $n i32) (param $out i32)
    (local $t i32) (local $i i32) (local $acc v128) (local $bytes i32)
    (local.set $stride (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $bytes (i32.shl (local.get $dim) (i32.const 2)))
    (loop $row
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (loop $col
        (local.set $acc (f32x4.add (local.get $acc)
          (f32x4.mul (v128.load (i32.add (local.get $q) (local.get $i))) (v128.load (i32.add (local.get $k) (local.get $i))))))
        (br_if $col (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $bytes))))
      (f32.store
        (i32.add (local.get $out) (i32.shl (local.get $t) (i32.const 2)))
        (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
          (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
      (local.set $k (i32.add (local.get $k) (local.get $stride)))
      (br_if $row (i32.lt_u (local.tee $t (i32.add (local.get $t) (i32.const 1))) (local.get $n)))))

  ;; pv: out[i] += Σ_t p[t] · v[t·stride + i], i < dim: n cached values weighted by probabilities.
  (func (export "pv") (param $p i32) (param $v i32) (param $stride i32) (param $dim i32) (param $n i32) (param $out i32)
    (local $t i32) (local $i i32) (local $w v128) (local $bytes i32) (local $at i32)
    (local.set $stride (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $bytes (i32.shl (local.get $dim) (i32.const 2)))
    (loop $row
      (local.set $w (v128.load32_splat (i32.add (local.get $p) (i32.shl (local.get $t) (i32.const 2)))))
      (local.set $i (i32.const 0))
      (loop $col
        (local.set $at (i32.add (local.get $out) (local.get $i)))
        (v128.store (local.get $at)
          (f32x4.add (v128.load (local.get $at)) (f32x4.mul (local.get $w) (v128.load (i32.add (local.get $v) (local.get $i))))))
        (br_if $col (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $bytes))))
      (local.set $v (i32.add (local.get $v) (local.get $stride)))
      (br_if $row (i32.lt_u (local.tee $t (i32.add (local.get $t) (i32.const 1))) (local.get $n)))))

  ;; quantize: x (f32, blocks·32 values, zero-padded) to int8 per block of 32 (scale max|x|/127,
  ;; rounded to nearest), stored widened to int16 twice: in order (xq8, for matvec_q8) and with a
  ;; block's even elements before its odd ones (xq4, for matvec_q4); the scales to xs.
  (func (export "quantize") (param $x i32) (param $blocks i32) (param $xq8 i32) (param $xq4 i32) (param $xs i32)
    (local $b i32) (local $m v128) (local $inv v128) (local $scale f32) (local $max f32)
    (local $a v128) (local $c v128) (local $d v128) (local $e v128)
    (loop $block
      (local.set $m (f32x4.max
        (f32x4.max (f32x4.max (f32x4.abs (v128.load (local.get $x))) (f32x4.abs (v128.load offset=16 (local.get $x))))
                   (f32x4.max (f32x4.abs (v128.load offset=32 (local.get $x))) (f32x4.abs (v128.load offset=48 (local.get $x)))))
        (f32x4.max (f32x4.max (f32x4.abs (v128.load offset=64 (local.get $x))) (f32x4.abs (v128.load offset=80 (local.get $x))))
                   (f32x4.max (f32x4.abs (v128.load offset=96 (local.get $x))) (f32x4.abs (v128.load offset=112 (local.get $x)))))))
      (local.set $max (f32.max
        (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
        (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
      (local.set $scale (f32.div (local.get $max) (f32.const 127)))
      (f32.store (local.get $xs) (local.get $scale))
      (local.set $inv (f32x4.splat (select (f32.const 0) (f32.div (f32.const 127) (local.get $max)) (f32.eq (local.get $max) (f32.const 0)))))
      ;; a, c, d, e: elements 0-7, 8-15, 16-23, 24-31 as int16
      (local.set $a (i16x8.narrow_i32x4_s
        (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load (local.get $x)) (local.get $inv))))
        (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load offset=16 (local.get $x)) (local.get $inv))))))
      (local.set $c (i16x8.narrow_i32x4_s
        (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load offset=32 (local.get $x)) (local.get $inv))))
        (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load offset=48 (local.get $x)) (local.get $inv))))))
      (local.set $d (i16x8.narrow_i32x4_s
        (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load offset=64 (local.get $x)) (local.get $inv))))
        (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load offset=80 (local.get $x)) (local.get $inv))))))
      (local.set $e (i16x8.narrow_i32x4_s
        (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load offset=96 (local.get $x)) (local.get $inv))))
        (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (v128.load offset=112 (local.get $x)) (local.get $inv))))))
      (v128.store (local.get $xq8) (local.get $a))
      (v128.store offset=16 (local.get $xq8) (local.get $c))
      (v128.store offset=32 (local.get $xq8) (local.get $d))
      (v128.store offset=48 (local.get $xq8) (local.get $e))
      (v128.store (local.get $xq4) (i8x16.shuffle 0 1 4 5 8 9 12 13 16 17 20 21 24 25 28 29 (local.get $a) (local.get $c)))
      (v128.store offset=16 (local.get $xq4) (i8x16.shuffle 0 1 4 5 8 9 12 13 16 17 20 21 24 25 28 29 (local.get $d) (local.get $e)))
      (v128.store offset=32 (local.get $xq4) (i8x16.shuffle 2 3 6 7 10 11 14 15 18 19 22 23 26 27 30 31 (local.get $a) (local.get $c)))
      (v128.store offset=48 (local.get $xq4) (i8x16.shuffle 2 3 6 7 10 11 14 15 18 19 22 23 26 27 30 31 (local.get $d) (local.get $e)))
      (local.set $x (i32.add (local.get $x) (i32.const 128)))
      (local.set $xq8 (i32.add (local.get $xq8) (i32.const 64)))
      (local.set $xq4 (i32.add (local.get $xq4) (i32.const 64)))
      (local.set $xs (i32.add (local.get $xs) (i32.const 4)))
      (br_if $block (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 1))) (local.get $blocks)))))
)
