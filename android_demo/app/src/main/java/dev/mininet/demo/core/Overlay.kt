package dev.mininet.demo.core

/**
 * Mask-over-photo compositing in ARGB ints (the layout of Android's Bitmap.setPixels), so the
 * result screen only wraps the returned array in a Bitmap.
 *
 * Inside the mask each channel becomes (s * (255 - a) + c * a + 127) / 255: integer alpha
 * blending with rounding, where a is the opacity slider (0-255). With [outline] the lesion border
 * (mask pixels with a 4-neighbour outside the mask or on the image edge) is drawn in the solid
 * colour so the boundary stays visible at low opacity.
 */
object Overlay {
    const val DEFAULT_COLOR = 0xFFE53935.toInt()

    fun blendChannel(s: Int, c: Int, alpha: Int) = (s * (255 - alpha) + c * alpha + 127) / 255

    fun render(image: RgbImage, mask: Mask, color: Int = DEFAULT_COLOR, alpha: Int, outline: Boolean = true): IntArray {
        require(image.width == mask.width && image.height == mask.height) {
            "image ${image.width}x${image.height} and mask ${mask.width}x${mask.height} differ"
        }
        require(alpha in 0..255) { "alpha $alpha not in 0..255" }
        val cr = (color shr 16) and 0xFF
        val cg = (color shr 8) and 0xFF
        val cb = color and 0xFF
        val w = image.width
        val h = image.height
        val out = IntArray(w * h)
        for (y in 0 until h) for (x in 0 until w) {
            val i = y * w + x
            var r = image.data[i * 3].toInt() and 0xFF
            var g = image.data[i * 3 + 1].toInt() and 0xFF
            var b = image.data[i * 3 + 2].toInt() and 0xFF
            if (mask.data[i].toInt() != 0) {
                val edge = outline && (x == 0 || y == 0 || x == w - 1 || y == h - 1 ||
                    mask.data[i - 1].toInt() == 0 || mask.data[i + 1].toInt() == 0 ||
                    mask.data[i - w].toInt() == 0 || mask.data[i + w].toInt() == 0)
                if (edge) {
                    r = cr; g = cg; b = cb
                } else {
                    r = blendChannel(r, cr, alpha); g = blendChannel(g, cg, alpha); b = blendChannel(b, cb, alpha)
                }
            }
            out[i] = (0xFF shl 24) or (r shl 16) or (g shl 8) or b
        }
        return out
    }

    /**
     * The mask alone as ARGB for drawing over the live camera preview: transparent background,
     * lesion in [color] at [alpha], border (same rule as [render]) opaque.
     */
    fun maskArgb(mask: Mask, color: Int = DEFAULT_COLOR, alpha: Int, outline: Boolean = true): IntArray {
        require(alpha in 0..255) { "alpha $alpha not in 0..255" }
        val rgb = color and 0xFFFFFF
        val fill = (alpha shl 24) or rgb
        val edgeColor = (0xFF shl 24) or rgb
        val w = mask.width
        val h = mask.height
        val out = IntArray(w * h)
        for (y in 0 until h) for (x in 0 until w) {
            val i = y * w + x
            if (mask.data[i].toInt() == 0) continue
            val edge = outline && (x == 0 || y == 0 || x == w - 1 || y == h - 1 ||
                mask.data[i - 1].toInt() == 0 || mask.data[i + 1].toInt() == 0 ||
                mask.data[i - w].toInt() == 0 || mask.data[i + w].toInt() == 0)
            out[i] = if (edge) edgeColor else fill
        }
        return out
    }

    /** Slider position (0-100 %) to alpha (0-255), rounded. */
    fun alphaForPercent(percent: Int): Int = (percent.coerceIn(0, 100) * 255 + 50) / 100
}
