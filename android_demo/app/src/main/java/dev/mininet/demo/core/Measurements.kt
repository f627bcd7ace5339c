package dev.mininet.demo.core

/**
 * How pixels become millimetres. A clip-on dermatoscope shows a fixed field of view, so the
 * user either enters that field (mm across the shorter side of the photo) or a known scale.
 */
sealed class Scale {
    abstract fun mmPerPixel(imageWidth: Int, imageHeight: Int): Double
    abstract fun describe(): String

    /** [millimetres] spanned by the shorter side of the analysed image. */
    data class FieldOfView(val millimetres: Double) : Scale() {
        init { require(millimetres > 0 && millimetres.isFinite()) { "field of view must be positive" } }
        override fun mmPerPixel(imageWidth: Int, imageHeight: Int) = millimetres / minOf(imageWidth, imageHeight)
        override fun describe() = "field of view $millimetres mm across the shorter side"
    }

    /** A known scale of the analysed image, e.g. from a ruler in the photo. */
    data class PixelsPerMm(val pixels: Double) : Scale() {
        init { require(pixels > 0 && pixels.isFinite()) { "pixels per mm must be positive" } }
        override fun mmPerPixel(imageWidth: Int, imageHeight: Int) = 1.0 / pixels
        override fun describe() = "$pixels px per mm"
    }
}

data class BoundingBox(val x: Int, val y: Int, val width: Int, val height: Int)

/**
 * Lesion measurements from a mask, in pixels of the analysed image and optionally in mm.
 *
 * Definitions (also in the saved JSON): area = lesion pixel count; fraction = area / image
 * pixels; bounding box inclusive of the outermost lesion pixels; equivalent diameter = diameter
 * of the circle with the same area, sqrt(4 area / pi); centroid = mean pixel index (0-based).
 */
data class Measurements(
    val imageWidth: Int,
    val imageHeight: Int,
    val areaPx: Int,
    val areaFraction: Double,
    val boundingBox: BoundingBox?,
    val equivalentDiameterPx: Double,
    val centroidX: Double?,
    val centroidY: Double?,
    val mmPerPixel: Double?,
) {
    val areaPercent get() = 100.0 * areaFraction
    val areaMm2: Double? get() = mmPerPixel?.let { areaPx * it * it }
    val equivalentDiameterMm: Double? get() = mmPerPixel?.let { equivalentDiameterPx * it }
    val boundingBoxMm: Pair<Double, Double>? get() =
        if (mmPerPixel == null || boundingBox == null) null else (boundingBox.width * mmPerPixel) to (boundingBox.height * mmPerPixel)

    fun toJson(): Map<String, Any?> = linkedMapOf(
        "image_width" to imageWidth,
        "image_height" to imageHeight,
        "area_px" to areaPx,
        "area_fraction" to areaFraction,
        "bbox" to boundingBox?.let { linkedMapOf("x" to it.x, "y" to it.y, "width" to it.width, "height" to it.height) },
        "equivalent_diameter_px" to equivalentDiameterPx,
        "centroid" to if (centroidX == null) null else linkedMapOf("x" to centroidX, "y" to centroidY),
        "mm_per_px" to mmPerPixel,
        "area_mm2" to areaMm2,
        "equivalent_diameter_mm" to equivalentDiameterMm,
        "bbox_mm" to boundingBoxMm?.let { linkedMapOf("width" to it.first, "height" to it.second) },
    )

    companion object {
        fun of(mask: Mask, scale: Scale? = null): Measurements {
            var area = 0
            var minX = Int.MAX_VALUE
            var minY = Int.MAX_VALUE
            var maxX = -1
            var maxY = -1
            var sumX = 0L
            var sumY = 0L
            for (y in 0 until mask.height) {
                val row = y * mask.width
                for (x in 0 until mask.width) {
                    if (mask.data[row + x].toInt() == 0) continue
                    area++
                    sumX += x
                    sumY += y
                    if (x < minX) minX = x
                    if (x > maxX) maxX = x
                    if (y < minY) minY = y
                    if (y > maxY) maxY = y
                }
            }
            val total = mask.width.toDouble() * mask.height
            return Measurements(
                imageWidth = mask.width,
                imageHeight = mask.height,
                areaPx = area,
                areaFraction = area / total,
                boundingBox = if (area == 0) null else BoundingBox(minX, minY, maxX - minX + 1, maxY - minY + 1),
                equivalentDiameterPx = Math.sqrt(4.0 * area / Math.PI),
                // Integer sums, one division: exact and identical to the Python reference.
                centroidX = if (area == 0) null else sumX.toDouble() / area,
                centroidY = if (area == 0) null else sumY.toDouble() / area,
                mmPerPixel = scale?.mmPerPixel(mask.width, mask.height),
            )
        }
    }
}
