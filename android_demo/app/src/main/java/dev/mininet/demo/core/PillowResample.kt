package dev.mininet.demo.core

/**
 * Pillow's BILINEAR resize (`Image.resize(size, Image.BILINEAR)`), reproduced operation for
 * operation so the app feeds the model the very bytes `mininet_lite.tiling.resize_uint8` would,
 * and resizes probabilities back like `tiling.resize_float`.
 *
 * Why Pillow's and not a textbook bilinear: the model card's "resize" policy is defined by the
 * Python reference, and Pillow's BILINEAR is a *triangle filter whose support grows with the
 * downscale factor* (area-like averaging). A 4-tap bilinear from a 12 MP photo to 192x192 would
 * alias hairs and sensor noise into the input and shift the masks. The numpy twin of this file
 * (`android_demo/tools/pillow_resample.py`) documents the algorithm step by step; golden tests
 * check both against each other bit for bit, and the Python tests check the twin against Pillow.
 *
 * All coefficient maths is IEEE double in Pillow's order; the 8-bit path uses 22-bit fixed-point
 * weights and integer sums, the float path double sums stored as float after each pass.
 */
object PillowResample {
    private const val PRECISION_BITS = 32 - 8 - 2

    /** Filter windows for one axis: first source index, tap count and weights per output index. */
    class Coefficients(val ksize: Int, val xmin: IntArray, val count: IntArray, val weights: DoubleArray) {
        /** Pillow's normalize_coeffs_8bpc: round half away from zero to 22-bit integers. */
        fun fixedPoint(): IntArray = IntArray(weights.size) { i ->
            val v = weights[i] * (1 shl PRECISION_BITS).toDouble()
            if (v < 0) (-0.5 + v).toInt() else (0.5 + v).toInt()
        }
    }

    fun coefficients(inSize: Int, outSize: Int): Coefficients {
        require(inSize > 0 && outSize > 0) { "sizes must be positive: $inSize -> $outSize" }
        val scale = inSize.toDouble() / outSize
        val filterscale = if (scale < 1.0) 1.0 else scale
        val support = 1.0 * filterscale
        val ksize = Math.ceil(support).toInt() * 2 + 1
        val ss = 1.0 / filterscale
        val xmins = IntArray(outSize)
        val counts = IntArray(outSize)
        val kk = DoubleArray(outSize * ksize)
        for (xx in 0 until outSize) {
            val center = (xx + 0.5) * scale
            // Double -> Int conversion truncates toward zero in Kotlin, as a C cast does.
            var xmin = (center - support + 0.5).toInt()
            if (xmin < 0) xmin = 0
            var xmax = (center + support + 0.5).toInt()
            if (xmax > inSize) xmax = inSize
            xmax -= xmin
            var ww = 0.0
            val base = xx * ksize
            for (x in 0 until xmax) {
                var t = ((x + xmin) - center + 0.5) * ss
                if (t < 0.0) t = -t
                val w = if (t < 1.0) 1.0 - t else 0.0
                kk[base + x] = w
                ww += w
            }
            if (ww != 0.0) for (x in 0 until xmax) kk[base + x] /= ww
            xmins[xx] = xmin
            counts[xx] = xmax
        }
        return Coefficients(ksize, xmins, counts, kk)
    }

    /** Resize interleaved 8-bit pixels with [channels] per pixel (1 or 3). */
    fun resizeBytes(src: ByteArray, width: Int, height: Int, channels: Int, outWidth: Int, outHeight: Int): ByteArray {
        require(src.size == width * height * channels) { "buffer size ${src.size} != ${width}x${height}x$channels" }
        var data = src
        var w = width
        // Pillow skips a pass whose size is unchanged (plain copy), horizontal first.
        if (outWidth != w) {
            data = horizontal8(data, w, height, channels, outWidth)
            w = outWidth
        }
        if (outHeight != height) data = vertical8(data, w, height, channels, outHeight)
        return if (data === src) src.copyOf() else data
    }

