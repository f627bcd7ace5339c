package dev.mininet.demo.core

/**
 * YUV_420_888 -> upright [RgbImage], in one pass over the frame.
 *
 * Each channel is the BT.601 equation of [YuvRange] evaluated in double, rounded half up and
 * clamped to 0-255; chroma is the 2x2-subsampled sample at (x / 2, y / 2) (nearest, no chroma
 * interpolation: the frame is about to be averaged down to the model input anyway). The rotation
 * is applied while writing, so no rotated copy is made; it matches [ExifOrientation.apply] with
 * ROTATE_90 / ROTATE_180 / ROTATE_270 for 90 / 180 / 270 degrees.
 */
object YuvToRgb {
    private class Tables(range: YuvRange) {
        val y = DoubleArray(256) { (it - range.yOffset) * range.yScale }
        val rFromV = DoubleArray(256) { (it - 128) * range.crToR }
        val gFromU = DoubleArray(256) { -(it - 128) * range.cbToG }
        val gFromV = DoubleArray(256) { -(it - 128) * range.crToG }
        val bFromU = DoubleArray(256) { (it - 128) * range.cbToB }
    }

    private val tables = YuvRange.entries.associateWith { Tables(it) }

    fun convert(frame: YuvFrame, range: YuvRange = YuvRange.FULL): RgbImage {
        val t = tables.getValue(range)
        val w = frame.width
        val h = frame.height
        val ow = frame.uprightWidth
        val out = ByteArray(w * h * 3)
        val yp = frame.y
        val up = frame.u
        val vp = frame.v
        for (sy in 0 until h) {
            // Destination pixel of source (sx, sy) is base + sx * step (see ExifOrientation).
            val base: Int
            val step: Int
            when (frame.rotationDegrees) {
                0 -> { base = sy * ow; step = 1 }
                90 -> { base = ow - 1 - sy; step = ow }
                180 -> { base = (h - 1 - sy) * ow + w - 1; step = -1 }
                else -> { base = (w - 1) * ow + sy; step = -ow }
            }
            val yRow = sy * yp.rowStride
            val uRow = (sy shr 1) * up.rowStride
            val vRow = (sy shr 1) * vp.rowStride
            for (sx in 0 until w) {
                val yy = t.y[yp.data[yRow + sx * yp.pixelStride].toInt() and 0xFF]
                val u = up.data[uRow + (sx shr 1) * up.pixelStride].toInt() and 0xFF
                val v = vp.data[vRow + (sx shr 1) * vp.pixelStride].toInt() and 0xFF
                val o = (base + sx * step) * 3
                out[o] = clamp(yy + t.rFromV[v])
                out[o + 1] = clamp(yy + t.gFromU[u] + t.gFromV[v])
                out[o + 2] = clamp(yy + t.bFromU[u])
            }
        }
        return RgbImage(ow, frame.uprightHeight, out)
    }

    /** Round half up, clamp. `toInt` truncates toward zero, which only differs below 0 (clamped). */
    private fun clamp(x: Double): Byte {
        val i = (x + 0.5).toInt()
        return (if (i < 0) 0 else if (i > 255) 255 else i).toByte()
    }
}
