package dev.mininet.demo.io

import android.content.Context
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
import androidx.exifinterface.media.ExifInterface
import dev.mininet.demo.core.AnalysisSize
import dev.mininet.demo.core.ExifOrientation
import dev.mininet.demo.core.RgbImage

/** A decoded, upright photo ready for analysis, with the size it had before any downscale. */
class DecodedPhoto(val image: RgbImage, val originalWidth: Int, val originalHeight: Int, val decodeMs: Double)

/**
 * JPEG/PNG -> upright RGB pixels. Android-specific (BitmapFactory, ExifInterface); the
 * orientation maths and the downscale are the core's (ExifOrientation, AnalysisSize).
 *
 * Photos far larger than the analysis size are first subsampled by the decoder (power of two,
 * never below [maxSide]) to bound memory, then resized exactly like the Python reference.
 */
object ImageDecoding {
    fun decode(context: Context, uri: Uri, maxSide: Int = AnalysisSize.DEFAULT_MAX_SIDE): DecodedPhoto {
        val start = System.nanoTime()
        val resolver = context.contentResolver
        val orientation = resolver.openInputStream(uri)?.use { ExifInterface(it).getAttributeInt(ExifInterface.TAG_ORIENTATION, 1) } ?: 1
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, bounds) }
        require(bounds.outWidth > 0 && bounds.outHeight > 0) { "not a readable image" }
        var sample = 1
        while (maxOf(bounds.outWidth, bounds.outHeight) / (sample * 2) >= maxSide) sample *= 2
        val options = BitmapFactory.Options().apply {
            inSampleSize = sample
            inPreferredConfig = Bitmap.Config.ARGB_8888
            // No colour-space conversion beyond what the decoder does by default (sRGB output).
        }
        val bitmap = resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, options) }
            ?: throw IllegalArgumentException("cannot decode image")
        val pixels = IntArray(bitmap.width * bitmap.height)
        bitmap.getPixels(pixels, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
        val stored = RgbImage.fromArgb(bitmap.width, bitmap.height, pixels)
        bitmap.recycle()
        // BitmapFactory ignores EXIF orientation, so the stored pixels are rotated here.
        val upright = ExifOrientation.apply(stored, orientation)
        val swap = orientation in 5..8
        val ow = if (swap) bounds.outHeight else bounds.outWidth
        val oh = if (swap) bounds.outWidth else bounds.outHeight
        val analysed = AnalysisSize.prepare(upright, maxSide)
        return DecodedPhoto(analysed, ow, oh, (System.nanoTime() - start) / 1e6)
    }

    fun toBitmap(width: Int, height: Int, argb: IntArray): Bitmap =
        Bitmap.createBitmap(argb, width, height, Bitmap.Config.ARGB_8888)
}