    fun resize(image: RgbImage, outWidth: Int, outHeight: Int): RgbImage =
        RgbImage(outWidth, outHeight, resizeBytes(image.data, image.width, image.height, 3, outWidth, outHeight))

    private fun clip8(v: Int): Byte {
        val s = v shr PRECISION_BITS // arithmetic shift: floor, like Pillow's lookup index
        return (if (s < 0) 0 else if (s > 255) 255 else s).toByte()
    }

    private fun horizontal8(src: ByteArray, w: Int, h: Int, ch: Int, outW: Int): ByteArray {
        val c = coefficients(w, outW)
        val k = c.fixedPoint()
        val out = ByteArray(outW * h * ch)
        val acc = IntArray(ch)
        for (y in 0 until h) {
            val row = y * w * ch
            for (xx in 0 until outW) {
                java.util.Arrays.fill(acc, 1 shl (PRECISION_BITS - 1))
                val xmin = c.xmin[xx]
                val base = xx * c.ksize
                for (x in 0 until c.count[xx]) {
                    val weight = k[base + x]
                    val p = row + (x + xmin) * ch
                    for (i in 0 until ch) acc[i] += (src[p + i].toInt() and 0xFF) * weight
                }
                val o = (y * outW + xx) * ch
                for (i in 0 until ch) out[o + i] = clip8(acc[i])
            }
        }
        return out
    }

    private fun vertical8(src: ByteArray, w: Int, h: Int, ch: Int, outH: Int): ByteArray {
        val c = coefficients(h, outH)
        val k = c.fixedPoint()
        val rowLen = w * ch
        val out = ByteArray(rowLen * outH)
        val acc = IntArray(rowLen)
        for (yy in 0 until outH) {
            java.util.Arrays.fill(acc, 1 shl (PRECISION_BITS - 1))
            val ymin = c.xmin[yy]
            val base = yy * c.ksize
            // Row-wise accumulation: the same integer sums as Pillow's per-pixel loop (integer
            // addition is associative), but cache-friendly.
            for (y in 0 until c.count[yy]) {
                val weight = k[base + y]
                val row = (y + ymin) * rowLen
                for (i in 0 until rowLen) acc[i] += (src[row + i].toInt() and 0xFF) * weight
            }
            val o = yy * rowLen
            for (i in 0 until rowLen) out[o + i] = clip8(acc[i])
        }
        return out
    }

    /** Resize a single-channel float map (Pillow mode "F"). */
    fun resizeFloat(src: FloatArray, width: Int, height: Int, outWidth: Int, outHeight: Int): FloatArray {
        require(src.size == width * height) { "buffer size ${src.size} != ${width}x$height" }
        var data = src
        var w = width
        if (outWidth != w) {
            val c = coefficients(w, outWidth)
            val out = FloatArray(outWidth * height)
            for (y in 0 until height) {
                val row = y * w
                for (xx in 0 until outWidth) {
                    var ss = 0.0
                    val xmin = c.xmin[xx]
                    val base = xx * c.ksize
                    for (x in 0 until c.count[xx]) ss += data[row + x + xmin] * c.weights[base + x]
                    out[y * outWidth + xx] = ss.toFloat()
                }
            }
            data = out
            w = outWidth
        }
        if (outHeight != height) {
            val c = coefficients(height, outHeight)
            val out = FloatArray(w * outHeight)
            val acc = DoubleArray(w)
            for (yy in 0 until outHeight) {
                java.util.Arrays.fill(acc, 0.0)
                val ymin = c.xmin[yy]
                val base = yy * c.ksize
                // Per output pixel the taps are still added in increasing y, as in Pillow, so
                // the double sums are identical even though the loop runs row by row.
                for (y in 0 until c.count[yy]) {
                    val weight = c.weights[base + y]
                    val row = (y + ymin) * w
                    for (x in 0 until w) acc[x] += data[row + x] * weight
                }
                for (x in 0 until w) out[yy * w + x] = acc[x].toFloat()
            }
            data = out
        }
        return if (data === src) src.copyOf() else data
    }
}
