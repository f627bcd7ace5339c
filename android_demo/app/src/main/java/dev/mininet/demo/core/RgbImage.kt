package dev.mininet.demo.core

/**
 * An 8-bit RGB image, interleaved (R, G, B per pixel, row-major): the layout of the model's
 * uint8 NHWC input, so the preprocessed image *is* the input tensor with no copy.
 *
 * Android bitmaps are ARGB ints; [fromArgb]/[toArgb] convert (alpha is dropped: photos are
 * opaque, and the Python reference reads RGB).
 */
class RgbImage(val width: Int, val height: Int, val data: ByteArray) {
    init {
        require(width > 0 && height > 0) { "empty image ${width}x$height" }
        require(data.size == width * height * 3) { "expected ${width * height * 3} bytes, got ${data.size}" }
    }

    fun r(x: Int, y: Int) = data[(y * width + x) * 3].toInt() and 0xFF
    fun g(x: Int, y: Int) = data[(y * width + x) * 3 + 1].toInt() and 0xFF
    fun b(x: Int, y: Int) = data[(y * width + x) * 3 + 2].toInt() and 0xFF

    fun toArgb(): IntArray = IntArray(width * height) { i ->
        val o = i * 3
        (0xFF shl 24) or ((data[o].toInt() and 0xFF) shl 16) or ((data[o + 1].toInt() and 0xFF) shl 8) or (data[o + 2].toInt() and 0xFF)
    }

    companion object {
        fun fromArgb(width: Int, height: Int, argb: IntArray): RgbImage {
            require(argb.size == width * height) { "expected ${width * height} pixels, got ${argb.size}" }
            val out = ByteArray(width * height * 3)
            for (i in argb.indices) {
                val p = argb[i]
                out[i * 3] = (p shr 16).toByte()
                out[i * 3 + 1] = (p shr 8).toByte()
                out[i * 3 + 2] = p.toByte()
            }
            return RgbImage(width, height, out)
        }
    }
}

/**
 * EXIF orientation (TIFF tag 274, values 1-8) applied to pixels.
 *
 * CameraX writes the sensor image plus an EXIF orientation derived from the target rotation
 * (set from the device's physical rotation, so all four phone orientations give an upright
 * photo); gallery images carry their own tag. Decoders on older Android versions ignore the tag,
 * so the app applies it itself, here, where it is unit-tested for all eight values.
 */
object ExifOrientation {
    const val NORMAL = 1
    const val FLIP_HORIZONTAL = 2
    const val ROTATE_180 = 3
    const val FLIP_VERTICAL = 4
    const val TRANSPOSE = 5
    const val ROTATE_90 = 6 // clockwise
    const val TRANSVERSE = 7
    const val ROTATE_270 = 8

    /** Upright image from stored pixels and the EXIF value (unknown values: unchanged). */
    fun apply(image: RgbImage, orientation: Int): RgbImage {
        val w = image.width
        val h = image.height
        val swap = orientation in 5..8
        val ow = if (swap) h else w
        val oh = if (swap) w else h
        if (orientation !in 2..8) return image
        val out = ByteArray(ow * oh * 3)
        for (y in 0 until oh) for (x in 0 until ow) {
            // (sx, sy): which stored pixel lands at upright (x, y).
            val sx: Int
            val sy: Int
            when (orientation) {
                FLIP_HORIZONTAL -> { sx = w - 1 - x; sy = y }
                ROTATE_180 -> { sx = w - 1 - x; sy = h - 1 - y }
                FLIP_VERTICAL -> { sx = x; sy = h - 1 - y }
                TRANSPOSE -> { sx = y; sy = x }
                ROTATE_90 -> { sx = y; sy = h - 1 - x }
                TRANSVERSE -> { sx = w - 1 - y; sy = h - 1 - x }
                else -> { sx = w - 1 - y; sy = x } // ROTATE_270
            }
            System.arraycopy(image.data, (sy * w + sx) * 3, out, (y * ow + x) * 3, 3)
        }
        return RgbImage(ow, oh, out)
    }

    /** Degrees clockwise for a display rotation index (Surface.ROTATION_0..270 are 0..3). */
    fun surfaceRotationDegrees(rotation: Int): Int = when (rotation) {
        0 -> 0
        1 -> 90
        2 -> 180
        3 -> 270
        else -> throw IllegalArgumentException("surface rotation $rotation not in 0..3")
    }

    /**
     * Surface rotation (0..3) for a device orientation in degrees from OrientationEventListener
     * (0 = natural portrait, 90 = rotated clockwise...). The capture's target rotation is the
     * *opposite* of the device turn, which is why 90 degrees maps to ROTATION_270 (CameraX docs).
     * Returns null for ORIENTATION_UNKNOWN (-1): keep the previous rotation.
     */
    fun targetRotationForDeviceDegrees(degrees: Int): Int? = when {
        degrees < 0 -> null
        degrees % 360 >= 315 || degrees % 360 < 45 -> 0
        degrees % 360 < 135 -> 3
        degrees % 360 < 225 -> 2
        else -> 1
    }
}
