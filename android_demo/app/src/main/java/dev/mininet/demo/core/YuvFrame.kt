package dev.mininet.demo.core

/**
 * One plane of a YUV_420_888 frame as CameraX's `ImageProxy.PlaneProxy` describes it, copied
 * into a byte array (the app reuses the arrays between frames).
 *
 * Sample (x, y) of the plane is `data[y * rowStride + x * pixelStride]`. The buffer may end right
 * after the last sample: camera HALs commonly omit the padding of the last row, and with
 * pixelStride 2 the U and V buffers are two views of one interleaved VU/UV area that each stop
 * one byte short of the other's end.
 */
class YuvPlane(val data: ByteArray, val rowStride: Int, val pixelStride: Int) {
    fun requireCovers(width: Int, height: Int, name: String) {
        require(pixelStride >= 1 && rowStride >= (width - 1) * pixelStride + 1) {
            "$name plane: rowStride $rowStride / pixelStride $pixelStride too small for width $width"
        }
        val needed = (height - 1) * rowStride + (width - 1) * pixelStride + 1
        require(data.size >= needed) { "$name plane: ${data.size} bytes, needs $needed for ${width}x$height" }
    }
}

/**
 * A YUV_420_888 camera frame: full-resolution Y, U and V subsampled 2x2 (rounded up for odd
 * sizes), plus `ImageInfo.rotationDegrees`, the clockwise rotation that makes it upright.
 */
class YuvFrame(
    val width: Int,
    val height: Int,
    val y: YuvPlane,
    val u: YuvPlane,
    val v: YuvPlane,
    val rotationDegrees: Int,
) {
    init {
        require(width > 0 && height > 0) { "empty frame ${width}x$height" }
        require(rotationDegrees in ROTATIONS) { "rotation $rotationDegrees not in $ROTATIONS" }
        y.requireCovers(width, height, "Y")
        u.requireCovers(chromaWidth, chromaHeight, "U")
        v.requireCovers(chromaWidth, chromaHeight, "V")
    }

    val chromaWidth get() = (width + 1) / 2
    val chromaHeight get() = (height + 1) / 2
    private val swaps get() = rotationDegrees == 90 || rotationDegrees == 270

    /** Size after rotation, i.e. as the user sees the preview. */
    val uprightWidth get() = if (swaps) height else width
    val uprightHeight get() = if (swaps) width else height

    companion object {
        val ROTATIONS = listOf(0, 90, 180, 270)
    }
}

/**
 * Which YCbCr -> RGB equations to use, both BT.601 (Kr 0.299, Kb 0.114):
 *
 * - [FULL] (JFIF): Y, Cb, Cr span 0-255. Android's framework requests camera YUV_420_888 (and
 *   NV21) streams with dataspace `HAL_DATASPACE_V0_JFIF` (`mapPublicFormatToHalDataspace`), and the
 *   still path decodes a JPEG, which is JFIF too; so FULL keeps the live input closest to the
 *   photo the user will capture. It is the app's choice.
 * - [LIMITED] (BT.601 "video" range, Y 16-235, C 16-240): what libyuv's `Android420ToABGR`
 *   assumes (`kYvuI601Constants`), i.e. CameraX's own `OUTPUT_IMAGE_FORMAT_RGBA_8888` conversion.
 *   Kept for devices whose HAL ignores the dataspace; it gives a more contrasted image
 *   (Y 16 -> 0, 235 -> 255) on a full-range stream.
 */
enum class YuvRange(internal val yScale: Double, internal val yOffset: Int, internal val cScale: Double) {
    FULL(1.0, 0, 1.0),
    LIMITED(255.0 / 219.0, 16, 255.0 / 224.0);

    // Chroma coefficients of the full-range equations, scaled for the range; exact BT.601 values
    // (2(1-Kr), 2(1-Kb), 2Kb(1-Kb)/Kg, 2Kr(1-Kr)/Kg), not the rounded 1.402/1.772 of textbooks.
    internal val crToR = 2 * (1 - KR) * cScale
    internal val cbToB = 2 * (1 - KB) * cScale
    internal val cbToG = 2 * KB * (1 - KB) / KG * cScale
    internal val crToG = 2 * KR * (1 - KR) / KG * cScale
}

// BT.601 luma weights (top level: an enum's companion is not initialised yet for its entries).
private const val KR = 0.299
private const val KB = 0.114
private const val KG = 1 - KR - KB
